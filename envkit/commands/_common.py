"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from typing import Any

from envkit.errors import EnvkitError


def add_set_option(parser: argparse.ArgumentParser, what: str = "scene") -> None:
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a {what} field with a dotted key, e.g. objects.count=3 (repeatable)",
    )


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`key=value` strings -> dict; values are parsed as YAML scalars or lists."""
    from envkit.loader import parse_override_value

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EnvkitError(f"--set expects KEY=VALUE (e.g. objects.count=3), got '{item}'")
        out[key.strip()] = parse_override_value(value)
    return out


def console(**options: Any):  # noqa: ANN201 - rich is imported lazily to keep `envkit --help` fast
    """The rich console commands print through (`options` go to `rich.console.Console`).

    Off a terminal (a pipe, a file, CI logs) rich would wrap every line at 80
    columns, splitting the paths and field names of error messages so they can be
    neither read nor grepped: there text is not wrapped, and tables get 120 columns.
    """
    from rich.console import Console

    out = Console(highlight=False, **options)
    if not out.is_terminal:
        out.soft_wrap = True
        out.width = max(out.width, 120)
    return out
