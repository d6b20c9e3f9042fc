"""benchmarks/racing_replay.py on fabricated sweeps: the replay names the full grid's winner, counts
compute as the race would, and runs on any sweep folder given on the command line."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def replay():  # noqa: ANN201 - the benchmark script as a module
    spec = importlib.util.spec_from_file_location("racing_replay", ROOT / "benchmarks" / "racing_replay.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["racing_replay"] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_a_clear_grid_is_won_by_the_same_design_for_a_fraction_of_the_compute(replay, tmp_path: Path,  # noqa: ANN001
                                                                               capsys: pytest.CaptureFixture) -> None:
    designs = {"best": (0.95, 0.1), "mid": (0.5, 0.3), "zero": (0.05, 1e9), "none": (0.0, 1e9)}
    grid = replay.write_synthetic(tmp_path / "grid", seeds=5, designs=designs, seed=1)
    assert len(list(grid.glob("*/summary.json"))) == 20
    out = tmp_path / "replay.json"
    assert replay.main([str(grid), "--replays", "60", "--reps", "300", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["reference_winner"] == "reward=best"
    assert res["same_winner_as_grid"] == 1.0 and res["same_winner_as_all_seeds"] == 1.0
    # the three losers stop at the first rung (0.1 of the budget): (3 x 0.1 + 1) / 4 of the grid's compute
    assert res["compute_fraction_mean"] == pytest.approx((3 * 0.1 + 1) / 4, abs=0.03)
    assert res["designs"]["reward=zero"]["eliminated_share"] == 1.0
    assert res["designs"]["reward=best"]["eliminated_share"] == 0.0
    assert res["same_winner_and_3x"] == 1.0
    text = capsys.readouterr().out
    assert "same winner as the full grid on the same seeds: 100.0%" in text


def test_equal_designs_are_separated_about_as_often_as_the_rule_says(replay, tmp_path: Path) -> None:  # noqa: ANN001
    # With 3 seeds a 95% percentile-bootstrap interval of the IQM runs from the lowest seed to the
    # highest, so two equal designs separate when all seeds of one lie below all of the other's:
    # 2 / C(6, 3) = 10% per rung for exchangeable seeds, about 20% over two rungs.
    grid = replay.write_synthetic(tmp_path / "grid", seeds=8, designs={"a": (0.6, 0.2), "b": (0.6, 0.2)}, seed=2)
    rule = replay.check_rule([0.1, 0.3], 3, None, None, "success")
    res = replay.replay(replay.load_designs([str(grid)], rule), rule, 200, 0, "subsample")
    assert 0.1 <= 2 - res["mean_finishers"] <= 0.35
    assert res["mean_finishers"] >= 1.0 and res["compute_fraction_mean"] >= 0.55


def test_the_synthetic_mode_and_the_rule_options_run_from_the_command_line(replay, tmp_path: Path,  # noqa: ANN001
                                                                          capsys: pytest.CaptureFixture) -> None:
    assert replay.main(["--synthetic", str(tmp_path / "syn"), "--replays", "20", "--reps", "200", "--eta", "2",
                        "--max-seeds", "4", "--metric", "auc", "--rungs", "0.2,0.5"]) == 0
    text = capsys.readouterr().out
    assert "rungs 0.2, 0.5, 1" in text and "eta 2" in text and "3..4 seeds" in text
    with pytest.raises(SystemExit):
        replay.main(["--rungs", "0.5,1.5", "--synthetic", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        replay.main([])
