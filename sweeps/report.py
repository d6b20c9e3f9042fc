"""`python -m sweeps.report SWEEP_DIR [SWEEP_DIR ...]` (and `envkit report`): which design learns best.

Collects every trial (sweeps/collect.py), groups them by design, and writes into
`<first SWEEP_DIR>/report/` (or `--out`):

- comparison.md / .csv / .html: per design the seeds, success rate as IQM with a 95%
  stratified-bootstrap CI, mean return with CI, area under the success curve, steps to the
  success threshold, wall time; ranked by success (returns of different reward designs
  are on different scales, so they cannot rank designs); the probability that the best
  design improves on each other one; the verdict and its warnings;
- trials.csv (one row per trial), terms.csv (per-term contributions vs success),
  report.json (everything above, machine-readable);
- plots/: learning curves with CI bands, per-episode returns with a rolling mean and a
  trend line, reward-term contributions, interval estimates, probability of improvement.

Works on whatever exists: a sweep stopped with Ctrl-C, or with failed trials, reports its
finished trials and lists the others.

The work is done in three steps, each a module of its own, and the data flows one way:
`sweeps.collect` (find the trials, read their files, group them into designs) ->
`sweeps.judge` (the estimates, the ranking, the verdict and its warnings, as typed data) ->
`sweeps.render` (the tables, HTML, JSON, console and, through `sweeps.plots`, the figures).
This module is only the command line; `build_report`, `write_report` and `print_report`
are re-exported for scripts that used them from here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envkit.errors import ConfigError, EnvkitError
from sweeps.collect import collect
from sweeps.judge import Report, build_report, judge
from sweeps.render import print_report, write_report

__all__ = ["Report", "add_arguments", "build_report", "main", "print_report", "run", "write_report"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", metavar="SWEEP_DIR", help="sweep folders (runs/sweeps/<name>); several are merged")
    p.add_argument("--out", default=None, help="report folder (default: <first SWEEP_DIR>/report)")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--task-key", default=None, metavar="KEY",
                   help="treat this key (e.g. scene) as tasks to stratify over instead of as part of the design")
    p.add_argument("--no-plots", action="store_true", help="tables only (faster)")


def run(args: argparse.Namespace) -> int:
    """collect -> judge -> render, once each."""
    if args.reps < 100:
        raise ConfigError(f"--reps {args.reps} is too few for a 95% interval; use at least 100 (default 2000).")
    report = judge(collect(args.dirs, task_key=args.task_key), reps=args.reps, seed=args.seed)
    out = Path(args.out) if args.out else Path(args.dirs[0]) / "report"
    files = write_report(report, out, make_plots=not args.no_plots)
    print_report(report, files)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sweeps.report", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except EnvkitError as exc:
        print(f"sweeps.report: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
