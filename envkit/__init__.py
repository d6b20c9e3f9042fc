"""envkit: robot-arm RL environments and reward designs from YAML.

import envkit
env = envkit.make("envkit/sort-1-v0")          # a bundled scene
env = envkit.make("my_scene.yaml", objects__count=3)
env = gymnasium.make("envkit/sort-1-v0")        # after `import envkit`
"""

from envkit.errors import ConfigError, EnvkitError, SpecError
from envkit.loader import load_scene
from envkit.registry import bundled_scenes, make, register_bundled, scene_id

__version__ = "0.1.0"

#: Gymnasium ids of the bundled scenes, registered on import.
ENV_IDS: list[str] = register_bundled()

__all__ = [
    "ENV_IDS",
    "ConfigError",
    "EnvkitError",
    "SpecError",
    "bundled_scenes",
    "load_scene",
    "make",
    "scene_id",
    "__version__",
]
