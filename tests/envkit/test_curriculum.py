"""A scene curriculum over the number of objects (issue 11, part 4), on real pybullet.

The scene's objects.count is the maximum and fixes the spaces; a stage with k objects
builds only the first k, the rest are out of play from the start (zeros in the
observation, no events, not counted by success or termination). Each env promotes on
its own window of finished episodes; `set_evaluation(True)` plays the last stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import envkit
from envkit.curriculum import Curriculum
from envkit.errors import SpecError
from envkit.loader import load_scene
from envkit.scenes import resolve_scene_path
from envkit.spec import CurriculumSpec

SCENE = "sort-5-blocker-curriculum"
PER_OBJECT = 18  # values per object in the default `objects` observation term


@pytest.fixture
def env() -> Iterator[envkit.SceneEnv]:
    e = envkit.make(SCENE)
    try:
        yield e
    finally:
        e.close()


def _objects_block(obs: np.ndarray, n: int = 5) -> np.ndarray:
    return obs[: n * PER_OBJECT].reshape(n, PER_OBJECT)


def _settle(env: envkit.SceneEnv, steps: int = 10) -> tuple[bool, dict]:
    """Zero actions until the episode ends (or `steps` pass): (terminated, last info)."""
    zero = np.zeros(env.action_space.shape, np.float32)
    info: dict = {}
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(zero)
        if terminated or truncated:
            return terminated, info
    return False, info


def _into_correct_bin(env: envkit.SceneEnv, i: int) -> None:
    obj = env.objects[i]
    b = next(b for b in env.spec_scene.bins if obj.shape in b.accepts)
    top = b.position[2] + b.half_extents[2]
    env.teleport_object(i, [b.position[0] - 0.02, b.position[1], top + obj.half_extents[2] + 0.001])


def _onto_floor(env: envkit.SceneEnv, i: int) -> None:
    obj = env.objects[i]
    env.teleport_object(i, [0.4, 0.0, env.spec_scene.floor.height + obj.half_extents[2] + 0.001])


def _sorted_episode(env: envkit.SceneEnv, seed: int) -> dict:
    """Reset and sort every object in play into its correct bin: a successful episode."""
    _, info = env.reset(seed=seed)
    active = env.world.read_state().object_active
    for i in np.flatnonzero(active):
        _into_correct_bin(env, int(i))
    terminated, info = _settle(env)
    assert terminated and info["is_success"]
    return info


# ----------------------------------------------------------------------------- stages in the env


def test_first_stage_plays_one_object_in_the_full_scenes_spaces(env: envkit.SceneEnv) -> None:
    full = envkit.make("sort-5-blocker")
    try:
        assert env.observation_space == full.observation_space
        assert env.action_space == full.action_space
        assert env.obs_layout == full.obs_layout
        obs_full, _ = full.reset(seed=4)
    finally:
        full.close()
    obs, info = env.reset(seed=4)
    assert info["curriculum_stage"] == 0
    assert env.world.read_state().object_active.tolist() == [True, False, False, False, False]
    block = _objects_block(obs)
    assert np.abs(block[0]).sum() > 0 and (block[1:] == 0).all()
    # the object in play is the full scene's first object (every object is drawn, in the same order)
    np.testing.assert_array_equal(block[0, :9], _objects_block(obs_full)[0, :9])
    obs, _, _, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert info["curriculum_stage"] == 0 and (_objects_block(obs)[1:] == 0).all()


def test_objects_out_of_play_fire_no_events_and_do_not_block_termination(env: envkit.SceneEnv) -> None:
    env.set_curriculum_stage(1)  # two objects
    env.reset(seed=2)
    with pytest.raises(ValueError, match="out of play"):
        env.teleport_object(3, [0.0, 0.0, 0.1])
    _onto_floor(env, 0)
    _into_correct_bin(env, 1)
    terminated, info = _settle(env)
    assert terminated  # the two in play are gone; the three out of play do not count
    assert info["events"] == {"sorted": 1, "wrong_bin": 0, "on_floor": 1, "removed": 2}
    assert not info["is_success"]  # one of the two in play fell
    assert info["episode_reward_terms"]["object_on_floor"] == pytest.approx(-50.0)  # once, for object 0
    assert info["episode_stats"] == {"curriculum_stage": 1}


def test_success_counts_only_the_objects_in_play(env: envkit.SceneEnv) -> None:
    info = _sorted_episode(env, seed=5)
    assert info["events"]["sorted"] == 1 and info["events"]["removed"] == 1


# ----------------------------------------------------------------------------- promotion


def test_a_full_window_of_successes_promotes_at_the_next_reset() -> None:
    env = envkit.make(SCENE, {"curriculum.window": 2})
    try:
        _sorted_episode(env, seed=0)
        info = _sorted_episode(env, seed=1)
        assert info["curriculum_stage"] == 0  # the episode that filled the window was still stage 0
        _, info = env.reset(seed=2)
        assert info["curriculum_stage"] == 1
        assert env.world.read_state().object_active.tolist() == [True, True, False, False, False]
        # the window starts again: one success in the new stage is not enough
        for i in range(2):
            _into_correct_bin(env, i)
        assert _settle(env)[0]
        assert env.reset(seed=3)[1]["curriculum_stage"] == 1
    finally:
        env.close()


def test_failures_keep_the_stage() -> None:
    env = envkit.make(SCENE, {"curriculum.window": 2})
    try:
        for seed in range(3):
            _, info = env.reset(seed=seed)
            assert info["curriculum_stage"] == 0
            _onto_floor(env, 0)
            terminated, info = _settle(env)
            assert terminated and not info["is_success"]
        assert env.reset(seed=9)[1]["curriculum_stage"] == 0
    finally:
        env.close()


def test_promotion_rule_below_at_and_above_the_threshold() -> None:
    spec = CurriculumSpec.model_validate(
        {"window": 4, "stages": [{"objects.count": 1}, {"objects.count": 2, "after_success": 0.75},
                                 {"objects.count": 3, "after_success": 1.0}]}
    )
    cur = Curriculum(spec)
    for s in (True, False, True):  # window not full: no promotion whatever the rate
        cur.episode_end(s)
    assert cur.on_reset() == 0
    cur.episode_end(False)  # window [1, 0, 1, 0]: 0.5 < 0.75
    assert cur.on_reset() == 0 and cur.success_rate == 0.5
    cur.episode_end(True)  # window [0, 1, 0, 1]: still 0.5
    cur.episode_end(True)  # [1, 0, 1, 1]: 0.75 >= 0.75
    assert cur.on_reset() == 1 and cur.success_rate is None  # window cleared
    for _ in range(4):
        cur.episode_end(True)
    cur.evaluation = True
    assert cur.on_reset() == 2  # evaluation plays the last stage and applies no promotion...
    cur.evaluation = False
    assert cur.on_reset() == 2  # ...which training applies at its next reset
    cur.episode_end(False)  # the last stage records nothing and never moves
    assert cur.on_reset() == 2 and cur.success_rate is None


def test_a_pinned_stage_is_played_in_either_mode_and_leaves_the_training_stage_alone() -> None:
    spec = CurriculumSpec.model_validate(
        {"window": 1, "stages": [{"objects.count": 1}, {"objects.count": 2, "after_success": 0.5},
                                 {"objects.count": 3, "after_success": 0.5}]}
    )
    cur = Curriculum(spec)
    cur.pin(1)
    assert cur.on_reset() == 1 and cur.objects_count == 2
    cur.evaluation = True
    assert cur.stage == 1  # the pin overrides evaluation's last stage
    cur.evaluation = False
    cur.episode_end(True)  # a window of 1 at 0.5 would promote; pinned episodes are not recorded
    assert cur.on_reset() == 1 and cur.training_stage == 0 and cur.success_rate is None
    cur.pin(None)
    assert cur.on_reset() == 0
    cur.episode_end(True)  # unpinned, the same episode promotes
    assert cur.on_reset() == 1
    with pytest.raises(ValueError, match="0..2"):
        cur.pin(3)


def test_demonstrations_of_a_curriculum_scene_play_every_stage(env: envkit.SceneEnv) -> None:
    """Five-object episodes never show stage 1's state (object 0 alone: the controller sorts in
    slot order), so record_demos splits its episodes over the stages."""
    from envkit.scripted import record_demos

    env.set_curriculum_stage(1)
    env.set_evaluation(True)  # as the agents' demos: scripted records them
    demos = record_demos(env, 5, seed=300, keep="all")
    stages = demos.meta["curriculum_stages"]
    assert [s["objects"] for s in stages] == [1, 2, 3, 5]
    assert [s["episodes"] for s in stages] == [2, 1, 1, 1]  # the remainder goes to the first stages
    assert [s["first_seed"] for s in stages] == [300, 302, 303, 304]
    assert sum(s["kept"] for s in stages) == demos.meta["kept"] == 5
    starts = np.flatnonzero(np.diff(demos.episode, prepend=-1))
    in_play = [int((np.abs(_objects_block(demos.obs[i])).sum(axis=1) > 0).sum()) for i in starts]
    assert in_play == [1, 1, 2, 3, 5]
    # the env is left in the modes it was given: unpinned, its training stage kept
    assert env.curriculum is not None and env.curriculum.pinned is None and env.curriculum.training_stage == 1
    # the first kept episode is seed 300 played in stage 0: the same first observation
    env.set_curriculum_stage(0)
    env.set_evaluation(False)
    first, _ = env.reset(seed=300)
    np.testing.assert_array_equal(demos.obs[0], first)


def test_envkit_demos_reports_each_curriculum_stage(tmp_path) -> None:
    import subprocess
    import sys

    out = tmp_path / "d.npz"
    r = subprocess.run([sys.executable, "-m", "envkit.cli", "demos", SCENE, "-n", "4", "--seed", "300", "--keep", "all",
                        "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [line.strip() for line in r.stdout.splitlines() if "curriculum stage" in line]
    assert lines == ["kept per curriculum stage: 1 object 1/1, 2 objects 1/1, 3 objects 1/1, 5 objects 1/1"]
    with np.load(out, allow_pickle=False) as f:
        assert len(np.unique(f["episode"])) == 4


def test_set_evaluation_plays_the_last_stage_and_never_promotes(env: envkit.SceneEnv) -> None:
    env.set_evaluation(True)
    _, info = env.reset(seed=0)
    assert info["curriculum_stage"] == 3
    assert env.world.read_state().object_active.all()
    assert env.curriculum is not None and env.curriculum.training_stage == 0
    env.set_evaluation(False)
    assert env.reset(seed=0)[1]["curriculum_stage"] == 0


def test_the_agents_protocol_reaches_set_evaluation_through_gymnasium_wrappers() -> None:
    from agents.envs import set_evaluation

    env = gym.make(envkit.scene_id(SCENE))
    try:
        assert set_evaluation(env)
        assert env.reset(seed=0)[1]["curriculum_stage"] == 3
    finally:
        env.close()
    plain = gym.make("Pendulum-v1")
    try:
        assert not set_evaluation(plain)
    finally:
        plain.close()


def test_same_seed_and_stage_give_the_same_trajectory() -> None:
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(40, 4)).astype(np.float32)

    def rollout(e: envkit.SceneEnv) -> np.ndarray:
        e.set_curriculum_stage(1)
        obs = [e.reset(seed=7)[0]]
        obs += [e.step(a)[0] for a in actions]
        return np.array(obs)

    a, b = envkit.make(SCENE), envkit.make(SCENE)
    try:
        first = rollout(a)
        np.testing.assert_array_equal(first, rollout(b))
        b.set_curriculum_stage(3)  # an episode in another stage in between changes nothing
        b.reset(seed=1)
        b.step(actions[0])
        np.testing.assert_array_equal(first, rollout(b))
    finally:
        a.close()
        b.close()


# ----------------------------------------------------------------------------- validation


def _scene_data(**curriculum: object) -> dict:
    data = yaml.safe_load(resolve_scene_path("sort-5-blocker").read_text())
    data["curriculum"] = curriculum
    return data


def _stages(*counts: int, after: float | None = 0.8) -> list[dict]:
    return [{"objects.count": k} if i == 0 else {"objects.count": k, "after_success": after}
            for i, k in enumerate(counts)]


@pytest.mark.parametrize(
    ("curriculum", "field", "words"),
    [
        ({"stages": [{"objects.count": 1}, {"objects.size": 2, "objects.count": 5, "after_success": 0.8}]},
         "curriculum.stages[1].objects.size", ("unknown key", "objects.count", "supported")),
        ({"stages": _stages(1, 6)}, "curriculum.stages[1].objects.count", ("6", "objects.count 5")),
        ({"stages": _stages(0, 5)}, "curriculum.stages[0].objects.count", ("greater than or equal to 1",)),
        ({"stages": _stages(1, 5, after=0.0)}, "curriculum.stages[1].after_success", ("greater than 0",)),
        ({"stages": _stages(1, 5, after=1.5)}, "curriculum.stages[1].after_success", ("less than or equal to 1",)),
        ({"stages": [{"objects.count": 1}, {"objects.count": 5}]}, "curriculum.stages[1].after_success",
         ("needs after_success",)),
        ({"stages": [{"objects.count": 1, "after_success": 0.5}, {"objects.count": 5, "after_success": 0.8}]},
         "curriculum.stages[0].after_success", ("first stage", "remove it")),
        ({"stages": _stages(1, 3, 2, 5)}, "curriculum.stages[2].objects.count", ("must not decrease",)),
        ({"window": 0, "stages": _stages(1, 5)}, "curriculum.window", ("greater than or equal to 1",)),
        ({"stages": _stages(1, 3)}, "curriculum.stages[1].objects.count", ("last stage", "full task")),
        ({"stages": []}, "curriculum.stages", ("at least 1",)),
    ],
    ids=["unknown-key", "above-count", "below-1", "after-0", "after-above-1", "after-missing",
         "after-on-first", "decreasing", "window-0", "last-not-full", "no-stages"],
)
def test_bad_curricula_are_one_paragraph_naming_the_field(curriculum: dict, field: str, words: tuple) -> None:
    with pytest.raises(SpecError) as err:
        load_scene(_scene_data(**curriculum))
    msg = str(err.value)
    assert f"{field}:" in msg, msg
    for w in words:
        assert w in msg, msg


def test_a_curriculum_on_explicit_items_is_refused() -> None:
    data = _scene_data(stages=_stages(1, 2))
    data["objects"] = {"count": 0, "items": [{"shape": "cube"}, {"shape": "sphere"}]}
    with pytest.raises(SpecError, match=r"curriculum: a curriculum stages objects.count, but this scene lists 2"):
        load_scene(data)


def test_an_error_in_a_file_names_the_stages_line(write_scene) -> None:
    text = resolve_scene_path(SCENE).read_text().replace("{objects.count: 3, after_success: 0.8}",
                                                         "{objects.count: 3, after_succes: 0.8}")
    path: Path = write_scene(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "after_succes:" in t)
    with pytest.raises(SpecError, match=rf"line {line}: curriculum\.stages\[2\]\.after_succes: unknown key "
                                        r"'after_succes'; did you mean 'after_success'\? A stage can set objects\.count"):
        load_scene(path)


def test_the_bundled_curriculum_scene_is_sort_5_blocker_plus_stages() -> None:
    cur, full = load_scene(SCENE), load_scene("sort-5-blocker")
    assert cur.curriculum is not None
    assert [s.objects_count for s in cur.curriculum.stages] == [1, 2, 3, 5]
    assert [s.after_success for s in cur.curriculum.stages] == [None, 0.8, 0.8, 0.8]
    assert cur.curriculum.window == 100
    skip = {"name", "description", "curriculum"}
    assert cur.model_dump(exclude=skip) == full.model_dump(exclude=skip)
    # a spec round-trips (overrides on a loaded spec re-validate its dump)
    assert load_scene(cur, {"curriculum.window": 5}).curriculum.window == 5  # type: ignore[union-attr]


def test_info_validate_and_lint_show_the_curriculum(capsys: pytest.CaptureFixture[str]) -> None:
    from envkit.analysis.lint import lint_scene
    from envkit.cli import main

    assert main(["validate", SCENE]) == 0
    assert "curriculum: 1 -> 2 (at 0.8) -> 3 (at 0.8) -> 5 (at 0.8) objects" in capsys.readouterr().out
    assert main(["info", SCENE]) == 0
    out = capsys.readouterr().out
    assert "curriculum: 1 -> 2 (at 0.8)" in out and "evaluation plays the last stage" in out
    assert main(["info", "sort-5-blocker"]) == 0
    assert "curriculum" not in capsys.readouterr().out
    assert lint_scene(load_scene(SCENE)).findings == []  # the lint analyses the full scene


def test_training_state_carries_the_stage_into_a_new_env_through_the_agents_protocol() -> None:
    """What a checkpoint stores (agents' `training_state` protocol) and a resumed run restores."""
    import gymnasium as gym

    from agents.envs import restore_training_states, training_states

    env = envkit.make(SCENE)
    try:
        assert env.training_state == {"curriculum_stage": 0}
        env.set_curriculum_stage(2)
        assert env.training_state == {"curriculum_stage": 2}
    finally:
        env.close()
    envs = gym.vector.SyncVectorEnv([lambda: envkit.make(SCENE)] * 2)
    try:
        assert training_states(envs) == [{"curriculum_stage": 0}] * 2
        restore_training_states(envs, [{"curriculum_stage": 2}, {"curriculum_stage": 99}])
        _, info = envs.reset(seed=0)
        assert info["curriculum_stage"].tolist() == [2, 3]  # an out-of-range stage is clipped to the last
        assert training_states(envs) == [{"curriculum_stage": 2}, {"curriculum_stage": 3}]
    finally:
        envs.close()
    plain = gym.vector.SyncVectorEnv([lambda: envkit.make("sort-1")])
    try:
        assert training_states(plain) is None  # no curriculum: nothing to keep
    finally:
        plain.close()
