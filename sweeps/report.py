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
"""

from __future__ import annotations

import argparse
import html
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from envkit.errors import ConfigError, EnvkitError
from sweeps import analytics, plots
from sweeps.analytics import Correlation, TermContribution
from sweeps.collect import Trial, collect, design_value
from sweeps.stats import NAN_INTERVAL, Interval, bootstrap_ci, probability_of_improvement_ci

MIN_SEEDS = 3


@dataclass
class DesignStats:
    """Everything the report says about one design."""

    label: str
    keys: dict[str, str]
    trials: list[Trial]
    seeds: int = 0
    failed: int = 0
    incomplete: int = 0
    success: Interval = NAN_INTERVAL
    ret: Interval = NAN_INTERVAL
    auc: Interval = NAN_INTERVAL
    reached: int = 0
    steps_to_threshold: float | None = None
    wall_time: float | None = None
    steps_per_second: float | None = None
    gamed: list[str] = field(default_factory=list)

    def scores(self, metric: str, task_key: str | None) -> list[np.ndarray]:
        """Final scores of the completed trials, one array per task (stratum)."""
        key = "final_success" if metric == "success" else "final_return"
        groups: dict[str, list[float]] = {}
        for t in self.trials:
            if t.status == "completed":
                v = t.summary.get(key)
                task = design_value(t, task_key) if task_key else ""
                groups.setdefault(str(task), []).append(np.nan if v is None else float(v))
        return [np.asarray(groups[k], float) for k in sorted(groups)]


@dataclass
class Report:
    metric: str
    keys: list[str]
    designs: list[DesignStats]
    trials: list[Trial]
    improvement: dict[str, Interval]
    verdict: str
    warnings: list[str]
    correlations: list[Correlation]
    terms: list[TermContribution]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def best(self) -> DesignStats | None:
        return self.designs[0] if self.designs else None


def _mean(values: list[Any]) -> float | None:
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(xs)) if xs else None


def design_stats(label: str, keys: dict[str, str], trials: list[Trial], reps: int, seed: int,
                 task_key: str | None) -> DesignStats:
    d = DesignStats(label, keys, trials)
    done = [t for t in trials if t.status == "completed"]
    d.seeds, d.failed = len(done), sum(t.status == "failed" for t in trials)
    d.incomplete = sum(t.status == "incomplete" for t in trials)
    d.success = bootstrap_ci(d.scores("success", task_key), "iqm", reps, seed=seed)
    d.ret = bootstrap_ci(d.scores("return", task_key), "mean", reps, seed=seed)
    d.auc = bootstrap_ci(np.array([t.summary.get("auc_success") if t.summary.get("auc_success") is not None
                                   else np.nan for t in done], float), "mean", reps, seed=seed)
    steps = [t.summary.get("steps_to_threshold") for t in done]
    d.reached = sum(s is not None for s in steps)
    d.steps_to_threshold = float(np.median([s for s in steps if s is not None])) if d.reached else None
    d.wall_time = _mean([t.summary.get("wall_time") for t in done])
    d.steps_per_second = _mean([t.summary.get("steps_per_second") for t in done])
    d.gamed = [t.label for t in done if analytics.gaming_check(t.episodes).flagged]
    return d


def _rank_key(metric: str):
    def key(d: DesignStats) -> tuple[float, ...]:
        def v(x: float) -> float:
            return x if np.isfinite(x) else -np.inf

        if metric == "success":
            return (-v(d.success.value), -v(d.auc.value), -v(d.ret.value))
        return (-v(d.ret.value),)

    return key


def build_report(dirs: list[str | Path], reps: int = 2000, seed: int = 0, task_key: str | None = None) -> Report:
    """Collect, group, estimate, rank and judge; no files are written here."""
    swept = collect(dirs, task_key)
    trials, keys = swept.trials, swept.keys
    groups: dict[str, list[Trial]] = {}
    for t in trials:
        groups.setdefault(t.design_label, []).append(t)
    designs = [design_stats(label, ts[0].design, ts, reps, seed, task_key) for label, ts in groups.items()]
    metric = "success" if any(np.isfinite(d.success.value) for d in designs) else "return"
    designs.sort(key=_rank_key(metric))
    ranked = [d for d in designs if d.seeds > 0]
    improvement: dict[str, Interval] = {}
    if len(ranked) > 1:
        best = ranked[0]
        for other in ranked[1:]:
            improvement[other.label] = probability_of_improvement_ci(
                best.scores(metric, task_key), other.scores(metric, task_key), reps, seed=seed)
    correlations = [analytics.return_success_correlation(d.label, d.trials) for d in designs]
    terms = [row for d in designs for row in analytics.term_contributions(d.label, d.trials)]
    verdict, warnings = judge(designs, metric, improvement, trials)
    return Report(metric, keys, designs, trials, improvement, verdict, warnings, correlations, terms)


# ---------------------------------------------------------------------------------- the verdict


def judge(designs: list[DesignStats], metric: str, improvement: dict[str, Interval],
          trials: list[Trial]) -> tuple[str, list[str]]:
    """The verdict paragraph and the warnings that qualify it."""
    warnings: list[str] = []
    ranked = [d for d in designs if d.seeds > 0]
    est = (lambda d: d.success) if metric == "success" else (lambda d: d.ret)
    what = "success rate" if metric == "success" else "mean final return"
    how = "IQM" if metric == "success" else "mean"

    def seeds(d: DesignStats) -> str:
        return f"{d.seeds} seed{'s' if d.seeds != 1 else ''}"

    if not ranked:
        verdict = "No trial has completed yet, so there is nothing to compare."
    elif len(ranked) == 1:
        b = ranked[0]
        verdict = (f"Only one design has completed trials ({b.label}): {what} {est(b).fmt()} ({how} over "
                   f"{seeds(b)}, 95% CI). Sweep at least two designs to compare them.")
    else:
        b, r = ranked[0], ranked[1]
        p = improvement.get(r.label, NAN_INTERVAL)
        gap = est(b).value - est(r).value
        lead = f"{what} {est(b).fmt()} ({how} over {seeds(b)}, 95% CI)"
        if est(b).overlaps(est(r)):
            verdict = (f"No clear winner: {b.label} leads with a {lead}, but the runner-up {r.label}, at "
                       f"{est(r).fmt()} over {seeds(r)}, overlaps it. P({b.label} > {r.label}) = {p.fmt()}. "
                       "More seeds or a larger budget would separate them.")
        else:
            beaten = [d for d in ranked[1:] if not est(b).overlaps(est(d))]
            rest = ("every other design" if len(beaten) == len(ranked) - 1
                    else f"{len(beaten)} of the {len(ranked) - 1} other designs")
            verdict = (f"{b.label} learns best: {lead}, ahead of the runner-up {r.label} at {est(r).fmt()} by "
                       f"{gap:+.2f} with non-overlapping intervals, and clearly ahead of {rest}. "
                       f"P({b.label} > {r.label}) = {p.fmt()}.")
        if metric == "return":
            verdict += (" No trial reports a success rate, so designs are ranked by return, which is only "
                        "meaningful when they share a reward scale.")
    few = [d.label for d in ranked if d.seeds < MIN_SEEDS]
    if few:
        warnings.append(f"{len(few)} design(s) have fewer than {MIN_SEEDS} completed seeds, so their intervals "
                        f"say little: {'; '.join(few)}. Add seeds (e.g. seed=0,1,2) and rerun the same command: "
                        "finished trials are skipped.")
    failed = [t for t in trials if t.status == "failed"]
    if failed:
        lines = [f"{t.label}: {(t.summary.get('error') or '').splitlines()[0] if t.summary.get('error') else '?'}"
                 for t in failed]
        warnings.append(f"{len(failed)} trial(s) failed and are left out of the estimates (rerunning the sweep "
                        f"redoes them; their files are kept under attempts/): " + " | ".join(lines))
    incomplete = [t for t in trials if t.status == "incomplete"]
    if incomplete:
        warnings.append(f"{len(incomplete)} trial(s) have no summary (killed, interrupted or still running) and are "
                        f"left out: {', '.join(t.label for t in incomplete)}. Rerun the sweep to finish them.")
    for d in ranked:
        if d.gamed:
            warnings.append(f"Possible reward gaming in {d.label}: the training return rises clearly while the "
                            f"success rate does not ({len(d.gamed)} of {d.seeds} seeds). The agent may be paid "
                            "for something other than the task (check `envkit lint` and the terms plot), or it "
                            "progresses without yet reaching the success threshold.")
    return verdict, warnings


# ---------------------------------------------------------------------------------- tables


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def comparison_rows(report: Report) -> list[dict[str, Any]]:
    rows = []
    best = report.best
    for rank, d in enumerate(report.designs, 1):
        p = report.improvement.get(d.label)
        rows.append({
            "rank": rank if d.seeds else "-",
            **d.keys,
            "seeds": d.seeds,
            "failed": d.failed + d.incomplete,
            "success IQM [95% CI]": d.success.fmt(),
            "return [95% CI]": d.ret.fmt(1),
            "success AUC": d.auc.fmt(),
            "steps to threshold": (f"{d.steps_to_threshold:,.0f} ({d.reached}/{d.seeds})" if d.reached
                                   else f"never (0/{d.seeds})" if d.seeds and np.isfinite(d.success.value) else "-"),
            "wall time s": _fmt(d.wall_time, 0),
            "P(best > this)": ("best" if best is not None and d is best and d.seeds else p.fmt() if p else "-"),
        })
    return rows


def numeric_rows(report: Report) -> list[dict[str, Any]]:
    """comparison.csv: the same table with numbers in their own columns."""
    out = []
    for rank, d in enumerate(report.designs, 1):
        p = report.improvement.get(d.label, NAN_INTERVAL)
        out.append({
            "rank": rank, "design": d.label, **d.keys, "seeds": d.seeds, "failed": d.failed, "incomplete": d.incomplete,
            "success_iqm": d.success.value, "success_low": d.success.low, "success_high": d.success.high,
            "return_mean": d.ret.value, "return_low": d.ret.low, "return_high": d.ret.high,
            "auc_success": d.auc.value, "auc_low": d.auc.low, "auc_high": d.auc.high,
            "reached_threshold": d.reached, "steps_to_threshold_median": d.steps_to_threshold,
            "wall_time_mean": d.wall_time, "steps_per_second_mean": d.steps_per_second,
            "p_best_improves": p.value, "p_low": p.low, "p_high": p.high, "gamed_seeds": len(d.gamed),
        })
    return out


def trial_rows(report: Report) -> list[dict[str, Any]]:
    keys = ("status", "seed", "global_step", "final_success", "final_return", "last_success", "last_return",
            "auc_success", "auc_return", "steps_to_threshold", "wall_time", "steps_per_second", "error")
    return [{"design": t.design_label, **t.design, "trial": t.label, "path": str(t.path),
             **{k: t.summary.get(k) if k != "seed" else t.seed for k in keys}} for t in report.trials]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no designs)\n"
    cols = list(rows[0])
    esc = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(esc(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def analytics_markdown(report: Report) -> str:
    out = ["## Does the return track success?", "",
           "Pearson correlation between return and success: across trials (final evaluations, one point per "
           "seed) and across training episodes (every episode of every seed). A design whose return does not "
           "rise with success pays for something else.", ""]
    rows = [{"design": c.design, "trials": c.trials, "r (trials)": _fmt(c.r_trials),
             "episodes": c.episodes, "r (episodes)": _fmt(c.r_episodes)} for c in report.correlations]
    out.append(markdown_table(rows))
    if report.terms:
        out += ["## Which term drives learning?", "",
                "Per reward term: its mean weighted sum per episode over the last half of training, its share of "
                "all terms' magnitude, how often it is non-zero, and the correlation of its per-episode sum with "
                "the episode's success. The term that rises with success is the one learning follows; a large term "
                "uncorrelated with success is noise the agent has to learn around.", ""]
        out.append(markdown_table([{"design": r.design, "term": r.term,
                                    "mean per episode": _fmt(r.mean_per_episode, 3), "share": _fmt(r.share),
                                    "non-zero in episodes": _fmt(r.fires),
                                    "corr with success": _fmt(r.corr_with_success)} for r in report.terms]))
    return "\n".join(out)


# ---------------------------------------------------------------------------------- writing


def write_report(report: Report, out: Path, make_plots: bool = True) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    files: dict[str, Path] = {}
    rows = comparison_rows(report)
    pd.DataFrame(numeric_rows(report)).to_csv(out / "comparison.csv", index=False)
    pd.DataFrame(trial_rows(report)).to_csv(out / "trials.csv", index=False)
    pd.DataFrame([asdict(r) for r in report.terms]).to_csv(out / "terms.csv", index=False)
    files.update(csv=out / "comparison.csv", trials=out / "trials.csv", terms=out / "terms.csv")

    if make_plots:
        curves = {d.label: [t.evals for t in d.trials if t.status != "failed"] for d in report.designs}
        eps = {d.label: [t.episodes for t in d.trials if t.status != "failed"] for d in report.designs}
        estimates = {d.label: {"success IQM": d.success, "return mean": d.ret, "success AUC": d.auc}
                     for d in report.designs if d.seeds}
        made = {
            "learning_curves": plots.learning_curves(curves, plot_dir / "learning_curves.png"),
            "episode_returns": plots.episode_returns(eps, plot_dir / "episode_returns.png"),
            "reward_terms": plots.reward_terms([asdict(r) for r in report.terms], plot_dir / "reward_terms.png"),
            "intervals": plots.intervals(estimates, plot_dir / "intervals.png"),
            "improvement": (plots.improvement(report.best.label, report.improvement, plot_dir / "improvement.png")
                            if report.best is not None and report.improvement else None),
        }
        files.update({k: v for k, v in made.items() if v is not None})

    md = [f"# Sweep report: {', '.join(sorted({str(t.path.parent) for t in report.trials}))}", "",
          f"{len(report.trials)} trials, {len(report.designs)} designs "
          f"(varying: {', '.join(report.keys) or 'nothing'}); ranked by "
          f"{'success rate' if report.metric == 'success' else 'return'}.", "",
          "## Verdict", "", report.verdict, ""]
    if report.warnings:
        md += ["## Warnings", ""] + [f"- {w}" for w in report.warnings] + [""]
    md += ["## Comparison", "", markdown_table(rows),
           "Success IQM: interquartile mean over seeds of each trial's final success rate (mean of its last "
           "evaluations), with a 95% stratified-bootstrap confidence interval; return: mean with CI; AUC: mean "
           "height of the success curve; P(best > this): probability that a seed of the best design beats a "
           "seed of this one, with CI.", "", analytics_markdown(report)]
    if make_plots:
        md += ["## Plots", ""] + [f"![{k}](plots/{p.name})" for k, p in files.items() if p.suffix == ".png"]
    (out / "comparison.md").write_text("\n".join(md) + "\n")
    files["markdown"] = out / "comparison.md"
    (out / "comparison.html").write_text(_html(report, rows, files))
    files["html"] = out / "comparison.html"
    (out / "report.json").write_text(json.dumps(_json(report), indent=2, default=str))
    files["json"] = out / "report.json"
    report.files = files
    return files


def _html(report: Report, rows: list[dict[str, Any]], files: dict[str, Path]) -> str:
    table = pd.DataFrame(rows).to_html(index=False, border=0, classes="cmp", escape=True)
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
    imgs = "".join(f'<figure><img src="plots/{p.name}" alt="{k}"><figcaption>{k}</figcaption></figure>'
                   for k, p in files.items() if p.suffix == ".png")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>envkit sweep report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table.cmp{{border-collapse:collapse;font-size:14px}}table.cmp td,table.cmp th{{padding:4px 8px;border-bottom:1px solid #ddd}}
figure{{margin:1em 0}}img{{max-width:100%}}</style></head><body>
<h1>Sweep report</h1><h2>Verdict</h2><p>{html.escape(report.verdict)}</p>
{'<h2>Warnings</h2><ul>' + warn + '</ul>' if warn else ''}<h2>Comparison</h2>{table}<h2>Plots</h2>{imgs}</body></html>
"""


