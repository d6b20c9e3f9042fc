"""The bundled scenes: their files, their gymnasium ids, and finding a scene from what a user typed.

Plain paths and names (no env is built here), so the loader, the package's
`import envkit` and the command line can list, resolve and register scenes without
importing the environment. Registration uses a string entry point: gymnasium
imports `envkit.registry` (which loads the scene and builds the env) only when an
id is made.
"""

from __future__ import annotations

from pathlib import Path

from envkit.errors import SpecError
from envkit.hints import suggest

SCENE_DIR = Path(__file__).resolve().parent.parent / "scenes"
NAMESPACE = "envkit"
#: What gymnasium calls to build a bundled id: loads the scene, then builds the env.
ENTRY_POINT = "envkit.registry:_entry_point"


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


def register_bundled() -> list[str]:
    """Register every bundled scene with gymnasium; returns the ids (idempotent)."""
    import gymnasium as gym

    ids = []
    for name, path in bundled_scenes().items():
        env_id = scene_id(name)
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=ENTRY_POINT, kwargs={"scene": str(path)})
        ids.append(env_id)
    return ids
