"""Running statistics: one-row and batched updates agree with numpy over all the data."""

from __future__ import annotations

import numpy as np
import pytest

from agents.normalization import RunningMeanStd


@pytest.mark.parametrize("rows_per_update", [1, 7])
def test_running_mean_std_matches_numpy_over_everything_seen(rows_per_update):
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, (700, 4)) * np.array([1.0, 10.0, 0.1, 1.0])
    rms = RunningMeanStd((4,), epsilon=0.0 + 1e-300)
    for start in range(0, len(data), rows_per_update):
        rms.update(data[start:start + rows_per_update])
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-10)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-8)
    assert rms.count == pytest.approx(len(data))


def test_one_row_updates_equal_batched_updates():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(50, 3))
    a, b = RunningMeanStd((3,)), RunningMeanStd((3,))
    for row in data:
        a.update(row[None])
    b.update(data)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-10)
