"""The racing rule: which designs may still be best after part of the budget.

A race (`envkit sweep ... race=true`, sweeps/race.py) trains every design to the first
rung (a fraction of the budget), then continues only the designs that can still win.
This module holds the rule and the numbers it is applied to, with no training and no
files besides the trial logs it is given, so that the live race, the tune pruner
(sweeps/tune.py) and the offline replay (benchmarks/racing_replay.py) apply one rule:

- a trial's score at a rung is the report's metric computed on its learning curve up to
  the rung: `success`, the mean of its last `final_evals` evaluation success rates (the
  report's final success), or `auc`, the mean height of its success curve so far;
- a design's interval is the report's estimate over its seeds: the IQM of the success
  scores (or the mean of the AUCs) with a 95% stratified-bootstrap CI (sweeps/stats.py);
- the leader is the design with the highest estimate; a design whose whole interval lies
  below the leader's (its upper bound under the leader's lower bound) is eliminated. Both
  need at least two seeds with a score: one seed gives a point, not an interval;
- optionally (`eta`) at most the top 1/eta of the designs that entered the rung go on;
- a design whose interval overlaps the leader's (and the leader, when anyone overlaps it)
  gets one more seed, up to `max_seeds`: seeds go where the decision is close;
- at the last rung nothing is eliminated: the report ranks the finishers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweeps.files import read_json
from sweeps.stats import NAN_INTERVAL, Interval, bootstrap_ci
from sweeps.summary import curve_area

METRICS = ("success", "auc")
RECORD_FILE = "race.json"
LEGS_FILE = "legs.json"
"""A paused trial's legs: where each pause was asked for and the step it stopped at (sweeps/trial.py)."""
RECORD_VERSION = 1


@dataclass(frozen=True)
class RaceRule:
    """The knobs of a race (the `race:` section of a sweep's config, sweeps/schema.py)."""

    rungs: tuple[float, ...] = (0.1, 0.3, 1.0)
    """Fractions of the budget at which designs are compared; the last is 1.0."""
    min_seeds: int = 3
    """Seeds every design starts with."""
    max_seeds: int = 3
    """Seeds a close design may grow to (one more per rung)."""
    eta: float | None = None
    """Keep at most the top 1/eta of the designs that entered a rung (None: elimination only)."""
    metric: str = "success"
    """success (final success rate so far, IQM over seeds) or auc (mean height of the success curve so far)."""
    reps: int = 2000
    """Bootstrap resamples per interval."""
    seed: int = 0
    """Seed of the bootstrap (decisions are reproducible)."""


def check_rule(rungs: Sequence[Any], min_seeds: Any, max_seeds: Any, eta: Any, metric: Any) -> RaceRule:
    """A RaceRule from the config's values, or a ValueError naming the field that is wrong.

    `max_seeds` None means "= min_seeds" (no seeds added). A last rung below 1.0 gets 1.0
    appended: survivors always finish their budget.
    """
    try:
        fracs = [float(r) for r in rungs]
    except (TypeError, ValueError):
        raise ValueError(f"race.rungs must be a list of fractions of the budget like [0.1,0.3,1.0], got {rungs!r}.") \
            from None
    if not fracs:
        raise ValueError("race.rungs is empty: give fractions of the budget like [0.1,0.3,1.0].")
    bad = [r for r in fracs if not (0.0 < r <= 1.0) or not math.isfinite(r)]
    if bad:
        beyond = [r for r in bad if r > 1.0]
        why = (f"rung {beyond[0]:g} lies beyond the budget (1.0 is the whole budget.timesteps)" if beyond
               else f"rung {bad[0]:g} is not a fraction in (0, 1]")
        raise ValueError(f"race.rungs={fracs}: {why}. Give increasing fractions of the budget like [0.1,0.3,1.0].")
    if any(b <= a for a, b in zip(fracs, fracs[1:], strict=False)):
        raise ValueError(f"race.rungs={fracs} must increase strictly (each rung trains further than the last).")
    if fracs[-1] < 1.0:
        fracs.append(1.0)
    if len(fracs) < 2:
        raise ValueError("race.rungs=[1.0] has no rung before the end, so nothing can be eliminated early: "
                         "give at least one fraction below 1, like [0.1,0.3,1.0].")
    if metric not in METRICS:
        raise ValueError(f"race.metric must be one of {', '.join(METRICS)}, got {metric!r}.")
    if not isinstance(min_seeds, int) or min_seeds < 1:
        raise ValueError(f"race.min_seeds must be an integer >= 1, got {min_seeds!r}.")
    top = min_seeds if max_seeds is None else max_seeds
    if not isinstance(top, int) or top < min_seeds:
        raise ValueError(f"race.max_seeds must be an integer >= race.min_seeds ({min_seeds}), got {max_seeds!r}.")
    if eta is not None and (not isinstance(eta, (int, float)) or not eta > 1 or not math.isfinite(eta)):
        raise ValueError(f"race.eta must be a number > 1 (keep the top 1/eta at each rung) or null, got {eta!r}.")
    return RaceRule(tuple(fracs), min_seeds, top, None if eta is None else float(eta), metric)


