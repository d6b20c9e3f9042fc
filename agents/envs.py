"""Resolving what the user calls "the env" into env factories and vector envs.

The agents see only gymnasium: an env is a registered gymnasium id (built with
`gymnasium.make`), a zero-argument callable, or a string that a resolver registered
by a higher layer knows how to build. envkit's CLI and sweeps register
`envkit.builders.env_builder` (scene .yaml paths, `envkit/...` ids through
`envkit.make`, panda-gym ids imported quietly), so run directories and checkpoints
name envs by the strings users typed; the agents never import envkit or a simulator.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv

from agents.errors import CheckpointError, ConfigError

EnvSpec = str | os.PathLike | Callable[..., gym.Env]

EnvBuilder = Callable[..., gym.Env]
"""Builds an env from `gymnasium.make`'s keyword arguments (`render_mode` among them when set)."""
EnvResolver = Callable[[str], EnvBuilder | None]
"""An env string -> the builder for it, or None when the resolver does not know the string.

Resolvers are also asked about env strings read from checkpoints, so answering must run
no code the string names (import no module it names): see `checkpoint_env`."""

_resolvers: dict[EnvResolver, str] = {}  # resolver -> what it builds, for error messages


def register_env_resolver(resolver: EnvResolver, hint: str = "") -> None:
    """Let the layer above build envs from strings gymnasium's registry does not know.

    Resolvers are asked in the order they were registered, before `gymnasium.make`; the
    first builder returned builds the env. `hint` says which strings the resolver builds
    (e.g. "a scene .yaml path"), for the error about a string nobody knows. Registering
    a resolver again only updates its hint. Vector-env subprocesses are forked, so they
    see the resolvers registered before `train`.
    """
    _resolvers[resolver] = hint


def unregister_env_resolver(resolver: EnvResolver) -> None:
    """Undo `register_env_resolver` (nothing happens if `resolver` is not registered)."""
    _resolvers.pop(resolver, None)


def env_resolvers() -> tuple[EnvResolver, ...]:
    """The registered resolvers, in the order they are asked."""
    return tuple(_resolvers)


def find_builder(spec: str) -> EnvBuilder | None:
    """The builder the first registered resolver that knows `spec` returns, else None."""
    for resolver in list(_resolvers):
        builder = resolver(spec)
        if builder is not None:
            return builder
    return None


def _unknown_env_hint() -> str:
    hints = [h for h in _resolvers.values() if h]
    if hints:
        return f"Give a gymnasium id (e.g. Pendulum-v1), {', '.join(hints)}."
    return ("Give a registered gymnasium id (e.g. Pendulum-v1; import the package that registers an id first, "
            "e.g. `import envkit` for envkit/<name>-v0) or a zero-argument callable returning the env. Other "
            "strings need a resolver: envkit's CLI and sweeps register one for scene .yaml paths and panda-gym "
            "ids; from Python, `agents.register_env_resolver(envkit.builders.env_builder)`.")


class _EnvFactory:
    """A picklable env factory (AsyncVectorEnv sends it to subprocesses)."""

    def __init__(self, spec: str, render_mode: str | None, kwargs: dict[str, Any]) -> None:
        self.spec, self.render_mode, self.kwargs = spec, render_mode, kwargs

    def __call__(self) -> gym.Env:
        kwargs = dict(self.kwargs)
        if self.render_mode is not None:
            kwargs["render_mode"] = self.render_mode
        builder = find_builder(self.spec)
        try:
            return builder(**kwargs) if builder is not None else gym.make(self.spec, **kwargs)
        except gym.error.Error as exc:
            raise ConfigError(f"Cannot make environment {self.spec!r}: {exc}. {_unknown_env_hint()}") from None


class _CallableFactory:
    def __init__(self, fn: Callable[..., gym.Env], render_mode: str | None) -> None:
        self.fn, self.render_mode = fn, render_mode

    def __call__(self) -> gym.Env:
        if self.render_mode is not None:
            try:
                return self.fn(render_mode=self.render_mode)
            except TypeError:
                pass
        return self.fn()


def make_env_fn(spec: EnvSpec, render_mode: str | None = None, **kwargs: Any) -> Callable[[], gym.Env]:
    """Return a zero-argument factory for `spec`: an env id, a string a resolver knows, or a callable."""
    if callable(spec) and not isinstance(spec, (str, os.PathLike)):
        return _CallableFactory(spec, render_mode)
    if isinstance(spec, (str, os.PathLike)):
        return _EnvFactory(os.fspath(spec), render_mode, kwargs)
    raise ConfigError(f"Cannot make an environment from {spec!r}: give an env id, a scene path or a callable.")


def describe_env(spec: EnvSpec) -> str:
    """A string for config.yaml and checkpoints (a callable is recorded by its qualified name)."""
    if isinstance(spec, (str, os.PathLike)):
        return os.fspath(spec)
    mod = getattr(spec, "__module__", None)
    name = getattr(spec, "__qualname__", None) or type(spec).__qualname__
    return f"{mod}:{name}" if mod else str(name)


def is_module_reference(spec: str) -> bool:
    """`module:attr` (or gymnasium's `module:Env-v0`): using it imports `module`, i.e. runs its code.

    A string a registered resolver knows (a scene path such as `C:\\scenes\\a.yaml`) is built by
    that resolver, not imported, and so is not a module reference."""
    return ":" in spec and "/" not in spec.split(":", 1)[0] and find_builder(spec) is None


