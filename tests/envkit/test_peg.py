"""Task A's peg-in-hole and Task B's tosser on real pybullet: geometry, success, collisions, randomisation."""

from __future__ import annotations

import numpy as np
import pytest

import envkit
from envkit.loader import load_scene

STATE = "envkit/peg_in_hole_state-v0"
ZERO = np.zeros(3, dtype=np.float32)
DOWN = np.array([0.0, 0.0, -1.0], dtype=np.float32)


def _tip_depth(env) -> float:
    return env.unwrapped.spec_scene.tool.tip_depth


def _place_tip(env, tip: np.ndarray) -> None:
    """Teleport the arm so the peg's tip is at `tip` (the end effector is tip_depth above it)."""
    env.unwrapped.teleport_ee(np.asarray(tip) + [0.0, 0.0, _tip_depth(env)])


def test_task_a_parameters() -> None:
    spec = load_scene("peg_in_hole")
    assert spec.robot.ee_step == 0.005 and not spec.robot.gripper and spec.robot.control == "ee"
    assert spec.episode.max_steps == 100 and spec.episode.terminate_on.goal_distance_above == 0.8
    assert spec.goal.threshold == 0.01 and spec.goal.achieved == "tool_tip" and spec.goal.fixture == "block"
    assert spec.fixtures[0].range.x == (-0.1, 0.1) and spec.fixtures[0].range.y == (-0.1, 0.1)
    assert {c.body for c in spec.randomize.colors} == {"block", "ground"}
    assert spec.reward.preset == "peg_progress"
    cam = spec.observation.camera_spec
    assert (cam.width, cam.height, cam.grayscale, cam.stack) == (84, 84, True, 1)


def test_peg_is_rigid_on_the_hand_and_its_tip_is_the_achieved_point() -> None:
    env = envkit.make(STATE)
    try:
        obs, _ = env.reset(seed=0)
        state = env.unwrapped.world.read_state()
        np.testing.assert_allclose(state.tool_tip, state.ee_position - [0, 0, _tip_depth(env)], atol=2e-3)
        layout = env.unwrapped.obs_layout
        np.testing.assert_allclose(obs[layout["achieved.position"]], state.tool_tip, atol=1e-6)
        for _ in range(10):
            obs, *_ = env.step(np.array([1.0, -1.0, 0.5], dtype=np.float32))
        state = env.unwrapped.world.read_state()
        np.testing.assert_allclose(state.tool_tip, state.ee_position - [0, 0, _tip_depth(env)], atol=2e-3)
        assert state.fingers_width == 0.0  # gripper blocked: the width is not observed
    finally:
        env.close()


def test_hole_moves_each_reset_within_range_and_the_goal_follows() -> None:
    env = envkit.make(STATE)
    try:
        bases = []
        for seed in range(8):
            env.reset(seed=seed)
            base = env.unwrapped.fixture_bases["block"]
            bases.append(base)
            # the goal is the hole's bottom centre: block base + floor thickness (0.05 - 0.04)
            np.testing.assert_allclose(env.unwrapped.goal, base + [0.0, 0.0, 0.01], atol=1e-12)
        bases = np.array(bases)
        assert np.all(np.abs(bases[:, :2]) <= 0.1) and np.all(bases[:, 2] == 0.0)
        assert bases[:, 0].std() > 0.02 and bases[:, 1].std() > 0.02
    finally:
        env.close()


def test_peg_teleported_into_the_hole_succeeds_without_a_collision() -> None:
    env = envkit.make(STATE, {"episode.terminate_on.success": False})
    try:
        env.reset(seed=0)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.0, 0.0, 0.005])
        for _ in range(5):  # held in the hole: success every step, no collision ends the episode
            _, reward, terminated, truncated, info = env.step(ZERO)
            assert info["is_success"] and not terminated and not truncated
        assert not env.unwrapped.world.touching("peg", "block")
        assert not env.unwrapped.world.touching("peg", "ground")
    finally:
        env.close()


def test_success_terminates_and_pays_the_bonus_once() -> None:
    env = envkit.make(STATE)
    try:
        env.reset(seed=2)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.0, 0.0, 0.03])  # inside the hole, 3 cm above its bottom
        total = 0.0
        for _ in range(10):
            _, reward, terminated, truncated, info = env.step(DOWN)
            total += info["reward_terms"]["success_bonus"]
            if terminated:
                break
        assert terminated and not truncated and info["is_success"]
        assert total == 1.0
        assert np.linalg.norm(env.unwrapped.world.read_state().tool_tip - goal) < 0.01
    finally:
        env.close()


