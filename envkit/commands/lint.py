"""`envkit lint FILE...`: what is wrong with a scene's reward design, before any training."""

from __future__ import annotations

import argparse
import json

from envkit.commands._common import add_set_option, parse_sets

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lint",
        help="check a scene's reward design for traps (exit 1 on errors)",
        description="Static checks of a scene's reward design: wrong outcomes that pay, early-exit and "
        "loitering traps, terms that dwarf others, terms that cannot fire, shaping that is not "
        "potential-based. Reasons from the scene (objects, bins, termination rules, time limit) and the "
        "agent's discount; no simulator is started. Exit code 1 when there is an error "
        "(2 with --strict and only warnings).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scene YAML files, bundled names or ids")
    p.add_argument(
        "--gamma",
        type=float,
        default=0.99,
        help="discount factor of the agent that will train (default 0.99, as in Task A and B)",
    )
    p.add_argument(
        "--dominance",
        type=float,
        default=100.0,
        help="flag a term whose per-episode size is this many times smaller than the largest (default 100)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="also show the term models and return estimates"
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--strict", action="store_true", help="exit 2 on warnings too")
    add_set_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envkit.analysis.lint import lint_scene
    from envkit.errors import EnvkitError
    from envkit.loader import load_scene

    if not 0.0 < args.gamma <= 1.0:
        raise EnvkitError(f"--gamma must be in (0, 1], got {args.gamma}")
    if args.dominance <= 1.0:
        raise EnvkitError(f"--dominance must be > 1, got {args.dominance}")
    overrides = parse_sets(args.sets)
    reports = []
    for f in args.files:
        spec = load_scene(f, overrides)
        reports.append((f, lint_scene(spec, gamma=args.gamma, dominance=args.dominance)))

    if args.json:
        print(
            json.dumps(
                [
                    {
                        "file": f,
                        "scene": r.scene,
                        "gamma": r.gamma,
                        "findings": [x.as_dict() for x in r.findings],
                        "scenarios": [vars(s) for s in r.scenarios],
                    }
                    for f, r in reports
                ],
                indent=2,
            )
        )
    else:
        from envkit.commands._common import console

        out = console(emoji=False)  # ':collision:' in route names is not an emoji
        for f, r in reports:
            _print_report(out, f, r, args.verbose)
    errors = sum(len(r.errors) for _, r in reports)
    warnings = sum(len(r.warnings) for _, r in reports)
    if errors:
        return 1
    return 2 if args.strict and warnings else 0


def _design(spec) -> str:  # noqa: ANN001
    r = spec.reward
    parts = ([f"preset {r.preset}"] if r.preset else []) + [t.label for t in r.terms]
    return " + ".join(parts)


def _print_report(out, file: str, report, verbose: bool) -> None:  # noqa: ANN001
    from rich.markup import escape

    spec = report.facts.spec
    n_err, n_warn = len(report.errors), len(report.warnings)
    status = (
        "[green]clean[/green]"
        if report.clean
        else f"[bold red]{n_err} error(s)[/bold red], [yellow]{n_warn} warning(s)[/yellow]"
    )
    out.print(
        f"[bold]{escape(file)}[/bold] (scene '{escape(spec.name)}', reward {escape(_design(spec))}, "
        f"gamma {report.gamma:g}): {status}"
    )
    for x in report.findings:
        style = STYLE[x.severity]
        out.print(
            f"\n[{style}]{x.severity.upper()}[/{style}] {escape('[' + x.rule + ']')} "
            f"terms: {escape(', '.join(x.terms) or '-')}"
        )
        out.print(f"  {x.message}", markup=False)
        out.print(f"  Fix: {x.fix}", markup=False)
    if verbose:
        out.print("\n[bold]assumptions[/bold]")
        for note in report.facts.notes:
            out.print(f"  {note}", markup=False)
        out.print(
            "[bold]term models[/bold] (weighted; per step while trying / best per step without finishing)"
        )
        for p in report.profiles:
            dead = " (cannot fire)" if p.label in report.inactive else ""
            outs = ", ".join(f"{k} {v:+.3g}" for k, v in p.outcomes.items())
            out.print(
                f"  {p.label}{dead}: {p.kind}; {p.basis}; per step {p.per_step:+.3g} / {p.idle_best:+.3g}"
                f"{'; outcomes ' + outs if outs else ''}; per-episode size ~{p.magnitude:.3g}",
                markup=False,
            )
        out.print(f"[bold]estimated discounted returns[/bold] (gamma {report.gamma:g})")
        for s in report.scenarios:
            out.print(f"  {s.name:<24} {s.steps:>5} steps  {s.value:>10.4g}  {s.how}", markup=False)
    out.print("")
