"""`envkit tune`: search declared ranges of reward weights and hyperparameters with Optuna (sweeps/tune.py)."""

from __future__ import annotations

import argparse

from envkit.commands._common import Flag, add_override_flags, split_override_flags

FLAGS: list[Flag] = [
    ("--dry-run", dict(action="store_true", help="check and list the search, run nothing")),
    ("--no-report", dict(action="store_true", help="no report of the re-runs (tune/ is still written)")),
    ("--jobs", dict(type=int, default=None, metavar="N",
                    help="trials at once with launcher=local (default: all cores)")),
]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune",
        help="search reward weights and hyperparameters (Optuna TPE, racing-rule pruning, fresh-seed re-runs)",
        description=(
            "Search the ranges an experiment declares in `search:` (override key -> {low, high, log} or "
            "{choices: [...]}; reward weights as reward.terms.<term>.weight) for `trials:` Optuna trials. "
            "Each trial trains tune.seeds seeds through the sweep's trials and launcher, rung by rung "
            "(race.rungs), and is pruned by the racing rule; the study is stored in <sweep folder>/study.db "
            "(rerun the same command to continue it; start it in several terminals to share it). At the end "
            "the top tune.top_k configurations are re-run on tune.confirm_seeds fresh seeds, and tune/ gets the "
            "history, the parameter importances, the best design as a reward YAML and its lint verdict. "
            "See docs/sweeps.md, section Tuning."
        ),
    )
    add_override_flags(p, FLAGS, "experiment=my_search trials=40 budget.timesteps=200000")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    opts, overrides = split_override_flags(args, FLAGS)
    from sweeps.stopping import stop_tree_on_sigterm
    from sweeps.tune import tune

    with stop_tree_on_sigterm():  # `kill PID` stops the trials too, as Ctrl-C does
        return tune(overrides, jobs=opts.jobs, dry_run=opts.dry_run, report=not opts.no_report)
