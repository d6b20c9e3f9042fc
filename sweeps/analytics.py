"""What the logs say about a reward design beyond its score: does its return track success,
which term drives learning, and is the reward being gamed?

All three read the training episodes (episodes.csv: return, success and each reward term's
sum per episode, `Trial.episodes`), which hold far more data than the few evaluations of a
trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sweeps.collect import Trial

#: Training episodes kept for "late" statistics: the last half of each trial's episodes.
LATE_FRACTION = 0.5


def late(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[int(len(df) * (1 - LATE_FRACTION)):] if len(df) else df


def correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation, None when undefined (fewer than 3 points or a constant side)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class Correlation:
    """Does a design's return rise with success? (a row of the report's first analytics table)"""

    design: str
    trials: int
    """Completed trials (the points of `r_trials`)."""
    r_trials: float | None
    """Pearson r of final return vs final success across completed trials (None: undefined)."""
    episodes: int
    """Training episodes of all trials with a success column (the points of `r_episodes`)."""
    r_episodes: float | None
    """Pearson r of return vs success across those episodes (the robust one)."""


def return_success_correlation(design: str, trials: list[Trial]) -> Correlation:
    """Across trials (final return vs final success) and across training episodes (return vs success)."""
    done = [t for t in trials if t.status == "completed"]
    r_trials = correlation(np.array([t.summary.get("final_return") or np.nan for t in done], float),
                           np.array([np.nan if t.summary.get("final_success") is None else t.summary["final_success"]
                                     for t in done], float))
    eps = [t.episodes for t in trials if "success" in t.episodes]
    pooled = pd.concat(eps) if eps else pd.DataFrame()
    r_eps = correlation(pooled["return"].to_numpy(), pooled["success"].to_numpy()) if len(pooled) else None
    return Correlation(design, len(done), r_trials, int(len(pooled)), r_eps)


@dataclass(frozen=True)
class TermContribution:
    """One reward term of one design (a row of terms.csv)."""

    design: str
    term: str
    mean_per_episode: float
    """Mean weighted sum per episode over the last half of training."""
    share: float
    """|mean_per_episode| over the sum of all terms' |mean_per_episode|."""
    corr_with_success: float | None
    """Pearson r of the term's per-episode sum with the episode's success, over all training episodes."""
    fires: float
    """Fraction of training episodes in which the term is non-zero."""


def term_contributions(design: str, trials: list[Trial]) -> list[TermContribution]:
    """Per reward term: its mean sum per episode late in training, its share of all terms'
    magnitude, and how its per-episode sum correlates with the episode's success (over all
    training episodes): the term whose sum rises with success is the one learning follows."""
    all_eps = [t.episodes for t in trials if not t.episodes.empty]
    if not all_eps:
        return []
    pooled = pd.concat(all_eps, ignore_index=True)
    late_eps = pd.concat([late(f) for f in all_eps], ignore_index=True)
    terms = [c for c in pooled.columns if c.startswith("term/")]
    total = sum(abs(float(pd.to_numeric(late_eps[c], errors="coerce").mean())) for c in terms) or 1.0
    rows = []
    for c in terms:
        values = pd.to_numeric(pooled[c], errors="coerce").to_numpy(float)
        m = float(pd.to_numeric(late_eps[c], errors="coerce").mean())
        rows.append(TermContribution(
            design=design, term=c[len("term/"):], mean_per_episode=m, share=abs(m) / total,
            corr_with_success=correlation(values, pooled["success"].to_numpy(float)) if "success" in pooled else None,
            fires=float(np.mean(np.abs(np.nan_to_num(values)) > 0)),
        ))
    return rows


@dataclass
class GamingCheck:
    """Return rising while success does not: the agent found a way to be paid without solving the task."""

    flagged: bool
    return_rise: float | None
    """Welch t statistic of late vs early training returns (> 3: a clear rise)."""
    success_change: float | None
    """Late minus early training success rate."""


def gaming_check(df: pd.DataFrame, min_episodes: int = 20) -> GamingCheck:
    if len(df) < min_episodes or "success" not in df or df["success"].isna().all():
        return GamingCheck(False, None, None)
    q = max(len(df) // 4, 5)
    early, late_ = df.iloc[:q], df.iloc[-q:]
    a, b = early["return"].to_numpy(float), late_["return"].to_numpy(float)
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    t = float((b.mean() - a.mean()) / se) if se > 0 else (0.0 if b.mean() == a.mean() else float(np.sign(b.mean() - a.mean()) * np.inf))
    ds = float(late_["success"].mean() - early["success"].mean())
    return GamingCheck(bool(t > 3.0 and ds < 0.05), t, ds)
