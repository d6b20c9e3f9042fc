"""Task B's physics cost: `physics.substeps` vs step speed and vs what a trained policy scores.

    python benchmarks/sort_substeps.py [--scene sort-1] [--policy CKPT --episodes 100] [--steps 2000]

One env step is `substeps` x `timestep` seconds of simulation (panda-gym: 20 x 1/500 s =
40 ms). Halving the substeps halves the physics work, in one of two ways:

- `10 x 1/250 s`: the same 40 ms per step (the hand still moves up to `ee_step` per step),
  with a coarser physics step: contacts and friction are integrated less finely;
- `10 x 1/500 s`: the same physics step but 20 ms per step: the arm's motors get half the
  time to reach each inverse-kinematics target, so the same action moves the hand less.

For each variant the script measures env steps per CPU-second under random actions
(interleaved repeats, median; CPU time so that other processes on a shared machine do not
count) and, with `--policy`, the success rate and episode outcomes of a policy trained at the
default on the same episode seeds. A policy that keeps its success rate under a variant is
evidence that the variant keeps the task (contacts, bin and floor events); it is not evidence
that a policy trained at the variant learns as well, which takes a training run.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env_throughput import measure as steps_per_cpu_second  # noqa: E402  (the same clock and random actions)

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("20 x 1/500 s (default)", {}),
    ("10 x 1/250 s", {"physics.substeps": 10, "physics.timestep": 1 / 250}),
    ("10 x 1/500 s", {"physics.substeps": 10, "physics.timestep": 1 / 500}),
]


def outcomes(env: Any, policy: Any, episodes: int, seed: int) -> dict[str, float]:
    """Success rate, mean length and the share of each episode ending (sorted, wrong bin, floor, timeout)."""
    ends: collections.Counter[str] = collections.Counter()
    lengths = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done, n, events = False, 0, {}
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.predict(obs))
            done, n = terminated or truncated, n + 1
            events = info.get("events", {})
        end = ("sorted" if events.get("sorted") else "wrong_bin" if events.get("wrong_bin")
               else "on_floor" if events.get("on_floor") else "timeout")
        ends[end] += 1
        lengths.append(n)
    return {"success": ends["sorted"] / episodes, "length": float(np.mean(lengths)),
            **{k: ends[k] / episodes for k in ("wrong_bin", "on_floor", "timeout")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="sort-1", help="bundled scene name or YAML path")
    parser.add_argument("--policy", default=None, help="a checkpoint trained on the scene at the default physics")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=10_000, help="episode i uses reset seed SEED + i")
    parser.add_argument("--steps", type=int, default=2000, help="random-action steps per speed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import envkit
    from envkit.env import SceneEnv

    envs = {name: SceneEnv(envkit.load_scene(args.scene, ov)) for name, ov in VARIANTS}
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for r in range(args.repeats):
        for name, env in envs.items():
            rates[name].append(steps_per_cpu_second(env, args.steps, seed=r))
    policy = None
    if args.policy:
        from agents.api import load_policy

        policy = load_policy(args.policy)
    base = statistics.median(rates[VARIANTS[0][0]])
    print(f"`{args.scene}`: env steps per CPU-second under random actions (median of {args.repeats} x "
          f"{args.steps} steps)" + (f"; policy {args.policy} over {args.episodes} episodes (seeds "
                                    f"{args.seed}..{args.seed + args.episodes - 1})" if policy else ""))
    print()
    head = "| physics | steps/CPU-s | speed-up |"
    sep = "|---|---|---|"
    if policy:
        head += " success | wrong bin | floor | timeout | mean length |"
        sep += "---|---|---|---|---|"
    print(head)
    print(sep)
    for name, env in envs.items():
        med = statistics.median(rates[name])
        row = f"| {name} | {med:.0f} ({min(rates[name]):.0f}-{max(rates[name]):.0f}) | {med / base:.2f}x |"
        if policy:
            o = outcomes(env, policy, args.episodes, args.seed)
            row += (f" {o['success']:.2f} | {o['wrong_bin']:.2f} | {o['on_floor']:.2f} | {o['timeout']:.2f} | "
                    f"{o['length']:.1f} |")
        print(row)
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
