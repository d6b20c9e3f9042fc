"""Fixtures for the agents tests; the tiny envs live in agents_testenvs.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The suite imports test modules by path (--import-mode=importlib), so the helper
# module beside this file is put on sys.path explicitly.
sys.path.insert(0, str(Path(__file__).resolve().parent))

FAST = dict(tensorboard=False, eval_every=0, eval_episodes=2, checkpoint_every=0, log_every=100)


@pytest.fixture
def fast() -> dict:
    """Overrides that keep smoke runs fast (no TensorBoard, one eval at the end)."""
    return dict(FAST)
