"""Errors raised by the agents: one paragraph each, printed by a command line without a traceback.

The agents import nothing from envkit, so their errors have a base of their own,
`AgentsError`; envkit's CLI (the layer that imports everything) catches it beside
`envkit.errors.EnvkitError` and prints both the same way, exiting with `exit_code`.
"""

from __future__ import annotations

__all__ = [
    "AgentsError",
    "CheckpointError",
    "ConfigError",
    "EnvFailedError",
    "RunWarning",
    "TrainingDivergedError",
    "is_user_error",
]


class AgentsError(Exception):
    """An error caused by what the user asked for (a config value, an env, a checkpoint, a run
    directory) or met by the run (a failing env, a diverged loss). The message says what is
    wrong, where and what to do, so it is printed without a traceback."""

    exit_code = 1


class ConfigError(AgentsError, ValueError):
    """Bad hyperparameters, env, run directory or argument, found before training starts."""


class CheckpointError(AgentsError):
    """A checkpoint that is missing, unreadable, or does not fit the env or the code."""


class TrainingDivergedError(AgentsError):
    """A NaN or infinity in a loss or a parameter: the run stopped and is marked failed."""

    exit_code = 3


class EnvFailedError(AgentsError):
    """The env raised, or returned a non-finite reward, during training: the run stopped and is
    marked failed, its last checkpoint kept. The message carries the env's own (which names the
    reward term and step for envkit scenes); the original exception is the __cause__."""

    exit_code = 3


class RunWarning(UserWarning):
    """Something about a run the user should know that does not stop it (e.g. a resume without
    its replay buffer); printed by Python's warnings machinery, so quiet runs show it too."""


def is_user_error(exc: BaseException) -> bool:
    """Whether `exc`'s message is written for users, so that its type name adds nothing: the
    agents' own errors, and any library's whose class carries an integer `exit_code` (the
    convention envkit's EnvkitError follows, e.g. a scene's reward term that raised)."""
    return isinstance(exc, AgentsError) or isinstance(getattr(type(exc), "exit_code", None), int)
