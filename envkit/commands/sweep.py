"""`envkit sweep`: a Hydra multirun of trials (sweeps/), then the comparison report."""

from __future__ import annotations

import argparse

from envkit.commands._common import Flag, add_override_flags, split_override_flags

FLAGS: list[Flag] = [
    ("--dry-run", dict(action="store_true", help="list the trials and the sweep folder, run nothing")),
    ("--no-report", dict(action="store_true", help="do not build the report at the end")),
    ("--jobs", dict(type=int, default=None, metavar="N",
                    help="trials at once with launcher=local (default: all cores)")),
    ("--ablate", dict(default=None, metavar="DESIGN",
                      help="sweep the leave-one-term-out and x0.1/x10 weight variants of a reward preset "
                           "(e.g. sort_v2) instead of reward=...")),
]


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
    add_override_flags(p, FLAGS, "reward=sort_v1,sort_v2 seed=0,1,2")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sweeps.launch import sweep
    from sweeps.stopping import stop_tree_on_sigterm

    opts, overrides = split_override_flags(args, FLAGS)

    with stop_tree_on_sigterm():  # `kill PID` stops the trials too, as Ctrl-C does
        return sweep(overrides, report=not opts.no_report, dry_run=opts.dry_run, ablate=opts.ablate, jobs=opts.jobs)
