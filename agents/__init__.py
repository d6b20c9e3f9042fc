"""PPO and TD3 for envkit: correct, tested, fast; one file per algorithm.

Public API::

    agents.train(env, algo="ppo"|"td3", config=None|PPOConfig|TD3Config|dict, run_dir=None, seed=0,
                 quiet=False, resume=False, total_timesteps=None, progress=None, label=None) -> TrainResult
    agents.evaluate(checkpoint_or_run_dir, env=None, episodes=50, seed=0, video=None) -> dict
    agents.load_policy(path) -> Policy          # Policy.predict(obs) -> env action
    agents.make_config(algo, overrides) -> PPOConfig | TD3Config   # validated
    agents.register_env_resolver(resolver)      # build env strings gymnasium does not know

The agents see only gymnasium, torch and numpy (never envkit, rewards, sweeps or a
simulator). Importing the package is cheap: it loads the errors (so a command line can catch
them without loading torch) and imports every other name from its module when it is
first used (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agents.errors import (
    AgentsError,
    CheckpointError,
    ConfigError,
    EnvFailedError,
    RunWarning,
    TrainingDivergedError,
)

if TYPE_CHECKING:
    from agents.api import Policy, TrainResult, evaluate, export_policy, load_policy, train
    from agents.config import (
        CommonConfig,
        PPOConfig,
        TD3Config,
        apply_overrides,
        config_class,
        field_docs,
        make_config,
        validate_config,
    )
    from agents.envs import make_env_fn, register_env_resolver, unregister_env_resolver

#: Public name -> the module that defines it, imported on first use (that module loads torch).
_LAZY = {
    **dict.fromkeys(("Policy", "TrainResult", "evaluate", "export_policy", "load_policy", "train"), "agents.api"),
    **dict.fromkeys(("CommonConfig", "PPOConfig", "TD3Config", "apply_overrides", "config_class", "field_docs",
                     "make_config", "validate_config"), "agents.config"),
    **dict.fromkeys(("make_env_fn", "register_env_resolver", "unregister_env_resolver"), "agents.envs"),
}

__all__ = [
    "AgentsError",
    "CheckpointError",
    "CommonConfig",
    "ConfigError",
    "EnvFailedError",
    "PPOConfig",
    "Policy",
    "RunWarning",
    "TD3Config",
    "TrainResult",
    "TrainingDivergedError",
    "apply_overrides",
    "config_class",
    "evaluate",
    "export_policy",
    "field_docs",
    "load_policy",
    "make_config",
    "make_env_fn",
    "register_env_resolver",
    "train",
    "unregister_env_resolver",
    "validate_config",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None and not name.startswith("__"):
        try:  # a submodule (`agents.ppo` after `import agents`), as an eager package would have it
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
