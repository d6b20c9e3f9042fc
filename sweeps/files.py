"""Reading the files a trial leaves behind, tolerant of a trial killed mid-write.

The lowest module of `sweeps/`: it imports no other, so the trial (`trial.py`), its summary
(`summary.py`) and the report's collection step (`collect.py`) can all read run files
without importing each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file as a dict; None (not an error) when missing or cut off mid-write by a kill."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_csv(path: Path) -> pd.DataFrame:
    """A run log as a DataFrame; empty (not an error) when missing or cut off mid-write by a kill."""
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path, on_bad_lines="skip")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return pd.DataFrame()