def test_peg_pushed_into_the_ground_terminates_with_a_collision() -> None:
    env = envkit.make(STATE)
    try:
        env.reset(seed=0)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.15, 0.0, 0.01])  # beside the block, 2 cm above the ground
        steps = 0
        terminated = truncated = False
        while not (terminated or truncated) and steps < 20:
            _, _, terminated, truncated, info = env.step(DOWN)
            steps += 1
        assert terminated and not truncated and not info["is_success"]
        assert steps >= 3, "it should take a few 5 mm steps to reach the ground"
        assert env.unwrapped.world.touching("peg", "ground")
    finally:
        env.close()


def test_peg_hitting_the_top_of_the_block_terminates() -> None:
    env = envkit.make(STATE)
    try:
        env.reset(seed=0)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.04, 0.0, 0.045])  # above the wall, 5 mm over the block's top
        for _ in range(10):
            _, _, terminated, _, info = env.step(DOWN)
            if terminated:
                break
        assert terminated and not info["is_success"]
        assert env.unwrapped.world.touching("peg", "block")
    finally:
        env.close()


def test_peg_on_the_rim_jams_while_over_the_hole_and_collides_once_off_it() -> None:
    """Under `allowed`, an almost aligned peg (8 mm off the axis, 2 mm clearance) lands on the
    rim and slides outwards along it: while its tip's centre is over the hole that is a jam
    (touching, the episode goes on); the step its centre leaves the hole's square it is a
    collision with the block's top."""
    env = envkit.make(STATE, {"episode.terminate_on.success": False})
    assert env.unwrapped.spec_scene.episode.terminate_on.insertion_contact == "allowed"
    half = 0.0145  # (25 mm peg + 4 mm clearance) / 2
    try:
        env.reset(seed=0)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.008, 0.0, 0.045])  # over the hole's edge, above the top
        jammed = 0
        for _ in range(20):
            _, _, terminated, truncated, _ = env.step(DOWN)
            tip = env.unwrapped.world.read_state().tool_tip
            over = abs(tip[0] - goal[0]) <= half and abs(tip[1] - goal[1]) <= half
            touching = env.unwrapped.world.touching("peg", "block")
            assert terminated == (touching and not over) and not truncated
            jammed += touching and over
            if terminated:
                break
        assert jammed >= 3 and terminated
    finally:
        env.close()


@pytest.mark.parametrize("rule, ends", [("allowed", False), ("collision", True)])
def test_wall_contact_inside_the_hole_follows_the_insertion_rule(rule: str, ends: bool) -> None:
    overrides = {"episode.terminate_on.insertion_contact": rule, "episode.terminate_on.success": False}
    env = envkit.make(STATE, overrides)
    try:
        env.reset(seed=0)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.0, 0.0, 0.02])
        terminated = False
        for _ in range(4):  # push sideways into the hole's wall
            _, _, terminated, _, _ = env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
            if terminated:
                break
        assert env.unwrapped.world.touching("peg", "block")
        assert terminated is ends
    finally:
        env.close()


def test_straying_far_from_the_goal_terminates() -> None:
    # the Panda cannot reach 0.8 m from every goal pointing down, so check the rule at 0.3 m
    env = envkit.make(STATE, {"episode.terminate_on.goal_distance_above": 0.3})
    try:
        env.reset(seed=0)
        goal = env.unwrapped.goal
        _place_tip(env, goal + [0.0, 0.0, 0.25])
        _, _, terminated, _, _ = env.step(ZERO)
        assert not terminated
        _place_tip(env, goal + [0.0, 0.2, 0.3])
        _, _, terminated, truncated, info = env.step(ZERO)
        assert np.linalg.norm(env.unwrapped.world.read_state().tool_tip - goal) > 0.3
        assert terminated and not truncated and not info["is_success"]
    finally:
        env.close()


def test_reward_is_normalised_progress_plus_bonus() -> None:
    env = envkit.make(STATE)
    try:
        env.reset(seed=1)
        goal = env.unwrapped.goal
        d0 = np.linalg.norm(env.unwrapped.world.read_state().tool_tip - goal)
        total = 0.0
        for _ in range(15):
            _, reward, terminated, truncated, info = env.step(DOWN)
            total += info["reward_terms"]["distance_progress"]
            if terminated or truncated:
                break
        d = np.linalg.norm(env.unwrapped.world.read_state().tool_tip - goal)
        assert total == pytest.approx((d0 - d) / d0, rel=1e-9)  # the progress terms telescope
    finally:
        env.close()


def test_colour_randomisation_changes_across_resets_and_repeats_under_a_seed() -> None:
    env = envkit.make("envkit/peg_in_hole-v0", {"observation.camera.grayscale": False})
    try:
        frames = [env.reset(seed=s)[0] for s in (0, 1, 0)]
        env.reset(seed=5)
        others = [env.reset()[0] for _ in range(3)]  # unseeded resets continue the stream
    finally:
        env.close()
    np.testing.assert_array_equal(frames[0], frames[2])
    assert not np.array_equal(frames[0], frames[1])
    # the ground covers the image corner: its colour differs between consecutive resets
    corners = {tuple(f[-1, 0]) for f in [frames[0], frames[1], *others]}
    assert len(corners) == 5


