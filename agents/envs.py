"""Resolving what the user calls "the env" into env factories and vector envs.

`make_env_fn` is the one hook between the agents and the envkit core: strings that
look like envkit scenes (`envkit/...` ids or `.yaml` paths) go to `envkit.make`
when the core provides it; everything else goes to `gymnasium.make`.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv

from agents.errors import CheckpointError, ConfigError

EnvSpec = str | os.PathLike | Callable[..., gym.Env]


def is_envkit_spec(spec: Any) -> bool:
    s = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else None
    return s is not None and (s.startswith("envkit/") or s.endswith((".yaml", ".yml")))


def _ensure_registered(env_id: str) -> None:
    """Import the packages that register well-known namespaces (panda-gym registers on import)."""
    if env_id.startswith("Panda"):
        with contextlib.suppress(ImportError):
            importlib.import_module("panda_gym")


class _EnvFactory:
    """A picklable env factory (AsyncVectorEnv sends it to subprocesses)."""

    def __init__(self, spec: str, render_mode: str | None, kwargs: dict[str, Any]) -> None:
        self.spec, self.render_mode, self.kwargs = spec, render_mode, kwargs

    def __call__(self) -> gym.Env:
        kwargs = dict(self.kwargs)
        if self.render_mode is not None:
            kwargs["render_mode"] = self.render_mode
        if is_envkit_spec(self.spec):
            envkit = importlib.import_module("envkit")
            if hasattr(envkit, "make"):
                return envkit.make(self.spec, **kwargs)
            if self.spec.endswith((".yaml", ".yml")):
                raise ConfigError(
                    f"Cannot build scene {self.spec!r}: this envkit build has no envkit.make yet."
                )
        try:
            # pybullet prints build lines to fd 1 at import and connection; keep quiet runs quiet.
            with _silence_stdout_fd():
                _ensure_registered(self.spec)
                return gym.make(self.spec, **kwargs)
        except gym.error.Error as exc:
            raise ConfigError(
                f"Cannot make environment {self.spec!r}: {exc}. Give a gymnasium id (e.g. Pendulum-v1, "
                "PandaReachDense-v3), an envkit scene id (envkit/<name>-v0) or a scene .yaml path."
            ) from None


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


@contextlib.contextmanager
def _silence_stdout_fd():
    """Send fd 1 (where pybullet's C code prints) and sys.stdout to /dev/null for a moment."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # pragma: no cover - no real stdout (some test runners)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def make_env_fn(spec: EnvSpec, render_mode: str | None = None, **kwargs: Any) -> Callable[[], gym.Env]:
    """Return a zero-argument factory for `spec`: an env id, a scene id/path, or a callable."""
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
    """`module:attr` (or gymnasium's `module:Env-v0`): using it imports `module`, i.e. runs its code."""
    return ":" in spec and not is_envkit_spec(spec) and "/" not in spec.split(":", 1)[0]


def checkpoint_env(spec: str, checkpoint: str) -> EnvSpec:
    """The env recorded in a checkpoint, if using it runs no code the user did not name.

    A registered id or a scene file is looked up; a `module:attr` reference would import that
    module, which a downloaded checkpoint must not be able to make happen on its own, so it
    is refused unless the user passes the env explicitly.
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
    sub = info.get(key)
    mask = info.get("_" + key)
    if not isinstance(sub, dict) or (mask is not None and not mask[i]):
        return None
    out = {}
    for name, arr in sub.items():
        if name.startswith("_"):
            continue
        m = sub.get("_" + name)
        if m is None or m[i]:
            out[name] = float(arr[i])
    return out


def final_info_success(info: dict[str, Any], i: int) -> float | None:
    v = info_value(info, "is_success", i)
    return None if v is None else float(np.asarray(v).item())
