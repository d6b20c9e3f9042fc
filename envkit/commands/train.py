"""`envkit train`: train PPO or TD3 on a scene (or any gymnasium env id) into a run directory."""

from __future__ import annotations

import argparse
from typing import Any

from envkit.commands._common import env_argument
from envkit.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train PPO or TD3 on a scene or env id",
        description=(
            "Train PPO or TD3 on an envkit scene (a bundled name such as reach, envkit/<name>-v0, or a "
            ".yaml path) or a gymnasium env id. Writes config.yaml, episodes.csv, eval.csv, "
            "train_stats.csv, tb/, checkpoints/ and status.json into the run directory. "
            "Hyperparameters: --set key=value (see "
            "`envkit train --list-params --algo ppo`)."
        ),
    )
    p.add_argument("env", nargs="?", metavar="SCENE_OR_ENV_ID",
                   help="scene name, id or path, or gymnasium env id")
    p.add_argument("--algo", default="ppo", help="ppo or td3 (default: ppo)")
    p.add_argument("--steps", type=int, default=None, help="total environment steps (total_timesteps)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", default=None, help="run directory (default: runs/<algo>-<env>-<time>)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyperparameter, e.g. batch_size=5000 or hidden_sizes=[64,64] (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages (for sweeps)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its last checkpoint")
    p.add_argument("--list-params", action="store_true", help="print the hyperparameters of --algo and exit")
    p.set_defaults(func=run)


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`key=value` strings -> dict of raw strings; the agent config parses and checks the values."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE (e.g. batch_size=5000), got {item!r}.")
        out[key.strip()] = value.strip()
    return out


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from agents import config_class, field_docs, make_config, register_env_resolver, train
    from agents.interrupt import sigterm_as_interrupt
    from envkit.builders import ENV_HINT, env_builder

    register_env_resolver(env_builder, ENV_HINT)

    if args.list_params:
        cls = config_class(args.algo)
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            print(f"{f.name} = {default!r}\n    {docs.get(f.name, '')}")
        return 0
    if not args.env:
        raise ConfigError("envkit train needs SCENE_OR_ENV_ID (e.g. reach, scene.yaml or Pendulum-v1).")
    env = env_argument(args.env)
    overrides = parse_sets(args.sets)
    if args.steps is not None:
        overrides["total_timesteps"] = args.steps
    if not args.resume:
        make_config(args.algo, overrides)  # fail on bad input before any env is built
    with sigterm_as_interrupt():
        result = train(env, algo=args.algo, config=overrides, run_dir=args.run_dir, seed=args.seed,
                       quiet=args.quiet, resume=args.resume)
    if not args.quiet:
        ev = result.final_eval or {}
        msg = f"done: {result.global_step} steps in {result.train_seconds:.0f} s -> {result.run_dir}"
        if ev:
            msg += f"; final eval return {ev['mean_return']:.2f}"
            if ev.get("success_rate") == ev.get("success_rate"):
                msg += f", success {ev['success_rate']:.2f}"
        print(msg)
    return 0
