"""Scene spec loading: every bad-input case gives a clear message naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import envkit
from envkit.errors import SpecError
from envkit.loader import apply_overrides, load_scene
from envkit.registry import bundled_scenes
from envkit.spec import SceneSpec


def _sort1() -> dict:
    return yaml.safe_load(bundled_scenes()["sort-1"].read_text())


@pytest.mark.parametrize("name", sorted(bundled_scenes()))
def test_bundled_scenes_validate(name: str) -> None:
    spec = load_scene(name)
    assert spec.name == name


def test_defaults_live_in_the_models() -> None:
    spec = SceneSpec()
    assert spec.physics.substeps == 20 and spec.physics.timestep == pytest.approx(1 / 500)
    assert spec.robot.base_position == (-0.6, 0.0, 0.0)
    assert spec.floor.height == -0.4
    assert spec.episode.max_steps == 750


def test_task_b_layout_is_reproduced() -> None:
    spec = load_scene("sort-5-blocker")
    assert spec.tables[0].size == (0.8, 0.8) and spec.tables[0].center == (-0.3, 0.0)
    assert (
        spec.objects.count == 5 and spec.objects.size.base == 0.025 and spec.objects.size.scale == (0.5, 1.5)
    )
    assert spec.objects.spawn.x == (-0.06, 0.06) and spec.objects.spawn.y == (-0.2, 0.2)
    bins = {b.name: b for b in spec.bins}
    assert bins["bin_cylinder"].position == (-0.25, -0.2, 0.01) and bins["bin_cylinder"].accepts == [
        "cylinder"
    ]
    assert bins["bin_sphere"].position == (-0.25, 0.0, 0.01) and bins["bin_sphere"].accepts == ["sphere"]
    assert bins["bin_cube"].position == (-0.25, 0.2, 0.01) and bins["bin_cube"].accepts == ["cube"]
    assert all(b.half_extents == (0.05, 0.1, 0.01) for b in spec.bins)
    (bar,) = spec.obstacles
    assert bar.position == (-0.2, 0.0, 0.01) and bar.half_extents == (0.01, 0.3, 0.005)


def test_overrides_apply_before_validation() -> None:
    spec = load_scene("envkit/sort-1-v0", {"objects.count": 3, "bins.0.color": [1, 1, 0, 1]})
    assert spec.objects.count == 3 and spec.bins[0].color == (1, 1, 0, 1)
    env = envkit.make("envkit/sort-1-v0", objects__count=2)
    try:
        assert env.unwrapped.n_objects == 2
    finally:
        env.close()


def test_override_of_bad_list_index() -> None:
    with pytest.raises(SpecError, match=r"bins.*3 item\(s\).*'7' is not a valid index"):
        apply_overrides({"bins": [{}, {}, {}]}, {"bins.7.color": [1, 0, 0, 1]}, "x.yaml")


def test_reward_preset_replaced_by_override() -> None:
    spec = load_scene("sort-1", {"reward": "sort_v2"})
    assert spec.reward.preset == "sort_v2"


# --------------------------------------------------------------------------- bad input, one test each


def _error(write_scene, content) -> str:
    path = write_scene(content)
    with pytest.raises(SpecError) as exc:
        load_scene(path)
    return str(exc.value)


def test_missing_file() -> None:
    with pytest.raises(SpecError, match=r"no_such\.yaml: no such file"):
        load_scene("no_such.yaml")


def test_unknown_bundled_id_suggests() -> None:
    with pytest.raises(
        SpecError, match=r"unknown scene id 'envkit/sort-3-v0'.*did you mean 'envkit/sort-2-v0'"
    ):
        load_scene("envkit/sort-3-v0")


def test_yaml_syntax_error_names_line(write_scene) -> None:
    msg = _error(write_scene, "name: x\nobjects:\n  count: 1\n  shapes: [cube, sphere\nbins: []\n")
    assert "scene.yaml, line" in msg and "YAML syntax error" in msg


def test_unknown_key_with_suggestion_and_line(write_scene) -> None:
    data = _sort1()
    data["objects"]["cout"] = 2
    msg = _error(write_scene, data)
    assert "objects.cout: unknown key 'cout'; did you mean 'count'?" in msg
    assert "line " in msg and "Valid keys here:" in msg


def test_wrong_type_names_field(write_scene) -> None:
    data = _sort1()
    data["episode"]["max_steps"] = "lots"
    msg = _error(write_scene, data)
    assert "episode.max_steps" in msg and "'lots'" in msg


def test_out_of_range_names_field_and_range(write_scene) -> None:
    data = _sort1()
    data["physics"] = {"substeps": 0}
    msg = _error(write_scene, data)
    assert "physics.substeps" in msg and "greater than or equal to 1" in msg and "got 0" in msg


def test_reversed_range(write_scene) -> None:
    data = _sort1()
    data["objects"]["spawn"]["y"] = [0.2, -0.2]
    msg = _error(write_scene, data)
    assert "objects.spawn.y" in msg and "low > high" in msg


def test_bad_literal_lists_choices(write_scene) -> None:
    data = _sort1()
    data["objects"]["shapes"] = ["cube", "cone"]
    msg = _error(write_scene, data)
    assert "objects.shapes[1]" in msg and "'cube', 'cylinder' or 'sphere'" in msg


def test_bin_outside_the_table(write_scene) -> None:
    data = _sort1()
    data["bins"][0]["position"] = [0.5, 0.0, 0.01]
    msg = _error(write_scene, data)
    assert "bins[0].position" in msg and "bin 'bin_cylinder'" in msg and "outside every table" in msg


def test_objects_larger_than_spawn_region(write_scene) -> None:
    data = _sort1()
    data["objects"]["size"] = {"base": 0.5, "scale": [1.0, 1.0]}
    msg = _error(write_scene, data)
    assert "objects.spawn" in msg and "overhang table 'table'" in msg


def test_impossible_non_overlap(write_scene) -> None:
    data = _sort1()
    data["objects"]["count"] = 40
    msg = _error(write_scene, data)
    assert "40 objects" in msg and "cannot be placed without overlap" in msg


def test_unknown_reward_term_lists_known(write_scene) -> None:
    data = _sort1()
    data["reward"] = [{"term": "time_penalty", "weight": -1}, {"term": "object_in_bim", "weight": 10}]
    msg = _error(write_scene, data)
    assert "reward[1].term" in msg and "unknown reward term 'object_in_bim'" in msg
    assert "did you mean 'object_in_bin'" in msg and "Known terms:" in msg


def test_unknown_reward_param_names_term(write_scene) -> None:
    data = _sort1()
    data["goal"] = {"position": [0, 0, 0.1]}
    data["reward"] = [{"term": "goal_distance_tanh", "params": {"sd": 0.2}}]
    msg = _error(write_scene, data)
    assert "reward term 'goal_distance_tanh': unknown parameter 'sd'; did you mean 'std'?" in msg


def test_unknown_reward_preset(write_scene) -> None:
    data = _sort1()
    data["reward"] = "sort_v3"
    msg = _error(write_scene, data)
    assert "unknown reward preset 'sort_v3'" in msg and "sort_v1" in msg


def test_duplicate_reward_labels(write_scene) -> None:
    data = _sort1()
    data["reward"] = [{"term": "time_penalty"}, {"term": "time_penalty", "weight": 2}]
    assert "labelled 'time_penalty'" in _error(write_scene, data)


def test_unknown_collision_body(write_scene) -> None:
    data = _sort1()
    data["episode"]["terminate_on"]["collisions"] = [["robot", "tabel"]]
    msg = _error(write_scene, data)
    assert "unknown body 'tabel'; did you mean 'table'?" in msg


def test_goal_object_index_out_of_range(write_scene) -> None:
    data = _sort1()
    data["goal"] = {"position": [0, 0, 0.1], "achieved": "object:3"}
    assert "refers to object 3 but the scene has 1 object(s)" in _error(write_scene, data)


def test_unknown_observation_term(write_scene) -> None:
    data = _sort1()
    data["observation"]["state"] = ["objects", "eee"]
    assert "unknown observation term 'eee'; did you mean 'ee'?" in _error(write_scene, data)


def test_every_problem_is_reported_at_once(write_scene) -> None:
    data = _sort1()
    data["objects"]["cout"] = 2
    data["episode"]["max_steps"] = -5
    msg = _error(write_scene, data)
    assert "2 problems" in msg and "objects.cout" in msg and "episode.max_steps" in msg


def test_scene_must_be_a_mapping(write_scene) -> None:
    assert "must be a YAML mapping" in _error(write_scene, "- a\n- b\n")


def test_reserved_and_duplicate_names(write_scene) -> None:
    data = _sort1()
    data["bins"][1]["name"] = "bin_cylinder"
    data["obstacles"] = [{"name": "floor", "position": [0, 0, 0.1], "half_extents": [0.01, 0.01, 0.01]}]
    msg = _error(write_scene, data)
    assert "already used by bins[0]" in msg and "'floor' is a reserved body name" in msg


def test_json_schema_is_complete() -> None:
    schema = SceneSpec.model_json_schema()
    text = json.dumps(schema)
    for key in (
        "robot",
        "objects",
        "bins",
        "obstacles",
        "goal",
        "randomize",
        "observation",
        "episode",
        "reward",
    ):
        assert key in schema["properties"]
    assert "metres moved per unit of action" in text


def test_user_reward_term_by_module_path(
    write_scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_terms.py").write_text(
        "def reach_bonus(ctx, radius: float = 0.1) -> float:\n"
        "    return float(ctx.goal_distance is not None and ctx.goal_distance < radius)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = load_scene("reach", {"reward": [{"term": "my_terms:reach_bonus", "params": {"radius": 10.0}}]})
    assert spec.reward.terms[0].label == "my_terms.reach_bonus"
    env = envkit.make(spec)
    try:
        env.reset(seed=0)
        import numpy as np

        _, reward, *_ = env.step(np.zeros(3, dtype=np.float32))
        assert reward == 1.0
    finally:
        env.close()
    with pytest.raises(SpecError, match="cannot import module 'no_such_mod'"):
        load_scene("reach", {"reward": [{"term": "no_such_mod:f"}]})


# --------------------------------------------------------------------------- camera, tool, fixtures: bad input


def _peg() -> dict:
    return yaml.safe_load(bundled_scenes()["peg_in_hole"].read_text())


def test_camera_modes_validate_and_default_camera() -> None:
    spec = load_scene("reach", {"observation.mode": "both"})
    cam = spec.observation.camera_spec
    assert cam is not None and (cam.width, cam.height, cam.grayscale, cam.mount) == (84, 84, True, "world")
    assert load_scene("reach").observation.camera_spec is None
    assert load_scene("peg_in_hole").robot_visual == "boxes" and load_scene("reach").robot_visual == "full"


def test_tool_needs_blocked_gripper(write_scene) -> None:
    data = _peg()
    data["robot"]["gripper"] = True
    msg = _error(write_scene, data)
    assert "robot.gripper" in msg and "welded to the hand" in msg and "gripper: false" in msg


@pytest.mark.parametrize(
    "tool, expected",
    [
        ({"shape": "cylinder", "half_extents": [0.01, 0.02, 0.04]}, "equal radii"),
        ({"half_extents": [0.05, 0.01, 0.04]}, "fingers open to 0.08 m"),
        ({"grip": 0.09}, "must be shorter than the tool's length"),
        ({"half_extents": [0.01, 0.0, 0.04]}, "must all be > 0"),
    ],
)
def test_bad_tool_geometry(write_scene, tool: dict, expected: str) -> None:
    data = _peg()
    data["tool"].update(tool)
    msg = _error(write_scene, data)
    assert "tool" in msg and expected in msg


def test_achieved_tool_tip_needs_a_tool(write_scene) -> None:
    data = _sort1()
    data["goal"] = {"position": [0, 0, 0.1], "achieved": "tool_tip"}
    assert "goal.achieved: 'tool_tip' needs a `tool` section" in _error(write_scene, data)


def test_unknown_achieved_point_suggests(write_scene) -> None:
    data = _peg()
    data["goal"]["achieved"] = "tool_tp"
    msg = _error(write_scene, data)
    assert "goal.achieved" in msg and "did you mean 'tool_tip'" in msg


def test_goal_needs_position_or_fixture_not_both(write_scene) -> None:
    data = _peg()
    del data["goal"]["fixture"]
    assert "a goal needs a `position`, or a `fixture`" in _error(write_scene, data)
    data = _peg()
    data["goal"]["position"] = [0, 0, 0.1]
    assert "either `position` or `fixture`, not both" in _error(write_scene, data)


def test_goal_following_a_fixture_has_no_own_range(write_scene) -> None:
    data = _peg()
    data["goal"]["range"] = {"x": [-0.1, 0.1]}
    assert "randomise the fixture's `range` instead" in _error(write_scene, data)


def test_goal_follows_an_unknown_fixture(write_scene) -> None:
    data = _peg()
    data["goal"]["fixture"] = "blok"
    msg = _error(write_scene, data)
    assert "goal.fixture: unknown fixture 'blok'; did you mean 'block'?" in msg


def test_fixture_on_unknown_table(write_scene) -> None:
    data = _peg()
    data["fixtures"][0]["table"] = "grund"
    msg = _error(write_scene, data)
    assert "fixtures[0].table" in msg and "unknown table 'grund'; did you mean 'ground'?" in msg


def test_fixture_hole_needs_a_tool(write_scene) -> None:
    data = _peg()
    del data["tool"]
    data["goal"]["achieved"] = "ee"
    data["episode"]["terminate_on"]["collisions"] = []
    data["robot"]["gripper"] = True
    msg = _error(write_scene, data)
    assert "fixtures[0].hole" in msg and "no `tool` section" in msg


def test_fixture_walls_too_thin(write_scene) -> None:
    data = _peg()
    data["fixtures"][0]["hole"]["clearance"] = 0.09
    msg = _error(write_scene, data)
    assert (
        "fixtures[0].size" in msg
        and "leaves walls of" in msg
        and "Enlarge size or reduce the clearance" in msg
    )


def test_fixture_hole_deeper_than_block(write_scene) -> None:
    data = _peg()
    data["fixtures"][0]["hole"]["depth"] = 0.08
    msg = _error(write_scene, data)
    assert "fixtures[0].hole.depth" in msg and "deeper than the block" in msg


def test_fixture_range_off_the_table(write_scene) -> None:
    data = _peg()
    data["fixtures"][0]["range"]["x"] = [-0.1, 1.0]
    msg = _error(write_scene, data)
    assert "fixtures[0].position" in msg and "beyond table 'ground'" in msg


def test_duplicate_fixture_and_tool_names(write_scene) -> None:
    data = _peg()
    data["fixtures"][0]["name"] = "ground"
    data["tool"]["name"] = "goal"
    msg = _error(write_scene, data)
    assert "fixtures[0].name: name 'ground' is already used by tables[0]" in msg
    assert "tool.name: 'goal' is a reserved body name" in msg


@pytest.mark.parametrize(
    "camera, where, expected",
    [
        ({"position": [1, 0, 1], "distance": 1.0}, "observation.camera", "not both"),
        ({"mount": "hand", "yaw": 10}, "observation.camera", "orbit placement is for world cameras"),
        ({"mount": "hand"}, "observation.camera.position", "a hand camera needs `position`"),
        ({"near": 1.0, "far": 0.5}, "observation.camera", "far (0.5) must be greater than near (1.0)"),
        ({"renderer": "opengl"}, "observation.camera.renderer", "'tiny' or 'egl'"),
        ({"stack": 0}, "observation.camera.stack", "greater than or equal to 1"),
        ({"widht": 64}, "observation.camera.widht", "did you mean 'width'"),
    ],
)
def test_bad_camera(write_scene, camera: dict, where: str, expected: str) -> None:
    data = _peg()
    data["observation"]["camera"] = camera
    msg = _error(write_scene, data)
    assert where in msg and expected in msg


def test_bad_randomisation_ranges(write_scene) -> None:
    data = _peg()
    data["randomize"]["objects"] = {"mass_scale": [0.0, 1.0]}
    data["randomize"]["camera"] = {"position": [0.01, -0.01, 0.0]}
    msg = _error(write_scene, data)
    assert "randomize.objects.mass_scale" in msg and "a zero mass makes a body static" in msg
    assert "randomize.camera.position" in msg and "jitter amplitudes must be >= 0" in msg


def test_bad_insertion_contact_rule(write_scene) -> None:
    data = _peg()
    data["episode"]["terminate_on"]["insertion_contact"] = "ignore"
    msg = _error(write_scene, data)
    assert "episode.terminate_on.insertion_contact" in msg and "'collision' or 'allowed'" in msg


def test_colour_randomisation_of_fixture_and_unknown_body(write_scene) -> None:
    data = _peg()
    data["randomize"]["colors"].append({"body": "blck"})
    msg = _error(write_scene, data)
    assert "randomize.colors[2].body" in msg and "did you mean 'block'" in msg


@pytest.mark.parametrize(
    "scene, overrides, expected",
    [
        ("sort-1", {"tables.0.size": [0.0, 0.8]}, "tables[0].size: table size must be positive along x and y, got [0.0, 0.8]"),
        ("sort-1", {"bins.0.half_extents": [0.1, -0.1, 0.01]}, "bins[0].half_extents: half_extents must all be > 0, got [0.1, -0.1, 0.01]"),
        ("sort-1-blocker", {"obstacles.0.half_extents": [0.1, 0.0, 0.01]}, "obstacles[0].half_extents: half_extents must all be > 0"),
        ("peg_in_hole_state", {"fixtures.0.size": [0.12, 0.12, 0.0]}, "fixtures[0].size: size must be > 0 along x, y and z, got [0.12, 0.12, 0.0]"),
        ("peg_in_hole_state", {"fixtures.0.range.x": [0.1, -0.1]}, "fixtures[0].range.x: range [0.1, -0.1] has low > high; write it as [low, high]"),
        ("peg_in_hole_state", {"tool.half_extents": [0.01, 0.0, 0.04]}, "tool.half_extents: half_extents must all be > 0, got [0.01, 0.0, 0.04]"),
        ("sort-1", {"objects.spawn.yaw": [1.0, 0.0]}, "objects.spawn.yaw: range [1.0, 0.0] has low > high"),
        ("sort-1", {"objects.size.scale": [1.5, 0.5]}, "objects.size.scale: scale [1.5, 0.5] has low > high; write it as [low, high]"),
        ("sort-1", {"objects.size.scale": [0.0, 0.5]}, "objects.size.scale: scale must be > 0, got [0.0, 0.5]"),
        ("reach", {"goal.range.z": [0.3, 0.0]}, "goal.range.z: range [0.3, 0.0] has low > high"),
        ("sort-1", {"randomize.objects.mass_scale": [0.0, 1.0]}, "randomize.objects.mass_scale: mass_scale must be > 0 (a zero mass makes a body static), got [0.0, 1.0]"),
        ("sort-1", {"randomize.objects.mass_scale": [-1.0, 1.0]}, "randomize.objects.mass_scale: must be >= 0, got [-1.0, 1.0]"),
        ("sort-1", {"randomize.objects.lateral_friction": [-0.1, 1.0]}, "randomize.objects.lateral_friction: must be >= 0, got [-0.1, 1.0]"),
        ("sort-1", {"randomize.objects.spinning_friction": [0.5, 0.1]}, "randomize.objects.spinning_friction: range [0.5, 0.1] has low > high"),
        ("sort-1", {"randomize.camera.target": [-1.0, 0.0, 0.0]}, "randomize.camera.target: jitter amplitudes must be >= 0 (they are +- half widths), got [-1.0, 0.0, 0.0]"),
    ],
)
def test_checked_types_name_the_field_and_the_rule(scene: str, overrides: dict, expected: str) -> None:
    """The reusable annotated types (OrderedRange, HalfExtents, ...) say what they said as copied validators."""
    with pytest.raises(SpecError) as exc:
        load_scene(scene, overrides)
    assert expected in str(exc.value)


def test_backend_options_are_grouped_and_documented() -> None:
    """pybullet-only fields stay where scene files have them, marked and described as backend options."""
    from envkit.spec import backend_options

    options = backend_options()
    assert options == {"robot.visual": "pybullet", "observation.camera.renderer": "pybullet"}
    schema = json.dumps(SceneSpec.model_json_schema())
    assert schema.count('"backend_option": "pybullet"') == len(options)
    for path in options:
        section, field = path.rsplit(".", 1)
        model = {"robot": "RobotSpec", "observation.camera": "CameraSpec"}[section]
        described = SceneSpec.model_json_schema()["$defs"][model]["properties"][field]["description"]
        assert described.startswith("pybullet backend option.")
