"""The report's last step: show a judged sweep (`sweeps.judge.Report`) as files and on the console.

Nothing is estimated or decided here: the tables, the HTML page, the JSON, the console
summary and the plots (drawn by `sweeps.plots`) only lay out what the Report holds.
`write_report` writes into one folder:

- comparison.md / .csv / .html: the ranked comparison, the verdict, the warnings and the
  reward analytics (the CSV has the numbers in columns of their own);
- trials.csv (one row per trial), terms.csv (per-term contributions vs success),
  report.json (everything above, machine-readable);
- plots/: learning curves, episode returns, reward terms, intervals, probability of improvement.
"""

from __future__ import annotations

import html
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sweeps import plots
from sweeps.stats import NAN_INTERVAL, Interval

if TYPE_CHECKING:
    from sweeps.judge import Report

# ---------------------------------------------------------------------------------- tables


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _ranked_by(report: Report) -> str:
    return "success rate" if report.metric == "success" else "return"


def comparison_rows(report: Report) -> list[dict[str, Any]]:
    """The comparison table as shown (comparison.md, .html, the console): formatted text."""
    rows = []
    best = report.best
    paused = any(d.paused for d in report.designs)
    for rank, d in enumerate(report.designs, 1):
        p = report.improvement.get(d.label)
        rows.append({
            "rank": rank if d.seeds else "-",
            **d.keys,
            "seeds": d.seeds,
            "left out": d.failed + d.incomplete,  # failed, killed or still running: not in the estimates
            **({"paused": d.paused} if paused else {}),
            **({"race": d.race or "-"} if report.race is not None else {}),
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
            **({"paused": d.paused, "race": d.race} if report.race is not None else {}),
        })
    return out


def race_rows(report: Report) -> list[dict[str, Any]]:
    """race.csv: one row per design and rung of a raced sweep."""
    if report.race is None:
        return []
    return [{"rung": r.index + 1, "fraction": r.fraction, "leader": r.leader, "design": st["design"],
             "seeds": st["seeds"], "scores": " ".join(f"{x:.3f}" for x in st["scores"]), "value": st["interval"][0],
             "low": st["interval"][1], "high": st["interval"][2], "decision": st["decision"],
             "added_seeds": st.get("add_seeds", 0), "why": st["why"]} for r in report.race.rungs for st in r.standings]


def race_markdown(report: Report) -> str:
    """The race section: the rule, the compute against the full grid, each design's standing per rung
    and the evidence of every elimination."""
    race = report.race
    if race is None:
        return ""
    rule = race.rule
    rungs = [float(r) for r in rule.get("rungs", [])]
    what = "success IQM" if rule.get("metric") == "success" else "success AUC (mean)"
    frac = race.compute_fraction
    seeds = (f"{rule.get('min_seeds')} seeds" if rule.get("min_seeds") == rule.get("max_seeds")
             else f"{rule.get('min_seeds')} to {rule.get('max_seeds')} seeds (one more per rung while close)")
    out = ["## Race", "",
           f"Rungs at {', '.join(f'{r:g}' for r in rungs)} of the budget; at each, a design whose {what} interval "
           "(95% stratified-bootstrap CI over its seeds, on the learning curve up to the rung) lies entirely below "
           f"the leader's was eliminated{'; at most the top 1/' + format(rule['eta'], 'g') + ' went on' if rule.get('eta') else ''}; "
           f"{seeds}." + ("" if race.finished else " **The race has not finished**: rerun the same command to continue it."),
           "",
           (f"Compute: the race trained {race.race_steps:,} transitions; the full grid (every design's starting seeds "
            f"at the whole budget) would train {race.grid_steps:,}: {frac:.0%} of it"
            + (f", {1 / frac:.1f}x less." if 0 < frac < 1 else ".") if race.grid_steps else "Compute: not known yet."),
           ""]
    table = []
    for label, info in race.designs.items():
        row: dict[str, Any] = {"design": label, "seeds": len(info.get("seeds", []))}
        for r in race.rungs:
            st = next((x for x in r.standings if x["design"] == label), None)
            row[f"rung {r.index + 1} ({r.fraction:g})"] = (
                "" if st is None else f"{Interval(*st['interval']).fmt()} {st['decision']}")
        at = info.get("out_at")
        row["fate"] = info.get("status", "") + (f" at rung {at + 1}" if at is not None else "")
        table.append(row)
    out += [markdown_table(table), "### Decisions", ""]
    for r in race.rungs:
        out.append(f"Rung {r.index + 1} ({r.fraction:g} of the budget), leader {r.leader or '-'}:")
        out += [f"- {st['decision']} {st['design']} (scores {', '.join(f'{x:.2f}' for x in st['scores']) or '-'}): "
                f"{st['why']}" for st in r.standings]
        out.append("")
    return "\n".join(out)


def trial_rows(report: Report) -> list[dict[str, Any]]:
    """trials.csv: one row per trial."""
    keys = ("status", "seed", "global_step", "final_success", "final_return", "last_success", "last_return",
            "auc_success", "auc_return", "steps_to_threshold", "wall_time", "steps_per_second", "error")
    return [{"design": t.design_label, **t.design, "trial": t.label, "path": str(t.path),
             **{k: t.summary.get(k) if k != "seed" else t.seed for k in keys}} for t in report.trials]


def term_rows(report: Report) -> list[dict[str, Any]]:
    """terms.csv: one row per design and reward term."""
    return [asdict(r) for r in report.terms]


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


# ---------------------------------------------------------------------------------- files


