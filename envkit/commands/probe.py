"""`envkit probe FILE --episodes N`: what each reward term pays a random (or trained) policy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from envkit.commands._common import add_set_option, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="roll out a random policy and profile each reward term",
        description="Roll out a seeded random policy (or a checkpoint's) and print how often each reward term "
        "fires, its per-episode mean and percentiles, and event frequencies; flags terms that never fire "
        "and terms that fire every step. Writes a PNG of per-episode histograms.",
    )
    p.add_argument("file", metavar="FILE", help="scene YAML, bundled name or id")
    p.add_argument("--episodes", "-n", type=int, default=20, help="episodes to roll out (default 20)")
    p.add_argument("--seed", type=int, default=0, help="episode i is reset with seed+i (default 0)")
    p.add_argument("--checkpoint", default=None, help="a trained agent's checkpoint or run directory")
    p.add_argument(
        "--out", default=None, help="PNG path for the histograms (default probe-<scene>.png; 'none' to skip)"
    )
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_set_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from envkit.analysis.probe import plot_probe, run_probe

    overrides = parse_sets(args.sets)
    err = Console(file=sys.stderr, highlight=False)
    with Progress(
        TextColumn("probe"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("episodes"),
        TimeRemainingColumn(),
        console=err,
        disable=args.quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("probe", total=args.episodes)
        result = run_probe(
            args.file,
            args.episodes,
            seed=args.seed,
            overrides=overrides,
            checkpoint=args.checkpoint,
            progress=lambda i, rec: bar.advance(task),
        )
    png = None
    if (args.out or "").lower() != "none":
        png = plot_probe(result, Path(args.out or f"probe-{result.scene}.png"))

    if args.json:
        print(
            json.dumps(
                {
                    "scene": result.scene,
                    "policy": result.policy,
                    "seed": result.seed,
                    "outcomes": result.outcome_stats(),
                    "terms": [vars(s) for s in result.term_stats()],
                    "events": result.event_stats(),
                    "png": str(png) if png else None,
                },
                indent=2,
            )
        )
        return 0
    _print(result, png)
    return 0


def _print(result, png) -> None:  # noqa: ANN001
    from rich.table import Table

    from envkit.commands._common import console

    out = console(emoji=False)  # not wrapped at 80 columns off a terminal
    o = result.outcome_stats()
    out.print(
        f"[bold]probe[/bold] '{result.scene}': {result.policy} policy, seed {result.seed}, "
        f"{o['episodes']} episodes, {o['steps']} steps"
    )
    out.print(
        f"  return {o['mean_return']:.4g} +- {o['std_return']:.3g}; length {o['mean_length']:.1f} steps; "
        f"success {o['success_rate']:.0%}; terminated {o['terminated_rate']:.0%}, "
        f"truncated {o['truncated_rate']:.0%}"
    )
    t = Table(title="reward terms, per-episode sums")
    for col in ("term", "kind", "fires/step", "fires/episode", "mean", "p5", "p50", "p95", "share", "flag"):
        t.add_column(
            col, justify="left" if col in ("term", "kind", "flag") else "right", no_wrap=col != "term"
        )
    for s in result.term_stats():
        t.add_row(
            s.label,
            result.kinds.get(s.label, "?"),
            f"{s.fire_rate:.1%}",
            f"{s.episode_rate:.0%}",
            f"{s.mean:.3g}",
            f"{s.p5:.3g}",
            f"{s.p50:.3g}",
            f"{s.p95:.3g}",
            f"{s.share:.0%}",
            {"never": "[yellow]never fires[/yellow]", "every-step": "every step"}.get(s.flag, ""),
        )
    out.print(t)
    if result.n_objects:
        ev = result.event_stats()
        out.print(
            "  events per episode: "
            + ", ".join(
                f"{k} {v['per_episode']:.2f} ({v['episode_rate']:.0%} of episodes)" for k, v in ev.items()
            )
        )
    for s in result.term_stats():
        kind = result.kinds.get(s.label, "unknown")
        if s.flag == "never":
            out.print(
                f"  [yellow]never fires:[/yellow] {s.label} - this policy never triggers it, so an agent starting "
                "from it gets no signal from this term until it stumbles on it by chance."
            )
        elif s.flag == "every-step" and kind in ("event", "telescoping", "unknown"):
            out.print(
                f"  [yellow]fires every step:[/yellow] {s.label} ({kind} term) - non-zero on every step, so it "
                "acts as a per-step offset; check that this is intended."
            )
        elif s.flag == "every-step":
            out.print(f"  fires every step: {s.label} (expected for a {kind} term)")
    if png is not None:
        out.print(f"  histograms: {png}")
