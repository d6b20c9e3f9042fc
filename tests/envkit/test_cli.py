"""The `envkit` console script: exit codes, output, and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from envkit.cli import main


def test_list_shows_every_bundled_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("sort-1", "sort-1-blocker", "sort-2", "sort-5-blocker", "reach", "push"):
        assert f"envkit/{name}-v0" in out


def test_validate_ok_and_failing(write_scene, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_scene({"name": "bad", "objects": {"cout": 2}})
    assert main(["validate", "sort-1", "envkit/push-v0"]) == 0
    assert main(["validate", "sort-1", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "OK" in out and "FAIL" in out and "did you mean 'count'" in out and "1 of 2 file(s) failed" in out


def test_validate_applies_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "sort-1", "--set", "objects.count=60"]) == 1
    assert "objects.count" in capsys.readouterr().out


def test_info_prints_layout_and_reward(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "sort-1"]) == 0
    out = capsys.readouterr().out
    assert "Box(31,)" in out and "object0.shape_onehot" in out and "ee.fingers_width" in out
    assert "object_in_correct_bin" in out and "500" in out and "sort_fixed" in out


def test_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "SceneSpec"


def test_preview_writes_png(tmp_path: Path) -> None:
    out = tmp_path / "scene.png"
    assert main(["preview", "sort-5-blocker", "-o", str(out), "--width", "96", "--height", "64"]) == 0
    import imageio.v3 as iio

    img = iio.imread(out)
    assert img.shape == (64, 96, 3) and img.std() > 5


def test_bad_set_syntax_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "sort-1", "--set", "objects.count"]) == 1
    assert "--set expects KEY=VALUE" in capsys.readouterr().err


def test_errors_have_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "envkit.cli", "info", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "missing.yaml: no such file" in proc.stderr


def test_preview_shows_the_camera_view_next_to_the_overview(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "peg.png"
    assert main(["preview", "peg_in_hole", "-o", str(out), "--width", "200", "--height", "168"]) == 0
    assert "camera view 84x84" in capsys.readouterr().out
    import imageio.v3 as iio

    img = iio.imread(out)
    # the overview (200 wide), an 8-pixel gap, then the 84x84 view enlarged twice to 168x168
    assert img.shape == (168, 200 + 8 + 168, 3)
    camera = img[:, 208:]
    assert np.all(camera[0::2, 0::2] == camera[1::2, 1::2]), "enlarged by pixel repetition, not smoothed"


def test_info_describes_camera_observations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "peg_in_hole"]) == 0
    assert "Box(0, 255, (84, 84, 1), uint8): world camera" in capsys.readouterr().out
    assert main(["info", "reach", "--set", "observation.mode=both"]) == 0
    assert 'Dict("image": Box(0, 255, (84, 84, 1), uint8)' in capsys.readouterr().out
