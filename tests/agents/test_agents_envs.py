"""`make_env_fn`: the one hook between the agents and envkit scenes."""

from __future__ import annotations

import gymnasium as gym
import pytest

import agents
import envkit
from agents.envs import describe_env, make_env_fn


def test_envkit_ids_and_yaml_paths_go_to_envkit_make(monkeypatch):
    calls = []

    def fake_make(spec, **kwargs):
        calls.append((spec, kwargs))
        return gym.make("Pendulum-v1")

    monkeypatch.setattr(envkit, "make", fake_make, raising=False)
    make_env_fn("envkit/reach-v0")().close()
    make_env_fn("scenes/my.yaml", render_mode="rgb_array")().close()
    make_env_fn("Pendulum-v1")().close()
    assert calls == [("envkit/reach-v0", {}), ("scenes/my.yaml", {"render_mode": "rgb_array"})]


def test_gymnasium_ids_callables_and_errors():
    env = make_env_fn("PandaReachDense-v3")()  # panda_gym is imported on demand
    assert isinstance(env.observation_space, gym.spaces.Dict)
    env.close()
    assert make_env_fn(lambda: gym.make("Pendulum-v1"))().spec.id == "Pendulum-v1"
    with pytest.raises(agents.ConfigError, match="Cannot make environment 'Nope-v0'"):
        make_env_fn("Nope-v0")()
    assert describe_env("Pendulum-v1") == "Pendulum-v1"
    assert describe_env(test_gymnasium_ids_callables_and_errors).endswith(":test_gymnasium_ids_callables_and_errors")
