"""envkit.scripted: the grasp-and-carry controller's demonstrations, their file, and its errors.

Why: PPO's `demos` learns from these pairs (agents.demos), so they must be the controller's own
observations and actions, reproducible from the seed, and only from episodes that sorted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import envkit
from envkit.scripted import GraspAndCarry, ScriptedControllerError, record_demos, save_demos


@pytest.fixture(scope="module")
def sort1():
    env = envkit.make("sort-1")
    yield env
    env.close()


def test_demos_are_the_controllers_pairs_of_its_successful_episodes(sort1, tmp_path) -> None:
    demos = record_demos(sort1, 6, seed=100)
    m = demos.meta
    assert m["scene"] == "sort-1" and m["episodes"] == 6 and 1 <= m["kept"] <= 6
    assert m["success_rate"] == pytest.approx(m["kept"] / 6)  # keep='success': only those
    assert demos.obs.shape == (len(demos.actions), sort1.observation_space.shape[0])
    assert demos.actions.shape[1] == 4 and np.abs(demos.actions).max() <= 1.0
    assert sorted(set(demos.episode.tolist())) == list(range(m["kept"]))
    # Replaying the kept episodes' actions from their seeds reproduces their observations.
    ep0 = demos.episode == 0
    obs, _ = sort1.reset(seed=100)
    np.testing.assert_allclose(demos.obs[ep0][0], obs, atol=1e-6)
    for a, o in zip(demos.actions[ep0][:-1], demos.obs[ep0][1:], strict=True):
        obs, *_ = sort1.step(a)
        np.testing.assert_allclose(o, obs, atol=1e-5)
    again = record_demos(sort1, 6, seed=100)
    np.testing.assert_array_equal(again.obs, demos.obs)  # the same seed, the same demonstrations

    path = save_demos(demos, tmp_path / "d.npz")
    with np.load(path, allow_pickle=False) as f:  # plain arrays: loading runs no code
        np.testing.assert_array_equal(f["actions"], demos.actions)
        assert json.loads(str(f["meta"]))["kept"] == m["kept"]


def test_keep_all_also_keeps_failures(sort1) -> None:
    demos = record_demos(sort1, 3, seed=7, keep="all")
    assert demos.meta["kept"] == 3


def test_a_scene_without_the_parts_it_reads_is_a_clear_error() -> None:
    env = envkit.make("sort-1", {"observation.state": ["ee"]})
    try:
        with pytest.raises(ScriptedControllerError, match=r"object0.position in observation.state"):
            GraspAndCarry(env.unwrapped.spec_scene, env.unwrapped.obs_layout)
    finally:
        env.close()
    env = envkit.make("reach")
    try:
        with pytest.raises(ScriptedControllerError, match=r"robot.gripper: true.*bins"):
            GraspAndCarry(env.unwrapped.spec_scene, env.unwrapped.obs_layout)
    finally:
        env.close()


def test_sort2_is_sorted_one_object_after_the_other() -> None:
    """With several objects the controller moves on to the next object still in play."""
    env = envkit.make("sort-2")
    try:
        demos = record_demos(env, 4, seed=200, keep="all")
    finally:
        env.close()
    assert demos.meta["success_rate"] >= 0.5, demos.meta


def test_envkit_demos_writes_the_file_and_refuses_bad_names(tmp_path) -> None:
    out = tmp_path / "d.npz"
    cmd = [sys.executable, "-m", "envkit.cli", "demos", "sort-1", "-n", "3", "--seed", "100", "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and out.is_file()
    with np.load(out, allow_pickle=False) as f:
        assert f["obs"].shape[0] == f["actions"].shape[0] > 0
    r = subprocess.run(cmd[:-1] + [str(tmp_path / "d.pkl")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "ending in .npz" in r.stderr and "Traceback" not in r.stderr
