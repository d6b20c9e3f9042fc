"""Env throughput: envkit scenes next to their panda-gym equivalents, in one run.

    python benchmarks/env_throughput.py [--steps 2000] [--repeats 5]

Each env takes random actions (fixed seed) through `gymnasium.make`, so both sides
pay the same wrapper costs. Steps/s are counted against this process's CPU time
(`time.process_time`), not wall time: on a shared 2-core machine other processes
steal wall time unevenly, while CPU time measures the work each env does. Repeats
are interleaved across envs; the table shows the median (and min-max) steps per
CPU-second, the ratio envkit / panda-gym, and the median reset time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

PAIRS = [
    ("envkit/reach-v0", "PandaReachDense-v3"),
    ("envkit/reach-v0", "PandaReach-v3"),
    ("envkit/push-v0", "PandaPushDense-v3"),
    ("envkit/push-v0", "PandaPush-v3"),
]
EXTRA = ["envkit/sort-1-v0", "envkit/sort-5-blocker-v0"]


def measure(env: gym.Env, steps: int, seed: int) -> float:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.process_time()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return steps / (time.process_time() - start)


def reset_ms(env: gym.Env, n: int = 200) -> float:
    times = []
    for i in range(n):
        t = time.process_time()
        env.reset(seed=i)
        times.append(time.process_time() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import panda_gym  # noqa: F401  (registers Panda*-v3)

    import envkit  # noqa: F401  (registers envkit/*-v0)
    from envkit.backends.bullet import silence_stdout

    ids = list(dict.fromkeys([i for pair in PAIRS for i in pair] + EXTRA))
    with silence_stdout():
        envs = {i: gym.make(i) for i in ids}
    rates: dict[str, list[float]] = {i: [] for i in ids}
    for r in range(args.repeats):
        for i in ids:
            rates[i].append(measure(envs[i], args.steps, seed=r))
    resets = {i: reset_ms(envs[i]) for i in ids}
    for e in envs.values():
        e.close()

    def fmt(i: str) -> str:
        v = rates[i]
        return f"{statistics.median(v):6.0f} ({min(v):.0f}-{max(v):.0f})"

    print(f"\nrandom actions, {args.steps} steps x {args.repeats} repeats, one process, per CPU-second\n")
    print(
        "| envkit scene | steps/CPU-s median (min-max) | reset ms | panda-gym env | steps/CPU-s median (min-max) | reset ms | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for ek, pg in PAIRS:
        ratio = statistics.median(rates[ek]) / statistics.median(rates[pg])
        print(f"| {ek} | {fmt(ek)} | {resets[ek]:.2f} | {pg} | {fmt(pg)} | {resets[pg]:.2f} | {ratio:.2f}x |")
    for i in EXTRA:
        print(f"| {i} | {fmt(i)} | {resets[i]:.2f} | - | - | - | - |")
    print(
        f"\nnumpy {np.__version__}, gymnasium {gym.__version__}, panda-gym {panda_gym.__version__ if hasattr(panda_gym, '__version__') else '?'}"
    )


if __name__ == "__main__":
    main()
