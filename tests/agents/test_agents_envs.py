"""`make_env_fn` and the env resolvers: the agents build gymnasium ids and callables, and
leave every other string to the resolvers a higher layer registers (envkit's CLI and
sweeps register `envkit.builders.env_builder`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import agents
from agents.envs import checkpoint_env, describe_env, env_resolvers, is_module_reference, make_env_fn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_resolvers(monkeypatch):
    """The registry as a Python user who registered nothing sees it (the CLI tests register envkit's)."""
    monkeypatch.setattr("agents.envs._resolvers", {})


def test_strings_a_resolver_knows_go_to_its_builder_and_the_rest_to_gymnasium(no_resolvers):
    calls = []

    def builder(spec, **kwargs):
        calls.append((spec, kwargs))
        return gym.make("Pendulum-v1")

    def resolver(spec):
        return (lambda **kw: builder(spec, **kw)) if spec.endswith(".yaml") or spec.startswith("mine/") else None

    agents.register_env_resolver(resolver, "a .yaml path")
    agents.register_env_resolver(resolver, "a .yaml path or a mine/ id")  # again: only the hint changes
    assert env_resolvers() == (resolver,)
    make_env_fn("mine/reach-v0")().close()
    make_env_fn("scenes/my.yaml", render_mode="rgb_array")().close()
    make_env_fn("Pendulum-v1")().close()
    assert calls == [("mine/reach-v0", {}), ("scenes/my.yaml", {"render_mode": "rgb_array"})]
    with pytest.raises(agents.ConfigError, match="Give a gymnasium id \\(e.g. Pendulum-v1\\), a .yaml path or a mine/"):
        make_env_fn("Nope-v0")()
    agents.unregister_env_resolver(resolver)
    assert env_resolvers() == ()


def test_gymnasium_ids_callables_and_errors(no_resolvers):
    assert make_env_fn(lambda: gym.make("Pendulum-v1"))().spec.id == "Pendulum-v1"
    with pytest.raises(agents.ConfigError, match="Cannot make environment 'Nope-v0'"):
        make_env_fn("Nope-v0")()
    # without a resolver, a scene file is not an env: the message says how to get one
    with pytest.raises(agents.ConfigError, match="register_env_resolver\\(envkit.builders.env_builder\\)"):
        make_env_fn("scene.yaml")()
    assert describe_env("Pendulum-v1") == "Pendulum-v1"
    assert describe_env(test_gymnasium_ids_callables_and_errors).endswith(":test_gymnasium_ids_callables_and_errors")


def test_a_checkpoint_env_that_would_import_a_module_is_refused_unless_a_resolver_builds_it(no_resolvers):
    # gymnasium.make("evil:thing.yaml") would import `evil`: with nobody to build the string, it is refused
    assert is_module_reference("evil:thing.yaml") and is_module_reference("my_pkg.envs:MyEnv")
    with pytest.raises(agents.CheckpointError, match="Python module reference"):
        checkpoint_env("evil:thing.yaml", "ckpt.pt")
    assert checkpoint_env("Pendulum-v1", "ckpt.pt") == "Pendulum-v1"
    assert not is_module_reference("dir/a:b.yaml")  # no module part: a path

    agents.register_env_resolver(lambda s: gym.make if s.endswith(".yaml") else None)
    assert checkpoint_env("C:scenes.yaml", "ckpt.pt") == "C:scenes.yaml"  # a resolver's file, not an import
    with pytest.raises(agents.CheckpointError):
        checkpoint_env("my_pkg.envs:MyEnv", "ckpt.pt")


def test_envkit_resolver_builds_scenes_envkit_ids_and_panda_ids(no_resolvers):
    from envkit.builders import ENV_HINT, env_builder

    agents.register_env_resolver(env_builder, ENV_HINT)
    env = make_env_fn("envkit/reach-v0")()
    assert type(env).__name__ == "SceneEnv"  # envkit.make's bare scene, as the CLI always built it
    env.close()
    env = make_env_fn("PandaReachDense-v3")()  # panda_gym is imported by envkit's backend, quietly
    assert isinstance(env.observation_space, gym.spaces.Dict)
    env.close()
    assert env_builder("Pendulum-v1") is None and env_builder("my_pkg.envs:MyEnv") is None
    with pytest.raises(agents.ConfigError, match="a scene .yaml path or a panda-gym id"):
        make_env_fn("Nope-v0")()


def test_panda_ids_are_built_without_pybullet_prints():
    """pybullet prints build and connection lines from C to fd 1: a real process, not pytest's capture."""
    code = ("import agents\n"
            "from envkit.builders import ENV_HINT, env_builder\n"
            "agents.register_env_resolver(env_builder, ENV_HINT)\n"
            "agents.make_env_fn('PandaReachDense-v3')().close()\n"
            "print('done')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout == "done\n", out.stdout
