"""episode.held_start / reach_start: training episodes that begin with an object already in the
gripper, or with the open hand around it.

Why it exists: in sorting, a grasp is the only reliable way to route an object (pushed
ones slide off the table), but a policy that has never held anything cannot learn what
holding is worth; starting some training episodes from a held state (the demo-reset idea
of Nair et al. 2018) teaches the carry, and the value of being holding; starting with the
open hand around an object makes the pinch one action away, which exploration finds.
Evaluation must never see these starts. Real pybullet throughout.
"""

from __future__ import annotations

import numpy as np
import pytest

import envkit
from envkit.errors import SpecError


def _bottom(env) -> float:  # noqa: ANN001
    s, obj = env.unwrapped.state, env.unwrapped.objects[0]
    return float(s.object_position[0, 2] - obj.half_extents[2])


def test_a_held_start_pinches_the_object_above_the_table_and_it_stays_held() -> None:
    env = envkit.make("sort-1", **{"episode.held_start": 1.0})
    try:
        for seed in range(6):
            env.reset(seed=seed)
            assert env.unwrapped.world.grasping(0), seed
            assert _bottom(env) > 0.04, seed  # the 5 cm lift, over a table top at 0
            for _ in range(10):  # keep closing: the object goes nowhere without the hand
                env.step(np.array([0.0, 0.0, 0.0, -1.0], np.float32))
            assert env.unwrapped.world.grasping(0) and _bottom(env) > 0.04, seed
            before = _bottom(env)
            for _ in range(3):  # up: it comes along
                env.step(np.array([0.0, 0.0, 1.0, -1.0], np.float32))
            assert _bottom(env) > before + 0.05, seed
    finally:
        env.close()


def test_evaluation_never_starts_held_and_training_starts_held_at_the_given_share() -> None:
    env = envkit.make("sort-1", **{"episode.held_start": 0.5, "episode.max_steps": 5})
    try:
        held = []
        for seed in range(40):
            env.reset(seed=seed)
            held.append(env.unwrapped.world.grasping(0))
            if seed < 4:  # the episode's stats say how it started (episodes.csv: stat/held_start)
                done = False
                while not done:
                    *_, terminated, truncated, info = env.step(np.array([0.0, 0.0, 0.0, -1.0], np.float32))
                    done = terminated or truncated
                assert info["episode_stats"] == {"held_start": float(held[-1])}
        assert 10 <= sum(held) <= 30, sum(held)
        env.unwrapped.set_evaluation(True)
        for seed in range(10):
            env.reset(seed=seed)
            assert not env.unwrapped.world.grasping(0) and _bottom(env) < 0.01
    finally:
        env.close()


def test_the_same_seed_gives_the_same_held_start_episode() -> None:
    def rollout() -> np.ndarray:
        env = envkit.make("sort-1", **{"episode.held_start": 0.5})
        try:
            obs = [np.concatenate([env.reset(seed=s)[0] for s in range(6)])]
            for t in range(20):
                obs.append(env.step(np.array([0.3, -0.2, 0.1, np.sin(t)], np.float32))[0])
            return np.concatenate(obs)
        finally:
            env.close()

    np.testing.assert_array_equal(rollout(), rollout())


def test_a_held_start_without_a_gripper_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match=r"episode\.held_start.*no gripper \(robot\.gripper: false\)"):
        envkit.load_scene("push", {"episode.held_start": 0.5})


def test_a_reach_start_opens_the_hand_around_the_object_without_moving_it() -> None:
    env = envkit.make("sort-1", **{"episode.reach_start": 1.0})
    plain = envkit.make("sort-1")
    try:
        for seed in range(6):
            env.reset(seed=seed)
            plain.reset(seed=seed)
            s, obj = env.unwrapped.state, env.unwrapped.objects[0]
            # the same episode draws; the object lies where the scene put it
            np.testing.assert_allclose(s.object_position[0], plain.unwrapped.state.object_position[0], atol=1e-6)
            assert s.fingers_width > 2 * max(obj.half_extents[:2]), seed  # open wider than the object
            assert np.linalg.norm(s.ee_position[:2] - s.object_position[0, :2]) < 0.005, seed
            assert not env.unwrapped.world.grasping(0)
            for _ in range(3):  # one action away from a grasp: close
                *_, info = env.step(np.array([0.0, 0.0, 0.0, -1.0], np.float32))
            assert env.unwrapped.world.grasping(0), seed
    finally:
        env.close()
        plain.close()


def test_held_and_reach_starts_share_the_training_episodes() -> None:
    env = envkit.make("sort-1", **{"episode.held_start": 0.3, "episode.reach_start": 0.4, "episode.max_steps": 2})
    try:
        starts = []
        for seed in range(40):
            env.reset(seed=seed)
            done = False
            while not done:
                *_, terminated, truncated, info = env.step(np.zeros(4, np.float32))
                done = terminated or truncated
            starts.append((info["episode_stats"]["held_start"], info["episode_stats"]["reach_start"]))
        held, reach = sum(h for h, _ in starts), sum(r for _, r in starts)
        assert all(h + r <= 1 for h, r in starts)
        assert 5 <= held <= 20 and 8 <= reach <= 25 and held + reach < 40, (held, reach)
    finally:
        env.close()
    with pytest.raises(SpecError, match=r"add up to more than 1"):
        envkit.load_scene("sort-1", {"episode.held_start": 0.6, "episode.reach_start": 0.5})
    with pytest.raises(SpecError, match=r"episode\.reach_start.*no gripper"):
        envkit.load_scene("push", {"episode.reach_start": 0.5})


