"""`envkit eval`: run a trained policy deterministically and report success rate and return."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint (optionally record a video)",
        description=(
            "Run the deterministic policy of a checkpoint (a .pt file or a run directory) for N "
            "episodes on the env it was trained on, print success rate and mean return, and "
            "optionally write a video (.mp4 or .gif)."
        ),
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint .pt or run directory")
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="episode i uses reset seed SEED + i")
    p.add_argument("--env", default=None, help="evaluate on another env or scene (name, id, path), same spaces")
    p.add_argument("--video", default=None, metavar="OUT.mp4|OUT.gif", help="write a video of the episodes")
    p.add_argument("--fps", type=int, default=25)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agents import evaluate, load_policy, register_env_resolver
    from envkit.builders import ENV_HINT, env_builder
    from envkit.commands._common import env_argument

    register_env_resolver(env_builder, ENV_HINT)

    env = env_argument(args.env) if args.env else None
    policy = load_policy(args.checkpoint)
    res = evaluate(policy, env=env, episodes=args.episodes, seed=args.seed, video=args.video, fps=args.fps)
    print(f"checkpoint: {args.checkpoint} ({policy.algo}, {policy.global_step} steps, env {env or policy.env})")
    print(f"episodes:   {res['episodes']}")
    print(f"return:     {res['mean_return']:.3f} +- {res['std_return']:.3f}")
    sr = res["success_rate"]
    print(f"success:    {'n/a (env reports no is_success)' if sr != sr else f'{sr:.3f}'}")
    print(f"length:     {res['mean_length']:.1f}")
    if args.video:
        print(f"video:      {args.video}")
    return 0
