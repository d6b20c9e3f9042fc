"""Interval estimates for comparing designs over few seeds (Agarwal et al. 2021, "Deep RL at
the edge of the statistical precipice", the methods of the rliable library).

Why not rliable itself: rliable 1.2.0 imports only with pandas < 3 (its dependency `arch`
breaks on pandas 3), and these three estimators are a few lines of numpy. They follow
rliable's definitions: the IQM is the 25%-trimmed mean (scipy's `trim_mean`), confidence
intervals come from a stratified percentile bootstrap (runs are resampled *within* each
task, so a design's interval never mixes scenes), and the probability of improvement is
P(X > Y) + P(X = Y) / 2 over pairs of runs (the Mann-Whitney U statistic over n*m).
tests/sweeps/test_stats.py checks them against hand-computed values and scipy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Strata = Sequence[np.ndarray]
"""Scores of one design, one array per task (scene); a single task is one array."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high

    def fmt(self, digits: int = 2) -> str:
        if not np.isfinite(self.value):
            return "-"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


NAN_INTERVAL = Interval(float("nan"), float("nan"), float("nan"))


def _trimmed_rows(samples: np.ndarray, proportion: float) -> np.ndarray:
    """Trimmed mean of each row, cutting int(proportion * n) values at each end (as scipy does)."""
    n = samples.shape[-1]
    cut = int(proportion * n)
    ordered = np.sort(samples, axis=-1)
    return ordered[..., cut : n - cut].mean(axis=-1)


def iqm(scores: np.ndarray | Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% of scores (robust to one outlier seed,
    less noisy than the median)."""
    x = np.asarray(scores, float)
    if x.size == 0:
        return float("nan")
    return float(_trimmed_rows(x[None, :], 0.25)[0])


def mean(scores: np.ndarray | Sequence[float]) -> float:
    x = np.asarray(scores, float)
    return float(x.mean()) if x.size else float("nan")


def _rows_iqm(samples: np.ndarray) -> np.ndarray:
    return _trimmed_rows(samples, 0.25)


def _rows_mean(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=-1)


STATISTICS: dict[str, tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]] = {
    "iqm": (iqm, _rows_iqm),
    "mean": (mean, _rows_mean),
}


def _as_strata(scores: Strata | np.ndarray) -> list[np.ndarray]:
    if isinstance(scores, np.ndarray) and scores.ndim == 1:
        scores = [scores]
    strata = [np.asarray(s, float) for s in scores]
    return [s[np.isfinite(s)] for s in strata if np.isfinite(s).any()]


def _resample(strata: list[np.ndarray], reps: int, rng: np.random.Generator) -> np.ndarray:
    """(reps, total runs) bootstrap samples, each stratum resampled with replacement on its own."""
    parts = [s[rng.integers(0, len(s), size=(reps, len(s)))] for s in strata]
    return np.concatenate(parts, axis=1)


def bootstrap_ci(
    scores: Strata | np.ndarray,
    statistic: str = "iqm",
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """`statistic` ("iqm" or "mean") of all runs pooled, with a stratified percentile bootstrap CI.

    With one run the interval is that run's score (a bootstrap cannot show uncertainty
    it has no data for: the report warns about designs with fewer than 3 seeds instead).
    """
    strata = _as_strata(scores)
    if not strata:
        return NAN_INTERVAL
    point_fn, rows_fn = STATISTICS[statistic]
    pooled = np.concatenate(strata)
    point = point_fn(pooled)
    stats = rows_fn(_resample(strata, reps, np.random.default_rng(seed)))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return Interval(point, float(low), float(high))


def probability_of_improvement(x: np.ndarray | Sequence[float], y: np.ndarray | Sequence[float]) -> float:
    """P(X > Y) + P(X = Y) / 2 for a random run X of design x and Y of design y."""
    a, b = np.asarray(x, float), np.asarray(y, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    diff = a[:, None] - b[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def _rows_poi(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    diff = xs[:, :, None] - ys[:, None, :]
    return ((diff > 0).sum(axis=(1, 2)) + 0.5 * (diff == 0).sum(axis=(1, 2))) / (diff.shape[1] * diff.shape[2])


def probability_of_improvement_ci(
    x: Strata | np.ndarray,
    y: Strata | np.ndarray,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Probability of improvement of x over y, averaged over tasks, with a stratified bootstrap CI.

    Tasks pair up by position (task i of x with task i of y), as in rliable.
    """
    sx, sy = _as_strata(x), _as_strata(y)
    if not sx or not sy or len(sx) != len(sy):
        return NAN_INTERVAL
    point = float(np.mean([probability_of_improvement(a, b) for a, b in zip(sx, sy, strict=True)]))
    rng = np.random.default_rng(seed)
    per_task = [
        _rows_poi(_resample([a], reps, rng), _resample([b], reps, rng)) for a, b in zip(sx, sy, strict=True)
    ]
    stats = np.mean(per_task, axis=0)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return Interval(point, float(low), float(high))


def curve_band(
    curves: np.ndarray, reps: int = 500, confidence: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over runs (rows) at each point of a (runs, points) array, with a bootstrap band.

    NaN entries (a run that ended before a point) are left out of that point.
    """
    curves = np.asarray(curves, float)
    n_runs, n_points = curves.shape
    centre = np.full(n_points, np.nan)
    low, high = centre.copy(), centre.copy()
    rng = np.random.default_rng(seed)
    alpha = (1.0 - confidence) / 2.0
    for j in range(n_points):
        col = curves[:, j][np.isfinite(curves[:, j])]
        if col.size == 0:
            continue
        centre[j] = col.mean()
        boots = col[rng.integers(0, col.size, size=(reps, col.size))].mean(axis=1)
        low[j], high[j] = np.quantile(boots, [alpha, 1.0 - alpha])
    return centre, low, high
