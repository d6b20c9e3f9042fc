"""The `envkit` console script: one sub-command per module in `envkit.commands`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("envkit: no commands yet", file=sys.stderr)
    return 1
