"""The report's statistics on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from sweeps.stats import (
    Interval,
    bootstrap_ci,
    curve_band,
    iqm,
    probability_of_improvement,
    probability_of_improvement_ci,
)


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(4.5)  # drops 1, 2 and 7, 100
    assert iqm([0.0, 0.0, 1.0, 1.0]) == pytest.approx(0.5)
    assert iqm([3.0]) == 3.0
    assert np.isnan(iqm([]))
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 10, 17):
        x = rng.normal(size=n)
        assert iqm(x) == pytest.approx(sps.trim_mean(x, 0.25))


def test_probability_of_improvement_hand_computed() -> None:
    assert probability_of_improvement([3, 4], [1, 2]) == 1.0
    assert probability_of_improvement([1, 2], [3, 4]) == 0.0
    assert probability_of_improvement([1, 2, 3], [2]) == pytest.approx((0 + 0.5 + 1) / 3)
    assert probability_of_improvement([1, 1], [1, 1]) == 0.5
    x, y = np.array([0.2, 0.9, 0.5]), np.array([0.4, 0.1])
    u = sps.mannwhitneyu(x, y).statistic  # U counts x > y pairs plus half the ties
    assert probability_of_improvement(x, y) == pytest.approx(u / (len(x) * len(y)))


def test_constant_scores_give_a_point_interval() -> None:
    ci = bootstrap_ci(np.array([0.7, 0.7, 0.7]), "iqm")
    assert (ci.value, ci.low, ci.high) == pytest.approx((0.7, 0.7, 0.7))


def test_bootstrap_matches_scipy_percentile_bootstrap_on_one_task() -> None:
    x = np.random.default_rng(1).normal(5.0, 2.0, size=20)
    ours = bootstrap_ci(x, "mean", reps=20000, seed=3)
    theirs = sps.bootstrap((x,), np.mean, n_resamples=20000, method="percentile", random_state=3).confidence_interval
    assert ours.value == pytest.approx(x.mean())
    assert ours.low == pytest.approx(theirs.low, abs=0.05)
    assert ours.high == pytest.approx(theirs.high, abs=0.05)


def test_bootstrap_mean_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    trials = 300
    for i in range(trials):
        x = rng.normal(1.0, 1.0, size=30)
        ci = bootstrap_ci(x, "mean", reps=1000, seed=i)
        covered += ci.low <= 1.0 <= ci.high
    # percentile intervals under-cover slightly at n=30; anything from 88% to 99% is right
    assert 0.88 * trials <= covered <= 0.99 * trials


def test_stratified_bootstrap_never_mixes_tasks() -> None:
    # every run of task A scores 0, every run of task B scores 1: resampling within each task
    # keeps the pooled mean at exactly 0.5; pooled resampling would not
    ci = bootstrap_ci([np.zeros(4), np.ones(4)], "mean", reps=500)
    assert (ci.value, ci.low, ci.high) == (0.5, 0.5, 0.5)
    pooled = bootstrap_ci(np.r_[np.zeros(4), np.ones(4)], "mean", reps=500)
    assert pooled.low < 0.5 < pooled.high


def test_interval_widens_with_spread_and_shrinks_with_seeds() -> None:
    rng = np.random.default_rng(2)
    narrow = bootstrap_ci(rng.normal(0, 0.1, 10), "iqm", seed=0)
    wide = bootstrap_ci(rng.normal(0, 1.0, 10), "iqm", seed=0)
    many = bootstrap_ci(rng.normal(0, 1.0, 200), "iqm", seed=0)
    width = lambda c: c.high - c.low  # noqa: E731
    assert width(narrow) < width(wide)
    assert width(many) < width(wide)


def test_probability_of_improvement_interval() -> None:
    better = probability_of_improvement_ci(np.array([0.9, 0.95, 1.0]), np.array([0.1, 0.2, 0.0]))
    assert (better.value, better.low, better.high) == (1.0, 1.0, 1.0)
    same = probability_of_improvement_ci(np.array([0.1, 0.5, 0.9]), np.array([0.1, 0.5, 0.9]), reps=4000)
    assert same.value == 0.5 and same.low < 0.5 < same.high
    assert np.isnan(probability_of_improvement_ci(np.array([]), np.array([1.0])).value)


def test_nan_scores_are_left_out_and_overlap() -> None:
    assert bootstrap_ci(np.array([np.nan, 1.0, 1.0]), "mean").value == 1.0
    assert np.isnan(bootstrap_ci(np.array([np.nan]), "mean").value)
    a, b, c = Interval(0.5, 0.4, 0.6), Interval(0.55, 0.5, 0.7), Interval(0.9, 0.8, 1.0)
    assert a.overlaps(b) and b.overlaps(a)
    assert not a.overlaps(c)
    assert a.fmt() == "0.50 [0.40, 0.60]"


def test_curve_band_averages_runs_pointwise_and_skips_missing() -> None:
    curves = np.array([[0.0, 1.0, np.nan], [1.0, 1.0, 2.0]])
    centre, low, high = curve_band(curves, reps=200)
    assert centre.tolist() == [0.5, 1.0, 2.0]
    assert low[1] == high[1] == 1.0
    assert low[0] <= 0.5 <= high[0]
