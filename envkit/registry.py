"""Bundled scenes as gymnasium ids (`envkit/<name>-v0`) and `envkit.make`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym

from envkit.errors import SpecError
from envkit.hints import suggest

SCENE_DIR = Path(__file__).resolve().parent.parent / "scenes"
NAMESPACE = "envkit"


def bundled_scenes() -> dict[str, Path]:
    """Name -> path of every bundled scene YAML (sorted by name)."""
    return {p.stem: p for p in sorted(SCENE_DIR.glob("*.yaml"))}


def scene_id(name: str) -> str:
    return f"{NAMESPACE}/{name}-v0"


def resolve_scene_path(scene: str | Path) -> Path:
    """A YAML path, a bundled id (`envkit/sort-1-v0`) or a bundled name (`sort-1`) -> file path."""
    text = str(scene)
    bundled = bundled_scenes()
    if text.startswith(f"{NAMESPACE}/"):
        name = text[len(NAMESPACE) + 1 :]
        if name.endswith("-v0"):
            name = name[:-3]
        if name in bundled:
            return bundled[name]
        raise SpecError(
            f"unknown scene id '{text}'{suggest(scene_id(name), [scene_id(n) for n in bundled])} "
            f"Bundled scenes: {', '.join(scene_id(n) for n in bundled)}"
        )
    if text in bundled and not Path(text).exists():
        return bundled[text]
    path = Path(text).expanduser()
    if not path.exists() and path.suffix not in (".yaml", ".yml"):
        raise SpecError(
            f"'{text}' is neither a scene file nor a bundled scene{suggest(text, list(bundled))} "
            f"Bundled scenes: {', '.join(bundled)}; or give a path to a .yaml file."
        )
    return path


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
    from envkit.env import SceneEnv

    merged = dict(overrides or {})
    merged.update({k.replace("__", "."): v for k, v in dotted.items()})
    return SceneEnv(scene=scene, overrides=merged, render_mode=render_mode)


def _entry_point(scene: str, render_mode: str | None = None, **overrides: Any) -> gym.Env:
    return make(scene, overrides, render_mode=render_mode)


def register_bundled() -> list[str]:
    """Register every bundled scene with gymnasium; returns the ids (idempotent)."""
    ids = []
    for name, path in bundled_scenes().items():
        env_id = scene_id(name)
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="envkit.registry:_entry_point", kwargs={"scene": str(path)})
        ids.append(env_id)
    return ids
