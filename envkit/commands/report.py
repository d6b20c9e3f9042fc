"""`envkit report`: the comparison of one or more sweep folders (same as `python -m sweeps.report`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from sweeps.report import __doc__ as doc
    from sweeps.report import add_arguments

    p = sub.add_parser("report", help="compare the designs of sweep folders: tables, plots, verdict",
                       description=(doc or "").split("\n\n")[1].replace("\n", " "))
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sweeps.report import run as run_report

    return run_report(args)