def checkpoint_env(spec: str, checkpoint: str) -> EnvSpec:
    """The env recorded in a checkpoint, if using it runs no code the user did not name.

    A registered id or a string a resolver builds (a scene file) is used; a `module:attr`
    reference would import that module, which a downloaded checkpoint must not be able to
    make happen on its own, so it is refused unless the user passes the env explicitly.
    """
    if is_module_reference(spec):
        raise CheckpointError(
            f"Checkpoint {checkpoint} was trained on env {spec!r}, a Python module reference; using it "
            "would import that module and run its code, which a checkpoint file may not decide on its own. "
            f"If you trust it, pass the env explicitly: `envkit eval {checkpoint} --env {spec}` or "
            f"`agents.evaluate(..., env={spec!r})` (or env=<the env class or factory>)."
        )
    return spec


def resolve_env_string(spec: str) -> EnvSpec:
    """A `module:attr` string the user gave -> the callable it names (other strings are returned as they are).

    Never call it on a string read from a file (see `checkpoint_env`): it imports the module."""
    if is_module_reference(spec):
        mod, _, attr = spec.partition(":")
        try:
            obj: Any = importlib.import_module(mod)
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            pass
    return spec


def make_vec_env(env_fn: Callable[[], gym.Env], n_envs: int, kind: str = "sync") -> VectorEnv:
    """n_envs copies with gymnasium's NEXT_STEP autoreset (the default, made explicit here
    because the rollout code depends on it)."""
    fns = [env_fn] * n_envs
    if kind == "async":
        return AsyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP, context="fork")
    return SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP)


def info_value(info: dict[str, Any], key: str, i: int) -> Any | None:
    """Value of `key` for sub-env i in a vector-env info dict, or None if that env did not set it."""
    if key not in info:
        return None
    mask = info.get("_" + key)
    if mask is not None and not mask[i]:
        return None
    return info[key][i]


def info_terms(info: dict[str, Any], key: str, i: int) -> dict[str, float] | None:
    """A nested dict of per-term values (e.g. episode_reward_terms) for sub-env i."""
    return _sub_env_values(info, key, i, numbers_only=False)


def info_stats(info: dict[str, Any], key: str, i: int) -> dict[str, float] | None:
    """Like `info_terms`, keeping only real numbers (bools too): an env may report other
    things in the same dict, and a log column must stay numeric."""
    return _sub_env_values(info, key, i, numbers_only=True)


def _sub_env_values(info: dict[str, Any], key: str, i: int, numbers_only: bool) -> dict[str, float] | None:
    """Sub-env i's entries of the nested dict info[key], as floats; None when it has none. A
    vector env marks which sub-envs reported each entry with a `_name` boolean array."""
    sub = info.get(key)
    mask = info.get("_" + key)
    if not isinstance(sub, dict) or (mask is not None and not mask[i]):
        return None
    out = {}
    for name, arr in sub.items():
        m = sub.get("_" + name)
        if name.startswith("_") or (m is not None and not m[i]):
            continue
        value = np.asarray(arr)[i] if np.ndim(arr) else arr
        if numbers_only and not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
            continue
        out[name] = float(value)
    return out


def final_info_success(info: dict[str, Any], i: int) -> float | None:
    v = info_value(info, "is_success", i)
    return None if v is None else float(np.asarray(v).item())


def env_method(env: gym.Env, name: str) -> Callable[..., Any] | None:
    """The env's optional protocol method `name`, found through wrappers; None if it has none.

    The agents talk to envs beyond gymnasium's API only through such methods
    (`set_evaluation`, `scripted_demos`), so they stay free of any env library.
    """
    has = getattr(env, "has_wrapper_attr", None)
    if callable(has):
        method = env.get_wrapper_attr(name) if has(name) else None
    else:
        method = getattr(env, name, None)
    return method if callable(method) else None


def set_evaluation(env: gym.Env) -> bool:
    """Tell an env it is the evaluation env, if it wants to know; True if it did.

    The protocol is one optional method, `set_evaluation(True)`, found through wrappers.
    An env that trains differently from how it is judged (a curriculum of easier stages)
    then plays its full task, so evaluation measures what the user asked for.
    """
    method = env_method(env, "set_evaluation")
    if method is None:
        return False
    method(True)
    return True


def training_states(envs: gym.vector.VectorEnv) -> list[Any] | None:
    """Each sub-env's `training_state` (plain data), or None if the envs keep none.

    The protocol: an env whose behaviour in training depends on its own history (a
    curriculum stage reached by its past successes) exposes it as a `training_state`
    attribute that can be read and assigned. Checkpoints store it, so a resumed run
    continues where the envs were instead of starting the curriculum again.
    """
    if not keeps_training_state(envs):
        return None
    states = list(envs.get_attr("training_state"))
    return states if any(states) else None


def keeps_training_state(envs: gym.vector.VectorEnv) -> bool:
    """Whether every sub-env has a `training_state`. Asked with `has_wrapper_attr`: reading a
    missing attribute would raise in an async worker, and the worker shuts down on errors."""
    try:
        return all(envs.call("has_wrapper_attr", "training_state"))
    except AttributeError:  # an env without gymnasium's wrapper helpers
        return False


def restore_training_states(envs: gym.vector.VectorEnv, states: list[Any] | None) -> None:
    """Give the sub-envs the states a checkpoint stored (see `training_states`). A resume with
    another n_envs than the checkpoint's: env i takes saved state i modulo the number saved."""
    if not states or not keeps_training_state(envs):
        return
    n = envs.num_envs
    envs.set_attr("training_state", [states[i % len(states)] for i in range(n)])
