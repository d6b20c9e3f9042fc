"""The report's second step: what the numbers of a collected sweep say.

From the trials of `sweeps.collect` (no files read here besides their logs, no text laid
out) it computes, per design, the interval estimates (success IQM, mean return, success
AUC), steps to the threshold, speed and the reward-gaming flag; ranks the designs; estimates
the probability that the best improves on each other one; and writes the verdict and its
warnings. The result is a `Report` of plain typed data that `sweeps.render` shows as
tables, HTML, JSON, a console summary and plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sweeps import analytics
from sweeps.analytics import Correlation, TermContribution
from sweeps.collect import Sweep, Trial, collect, design_value
from sweeps.racing import RaceRecord
from sweeps.stats import NAN_INTERVAL, Interval, bootstrap_ci, probability_of_improvement_ci

#: Designs with fewer completed seeds get a warning: their intervals say little.
MIN_SEEDS = 3


@dataclass
class DesignStats:
    """Everything the report says about one design (a row of the comparison table)."""

    label: str
    keys: dict[str, str]
    trials: list[Trial]
    seeds: int = 0
    """Completed trials."""
    failed: int = 0
    incomplete: int = 0
    paused: int = 0
    """Trials stopped at a race's rung before their budget (an eliminated design's, or a race under way)."""
    success: Interval = NAN_INTERVAL
    """IQM of the final success rates, 95% stratified-bootstrap CI."""
    ret: Interval = NAN_INTERVAL
    """Mean of the final returns, 95% CI."""
    auc: Interval = NAN_INTERVAL
    """Mean area under the success curve, 95% CI."""
    reached: int = 0
    """Completed trials that reached the success threshold."""
    steps_to_threshold: float | None = None
    """Median steps to the threshold of those that reached it."""
    wall_time: float | None = None
    steps_per_second: float | None = None
    gamed: list[str] = field(default_factory=list)
    """Labels of the trials flagged for possible reward gaming."""
    race: str | None = None
    """In a raced sweep: how the design left the race (finished, eliminated at rung k, ...)."""

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
    """What a sweep's numbers say: the ranked designs, their comparison, the verdict and warnings."""

    metric: str
    """What ranks the designs: "success", or "return" when no trial reports a success rate."""
    keys: list[str]
    """The design keys (what varies across the trials)."""
    designs: list[DesignStats]
    """Ranked, best first; designs without a completed trial last."""
    trials: list[Trial]
    improvement: dict[str, Interval]
    """P(a seed of the best design beats a seed of this one), by design label, 95% CI."""
    verdict: str
    warnings: list[str]
    correlations: list[Correlation]
    terms: list[TermContribution]
    race: RaceRecord | None = None
    """The race's history when the sweep was raced: each design's rung standings and the compute used."""

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
    d.paused = sum(t.status == "paused" for t in trials)
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


def _rank_key(metric: str) -> Callable[[DesignStats], tuple[float, ...]]:
    def key(d: DesignStats) -> tuple[float, ...]:
        def v(x: float) -> float:
            return x if np.isfinite(x) else -np.inf

        if metric == "success":
            return (-v(d.success.value), -v(d.auc.value), -v(d.ret.value))
        return (-v(d.ret.value),)

    return key


def judge(sweep: Sweep, reps: int = 2000, seed: int = 0) -> Report:
    """Estimate, rank and judge the designs of a collected sweep; no files are written here."""
    groups: dict[str, list[Trial]] = {}
    for t in sweep.trials:
        groups.setdefault(t.design_label, []).append(t)
    designs = [design_stats(label, ts[0].design, ts, reps, seed, sweep.task_key) for label, ts in groups.items()]
    metric = "success" if any(np.isfinite(d.success.value) for d in designs) else "return"
    designs.sort(key=_rank_key(metric))
    ranked = [d for d in designs if d.seeds > 0]
    improvement: dict[str, Interval] = {}
    if len(ranked) > 1:
        best = ranked[0]
        for other in ranked[1:]:
            if min(best.seeds, other.seeds) < 2:
                continue  # against a single seed the bootstrap has one value to draw: a point, not evidence
            improvement[other.label] = probability_of_improvement_ci(
                best.scores(metric, sweep.task_key), other.scores(metric, sweep.task_key), reps, seed=seed)
    correlations = [analytics.return_success_correlation(d.label, d.trials) for d in designs]
    terms = [row for d in designs for row in analytics.term_contributions(d.label, d.trials)]
    if sweep.race is not None:
        fates = race_fates(sweep.race)
        for d in designs:
            d.race = fates.get(frozenset(d.label.split()))
    text, warnings = verdict(designs, metric, improvement, sweep.trials, sweep.race)
    return Report(metric, sweep.keys, designs, sweep.trials, improvement, text, warnings, correlations, terms,
                  sweep.race)


