"""User reward terms that misbehave on purpose (see test_reward_term_errors.py).

Referenced from scenes as `envkit_faulty_terms:<name>`, with this folder on sys.path.
Values arrive as strings ("nan", "inf") because a scene's numbers must be finite.
"""

from __future__ import annotations

from typing import Any, Literal

from rewards.registry import RewardTerm


def value_at(ctx: Any, value: str = "nan", at_step: int = 1) -> float:
    """0 every step, except `float(value)` at step `at_step`."""
    return float(value) if ctx.step == at_step else 0.0


def raises_at(ctx: Any, at_step: int = 1) -> float:
    """0 every step, except a ZeroDivisionError at step `at_step`."""
    if ctx.step == at_step:
        return 1.0 / 0.0
    return 0.0


def returns_none(ctx: Any) -> Any:
    """Forgets to return a number."""
    return None


class FailsOnReset(RewardTerm):
    """A stateful term whose reset raises (a bad key in the context, say)."""

    def reset(self, ctx: Any) -> None:
        raise KeyError("initial_distance")

    def __call__(self, ctx: Any) -> float:
        return 0.0


def typed(ctx: Any, scale: float = 1.0, steps: int = 3, mode: Literal["a", "b"] = "a",
          span: tuple[float, float] = (0.0, 1.0), flag: bool = False) -> float:
    """Declares its parameters' types and nothing else: the scene loader checks them from the hints."""
    return scale * steps if flag else 0.0


class TypedState(RewardTerm):
    """A stateful term whose constructor declares a type."""

    def __init__(self, horizon: int = 10) -> None:
        self.horizon = horizon

    def __call__(self, ctx: Any) -> float:
        return float(self.horizon)
