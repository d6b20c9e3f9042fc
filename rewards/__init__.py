"""Reward terms for envkit scenes: registered by name, weighted in the scene YAML.

    from rewards import register

    @register()
    def my_term(ctx, scale: float = 1.0) -> float:
        return scale * float(ctx.success)

Reference it in a scene as `{term: my_term}` once the defining module is imported,
or as `{term: "mypackage.module:my_term"}` without importing it yourself. What the
reward analysis should know about a term is declared in the same call:
`@register(requires=("goal",), state_function=True, profile=LintProfile.of(...))`.
"""

from rewards import potential as _potential  # noqa: F401  (registers the shaping wrapper)
from rewards import terms as _terms  # noqa: F401  (registers the built-in terms)
from rewards.presets import PRESETS, get_preset
from rewards.registry import (
    REGISTRY,
    LintProfile,
    RewardFunction,
    RewardTerm,
    build_reward,
    register,
    resolve,
)

__all__ = [
    "PRESETS",
    "REGISTRY",
    "LintProfile",
    "RewardFunction",
    "RewardTerm",
    "build_reward",
    "get_preset",
    "register",
    "resolve",
]
