"""GPU smoke test of the agents: PPO and TD3, MLP and CNN, trained on one device, with checkpoint round trips.

    python benchmarks/gpu_smoke.py [--device cuda|cuda:1|mps|cpu] [--steps 3000] [--out DIR]

For a maintainer with a GPU: the test suite runs this on the CPU only (tests/agents/test_agents_device.py),
so a tensor left on the wrong device, or device state missing from a checkpoint, shows up here first.
`--device` defaults to cuda when torch sees a GPU, else cpu.

Each of the four runs (PPO and TD3, on Pendulum-v1 for the MLP and on a small synthetic camera env for
the CNN; TD3's CNN uses BatchNorm, whose statistics its target networks copy):

1. trains `--steps` transitions on the device (a checkpoint half way and at the end);
2. resumes from checkpoints/last.pt for a quarter more (optimiser state, normalisers and the torch RNG
   states, the CUDA one included, come back from the file);
3. loads final.pt with `agents.load_policy` (always on the CPU, from a weights-only file) and checks
   that its actions match the same actor loaded on the device (TF32 convolutions on recent GPUs make
   them differ by ~1e-3; more than 0.05 fails);
4. evaluates the CPU policy for two episodes (finite returns).

It prints one table row per run and exits with 1 if any run failed (the row says why).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import agents
from agents.checkpoint import load_checkpoint
from agents.networks import obs_to_tensor
from agents.spaces import as_dict

MAX_ACTION_GAP = 0.05


class DotEnv(gym.Env):
    """Move a dot towards the image centre: a (24, 24, 1) uint8 camera plus the dot's position;
    reward = -distance; 50-step episodes. Small and fast, so the CNN, not the env, is measured."""

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = gym.spaces.Dict({
            "camera": gym.spaces.Box(0, 255, (24, 24, 1), np.uint8),
            "position": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        })
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _obs(self) -> dict[str, np.ndarray]:
        img = np.zeros((24, 24, 1), np.uint8)
        i, j = np.clip(((self.pos + 1.0) * 11.5).round().astype(int), 0, 23)
        img[i, j, 0] = 255
        return {"camera": img, "position": self.pos.copy()}

    def reset(self, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.1 * np.asarray(action, np.float32), -1.0, 1.0)
        self.t += 1
        return self._obs(), -float(np.linalg.norm(self.pos)), False, self.t >= 50, {}


def run_configs(steps: int, device: str) -> list[tuple[str, str, object, dict]]:
    """(algo, net, env, config) of the four runs, scaled to `steps`."""
    common = dict(device=device, total_timesteps=steps, eval_every=0, eval_episodes=2, tensorboard=False,
                  checkpoint_every=max(steps // 2, 1), log_every=max(steps // 4, 1))
    batch = min(512, steps)
    ppo = dict(common, batch_size=batch, minibatch_size=max(batch // 4, 2), epochs=2, hidden_sizes=[64, 64])
    td3 = dict(common, learning_starts=min(500, steps // 3), batch_size=64, buffer_size=2 * steps,
               hidden_sizes=[64, 64])
    cnn = dict(cnn_channels=[16, 32], cnn_features=64)
    return [
        ("ppo", "mlp", "Pendulum-v1", ppo),
        ("ppo", "cnn", DotEnv, dict(ppo, **cnn)),
        ("td3", "mlp", "Pendulum-v1", td3),
        ("td3", "cnn", DotEnv, dict(td3, **cnn, cnn_norm="batch")),
    ]


def action_gap(policy: agents.Policy, checkpoint: Path, device: str) -> float:
    """Max |action| difference between the CPU policy and the same actor loaded on `device`."""
    if policy.algo == "ppo":
        from agents.ppo import build_actor
    else:
        from agents.td3 import build_actor
    actor = build_actor(policy.layout, int(policy.action_space.shape[0]), policy.config)  # type: ignore[arg-type]
    actor.load_state_dict(load_checkpoint(checkpoint)["models"]["actor"])
    actor.to(device).eval()
    space = policy.observation_space
    space.seed(0)
    samples = [as_dict(space.sample(), policy.layout) for _ in range(16)]
    obs = {k: np.stack([s[k] for s in samples]) for k in policy.layout.keys}
    on_cpu = policy.act_unit(obs)
    with torch.no_grad():
        on_device = actor(obs_to_tensor(policy.obs_norm.normalize(obs), torch.device(device)))
    return float(np.abs(on_device.clamp(-1.0, 1.0).cpu().numpy() - on_cpu).max())


def smoke(algo: str, net: str, env: object, cfg: dict, device: str, out: Path) -> dict:
    """Train, resume, load and evaluate one run; a failure is returned as the row's result."""
    row: dict = {"algo": algo, "net": net, "device": device, "steps": cfg["total_timesteps"]}
    run_dir = out / f"{algo}-{net}"
    try:
        t0 = time.perf_counter()
        res = agents.train(env, algo, cfg, run_dir=run_dir, seed=0, quiet=True)
        row["train_s"] = time.perf_counter() - t0
        row["steps_per_s"] = res.global_step / max(res.train_seconds, 1e-9)
        more = cfg["total_timesteps"] + max(cfg["total_timesteps"] // 4, 1)
        resumed = agents.train(env, algo, {"total_timesteps": more}, run_dir=run_dir, quiet=True, resume=True)
        row["resumed_to"] = resumed.global_step
        if resumed.global_step <= res.global_step:
            raise RuntimeError(f"the resume did not train (step {resumed.global_step})")
        policy = agents.load_policy(run_dir)
        row["action_gap"] = gap = action_gap(policy, run_dir / "checkpoints" / "final.pt", device)
        if gap > MAX_ACTION_GAP:
            raise RuntimeError(f"CPU and {device} actions differ by {gap:.3g}")
        ev = agents.evaluate(policy, env=env, episodes=2, seed=0)
        row["eval_return"] = ev["mean_return"]
        if not np.isfinite(ev["returns"]).all():
            raise RuntimeError(f"non-finite evaluation returns {ev['returns']}")
        row["result"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a smoke test reports every failure in its row
        row["result"] = f"FAILED: {type(exc).__name__}: {' '.join(str(exc).split())}"
        row["trace"] = traceback.format_exc()
    return row


def table(rows: list[dict]) -> str:
    head = "| algo | net | device | steps | train s | steps/s | resumed to | max action gap | eval return | result |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def num(row: dict, key: str, fmt: str) -> str:
        return format(row[key], fmt) if key in row else "-"

    for r in rows:
        lines.append(f"| {r['algo']} | {r['net']} | {r['device']} | {r['steps']:,} | {num(r, 'train_s', '.1f')} "
                     f"| {num(r, 'steps_per_s', '.0f')} | {num(r, 'resumed_to', ',')} | {num(r, 'action_gap', '.2g')} "
                     f"| {num(r, 'eval_return', '.1f')} | {r['result']} |")
    return "\n".join(lines)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=default_device(), help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--steps", type=int, default=3000, help="transitions per run before the resume")
    parser.add_argument("--out", default=None, help="where the run directories go (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gpu_smoke-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        rows = [smoke(algo, net, env, cfg, args.device, out) for algo, net, env, cfg in run_configs(args.steps, args.device)]
    name = ""
    if args.device.startswith("cuda") and torch.cuda.is_available():
        name = f" ({torch.cuda.get_device_name(torch.device(args.device))})"
    print(f"torch {torch.__version__}, device {args.device}{name}")
    print(table(rows))
    for r in rows:
        if "trace" in r:
            print(f"\n{r['algo']} {r['net']}:\n{r['trace']}", file=sys.stderr)
    return 0 if all(r["result"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