def write_plots(report: Report, plot_dir: Path) -> dict[str, Path]:
    """The PNG figures of the report (a figure with nothing to show is left out)."""
    plot_dir.mkdir(parents=True, exist_ok=True)
    curves = {d.label: [t.evals for t in d.trials if t.status != "failed"] for d in report.designs}
    eps = {d.label: [t.episodes for t in d.trials if t.status != "failed"] for d in report.designs}
    estimates = {d.label: {"success IQM": d.success, "return mean": d.ret, "success AUC": d.auc}
                 for d in report.designs if d.seeds}
    made = {
        "learning_curves": plots.learning_curves(curves, plot_dir / "learning_curves.png"),
        "episode_returns": plots.episode_returns(eps, plot_dir / "episode_returns.png"),
        "reward_terms": plots.reward_terms(term_rows(report), plot_dir / "reward_terms.png"),
        "intervals": plots.intervals(estimates, plot_dir / "intervals.png"),
        "improvement": (plots.improvement(report.best.label, report.improvement, plot_dir / "improvement.png")
                        if report.best is not None and report.improvement else None),
    }
    return {k: v for k, v in made.items() if v is not None}


def write_report(report: Report, out: Path, make_plots: bool = True) -> dict[str, Path]:
    """Write the report's files into `out`; returns them by kind (csv, markdown, learning_curves, ...)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)
    files: dict[str, Path] = {}
    rows = comparison_rows(report)
    pd.DataFrame(numeric_rows(report)).to_csv(out / "comparison.csv", index=False)
    pd.DataFrame(trial_rows(report)).to_csv(out / "trials.csv", index=False)
    pd.DataFrame(term_rows(report)).to_csv(out / "terms.csv", index=False)
    files.update(csv=out / "comparison.csv", trials=out / "trials.csv", terms=out / "terms.csv")
    if report.race is not None:
        pd.DataFrame(race_rows(report)).to_csv(out / "race.csv", index=False)
        files["race"] = out / "race.csv"
    if make_plots:
        files.update(write_plots(report, out / "plots"))

    md = [f"# Sweep report: {', '.join(sorted({str(t.path.parent) for t in report.trials}))}", "",
          f"{len(report.trials)} trials, {len(report.designs)} designs "
          f"(varying: {', '.join(report.keys) or 'nothing'}); ranked by {_ranked_by(report)}.", "",
          "## Verdict", "", report.verdict, ""]
    if report.warnings:
        md += ["## Warnings", ""] + [f"- {w}" for w in report.warnings] + [""]
    md += ["## Comparison", "", markdown_table(rows),
           "Success IQM: interquartile mean over seeds of each trial's final success rate (mean of its last "
           "evaluations), with a 95% stratified-bootstrap confidence interval; return: mean with CI; AUC: mean "
           "height of the success curve; P(best > this): probability that a seed of the best design beats a "
           "seed of this one, with CI.", "", *([race_markdown(report)] if report.race is not None else []),
           analytics_markdown(report)]
    if make_plots:
        md += ["## Plots", ""] + [f"![{k}](plots/{p.name})" for k, p in files.items() if p.suffix == ".png"]
    (out / "comparison.md").write_text("\n".join(md) + "\n")
    files["markdown"] = out / "comparison.md"
    (out / "comparison.html").write_text(report_html(report, rows, files))
    files["html"] = out / "comparison.html"
    (out / "report.json").write_text(json.dumps(report_json(report), indent=2, default=str))
    files["json"] = out / "report.json"
    return files


def report_html(report: Report, rows: list[dict[str, Any]], files: dict[str, Path]) -> str:
    """comparison.html: the verdict, the warnings, the comparison table and the plots in `files`."""
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


def report_json(report: Report) -> dict[str, Any]:
    """report.json: everything the report says, machine-readable."""

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
        "return_success_correlation": [asdict(c) for c in report.correlations], "terms": term_rows(report),
        **({"race": report.race.to_json()} if report.race is not None else {}),
    }


# ---------------------------------------------------------------------------------- console


def print_report(report: Report, files: dict[str, Path] | None = None) -> None:
    """The comparison table, the verdict, the warnings and (when given) the files written."""
    from rich.console import Console
    from rich.table import Table

    # a terminal gets its own width; a pipe or CI log gets room for the whole table
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    rows = comparison_rows(report)
    table = Table(title=f"{len(report.trials)} trials, ranked by {_ranked_by(report)}", show_lines=False)
    for c in rows[0] if rows else []:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[str(v) for v in r.values()])
    console.print(table)
    console.print(f"[bold]Verdict:[/bold] {report.verdict}")
    race = report.race
    if race is not None:
        out = [f"{label} ({info.get('status')} at rung {info['out_at'] + 1})" for label, info in race.designs.items()
               if info.get("out_at") is not None]
        frac = race.compute_fraction
        console.print(f"[bold]Race:[/bold] {len(race.designs) - len(out)} of {len(race.designs)} designs "
                      f"{'finished' if race.finished else 'still racing'}"
                      + (f"; out: {'; '.join(out)}" if out else "")
                      + (f". Compute {frac:.0%} of the full grid ({1 / frac:.1f}x less)." if 0 < frac < 1
                         else f". Compute {frac:.0%} of the full grid." if frac == frac else "."))
    for w in report.warnings:
        console.print(f"[yellow]Warning:[/yellow] {w}")
    if files:
        console.print("Report files:")
        for k, p in files.items():
            console.print(f"  {k:16} {p}")
