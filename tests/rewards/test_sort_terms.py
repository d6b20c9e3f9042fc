"""object_bin_distance on real pybullet scenes, against hand-computed distances; as a potential; in the lint."""

from __future__ import annotations

import math

import numpy as np
import pytest

import envkit
from envkit.analysis.lint import lint_scene
from envkit.errors import SpecError
from envkit.loader import load_scene

# sort-1's bins (x, y centre; half extents 0.05 x 0.1 x 0.01 at z = 0.01): accepts
BINS = {"cylinder": (-0.25, -0.2), "sphere": (-0.25, 0.0), "cube": (-0.25, 0.2)}


def _make(params: dict | None = None, shapes: list[str] | None = None, count: int = 1):
    over = {
        "reward": [{"term": "object_bin_distance", "weight": 1.0, "params": params or {}}],
        "objects.count": count,
    }
    if shapes:
        over["objects.shapes"] = shapes
    return envkit.make("sort-1", over)


def _hand(p: np.ndarray, shape: str, horizontal: bool = False) -> float:
    """Distance from p to the box of the bin accepting `shape`, written out per axis."""
    cx, cy = BINS[shape]
    dx = max(cx - 0.05 - p[0], 0.0, p[0] - (cx + 0.05))
    dy = max(cy - 0.1 - p[1], 0.0, p[1] - (cy + 0.1))
    dz = 0.0 if horizontal else max(0.0 - p[2], 0.0, p[2] - 0.02)
    return math.sqrt(dx * dx + dy * dy + dz * dz)


@pytest.mark.parametrize("shape", ["cube", "cylinder", "sphere"])
def test_distance_to_the_accepting_bin_matches_hand_computation(shape: str) -> None:
    env = _make(shapes=[shape])
    try:
        env.reset(seed=0)
        env.unwrapped.teleport_object(0, [0.05, 0.12, 0.2], [0, 0, 0, 1])  # held up, no contact
        _, reward, _, _, info = env.step(np.zeros(4))
        pos = env.unwrapped.world.read_state().object_position[0]
        assert info["reward_terms"]["object_bin_distance"] == pytest.approx(_hand(pos, shape), abs=1e-6)
        assert reward == pytest.approx(_hand(pos, shape), abs=1e-6)
        assert info["reward_terms"]["object_bin_distance"] > 0.2  # x alone is ~0.25 m away
    finally:
        env.close()


def test_horizontal_only_ignores_height_and_is_zero_over_the_bin() -> None:
    env = _make({"horizontal_only": True}, shapes=["cube"])
    try:
        env.reset(seed=0)
        env.unwrapped.teleport_object(0, [-0.25, 0.25, 0.3], [0, 0, 0, 1])  # over the cube bin, high up
        *_, info = env.step(np.zeros(4))
        assert info["reward_terms"]["object_bin_distance"] == pytest.approx(0.0, abs=1e-9)
    finally:
        env.close()
    env = _make({}, shapes=["cube"])
    try:
        env.reset(seed=0)
        env.unwrapped.teleport_object(0, [-0.25, 0.25, 0.3], [0, 0, 0, 1])
        *_, info = env.step(np.zeros(4))
        z = env.unwrapped.world.read_state().object_position[0, 2]
        assert info["reward_terms"]["object_bin_distance"] == pytest.approx(z - 0.02, abs=1e-6)  # height only
    finally:
        env.close()


def test_reduce_over_objects_and_removed_objects_count_zero() -> None:
    values = {}
    for reduce in ("sum", "min", "mean"):
        env = _make({"reduce": reduce, "horizontal_only": True}, shapes=["cube"], count=2)
        try:
            env.reset(seed=0)
            env.unwrapped.teleport_object(0, [0.05, 0.2, 0.2], [0, 0, 0, 1])  # 0.25 in x from the cube bin
            env.unwrapped.teleport_object(1, [-0.25, 0.45, 0.2], [0, 0, 0, 1])  # 0.15 in y beyond it
            *_, info = env.step(np.zeros(4))
            values[reduce] = info["reward_terms"]["object_bin_distance"]
            s = env.unwrapped.world.read_state()
            d = [_hand(s.object_position[i], "cube", horizontal=True) for i in range(2)]
        finally:
            env.close()
        expected = {"sum": sum(d), "min": min(d), "mean": sum(d) / 2}[reduce]
        assert values[reduce] == pytest.approx(expected, abs=1e-6)
    assert values["min"] < values["mean"] < values["sum"]

    env = _make({"horizontal_only": True}, shapes=["cube"], count=2)
    try:
        env.reset(seed=0)
        env.unwrapped.teleport_object(1, [0.05, 0.2, 0.2], [0, 0, 0, 1])
        bin_cube = [b for b in env.unwrapped.spec_scene.bins if "cube" in b.accepts][0]
        x, y, z = bin_cube.position
        obj = env.unwrapped.objects[0]
        env.unwrapped.teleport_object(0, [x, y, z + bin_cube.half_extents[2] + obj.half_extents[2] + 0.001])
        *_, info = env.step(np.zeros(4))
        assert info["events"]["sorted"] == 1  # object 0 is gone: only object 1 counts
        s = env.unwrapped.world.read_state()
        assert info["reward_terms"]["object_bin_distance"] == pytest.approx(
            _hand(s.object_position[1], "cube", horizontal=True), abs=1e-6
        )
    finally:
        env.close()


