"""User-facing errors: one paragraph that names the field or file and what to do."""

from __future__ import annotations


class EnvkitError(Exception):
    """An error caused by user input (a scene file, a config value, a path).

    The CLI prints its message without a traceback, so the message must say what
    is wrong, where (file, line, field path), and what to do about it.
    """

    exit_code = 1


class SpecError(EnvkitError, ValueError):
    """A scene spec that cannot be loaded or validated."""


class ConfigError(EnvkitError, ValueError):
    """An agent, sweep or report configuration that is invalid."""


class RewardTermError(EnvkitError, RuntimeError):
    """A reward term returned NaN/inf or raised during `reset`/`step`; names the term and the step."""