def _json(report: Report) -> dict[str, Any]:
    def iv(i: Interval) -> dict[str, float]:
        return {"value": i.value, "low": i.low, "high": i.high}

    return {
        "metric": report.metric, "design_keys": report.keys, "verdict": report.verdict, "warnings": report.warnings,
        "designs": [{"design": d.label, "keys": d.keys, "seeds": d.seeds, "failed": d.failed,
                     "incomplete": d.incomplete, "success_iqm": iv(d.success), "return_mean": iv(d.ret),
                     "auc_success": iv(d.auc), "reached_threshold": d.reached,
                     "steps_to_threshold_median": d.steps_to_threshold, "wall_time_mean": d.wall_time,
                     "gamed": d.gamed, "trials": [t.label for t in d.trials]} for d in report.designs],
        "probability_of_improvement": {k: iv(v) for k, v in report.improvement.items()},
        "return_success_correlation": [asdict(c) for c in report.correlations],
        "terms": [asdict(r) for r in report.terms],
    }


# ---------------------------------------------------------------------------------- printing and CLI


def print_report(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    # a terminal gets its own width; a pipe or CI log gets room for the whole table
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    rows = comparison_rows(report)
    table = Table(title=f"{len(report.trials)} trials, ranked by "
                        f"{'success rate' if report.metric == 'success' else 'return'}", show_lines=False)
    for c in rows[0] if rows else []:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[str(v) for v in r.values()])
    console.print(table)
    console.print(f"[bold]Verdict:[/bold] {report.verdict}")
    for w in report.warnings:
        console.print(f"[yellow]Warning:[/yellow] {w}")
    if report.files:
        console.print("Report files:")
        for k, p in report.files.items():
            console.print(f"  {k:16} {p}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", metavar="SWEEP_DIR", help="sweep folders (runs/sweeps/<name>); several are merged")
    p.add_argument("--out", default=None, help="report folder (default: <first SWEEP_DIR>/report)")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--task-key", default=None, metavar="KEY",
                   help="treat this key (e.g. scene) as tasks to stratify over instead of as part of the design")
    p.add_argument("--no-plots", action="store_true", help="tables only (faster)")


def run(args: argparse.Namespace) -> int:
    if args.reps < 100:
        raise ConfigError(f"--reps {args.reps} is too few for a 95% interval; use at least 100 (default 2000).")
    report = build_report(args.dirs, reps=args.reps, seed=args.seed, task_key=args.task_key)
    out = Path(args.out) if args.out else Path(args.dirs[0]) / "report"
    write_report(report, out, make_plots=not args.no_plots)
    print_report(report)
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
