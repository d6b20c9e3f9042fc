"""`envkit sweep`: a Hydra multirun of trials (sweeps/), then the comparison report."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="train a grid of reward designs x agents x seeds and compare them",
        description=(
            "Run the Hydra app `python -m sweeps.train` as a multirun with these overrides, then print "
            "the comparison report (tables, plots, verdict). Overrides are Hydra's: experiment=quickstart, "
            "reward=sort_v1,sort_v2, agent=td3, agent.batch_size=5000,50000, seed=0,1,2, "
            "budget.timesteps=200000, scene=sort-1 or scene_file=my.yaml, launcher=local|sequential|ray. "
            "Rerunning the same command skips finished trials. race=true races the designs instead of "
            "training the full grid: race.rungs=[0.1,0.3,1.0] (fractions of the budget), race.min_seeds, "
            "race.max_seeds, race.eta, race.metric=success|auc. See docs/sweeps.md."
        ),
    )
    p.add_argument("overrides", nargs=argparse.REMAINDER, metavar="KEY=VALUE",
                   help="Hydra overrides (sweep with a,b,c); the options below may come before or after them")
    p.add_argument("--dry-run", action="store_true", help="list the trials and the sweep folder, run nothing")
    p.add_argument("--no-report", action="store_true", help="do not build the report at the end")
    p.add_argument("--jobs", type=int, default=None, help="trials at once with launcher=local (default: all cores)")
    p.add_argument("--ablate", default=None, metavar="DESIGN",
                   help="sweep the leave-one-term-out and x0.1/x10 weight variants of a reward preset "
                        "(e.g. sort_v2) instead of reward=...")
    p.set_defaults(func=run)


def _flags() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--jobs", type=int)
    p.add_argument("--ablate")
    return p


def run(args: argparse.Namespace) -> int:
    from envkit.errors import ConfigError
    from sweeps.launch import sweep

    # options after the first override land in the remainder: pick them out of it
    late, overrides = _flags().parse_known_args(args.overrides)
    unknown = [o for o in overrides if o.startswith("-")]
    if unknown:
        raise ConfigError(f"unknown option(s) {' '.join(unknown)}. Options: --dry-run, --no-report, "
                          "--jobs N, --ablate DESIGN; everything else is a Hydra override KEY=VALUE.")
    return sweep(overrides, report=not (args.no_report or late.no_report), dry_run=args.dry_run or late.dry_run,
                 ablate=late.ablate or args.ablate, jobs=late.jobs if late.jobs is not None else args.jobs)
