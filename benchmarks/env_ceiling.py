"""The fastest any agent could train on an env: vector-env steps/s with random actions and no agent.

    python benchmarks/env_ceiling.py [--env PandaReachDense-v3] [--n-envs 4] [--vec async] [--steps 20000]

Used in docs/benchmarks.md to bound the agents-vs-SB3 speed-up where the environment is
the cost: an agent with zero overhead trains at this rate, so the best possible speed-up
over a library is this rate divided by that library's.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", default="PandaReachDense-v3")
    ap.add_argument("--n-envs", type=int, default=4)
    ap.add_argument("--vec", default="async", choices=["sync", "async"])
    ap.add_argument("--steps", type=int, default=20_000, help="env transitions (summed over envs)")
    args = ap.parse_args()

    import gymnasium as gym
    import numpy as np

    if args.env.startswith("Panda"):
        import panda_gym  # noqa: F401 - registers the ids
    if args.env.startswith("envkit/"):
        import envkit  # noqa: F401

    def make():
        return envkit_make(args.env) if args.env.startswith("envkit/") else gym.make(args.env)

    def envkit_make(env_id: str):
        import envkit

        return envkit.make(env_id)

    cls = gym.vector.AsyncVectorEnv if args.vec == "async" else gym.vector.SyncVectorEnv
    envs = cls([make] * args.n_envs)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    shape = envs.action_space.shape
    for _ in range(50):
        envs.step(rng.uniform(-1, 1, shape).astype(np.float32))
    n = args.steps // args.n_envs
    t0 = time.perf_counter()
    for _ in range(n):
        envs.step(rng.uniform(-1, 1, shape).astype(np.float32))
    dt = time.perf_counter() - t0
    envs.close()
    print(f"| {args.env} | {args.n_envs} {args.vec} | {n * args.n_envs / dt:,.0f} env-steps/s |")


if __name__ == "__main__":
    main()
