"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def write_scene(tmp_path: Path):
    """Write a scene dict (or raw text) to a YAML file and return its path."""

    def _write(content: dict[str, Any] | str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    return _write


@pytest.fixture
def cash_in_design() -> list[dict]:
    """A sort design whose only shaping is a gamma-0.99 potential on the object-to-bin distance,
    with a mild floor penalty: phi is 0 in a terminal state, so ending the episode cashes in
    ~+110 and a floor drop pays (docs/task-b.md, run B). A fresh list per test (tests edit it)."""
    return [
        {"term": "time_penalty", "weight": -0.1},
        {"term": "object_on_floor", "weight": -50.0},
        {"term": "object_in_correct_bin", "weight": 500.0},
        {"term": "object_in_wrong_bin", "weight": -300.0},
        {"term": "potential", "name": "object_to_bin", "weight": -500.0,
         "params": {"phi": "object_bin_distance", "gamma": 0.99}},
    ]
