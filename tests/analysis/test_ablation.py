"""Ablation/scaling grids: the variants are right, load into a scene, and compose as Hydra options."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser

from envkit.analysis.ablation import ablation_designs, main, write_options
from envkit.loader import load_scene


def _weights(design: dict) -> dict[str, float]:
    return {t.get("name") or t["term"]: t["weight"] for t in design["terms"]}


def test_leave_one_out_and_scaling_of_sort_v2() -> None:
    designs = ablation_designs("sort_v2")
    stem = "ablate_sort_v2__"
    assert len(designs) == 1 + 4 + 2 * 4
    assert _weights(designs[stem + "base"]) == {
        "time_penalty": -1.0,
        "object_on_floor": -50.0,
        "object_in_bin": 200.0,
        "object_in_correct_bin": 500.0,
    }
    assert "object_in_bin" not in _weights(designs[stem + "drop_object_in_bin"])
    assert len(designs[stem + "drop_object_in_bin"]["terms"]) == 3
    assert _weights(designs[stem + "object_in_bin_x0p1"])["object_in_bin"] == pytest.approx(20.0)
    assert _weights(designs[stem + "object_on_floor_x10"])["object_on_floor"] == pytest.approx(-500.0)
    assert _weights(designs[stem + "object_on_floor_x10"])["object_in_bin"] == 200.0


def test_named_terms_and_params_survive() -> None:
    designs = ablation_designs("sort_fixed", scales=[10])
    shaped = designs["ablate_sort_fixed__approach_object_x10"]["terms"][-1]
    assert shaped["term"] == "potential" and shaped["weight"] == -500.0
    assert shaped["params"] == {"phi": "ee_object_distance", "gamma": 0.99}


def test_single_term_design_has_no_leave_one_out() -> None:
    assert sorted(ablation_designs("reach_dense")) == [
        "ablate_reach_dense__base",
        "ablate_reach_dense__goal_distance_x0p1",
        "ablate_reach_dense__goal_distance_x10",
    ]


def test_a_scene_file_design_is_ablated_with_its_terms() -> None:
    designs = ablation_designs("push", scales=[])
    assert list(designs) == ["ablate_push_reward__base"]


@pytest.mark.parametrize("preset", ["sort_v2", "sort_fixed"])
def test_every_variant_loads_into_a_scene(preset: str) -> None:
    for design in ablation_designs(preset).values():
        spec = load_scene("sort-2", {"reward": {"terms": design["terms"]}})
        assert len(spec.reward.terms) == len(design["terms"])


def test_generated_options_compose_with_hydra_and_one_glob_selects_them(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    paths = write_options(ablation_designs("sort_v2"), conf / "reward")
    (conf / "config.yaml").write_text("defaults:\n  - reward: ablate_sort_v2__base\n  - _self_\nseed: 0\n")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
            for path in paths:
                cfg = compose("config", overrides=[f"reward={path.stem}"])
                assert cfg.reward.name == path.stem
                assert [dict(t) for t in cfg.reward.terms] == yaml.safe_load(path.read_text())["terms"]
            options = GlobalHydra.instance().config_loader().get_group_options("reward")
            (override,) = OverridesParser.create().parse_overrides(["reward=glob(ablate_sort_v2__*)"])
            assert sorted(override.value().filter(options)) == sorted(p.stem for p in paths)
    finally:
        GlobalHydra.instance().clear()


def test_cli_writes_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sort_v1", "--out", str(tmp_path), "--scales", "10", "--no-drop"]) == 0
    out = capsys.readouterr().out
    assert "wrote 5 reward options" in out and "glob(ablate_sort_v1__*)" in out
    assert len(list(tmp_path.glob("*.yaml"))) == 5
    assert main(["no_such_design", "--out", str(tmp_path)]) == 1
