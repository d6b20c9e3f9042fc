"""Several envs in one process: closing one never disconnects another (issue 13, section 3).

pybullet reuses a client id as soon as it is disconnected, and panda-gym's
`BulletClient` disconnects its id again when it is garbage-collected. A world
that is part of a reference cycle (camera scenes, checkers holding frames) is
collected late, when a new env may already own the same id.
"""

from __future__ import annotations

import gc

import gymnasium as gym
import numpy as np
import pybullet as p
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import envkit


def test_check_every_id_then_close_in_one_process() -> None:
    """The issue's loop; `gc.collect()` after each make collects the previous env's world now, not at random."""
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    ids = sorted(k for k in gym.registry if k.startswith("envkit/"))
    assert len(ids) == len(envkit.ENV_IDS)
    for env_id in ids:
        env = gym.make(env_id)
        gc.collect()
        try:
            gym_check_env(env.unwrapped, skip_render_check=True)
            sb3_check_env(env.unwrapped, warn=False)
        finally:
            env.close()


def test_late_collected_world_does_not_disconnect_the_next_env() -> None:
    a = envkit.make("envkit/reach-v0")
    a.reset(seed=0)
    world_a = a.unwrapped.world  # held past close, as a reference cycle would
    a.close()
    b = envkit.make("envkit/reach-v0")
    try:
        b.reset(seed=0)
        del world_a
        gc.collect()
        obs, *_ = b.step(np.zeros(b.action_space.shape))
        assert np.all(np.isfinite(obs))
    finally:
        b.close()


def test_closed_world_cannot_drive_the_env_that_reuses_its_id() -> None:
    a = envkit.make("envkit/reach-v0")
    a.reset(seed=0)
    world_a = a.unwrapped.world
    a.close()
    b = envkit.make("envkit/reach-v0")
    try:
        b.reset(seed=0)
        with pytest.raises(p.error, match="Not connected"):
            world_a.step()
        world_a.close()  # closing twice is harmless and leaves b connected
        b.step(np.zeros(b.action_space.shape))
    finally:
        b.close()