def test_as_a_potential_it_pays_moving_the_object_towards_its_bin() -> None:
    reward = [{"term": "potential", "weight": -10.0,
               "params": {"phi": "object_bin_distance", "gamma": 1.0, "phi_params": {"horizontal_only": True}}}]
    env = envkit.make("sort-1", {"reward": reward, "objects.shapes": ["cube"]})
    try:
        env.reset(seed=0)
        env.unwrapped.teleport_object(0, [0.05, 0.2, 0.2], [0, 0, 0, 1])
        env.step(np.zeros(4))
        env.unwrapped.teleport_object(0, [-0.05, 0.2, 0.2], [0, 0, 0, 1])  # 0.1 m closer in x
        *_, info = env.step(np.zeros(4))
        assert info["reward_terms"]["potential"] == pytest.approx(1.0, abs=2e-3)  # -10 x (0.15 - 0.25)
    finally:
        env.close()


@pytest.mark.parametrize(
    "params, field",
    [({"reduce": "max"}, "reduce"), ({"horizontal_only": "yes"}, "horizontal_only"), ({"reduc": "min"}, "reduc")],
)
def test_bad_params_fail_at_load_naming_them(params: dict, field: str) -> None:
    with pytest.raises(SpecError, match=field):
        load_scene("sort-1", {"reward": [{"term": "object_bin_distance", "weight": -1.0, "params": params}]})


def test_lint_understands_it_and_the_sort_shaped_preset_lints_clean() -> None:
    spec = load_scene("sort-1", {"reward": [{"term": "object_bin_distance", "weight": -1.0}]})
    report = lint_scene(spec)
    text = str(report)
    assert "object_bin_distance" in text
    shaped = lint_scene(load_scene("sort-1", {"reward": "sort_shaped"}))
    assert shaped.clean, str(shaped)
    # as a plain per-step penalty (not a potential) the lint says it is not potential-based shaping
    assert not report.clean


def test_lint_flags_a_potential_whose_terminal_bonus_makes_a_floor_drop_pay(cash_in_design: list[dict]) -> None:
    """The measured trap (docs/task-b.md, run B): phi(terminal) = 0, so ending the episode cashes
    in -weight x phi; with a floor penalty of 50 and ~110 of shaping left, pushing the object off
    the table beats trying. With the floor costing 200 (sort_shaped) it does not."""
    design = cash_in_design
    report = lint_scene(load_scene("sort-1", {"reward": design}))
    traps = [f for f in report.findings if f.rule == "early-exit-trap"]
    assert len(traps) == 1 and "floor" in traps[0].message
    assert "object_to_bin" in traps[0].terms and "phi is 0 in a terminal state" in traps[0].message
    design[1]["weight"] = -200.0
    assert lint_scene(load_scene("sort-1", {"reward": design})).clean
    # the same floor penalty without the object-to-bin potential is no trap
    assert lint_scene(load_scene("sort-1", {"reward": design[:1] + [dict(design[1], weight=-50.0)] + design[2:4]})).clean


def test_object_height_is_the_bottom_above_the_table_clipped_and_pays_a_lift_as_a_potential() -> None:
    env = envkit.make("sort-1", {"objects.shapes": ["cube"], "reward": [
        {"term": "object_height", "weight": 1.0, "params": {"max_height": 0.1}},
        {"term": "potential", "name": "lift", "weight": 200.0, "params": {"phi": "object_height", "gamma": 1.0}},
    ]})
    try:
        env.reset(seed=0)
        half = float(env.unwrapped.objects[0].half_extents[2])
        *_, info = env.step(np.zeros(4))  # resting on the table: its bottom is at the top (0)
        assert info["reward_terms"]["object_height"] == pytest.approx(0.0, abs=2e-3)
        env.unwrapped.teleport_object(0, [0.0, 0.0, half + 0.05], [0, 0, 0, 1])  # bottom 5 cm up
        *_, info = env.step(np.zeros(4))
        z = env.unwrapped.world.read_state().object_position[0, 2]
        assert info["reward_terms"]["object_height"] == pytest.approx(z - half, abs=1e-6)
        assert 0.03 < z - half < 0.05  # falling, not yet down
        assert info["reward_terms"]["lift"] == pytest.approx(200.0 * min(z - half, 0.06) - 0.0, abs=0.5)
        env.unwrapped.teleport_object(0, [0.0, 0.0, half + 0.5], [0, 0, 0, 1])  # far up: clipped
        *_, info = env.step(np.zeros(4))
        assert info["reward_terms"]["object_height"] == pytest.approx(0.1)
    finally:
        env.close()
    with pytest.raises(SpecError, match="max_height"):
        load_scene("sort-1", {"reward": [{"term": "object_height", "weight": 1.0, "params": {"max_height": 0}}]})
    report = lint_scene(load_scene("sort-1", {"reward": [
        {"term": "object_in_correct_bin", "weight": 500.0},
        {"term": "potential", "name": "lift", "weight": 200.0, "params": {"phi": "object_height", "gamma": 0.99}},
    ]}))
    assert report.clean, str(report)  # a lift potential pays nothing over a whole episode: no trap
    models = {p.label: p for p in report.profiles}
    assert models["lift"].kind == "potential" and "object_height" in models["lift"].basis
