"""Physics backends: the only code that imports a simulator (pybullet, panda-gym).

`base.World` is the interface `SceneEnv` drives; `bullet.BulletWorld` implements it
on pybullet with panda-gym's Panda. `make_world` picks the backend a scene names and
imports it only then, so importing this package (or the interface) loads no simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envkit.backends.base import World
    from envkit.spec import SceneSpec


def make_world(spec: SceneSpec, render_mode: str | None = None) -> World:
    """The backend named by the scene (only pybullet today; CoppeliaSim/PyRep will slot in here)."""
    if spec.backend == "pybullet":
        from envkit.backends.bullet import BulletWorld

        return BulletWorld(spec, render_mode=render_mode)
    raise ValueError(f"unknown backend '{spec.backend}'")
