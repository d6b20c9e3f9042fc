"""PPO and TD3 for envkit: correct, tested, fast; one file per algorithm.

Public API::

    agents.train(env, algo="ppo"|"td3", config=None|PPOConfig|TD3Config|dict, run_dir=None, seed=0,
                 quiet=False, resume=False, total_timesteps=None, progress=None, label=None) -> TrainResult
    agents.evaluate(checkpoint_or_run_dir, env=None, episodes=50, seed=0, video=None) -> dict
    agents.load_policy(path) -> Policy          # Policy.predict(obs) -> env action
    agents.make_config(algo, overrides) -> PPOConfig | TD3Config   # validated
"""

from agents.api import Policy, TrainResult, evaluate, load_policy, train
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
from agents.envs import make_env_fn
from agents.errors import CheckpointError, ConfigError, EnvFailedError, RunWarning, TrainingDivergedError

__all__ = [
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
    "field_docs",
    "load_policy",
    "make_config",
    "make_env_fn",
    "train",
    "validate_config",
]
