"""envkit agents vs Stable-Baselines3: same env, hyperparameters, budget and seeds, side by side.

Each (library, seed) run is a fresh subprocess (so thread settings and imports do
not leak between them); library order alternates per seed to spread the noise of
a shared machine over both. Throughput is env transitions per second of training
wall time (construction and final evaluation excluded); the final evaluation is
the deterministic policy over the same fixed-seed episodes for both libraries.

    python benchmarks/agents_vs_sb3.py --algo td3 --env PandaReachDense-v3 --seeds 3
    python benchmarks/agents_vs_sb3.py --algo all --env all --seeds 3 --out results.json

`--env` takes any gymnasium id with a preset below, or an envkit scene id once the
core lands (add a preset: hyperparameters are per env).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Hyperparameters in envkit-agents names; `to_sb3` maps them. Sources: rl-zoo for
# Pendulum, measurements.md (SB3 on PandaReachDense-v3) for panda.
PRESETS: dict[tuple[str, str], dict] = {
    ("ppo", "Pendulum-v1"): dict(
        steps=100_000, n_envs=4, vec_env="sync", batch_size=4096, minibatch_size=64, epochs=10,
        learning_rate=1e-3, gamma=0.9, gae_lambda=0.95, clip_coef=0.2, ent_coef=0.0,
        hidden_sizes=[64, 64], activation="tanh", normalize_obs=True,
    ),
    ("ppo", "PandaReachDense-v3"): dict(
        steps=30_000, n_envs=4, vec_env="async", batch_size=2048, minibatch_size=128, epochs=10,
        learning_rate=5e-4, gamma=0.95, gae_lambda=0.95, clip_coef=0.2, ent_coef=0.0,
        hidden_sizes=[64, 64], activation="tanh", normalize_obs=True,
    ),
    ("td3", "Pendulum-v1"): dict(
        steps=12_000, learning_starts=1000, batch_size=256, learning_rate=1e-3, gamma=0.98, tau=0.005,
        exploration_noise=0.1, hidden_sizes=[256, 256], buffer_size=200_000,
    ),
    ("td3", "PandaReachDense-v3"): dict(
        # envkit steps the env in a subprocess and overlaps it with the update (overlap_updates);
        # SB3 has no such mode and runs its fastest (in-process) vec env.
        steps=5_000, vec_env="async", learning_starts=1000, batch_size=256, learning_rate=1e-3, gamma=0.95, tau=0.005,
        exploration_noise=0.1, hidden_sizes=[256, 256], buffer_size=200_000,
    ),
}
# Variants "<env>@<name>": the same env with other settings. @1env is SB3's default PPO on one
# in-process env (the configuration measured in measurements.md, 170-290 env-steps/s), where
# the per-step overhead of the agent is not hidden behind saturated env subprocesses.
PRESETS[("ppo", "PandaReachDense-v3@1env")] = dict(
    steps=30_000, n_envs=1, vec_env="sync", batch_size=2048, minibatch_size=64, epochs=10,
    learning_rate=3e-4, gamma=0.99, gae_lambda=0.95, clip_coef=0.2, ent_coef=0.0,
    hidden_sizes=[64, 64], activation="tanh", normalize_obs=True,
)
# @sync: envkit TD3 without overlapping env steps and updates (both libraries in-process).
PRESETS[("td3", "PandaReachDense-v3@sync")] = dict(PRESETS[("td3", "PandaReachDense-v3")], vec_env="sync")

# @bf16: envkit multiplies matrices with bfloat16 inputs (matmul_precision, CPUs with AMX or
# AVX512-BF16 only); SB3 runs as before, in fp32.
for _env in ("Pendulum-v1", "PandaReachDense-v3"):
    PRESETS[("td3", f"{_env}@bf16")] = dict(PRESETS[("td3", _env)], matmul_precision="bf16")

# envkit's reach scene mirrors PandaReachDense-v3 (50 steps, dense -distance reward), so it
# takes the same hyperparameters; run with --env envkit/reach-v0 once the core is merged.
for _algo in ("ppo", "td3"):
    PRESETS[(_algo, "envkit/reach-v0")] = dict(PRESETS[(_algo, "PandaReachDense-v3")])
EVAL_EPISODES = 20
EVAL_SEED = 10_000


def _env_fn(env_id: str):
    env_id = env_id.split("@")[0]

    def make():
        import gymnasium as gym

        if env_id.startswith("Panda"):
            import panda_gym  # noqa: F401 - registers the ids
        if env_id.startswith("envkit/") or env_id.endswith(".yaml"):
            import envkit

            return envkit.make(env_id)
        return gym.make(env_id)

    return make


def _cpu_seconds(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _evaluate(predict, env_id: str) -> dict:
    env = _env_fn(env_id)()
    returns, successes = [], []
    for j in range(EVAL_EPISODES):
        obs, info = env.reset(seed=EVAL_SEED + j)
        done, ret = False, 0.0
        while not done:
            obs, r, term, trunc, info = env.step(predict(obs))
            ret += float(r)
            done = term or trunc
        returns.append(ret)
        if "is_success" in info:
            successes.append(float(info["is_success"]))
    env.close()
    return {"return": statistics.fmean(returns), "success": statistics.fmean(successes) if successes else None}


def worker_ours(algo: str, env_id: str, seed: int, hp: dict, threads: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import agents
    from envkit.builders import ENV_HINT, env_builder

    agents.register_env_resolver(env_builder, ENV_HINT)  # panda-gym and envkit ids, as the CLI builds them
    steps = hp.pop("steps")
    cfg = dict(hp, total_timesteps=steps, eval_every=0, eval_episodes=0, checkpoint_every=0,
               tensorboard=False, torch_threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        cpu0 = _cpu_seconds(resource.RUSAGE_SELF)
        res = agents.train(env_id.split("@")[0], algo=algo, config=cfg, run_dir=Path(tmp) / "run", seed=seed, quiet=True)
        # CPU seconds of this process and of the (now closed) env subprocesses: a measure of
        # cost that the other load on a shared machine does not distort as much as wall time.
        cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu0 + _cpu_seconds(resource.RUSAGE_CHILDREN)
        wall = res.train_seconds  # the learning loop, as SB3's learn() below
        policy = agents.load_policy(res.checkpoint)
    return {"steps": res.global_step, "train_seconds": wall, "cpu_seconds": cpu, **_evaluate(policy.predict, env_id)}


def worker_sb3(algo: str, env_id: str, seed: int, hp: dict, threads: int) -> dict:
    import numpy as np
    import torch
    from stable_baselines3 import PPO, TD3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    torch.set_num_threads(threads)
    steps = hp.pop("steps")
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[hp.get("activation", "relu")]
    probe = _env_fn(env_id)()
    policy = "MultiInputPolicy" if hasattr(probe.observation_space, "spaces") else "MlpPolicy"
    low, high = probe.action_space.low, probe.action_space.high
    probe.close()
    if algo == "ppo":
        venv = make_vec_env(_env_fn(env_id), n_envs=hp["n_envs"], seed=seed,
                            vec_env_cls=SubprocVecEnv if hp["vec_env"] == "async" else DummyVecEnv)
        if hp["normalize_obs"]:
            venv = VecNormalize(venv, norm_obs=True, norm_reward=False)
        model = PPO(
            policy, venv, n_steps=hp["batch_size"] // hp["n_envs"], batch_size=hp["minibatch_size"],
            n_epochs=hp["epochs"], learning_rate=hp["learning_rate"], gamma=hp["gamma"],
            gae_lambda=hp["gae_lambda"], clip_range=hp["clip_coef"], ent_coef=hp["ent_coef"], seed=seed,
            policy_kwargs=dict(net_arch=dict(pi=hp["hidden_sizes"], vf=hp["hidden_sizes"]), activation_fn=act),
            device="cpu", verbose=0,
        )
    else:
        venv = make_vec_env(_env_fn(env_id), n_envs=1, seed=seed)  # DummyVecEnv
        # SB3 acts in [-1, 1] and rescales, like envkit agents: noise std is in that scale.
        n_act = venv.action_space.shape[0]
        noise = NormalActionNoise(np.zeros(n_act), hp["exploration_noise"] * np.ones(n_act))
        model = TD3(
            policy, venv, learning_rate=hp["learning_rate"], buffer_size=hp["buffer_size"],
            learning_starts=hp["learning_starts"], batch_size=hp["batch_size"], tau=hp["tau"],
            gamma=hp["gamma"], action_noise=noise, seed=seed, device="cpu", verbose=0,
            policy_kwargs=dict(net_arch=hp["hidden_sizes"]),
        )
        del low, high
    t0, cpu0 = time.perf_counter(), _cpu_seconds(resource.RUSAGE_SELF)
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu0
    norm = venv if isinstance(venv, VecNormalize) else None

    def predict(obs):
        if norm is not None:
            obs = norm.normalize_obs(obs)
        return model.predict(obs, deterministic=True)[0]

    out = {"steps": model.num_timesteps, "train_seconds": wall, **_evaluate(predict, env_id)}
    venv.close()
    out["cpu_seconds"] = cpu + _cpu_seconds(resource.RUSAGE_CHILDREN)  # + closed SubprocVecEnv workers
    return out


def run_one(lib: str, algo: str, env_id: str, seed: int, threads: int, steps: int | None) -> dict:
    spec = json.dumps({"lib": lib, "algo": algo, "env": env_id, "seed": seed, "threads": threads, "steps": steps})
    proc = subprocess.run([sys.executable, __file__, "--worker", spec], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{lib} {algo} {env_id} seed {seed} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _stats(xs: list[float]) -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    m = statistics.fmean(xs)
    return f"{m:.3g} [{min(xs):.3g}, {max(xs):.3g}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--algo", default="all", choices=["ppo", "td3", "all"])
    ap.add_argument("--env", default="all", help="gymnasium/envkit id with a preset, or 'all'")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="override the preset's step budget")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for both libraries")
    ap.add_argument("--out", default=None, help="append results as JSON lines to this file")
    ap.add_argument("--table", default=None, metavar="RESULTS.jsonl", help="only print the table of a results file")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.table:
        results = [json.loads(ln) for ln in Path(args.table).read_text().splitlines() if ln.strip()]
        groups: dict[tuple[str, str], dict[str, list[dict]]] = {}
        for r in results:
            groups.setdefault((r["algo"], r["env"]), {"envkit": [], "sb3": []})[r["lib"]].append(r)
        print_table([(a, e, res) for (a, e), res in groups.items()])
        return

    if args.worker:
        w = json.loads(args.worker)
        hp = dict(PRESETS[(w["algo"], w["env"])])
        if w.get("steps"):
            hp["steps"] = w["steps"]
        fn = worker_ours if w["lib"] == "envkit" else worker_sb3
        print(json.dumps(fn(w["algo"], w["env"], w["seed"], hp, w["threads"])))
        return

    algos = ["ppo", "td3"] if args.algo == "all" else [args.algo]
    rows = []
    for algo in algos:
        envs = ([e for (a, e) in PRESETS if a == algo and not e.startswith("envkit/") and "@" not in e]
                if args.env == "all"
                else [args.env])
        for env_id in envs:
            if (algo, env_id) not in PRESETS:
                sys.exit(f"no preset for {algo} on {env_id}; add one to PRESETS")
            res: dict[str, list[dict]] = {"envkit": [], "sb3": []}
            for seed in range(args.seeds):
                order = ["envkit", "sb3"] if seed % 2 == 0 else ["sb3", "envkit"]
                for lib in order:
                    r = run_one(lib, algo, env_id, seed, args.threads, args.steps)
                    r.update(lib=lib, algo=algo, env=env_id, seed=seed, sps=r["steps"] / r["train_seconds"])
                    res[lib].append(r)
                    print(json.dumps(r), flush=True)
                    if args.out:
                        with open(args.out, "a") as f:
                            f.write(json.dumps(r) + "\n")
            rows.append((algo, env_id, res))
    print_table(rows)


def print_table(rows: list) -> None:
    print("\n| algo | env | lib | seeds | steps | env-steps/s (wall) mean [min, max] | speed-up (wall) "
          "| env-steps per CPU-s | speed-up (CPU) | final eval return | final success |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for algo, env_id, res in rows:
        sps_sb3 = statistics.fmean(r["sps"] for r in res["sb3"])
        cps_sb3 = [r["steps"] / r["cpu_seconds"] for r in res["sb3"] if r.get("cpu_seconds")]
        for lib in ("envkit", "sb3"):
            rs = res[lib]
            sps = [r["sps"] for r in rs]
            cps = [r["steps"] / r["cpu_seconds"] for r in rs if r.get("cpu_seconds")]
            cpu_cols = (f"{_stats(cps)} | {statistics.fmean(cps) / statistics.fmean(cps_sb3):.2f}x"
                        if cps and cps_sb3 else "- | -")
            print(f"| {algo} | {env_id} | {lib} | {len(rs)} | {rs[0]['steps']} | {_stats(sps)} | "
                  f"{statistics.fmean(sps) / sps_sb3:.2f}x | {cpu_cols} | {_stats([r['return'] for r in rs])} | "
                  f"{_stats([r['success'] for r in rs])} |")


if __name__ == "__main__":
    main()
