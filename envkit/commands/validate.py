"""`envkit validate FILE...`: check scene files without starting the simulator."""

from __future__ import annotations

import argparse

from envkit.commands._common import add_set_option, console, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check scene files (exit 1 on any error)",
        description="Validate scene YAML files: syntax, keys, types, ranges, geometry and reward terms. "
        "Every problem is listed with its file, line and field.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scene YAML files, bundled names or ids")
    add_set_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envkit.errors import EnvkitError
    from envkit.loader import load_scene

    out = console()
    overrides = parse_sets(args.sets)
    failed = 0
    for f in args.files:
        try:
            spec = load_scene(f, overrides)
        except EnvkitError as exc:
            failed += 1
            out.print(f"[red]FAIL[/red] {f}")
            out.print(str(exc), markup=False)
            continue
        out.print(
            f"[green]OK[/green]   {f} (scene '{spec.name}', {spec.objects.n} object(s), reward: "
            f"{spec.reward.preset or ''}{' + ' if spec.reward.preset and spec.reward.terms else ''}"
            f"{', '.join(t.label for t in spec.reward.terms)})"
        )
        if spec.curriculum is not None:
            out.print(f"     curriculum: {spec.curriculum.describe()}", markup=False)
    if failed:
        out.print(f"{failed} of {len(args.files)} file(s) failed validation")
    return 1 if failed else 0
