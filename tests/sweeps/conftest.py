"""Fixtures for the sweeps tests; fabricated trial folders live in sweeps_fakes.py."""

from __future__ import annotations

import sys
from pathlib import Path

# The suite imports test modules by path (--import-mode=importlib): put the helpers beside
# this file on sys.path explicitly (as tests/agents does).
sys.path.insert(0, str(Path(__file__).resolve().parent))