def test_robot_visuals_do_not_change_the_physics() -> None:
    def run(visual: str) -> np.ndarray:
        env = envkit.make("envkit/push-v0", {"robot.visual": visual})
        try:
            obs, _ = env.reset(seed=4)
            out = [obs]
            for a in np.random.default_rng(0).uniform(-1, 1, size=(25, 3)):
                out.append(env.step(a)[0])
            return np.array(out)
        finally:
            env.close()

    full = run("full")
    np.testing.assert_array_equal(full, run("simple"))
    np.testing.assert_array_equal(full, run("boxes"))


def test_object_dynamics_randomisation_is_seeded_and_keeps_other_draws() -> None:
    base = envkit.make("envkit/sort-2-v0")
    rand = envkit.make(
        "envkit/sort-2-v0",
        {"randomize.objects": {"mass_scale": [0.5, 2.0], "lateral_friction": [0.3, 0.9]}},
    )
    try:
        base.reset(seed=11)
        rand.reset(seed=11)
        a = [(o.shape, o.position.tolist(), o.mass) for o in base.unwrapped.objects]
        b = rand.unwrapped.objects
        for (shape, pos, mass), obj in zip(a, b, strict=True):
            assert obj.shape == shape and obj.position.tolist() == pos  # drawn before, unchanged
            assert 0.5 * mass <= obj.mass <= 2.0 * mass and obj.mass != mass
            assert 0.3 <= obj.lateral_friction <= 0.9
        first = [(o.mass, o.lateral_friction) for o in b]
        rand.reset(seed=12)
        rand.reset(seed=11)
        assert [(o.mass, o.lateral_friction) for o in rand.unwrapped.objects] == first
    finally:
        base.close()
        rand.close()


def test_tosser_layout_puts_the_bins_out_of_reach() -> None:
    spec = load_scene("tosser")
    table, bin_table = spec.tables
    assert table.size[0] == 0.5 and table.center[0] == -0.3
    assert bin_table.size[0] == 0.2 and bin_table.center[0] == 0.4
    assert spec.objects.spawn.x == (-0.4, -0.1) and spec.objects.spawn.table == "table"
    base = np.array(spec.robot.base_position)
    for b in spec.bins:
        assert np.linalg.norm(np.array(b.position) - base) > 0.9  # the Panda reaches ~0.85 m
    assert {tuple(b.accepts) for b in spec.bins} == {("cylinder",), ("sphere",), ("cube",)}


@pytest.mark.parametrize("scene", ["envkit/tosser-v0", "envkit/tosser_camera-v0"])
def test_tosser_bins_score_as_in_sorting(scene: str) -> None:
    env = envkit.make(scene)
    try:
        env.reset(seed=0)
        obj = env.unwrapped.objects[0]
        for b in env.unwrapped.spec_scene.bins:
            if obj.shape in b.accepts:
                x, y, z = b.position
                env.unwrapped.teleport_object(0, [x, y, z + b.half_extents[2] + obj.half_extents[2] + 0.001])
        _, _, terminated, _, info = env.step(np.zeros(4, dtype=np.float32))
        assert info["events"]["sorted"] == 1 and info["is_success"] and terminated
        assert info["reward_terms"]["object_in_correct_bin"] == 500.0
        env.reset(seed=0)
        env.unwrapped.teleport_object(0, [0.12, 0.0, 0.05])  # into the gap between the tables
        for _ in range(30):
            _, _, terminated, _, info = env.step(np.zeros(4, dtype=np.float32))
            if terminated:
                break
        assert info["events"]["on_floor"] == 1 and terminated
    finally:
        env.close()


def test_goal_marker_and_reward_lint_work_for_a_goal_that_follows_a_fixture() -> None:
    from envkit.analysis.scenefacts import scene_facts
    from envkit.fixtures import nominal_goal

    spec = load_scene("peg_in_hole_state", {"goal.marker": True})
    centre, widths = nominal_goal(spec)
    np.testing.assert_allclose(centre, [0.0, 0.0, 0.01])  # the hole's bottom at the block's nominal place
    np.testing.assert_allclose(widths, [0.2, 0.2, 0.0])
    facts = scene_facts(spec)
    assert 0.1 < facts.typical_goal_distance < 0.3  # from the peg's tip, not the hand
    env = envkit.make(spec)
    try:
        env.reset(seed=0)
        env.step(ZERO)
    finally:
        env.close()
