"""Task A (peg-in-hole): how a policy's episodes end, and how far from the hole its peg comes down.

    python benchmarks/peg_endings.py CKPT [--env envkit/peg_in_hole-v0] [--episodes 50] [--seed 0]

Runs the checkpoint's deterministic policy and sorts its episodes by ending: success, the
time limit, a collision on the block's top (the tip at the top's height: it came down beside
the hole), another collision (the block's side or the ground), or straying. For the episodes
that did not succeed it prints the tip's horizontal distance from the hole's centre at the
end (median and quartiles) against the hole's half-width, so this says whether a policy
that does not succeed is near the hole and imprecise, or lost. This is the measurement behind
"what limits" the camera runs in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections

import numpy as np

ON_TOP = 0.003  # a tip within 3 mm of the top's height ended on it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpt")
    parser.add_argument("--env", default=None, help="the env to play (default: the checkpoint's)")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from agents.api import load_policy
    from envkit.builders import env_builder
    from envkit.fixtures import hole_width

    policy = load_policy(args.ckpt)
    target = args.env or policy.env
    env = env_builder(target)()
    world = env.unwrapped
    world.set_evaluation(True)
    spec = world.spec_scene
    if spec.goal is None or spec.goal.fixture is None:
        raise SystemExit(f"{target}: its goal follows no fixture, so it has no hole (a peg-in-hole scene is needed)")
    block = spec.fixture(spec.goal.fixture)
    block_top = spec.table(block.table).top + block.size[2]
    half_width = hole_width(block, spec.tool) / 2
    endings: collections.Counter[str] = collections.Counter()
    offsets, lengths = [], []
    for ep in range(args.episodes):
        obs, _ = env.reset(seed=args.seed + ep)
        done, steps = False, 0
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.predict(obs))
            done, steps = terminated or truncated, steps + 1
        tip, goal = np.asarray(world.state.tool_tip), np.asarray(world.goal)
        offset = float(np.linalg.norm(tip[:2] - goal[:2]))
        if info.get("is_success"):
            kind = "success"
        elif truncated and not terminated:
            kind = "time limit"
        elif np.linalg.norm(tip - goal) > 0.8:
            kind = "strayed"
        elif abs(tip[2] - block_top) < ON_TOP:
            kind = "collision: block top"
        else:
            kind = "collision: side or ground"
        endings[kind] += 1
        lengths.append(steps)
        if kind != "success":
            offsets.append(offset)
    env.close()
    n = args.episodes
    print(f"{args.ckpt} on {target}, {n} episodes (seeds {args.seed}..{args.seed + n - 1}), deterministic\n")
    print("| ending | episodes | share |")
    print("|---|---|---|")
    for kind in ("success", "collision: block top", "collision: side or ground", "time limit", "strayed"):
        print(f"| {kind} | {endings[kind]} | {endings[kind] / n:.2f} |")
    print(f"\nmean length {np.mean(lengths):.1f} steps")
    if offsets:
        q1, med, q3 = np.percentile(np.array(offsets) * 1000, [25, 50, 75])
        print(f"tip's distance from the hole's centre at the end, episodes without success: median {med:.1f} mm "
              f"(quartiles {q1:.1f}-{q3:.1f}); the hole's half-width is {half_width * 1000:.1f} mm")


if __name__ == "__main__":
    main()
