"""Camera TD3 update cost: per-network CNNs vs one shared encoder, with and without DrQ shifts.

    python benchmarks/pixels.py [--steps 2000] [--learning-starts 500] [--batch 16 --batch 64]
    python benchmarks/pixels.py --conv-only     # the second table alone (seconds)

Table 1 trains TD3 on Task A's camera scene (`envkit/peg_in_hole-v0`, 84x84 gray, CNN
channels [16, 32, 32, 32, 16], kernel 3, stride 2, hidden_sizes [64, 64], torch_threads 1,
vec_env sync) once per variant and batch size, in this process, for `learning_starts`
random steps and then `--steps` steps with one update each. Steps/s is counted over the
update-bound phase only (env step calls after learning_starts, timed by a wrapper around
the env; the few autoreset calls are included); "update ms" is the mean wall time of one
`TD3.train_steps` call (sample, augmentation and update), "other ms" the rest of a step
(env step with its render, acting, buffer). Variants: `separate` (a CNN per network: actor,
two critics, and their targets; the old code path), `shared` (one encoder trained by the
critic loss), `shared+shift` (the same with augment=shift, pad 4).

Table 2 is the conv cost alone: forward + backward of Task A's image encoder (CNN and its
linear layer, as the critic loss trains it) and the no-grad forward a target pass costs,
per batch size, plus the random shift of one batch.

Another process on the machine changes the absolute numbers; the ratios are what to
compare. With `--repeats N` the variants run in N interleaved rounds; the table shows each
variant's median round and the median of the speed-ups paired within a round.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import torch

import agents
import agents.td3
import envkit  # noqa: F401 - registers envkit/<scene>-v0
from agents.augment import random_shift
from agents.config import TD3Config
from agents.networks import CNNEncoder

SCENE = "envkit/peg_in_hole-v0"
VARIANTS: dict[str, dict] = {
    "separate": dict(encoder="separate", augment="none"),
    "shared": dict(encoder="shared", augment="none"),
    "shared+shift": dict(encoder="shared", augment="shift", augment_pad=4),
}
TASK_A = dict(cnn_channels=[16, 32, 32, 32, 16], cnn_kernel_sizes=[3], cnn_strides=[2], hidden_sizes=[64, 64],
              torch_threads=1, vec_env="sync", n_envs=1, gamma=0.99, tau=0.01, critic_loss="huber",
              learning_rate=3e-4, exploration_noise=0.1, exploration_noise_prob=0.9, target_policy_noise=0.1)


class StepClock(gym.Wrapper):
    """Records the wall time of every env step call (the training env runs in this process)."""

    times: list[float] = []

    def step(self, action):  # type: ignore[no-untyped-def]
        out = self.env.step(action)
        StepClock.times.append(time.perf_counter())
        return out


def timed_train_steps() -> list[float]:
    """Wrap TD3.train_steps to record its duration; returns the list it appends to."""
    durations: list[float] = []
    original = agents.td3.TD3.train_steps

    def wrapper(self: agents.td3.TD3) -> None:
        t = time.perf_counter()
        original(self)
        durations.append(time.perf_counter() - t)

    agents.td3.TD3.train_steps = wrapper  # type: ignore[method-assign]
    return durations


def run_variant(name: str, batch: int, learning_starts: int, steps: int, seed: int, durations: list[float]) -> dict:
    cfg = dict(TASK_A, **VARIANTS[name], batch_size=batch, learning_starts=learning_starts,
               total_timesteps=learning_starts + steps, buffer_size=learning_starts + steps, eval_episodes=0,
               eval_every=0, checkpoint_every=0, log_every=10**9, tensorboard=False, save_replay_buffer=False,
               keep_best=False)
    StepClock.times = []
    durations.clear()
    with tempfile.TemporaryDirectory() as tmp:
        agents.train(lambda: StepClock(gym.make(SCENE)), "td3", cfg, run_dir=Path(tmp) / "run", seed=seed,
                     quiet=True)
    t = StepClock.times[learning_starts:]  # the update-bound phase
    rate = (len(t) - 1) / (t[-1] - t[0])
    update_ms = 1e3 * sum(durations) / max(len(durations), 1)
    return {"variant": name, "batch": batch, "steps_per_s": rate, "update_ms": update_ms,
            "other_ms": 1e3 / rate - update_ms}


def conv_costs(batches: list[int], repeats: int) -> list[dict]:
    torch.set_num_threads(1)
    cfg = TD3Config(**{k: v for k, v in TASK_A.items() if k.startswith("cnn_")})
    enc = CNNEncoder((84, 84, 1), cfg)
    gen = torch.Generator().manual_seed(0)
    rows = []

    def clock(fn, n: int) -> float:
        fn()
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) / n * 1e3

    for b in batches:
        x = torch.randint(0, 256, (b, 84, 84, 1), dtype=torch.uint8)
        n = max(2, repeats * 16 // b)

        def fwd_bwd(x: torch.Tensor = x) -> None:
            enc.zero_grad(set_to_none=True)
            enc(x).sum().backward()

        def fwd(x: torch.Tensor = x) -> None:
            with torch.no_grad():
                enc(x)

        fb, f = clock(fwd_bwd, n), clock(fwd, n)
        shift = clock(lambda x=x: random_shift(x, 4, gen, True), n)
        rows.append({"batch": b, "fwd_bwd_ms": fb, "fwd_ms": f, "per_sample_us": 1e3 * (fb + f) / b,
                     "shift_ms": shift})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="update steps per variant after learning_starts")
    parser.add_argument("--learning-starts", type=int, default=500)
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default 16 and 64)")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="default: all")
    parser.add_argument("--conv-batches", default="16,32,64,128,256")
    parser.add_argument("--conv-only", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds over the variants (interleaved, to spread a shared machine's noise); "
                             "the table shows the median")
    args = parser.parse_args()

    if not args.conv_only:
        durations = timed_train_steps()
        results = []
        for batch in args.batch or [16, 64]:
            rounds: dict[str, list[dict]] = {}
            for _ in range(args.repeats):
                for name in args.variant or list(VARIANTS):
                    r = run_variant(name, batch, args.learning_starts, args.steps, args.seed, durations)
                    rounds.setdefault(name, []).append(r)
                    print(f"# {name} batch {batch}: {r['steps_per_s']:.1f} steps/s, update {r['update_ms']:.1f} ms",
                          flush=True)
            base_runs = rounds.get("separate")
            for runs in rounds.values():  # the median round by steps/s
                med = dict(sorted(runs, key=lambda r: r["steps_per_s"])[len(runs) // 2])
                if base_runs:  # speed-up paired within each round (the machine's load drifts between rounds)
                    ratios = sorted(r["steps_per_s"] / b["steps_per_s"] for r, b in zip(runs, base_runs, strict=True))
                    med["speedup"] = ratios[len(ratios) // 2]
                    med["speedups"] = ratios
                results.append(med)
        print()
        print(f"TD3 on `{SCENE}` (84x84 gray), {args.steps} steps after learning_starts={args.learning_starts}, "
              f"torch_threads=1, vec_env=sync, median of {args.repeats} interleaved round(s)")
        print()
        print("| variant | batch | steps/s | update ms | other ms | speed-up vs separate (per round) |")
        print("|---|---|---|---|---|---|")
        for r in results:
            speedup = "n/a"
            if "speedup" in r:
                rounds_text = ", ".join(f"{x:.2f}" for x in r["speedups"])
                speedup = f"{r['speedup']:.2f}x" + (f" ({rounds_text})" if len(r["speedups"]) > 1 else "")
            print(f"| {r['variant']} | {r['batch']} | {r['steps_per_s']:.1f} | {r['update_ms']:.1f} "
                  f"| {r['other_ms']:.1f} | {speedup} |")
        print()

    rows = conv_costs([int(b) for b in args.conv_batches.split(",")], repeats=20)
    print("Task A encoder alone (84x84x1, channels [16, 32, 32, 32, 16], torch_threads=1): one critic-loss "
          "pass (forward + backward) and one target pass (no-grad forward) per update")
    print()
    print("| batch | fwd+bwd ms | no-grad fwd ms | (fwd+bwd + fwd) per sample, us | shift ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['fwd_bwd_ms']:.2f} | {r['fwd_ms']:.2f} | {r['per_sample_us']:.0f} "
              f"| {r['shift_ms']:.2f} |")


if __name__ == "__main__":
    main()
