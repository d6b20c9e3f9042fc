"""The `envkit` console script.

Each sub-command lives in its own module under `envkit.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func=run` as default;
`run(args) -> int` returns the exit code. Errors meant for the user are raised as
`envkit.errors.EnvkitError` (or, from the agents, `agents.errors.AgentsError`) and
printed as one paragraph, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from agents.errors import AgentsError  # cheap: importing agents loads no torch until it is used
from envkit.errors import EnvkitError

#: Sub-command modules, in the order `envkit --help` lists them.
COMMANDS = (
    "list",
    "validate",
    "info",
    "schema",
    "preview",
    "train",
    "eval",
    "export",
    "demos",
    "sweep",
    "tune",
    "report",
    "lint",
    "probe",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envkit",
        description="Design robot-arm RL environments and rewards from YAML; train, sweep and compare them.",
    )
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks on errors (debugging)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"envkit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"envkit.commands.{name}":
                continue  # command not available in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (EnvkitError, AgentsError) as exc:
        if args.traceback:
            raise
        print(f"envkit {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"envkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