# ---------------------------------------------------------------------------------- scores


def rung_steps(fractions: Sequence[float], budget: int, eval_every: int) -> list[int]:
    """Each rung's step for a trial of `budget` transitions: the fraction rounded to a multiple of
    `eval_every` (so the rung's evaluation is a regular one), at least one evaluation in; the last
    rung is the budget. ValueError when two rungs fall on the same step or a rung on the budget."""
    steps: list[int] = []
    for i, frac in enumerate(fractions):
        if i == len(fractions) - 1:
            steps.append(int(budget))
            continue
        step = max(int(eval_every), int(round(frac * budget / eval_every)) * int(eval_every)) if eval_every > 0 \
            else int(round(frac * budget))
        steps.append(step)
    for i in range(1, len(steps)):
        if steps[i] <= steps[i - 1]:
            what = "the budget" if i == len(steps) - 1 else f"rung {fractions[i]:g}"
            raise ValueError(
                f"race.rungs: rung {fractions[i - 1]:g} of budget.timesteps={budget} rounds to {steps[i - 1]} steps "
                f"(a multiple of budget.eval_every={eval_every}), which is not before {what} ({steps[i]}). "
                "Use fewer or wider-spaced rungs, a larger budget or a smaller eval_every.")
    return steps


def curve_until(evals: pd.DataFrame, step: int, eval_every: int, leg_end: int | None = None) -> pd.DataFrame:
    """The evaluations of a learning curve up to a rung at `step`.

    A trial paused at this rung recorded where its leg ended (`leg_end`, from legs.json):
    its curve is cut there. A trial that trained through the rung (a full-grid trial, or
    one raced further on an earlier run) is cut at the evaluation nearest the rung (steps
    up to `step + eval_every / 2`), or at its first evaluation when that comes later.
    """
    if evals.empty or "global_step" not in evals:
        return evals
    df = evals.assign(global_step=pd.to_numeric(evals["global_step"], errors="coerce")).dropna(subset=["global_step"])
    df = df.sort_values("global_step")
    if leg_end is not None:
        return df[df["global_step"] <= leg_end]
    inside = df[df["global_step"] <= step + max(eval_every, 0) / 2]
    if (inside["global_step"] > 0).any():
        return inside
    trained = df[df["global_step"] > 0]  # no evaluation after training near the rung: take the first one
    return df[df["global_step"] <= trained["global_step"].iloc[0]] if len(trained) else inside


def curve_score(evals: pd.DataFrame, metric: str, final_evals: int) -> float:
    """A learning curve's score: `success`, the mean of its last `final_evals` success rates (the
    report's final_success); `auc`, the mean height of its success curve (the report's auc_success).
    NaN when the curve has no success rate."""
    if evals.empty or "success_rate" not in evals:
        return float("nan")
    succ = pd.to_numeric(evals["success_rate"], errors="coerce").to_numpy(float)
    steps = pd.to_numeric(evals["global_step"], errors="coerce").to_numpy(float)
    if not np.isfinite(succ).any():
        return float("nan")
    if metric == "success":
        tail = succ[-max(1, final_evals):]
        return float(np.nanmean(tail)) if np.isfinite(tail).any() else float("nan")
    area = curve_area(steps, succ)
    return float("nan") if area is None else float(area)


def leg_end(trial_dir: Path, step: int) -> int | None:
    """The step at which the trial in `trial_dir` stopped when paused at `step` (None if it never was)."""
    legs = read_json(trial_dir / LEGS_FILE) or {}
    for leg in legs.get("legs", []):
        if int(leg.get("pause_at", -1)) == int(step):
            return int(leg["global_step"])
    return None


def interval(scores: Sequence[float], metric: str, reps: int = 2000, seed: int = 0) -> Interval:
    """The report's estimate of a design from its seeds' scores: IQM (success) or mean (auc), 95% CI."""
    x = np.asarray([s for s in scores if s is not None and math.isfinite(s)], float)
    if x.size == 0:
        return NAN_INTERVAL
    return bootstrap_ci(x, "iqm" if metric == "success" else "mean", reps, seed=seed)


# ---------------------------------------------------------------------------------- the rule


@dataclass
class Standing:
    """One design at one rung: its scores, its interval and what the rule decided."""

    design: str
    scores: list[float]
    """The finite scores of its seeds at this rung."""
    seeds: int
    """Seeds it ran at this rung (scored or not)."""
    interval: Interval = NAN_INTERVAL
    decision: str = "continue"
    """leader | continue | eliminated | cut | finished | failed."""
    why: str = ""
    add_seeds: int = 0
    """Seeds it gets for the next rung (the decision is close)."""

    @property
    def goes_on(self) -> bool:
        return self.decision in ("leader", "continue")


def _order(s: Standing) -> tuple[float, float, float, str]:
    def v(x: float) -> float:
        return x if math.isfinite(x) else -math.inf

    return (-v(s.interval.value), -v(s.interval.high), -v(s.interval.low), s.design)


