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
