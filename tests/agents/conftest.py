"""Fixtures for the agents tests; the tiny envs live in agents_testenvs.py."""

from __future__ import annotations

import pytest

FAST = dict(tensorboard=False, eval_every=0, eval_episodes=2, checkpoint_every=0, log_every=100)


@pytest.fixture
def fast() -> dict:
    """Overrides that keep smoke runs fast (no TensorBoard, one eval at the end)."""
    return dict(FAST)
