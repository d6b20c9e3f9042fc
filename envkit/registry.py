"""`envkit.make` and the entry point of the bundled gymnasium ids: load a scene, then build its env.

The scene files, ids and registration live in `envkit.scenes` (plain data, imported
by `import envkit`); this module is where loading meets building, the one step
`SceneEnv` leaves to its caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from envkit.env import SceneEnv, check_render_mode
from envkit.loader import load_scene
from envkit.scenes import NAMESPACE, SCENE_DIR, bundled_scenes, register_bundled, resolve_scene_path, scene_id

__all__ = [
    "NAMESPACE",
    "SCENE_DIR",
    "bundled_scenes",
    "make",
    "register_bundled",
    "resolve_scene_path",
    "scene_id",
]


def make(
    scene: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    render_mode: str | None = None,
    **dotted: Any,
) -> gym.Env:
    """Build a scene environment from a bundled id/name, a YAML path, a dict or a SceneSpec.

    Overrides are dotted keys; as Python keywords use `__` for the dots:
    `envkit.make("envkit/sort-1-v0", objects__count=3)` or
    `envkit.make("my.yaml", {"objects.count": 3})`.
    """
    check_render_mode(render_mode)  # before loading, as the cheaper mistake to report
    merged = dict(overrides or {})
    merged.update({k.replace("__", "."): v for k, v in dotted.items()})
    return SceneEnv(load_scene(scene, merged), render_mode=render_mode)


def _entry_point(scene: str, render_mode: str | None = None, **overrides: Any) -> gym.Env:
    return make(scene, overrides, render_mode=render_mode)
