"""Other packages' simulated envs that envkit accepts by their bare gymnasium id.

panda-gym registers its ids (`PandaReach-v3`, `PandaReachDense-v3`, ...) with gymnasium
when it is imported, and pybullet prints build and connection lines from C straight to
file descriptor 1 while that happens and at every connection. Importing panda-gym is
the backends' job (the only layer that imports pybullet or panda-gym), so the
agents, which see only gymnasium, get such ids built here, quietly, through the
builder `envkit.builders.env_builder` hands them. (`gymnasium.make("panda_gym:PandaReach-v3")`
imports the package itself and needs none of this.)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import partial
from typing import Any

import gymnasium as gym

#: Prefix of a bare gymnasium id -> the package whose import registers it.
EXTERNAL_PACKAGES = {"Panda": "panda_gym"}


def external_package(env_id: str) -> str | None:
    """The package that registers `env_id` on import (panda_gym for Panda* ids), or None."""
    for prefix, package in EXTERNAL_PACKAGES.items():
        if env_id.startswith(prefix):
            return package
    return None


def register_external_envs(env_id: str) -> bool:
    """Import, quietly, the package that registers `env_id` with gymnasium; True if `env_id`
    belongs to one that is installed (a missing package leaves gymnasium to say the id is unknown)."""
    package = external_package(env_id)
    if package is None:
        return False
    from envkit.backends.stdio import silence_stdout

    try:
        with silence_stdout():
            importlib.import_module(package)
    except ImportError:
        return False
    return True


def make_external(env_id: str, **kwargs: Any) -> gym.Env:
    """`gymnasium.make(env_id, **kwargs)` after registering the id's package, without the lines
    pybullet prints on import and connection."""
    from envkit.backends.stdio import silence_stdout

    register_external_envs(env_id)
    with silence_stdout():
        return gym.make(env_id, **kwargs)


def external_builder(env_id: str) -> Callable[..., gym.Env] | None:
    """A builder for an id of a package in EXTERNAL_PACKAGES (nothing is imported yet), else None."""
    if external_package(env_id) is None:
        return None
    return partial(make_external, env_id)
