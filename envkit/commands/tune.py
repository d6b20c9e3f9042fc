"""`envkit tune`: search declared ranges of reward weights and hyperparameters with Optuna (sweeps/tune.py)."""

from __future__ import annotations

import argparse


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
    p.add_argument("overrides", nargs=argparse.REMAINDER, metavar="KEY=VALUE",
                   help="Hydra overrides, e.g. experiment=my_search trials=40 budget.timesteps=200000")
    p.add_argument("--dry-run", action="store_true", help="check and list the search, run nothing")
    p.add_argument("--no-report", action="store_true", help="no report of the re-runs (tune/ is still written)")
    p.add_argument("--jobs", type=int, default=None, help="trials at once with launcher=local (default: all cores)")
    p.set_defaults(func=run)


def _flags() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--jobs", type=int)
    return p


def run(args: argparse.Namespace) -> int:
    from envkit.errors import ConfigError

    late, overrides = _flags().parse_known_args(args.overrides)
    unknown = [o for o in overrides if o.startswith("-")]
    if unknown:
        raise ConfigError(f"unknown option(s) {' '.join(unknown)}. Options: --dry-run, --no-report, --jobs N; "
                          "everything else is a Hydra override KEY=VALUE.")
    from sweeps.tune import tune

    return tune(overrides, jobs=late.jobs if late.jobs is not None else args.jobs,
                dry_run=args.dry_run or late.dry_run, report=not (args.no_report or late.no_report))
