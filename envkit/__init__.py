"""envkit: robot-arm RL environments and reward designs from YAML.

import envkit
env = envkit.make("envkit/sort-1-v0")          # a bundled scene
env = envkit.make("my_scene.yaml", objects__count=3)
env = gymnasium.make("envkit/sort-1-v0")        # after `import envkit`

Importing any envkit module runs this file first, so it imports only the lowest
layer (errors and the bundled-scene listing, see docs/architecture.md): the ids are
registered with string entry points, and `make`, `SceneEnv` and `load_scene` are
imported on first use (PEP 562), which keeps `import envkit.context` from pulling in
the env, the loader or a simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envkit.errors import ConfigError, EnvkitError, SpecError
from envkit.scenes import bundled_scenes, register_bundled, scene_id

if TYPE_CHECKING:
    from envkit.env import SceneEnv
    from envkit.loader import load_scene
    from envkit.registry import make

__version__ = "0.1.0"

#: Gymnasium ids of the bundled scenes, registered on import.
ENV_IDS: list[str] = register_bundled()


def __getattr__(name: str) -> Any:
    """`make`, `SceneEnv` and `load_scene`, imported on first use (PEP 562)."""
    if name == "make":
        from envkit.registry import make as value
    elif name == "SceneEnv":
        from envkit.env import SceneEnv as value
    elif name == "load_scene":
        from envkit.loader import load_scene as value
    else:
        raise AttributeError(f"module 'envkit' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), "make", "SceneEnv", "load_scene"})


__all__ = [
    "ENV_IDS",
    "ConfigError",
    "EnvkitError",
    "SceneEnv",
    "SpecError",
    "bundled_scenes",
    "load_scene",
    "make",
    "scene_id",
    "__version__",
]
