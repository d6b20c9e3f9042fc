"""`envkit export`: a trained policy as a small file, optionally for another env with the same spaces."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a checkpoint's policy as a small policy-only file (optionally for another env)",
        description=(
            "Write the deterministic policy of a checkpoint (a .pt file or a run directory) to DST: the "
            "actor and its observation normaliser, without the critic, optimiser state or replay buffer "
            "(a few hundred KB at most), so it can be committed and scored with `envkit eval DST`. With "
            "--env the file records that env (name, id or path; the spaces must match) instead of the one "
            "it was trained on: a policy trained on a training variant of a scene (training-aid starts, "
            "another reward) is shipped for the scene itself."
        ),
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint .pt or run directory")
    p.add_argument("dst", metavar="DST", help="the .pt file to write")
    p.add_argument("--env", default=None, help="record this env (name, id, path) instead; same spaces")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agents import export_policy, register_env_resolver
    from envkit.builders import ENV_HINT, env_builder
    from envkit.commands._common import env_argument

    register_env_resolver(env_builder, ENV_HINT)
    env = env_argument(args.env) if args.env else None
    out = export_policy(args.checkpoint, args.dst, env=env)
    size = Path(out).stat().st_size
    print(f"wrote {out} ({size / 1024:.0f} KB){f', for env {env}' if env else ''}")
    return 0
