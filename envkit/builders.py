"""How the layers above the agents build an env from the string that names it.

The agents (`agents/`) see only gymnasium: they build a registered id with
`gymnasium.make`, or ask the resolvers a higher layer registered. `env_builder` is
envkit's resolver; `envkit train`, `envkit eval` and the sweeps register it with

    agents.register_env_resolver(env_builder, ENV_HINT)

so that scene files and bare panda-gym ids work as they always did, and run
directories and checkpoints keep naming envs by the strings users typed. This module
imports nothing from the agents (envkit's env layer is below them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import gymnasium as gym

from envkit.backends.external import external_builder

#: What `env_builder` builds, for the agents' message about an env string nobody knows.
ENV_HINT = "an envkit scene id (envkit/<name>-v0), a scene .yaml path or a panda-gym id (PandaReachDense-v3)"


def env_builder(spec: str) -> Callable[..., gym.Env] | None:
    """The builder of `spec`, or None to leave it to `gymnasium.make`.

    A scene file (`.yaml`/`.yml`) or an `envkit/<name>-v0` id: `envkit.make` (the bare
    scene, as `envkit.make` returns it); a panda-gym id (`Panda...`): gymnasium after
    importing panda-gym, without pybullet's prints. Nothing the string names is imported,
    so strings read from checkpoints may be passed.
    """
    if spec.startswith("envkit/") or spec.endswith((".yaml", ".yml")):
        import envkit

        return partial(envkit.make, spec)
    return external_builder(spec)
