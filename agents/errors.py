"""Errors raised by the agents; all are EnvkitErrors, printed by the CLI without a traceback."""

from __future__ import annotations

from envkit.errors import ConfigError, EnvkitError

__all__ = ["CheckpointError", "ConfigError", "EnvFailedError", "RunWarning", "TrainingDivergedError"]


class CheckpointError(EnvkitError):
    """A checkpoint that is missing, unreadable, or does not fit the env or the code."""


class TrainingDivergedError(EnvkitError):
    """A NaN or infinity in a loss or a parameter: the run stopped and is marked failed."""

    exit_code = 3


class EnvFailedError(EnvkitError):
    """The env raised, or returned a non-finite reward, during training: the run stopped and is
    marked failed, its last checkpoint kept. The message carries the env's own (which names the
    reward term and step for envkit scenes); the original exception is the __cause__."""

    exit_code = 3


class RunWarning(UserWarning):
    """Something about a run the user should know that does not stop it (e.g. a resume without
    its replay buffer); printed by Python's warnings machinery, so quiet runs show it too."""