def race_fates(race: RaceRecord) -> dict[frozenset[str], str]:
    """How each design left the race, by the set of its `key=value` parts (the race names designs by
    their overrides, the report by their config values; both spell a value the same way)."""
    out: dict[frozenset[str], str] = {}
    for label, info in race.designs.items():
        status, at = info.get("status", "racing"), info.get("out_at")
        where = f" at rung {at + 1} ({race.rule.get('rungs', [])[at]:g})" if at is not None else ""
        out[frozenset(label.split())] = {"racing": "still racing", "finished": "finished"}.get(status,
                                                                                             f"{status}{where}")
    return out


def build_report(dirs: Sequence[str | Path], reps: int = 2000, seed: int = 0, task_key: str | None = None) -> Report:
    """Collect the trials under `dirs` and judge them (`judge(collect(dirs, task_key))`)."""
    return judge(collect(dirs, task_key), reps=reps, seed=seed)


# ---------------------------------------------------------------------------------- the verdict


def verdict(designs: list[DesignStats], metric: str, improvement: dict[str, Interval],
            trials: list[Trial], race: RaceRecord | None = None) -> tuple[str, list[str]]:
    """The verdict paragraph and the warnings that qualify it."""
    warnings: list[str] = []
    ranked = [d for d in designs if d.seeds > 0]
    est = (lambda d: d.success) if metric == "success" else (lambda d: d.ret)
    what = "success rate" if metric == "success" else "mean final return"
    how = "IQM" if metric == "success" else "mean"

    def seeds(d: DesignStats) -> str:
        return f"{d.seeds} seed{'s' if d.seeds != 1 else ''}"

    if not ranked:
        text = "No trial has completed yet, so there is nothing to compare."
    elif len(ranked) == 1 and race is not None and any(d.paused and not d.seeds for d in designs):
        b = ranked[0]
        out = [d.label for d in designs if d.paused and not d.seeds]
        text = (f"{b.label} wins the race: the only design at the full budget, {what} {est(b).fmt()} ({how} over "
                f"{seeds(b)}, 95% CI). The race stopped the other {len(out)} at a rung (section Race: where, and on "
                f"what evidence): {'; '.join(out)}.")
    elif len(ranked) == 1:
        b = ranked[0]
        text = (f"Only one design has completed trials ({b.label}): {what} {est(b).fmt()} ({how} over "
                f"{seeds(b)}, 95% CI). Sweep at least two designs to compare them.")
    else:
        b, r = ranked[0], ranked[1]
        p = improvement.get(r.label, NAN_INTERVAL)
        p_text = f" P({b.label} > {r.label}) = {p.fmt()}." if np.isfinite(p.value) else ""
        gap = est(b).value - est(r).value
        lead = f"{what} {est(b).fmt()} ({how} over {seeds(b)}, 95% CI)"
        if est(b).overlaps(est(r)):
            text = (f"No clear winner: {b.label} leads with a {lead}, but the runner-up {r.label}, at "
                    f"{est(r).fmt()} over {seeds(r)}, overlaps it.{p_text} "
                    "More seeds or a larger budget would separate them.")
        else:
            beaten = [d for d in ranked[1:] if not est(b).overlaps(est(d))]
            rest = ("every other design" if len(beaten) == len(ranked) - 1
                    else f"{len(beaten)} of the {len(ranked) - 1} other designs")
            text = (f"{b.label} learns best: {lead}, ahead of the runner-up {r.label} at {est(r).fmt()} by "
                    f"{gap:+.2f} with non-overlapping intervals, and clearly ahead of {rest}.{p_text}")
        if metric == "return":
            text += (" No trial reports a success rate, so designs are ranked by return, which is only "
                     "meaningful when they share a reward scale.")
        stopped = [d.label for d in designs if d.paused and not d.seeds]
        if race is not None and stopped:
            text += (f" The race stopped {len(stopped)} other design(s) at a rung (section Race: where, and on what "
                     "evidence).")
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
    paused = [d for d in designs if d.paused]
    if paused and race is not None and race.finished:
        out = [d.label for d in paused if not d.seeds]
        warnings.append(f"The race stopped {len(out)} design(s) before their budget ({'; '.join(out)}): they have no "
                        "full-budget seeds and are left out of the ranking. Their rung history (section Race) shows "
                        "where and on what evidence.")
    elif paused:
        warnings.append(f"{sum(d.paused for d in paused)} trial(s) are paused at a rung of a race before their budget "
                        f"and are left out of the estimates ({'; '.join(d.label for d in paused)}). Rerun the race "
                        "(the same command) to continue it.")
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
    return text, warnings