def decide(scores: Mapping[str, Sequence[float]], rule: RaceRule, last: bool, seeds: Mapping[str, int] | None = None,
           entered: int | None = None) -> list[Standing]:
    """Apply the racing rule to the designs of one rung; returns their standings, best first.

    `scores` holds each design's finite scores (a seed without one, e.g. a failed trial, is
    simply absent); `seeds` the seeds each design ran (default: its number of scores);
    `entered` the number of designs that entered the rung (for the eta cap; default: all).
    """
    seeds = dict(seeds or {})
    out = []
    for k, (design, xs) in enumerate(scores.items()):
        finite = [float(x) for x in xs if x is not None and math.isfinite(float(x))]
        out.append(Standing(design, finite, int(seeds.get(design, len(finite))),
                            interval(finite, rule.metric, rule.reps, rule.seed + k)))
    for s in out:
        if not s.scores:
            s.decision, s.why = "failed", "no seed has a score at this rung (failed trials or no success rate)"
    scored = sorted((s for s in out if s.scores), key=_order)
    if not scored:
        return out
    lead = scored[0]
    what = "success IQM" if rule.metric == "success" else "success AUC"
    if last:
        for s in scored:
            s.decision, s.why = "finished", f"{what} {s.interval.fmt()} at the full budget"
        return scored + [s for s in out if not s.scores]
    lead.decision = "leader"
    lead.why = f"highest {what}: {lead.interval.fmt()}"
    for s in scored[1:]:
        if len(s.scores) >= 2 and len(lead.scores) >= 2 and s.interval.high < lead.interval.low:
            s.decision = "eliminated"
            s.why = (f"its {what} interval {s.interval.fmt()} lies entirely below the leader's "
                     f"{lead.interval.fmt()} ({lead.design})")
        else:
            s.why = (f"{what} {s.interval.fmt()} overlaps the leader's {lead.interval.fmt()}"
                     if s.interval.overlaps(lead.interval) else
                     f"{what} {s.interval.fmt()}: below the leader's {lead.interval.fmt()}, but with fewer than "
                     "2 scored seeds on one side, which is no interval")
    if rule.eta is not None:
        keep = max(1, math.ceil((entered if entered is not None else len(scored)) / rule.eta))
        alive = [s for s in scored if s.goes_on]
        for rank, s in enumerate(alive[keep:], start=keep + 1):
            s.decision = "cut"
            s.why = (f"rank {rank} of {len(alive)} by {what} ({s.interval.fmt()}): outside the top 1/{rule.eta:g} "
                     f"({keep} design{'s' if keep != 1 else ''} go on)")
    alive = [s for s in scored if s.goes_on]
    close = [s for s in alive[1:] if s.interval.overlaps(lead.interval)]
    for s in ([lead] if close else []) + close:
        if s.seeds < rule.max_seeds:
            s.add_seeds = 1
            s.why += "; close to the leader, one more seed"
    return scored + [s for s in out if not s.scores]


# ---------------------------------------------------------------------------------- the record


@dataclass
class RungRecord:
    """What happened at one rung of a race: its fraction and each design's standing."""

    index: int
    fraction: float
    leader: str | None
    standings: list[dict[str, Any]]
    """Standing fields as plain data: design, scores, seeds, interval [value, low, high], decision, why, add_seeds."""


@dataclass
class RaceRecord:
    """A race's history (race.json in the sweep folder): the rule, the rungs, each design's fate
    and the compute it used against the full grid. Written after every rung, so an interrupted
    race shows how far it got; read by the report."""

    rule: dict[str, Any]
    designs: dict[str, dict[str, Any]]
    """Per design label: keys, seeds, status (racing | eliminated | cut | finished | failed), out_at (rung index)."""
    rungs: list[RungRecord] = field(default_factory=list)
    race_steps: int = 0
    """Transitions the race trained (every trial's last step, failed ones included)."""
    grid_steps: int = 0
    """Transitions the full grid would train: every design's planned seeds times its budget."""
    finished: bool = False
    version: int = RECORD_VERSION

    @property
    def compute_fraction(self) -> float:
        return self.race_steps / self.grid_steps if self.grid_steps else float("nan")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["compute_fraction"] = self.compute_fraction
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RaceRecord:
        rungs = [RungRecord(**r) for r in data.get("rungs", [])]
        return cls(dict(data.get("rule", {})), dict(data.get("designs", {})), rungs, int(data.get("race_steps", 0)),
                   int(data.get("grid_steps", 0)), bool(data.get("finished", False)),
                   int(data.get("version", RECORD_VERSION)))


def standing_data(s: Standing) -> dict[str, Any]:
    return {"design": s.design, "scores": [round(x, 6) for x in s.scores], "seeds": s.seeds,
            "interval": [s.interval.value, s.interval.low, s.interval.high], "decision": s.decision, "why": s.why,
            "add_seeds": s.add_seeds}


def load_record(sweep_dir: Path) -> RaceRecord | None:
    """The race record of a sweep folder (None when it was not raced or the file is unreadable)."""
    data = read_json(Path(sweep_dir) / RECORD_FILE)
    if not data:
        return None
    try:
        return RaceRecord.from_json(data)
    except (TypeError, ValueError, KeyError):
        return None