def test_reach_height_opens_the_hand_above_the_object_at_drawn_heights() -> None:
    env = envkit.make("sort-1", **{"episode.reach_start": 1.0, "episode.reach_height": [0.05, 0.15]})
    at = envkit.make("sort-1", **{"episode.reach_start": 1.0})
    try:
        heights = []
        for seed in range(8):
            env.reset(seed=seed)
            at.reset(seed=seed)
            s, s0 = env.unwrapped.state, at.unwrapped.state
            np.testing.assert_allclose(s.object_position[0], s0.object_position[0], atol=1e-6)  # untouched
            np.testing.assert_allclose(s.ee_position[:2], s0.ee_position[:2], atol=0.005)  # straight above
            height = float(s.ee_position[2] - s0.ee_position[2])
            assert 0.045 <= height <= 0.155, (seed, height)
            assert s.fingers_width > 2 * max(env.unwrapped.objects[0].half_extents[:2])
            heights.append(height)
            for _ in range(3):  # closing up there grasps nothing: the hand must come down first
                env.step(np.array([0.0, 0.0, 0.0, -1.0], np.float32))
            assert not env.unwrapped.world.grasping(0), seed
        assert max(heights) - min(heights) > 0.04, heights  # drawn per episode, not one height
    finally:
        env.close()
        at.close()


def test_reach_height_is_part_of_the_seeded_episode() -> None:
    def starts() -> np.ndarray:
        env = envkit.make("sort-1", **{"episode.reach_start": 0.5, "episode.reach_height": [0.0, 0.2]})
        try:
            return np.stack([env.reset(seed=s)[0] for s in range(6)])
        finally:
            env.close()

    np.testing.assert_array_equal(starts(), starts())


def test_bad_reach_heights_are_clear_errors() -> None:
    with pytest.raises(SpecError, match=r"episode\.reach_height.*low > high"):
        envkit.load_scene("sort-1", {"episode.reach_start": 0.5, "episode.reach_height": [0.2, 0.1]})
    with pytest.raises(SpecError, match=r"episode\.reach_height.*keep high <= 0\.5"):
        envkit.load_scene("sort-1", {"episode.reach_start": 0.5, "episode.reach_height": [0.0, 0.8]})
    with pytest.raises(SpecError, match=r"episode\.reach_height.*reach_start is 0"):
        envkit.load_scene("sort-1", {"episode.reach_height": [0.0, 0.1]})


# ----------------------------------------------------------------------------- staged reach heights

_STAGED = {
    "episode.reach_start": 1.0,
    "curriculum": {
        "window": 2,
        "stages": [
            {"episode.reach_height": [0.0, 0.0]},
            {"episode.reach_height": [0.1, 0.1], "after_success": 0.5},
            {"after_success": 0.5},
        ],
    },
}


def _hand_height(env) -> float:  # noqa: ANN001
    s = env.unwrapped.state
    return float(s.ee_position[2] - s.object_position[0, 2])


def test_a_curriculum_raises_the_reach_height_stage_by_stage() -> None:
    env = envkit.make("sort-1", **_STAGED)
    try:
        env.reset(seed=0)
        at_object = _hand_height(env)
        assert abs(at_object) < 0.01, at_object  # stage 0: the pinch point
        env.unwrapped.set_curriculum_stage(1)
        env.reset(seed=0)
        assert abs(_hand_height(env) - at_object - 0.1) < 0.005  # stage 1: 10 cm straight above it
        env.unwrapped.set_curriculum_stage(2)  # no reach_height: the scene's own ([0, 0])
        env.reset(seed=0)
        assert abs(_hand_height(env) - at_object) < 0.005
        env.unwrapped.set_curriculum_stage(1)
        env.unwrapped.set_evaluation(True)  # evaluation plays the scene's start, whatever the stage
        env.reset(seed=0)
        assert _hand_height(env) > 0.1
        assert not env.unwrapped.world.grasping(0)
    finally:
        env.close()


def test_successes_promote_to_the_next_reach_height() -> None:
    env = envkit.make("sort-1", **_STAGED)
    try:
        env.reset(seed=0)
        cur = env.unwrapped.curriculum
        cur.episode_end(True)
        cur.episode_end(True)
        env.reset(seed=0)
        assert cur.stage == 1 and abs(_hand_height(env) - 0.1) < 0.02
    finally:
        env.close()


def test_staged_reach_heights_are_described_and_checked() -> None:
    spec = envkit.load_scene("sort-1", _STAGED)
    text = spec.curriculum.describe()  # type: ignore[union-attr]
    assert text.startswith("reach height [0, 0] m -> reach height [0.1, 0.1] m (at 0.5) -> reach height as the "
                           "scene (at 0.5), promoted"), text
    no_reach = {**_STAGED, "episode.reach_start": 0.0}
    with pytest.raises(SpecError, match=r"curriculum\.stages\[0\]\.episode\.reach_height: stage 0 sets "
                                        r"episode\.reach_height, but the scene's episode\.reach_start is 0"):
        envkit.load_scene("sort-1", no_reach)
    too_high = {**_STAGED, "curriculum": {"stages": [{"episode.reach_height": [0.0, 0.9]}]}}
    with pytest.raises(SpecError, match=r"curriculum\.stages\[0\]\.episode\.reach_height: .*keep high <= 0\.5"):
        envkit.load_scene("sort-1", too_high)
    missing = {**_STAGED, "curriculum": {"stages": [{"episode.reach_height": [0.0, 0.0]},
                                                    {"episode.reach_height": [0.0, 0.1]}]}}
    with pytest.raises(SpecError, match=r"curriculum\.stages\[1\]\.after_success: stage 1 needs after_success"):
        envkit.load_scene("sort-1", missing)
