"""A scene's reward terms as the env runs them: an error names the scene, the term and the step.

A reward term that raises, or a reward that is not finite, stops the env with a
`RewardTermError` naming the term and the step: NaN would otherwise reach the
agent and surface thousands of steps later as a NaN loss.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from envkit.errors import RewardTermError

if TYPE_CHECKING:
    from envkit.context import StepContext
    from rewards.registry import BoundTerm, RewardFunction


def guard_terms(reward: RewardFunction, scene: str) -> None:
    """Make every term of `reward` raise a RewardTermError naming it (and `scene`) when it fails."""
    for t in reward.terms:
        t.fn = _NamedTerm(t.fn, scene, _term_title(t))


def _term_title(term: BoundTerm) -> str:
    """How a reward term reads in errors: as the scene names it, plus its log label if renamed."""
    title = f"reward term '{term.term}'"
    return title if term.label == term.term.replace(":", ".") else f"{title} (name '{term.label}')"


class _NamedTerm:
    """A bound reward term's callable that names the term and the step when it raises.

    The env installs one on each of its bound terms, so an exception inside a term
    (a user's `module:function`, say) reaches the user as a `RewardTermError`
    chained to the original instead of a traceback out of the reward sum. Stateful
    terms keep their `reset`, guarded the same way.
    """

    __slots__ = ("_fn", "_scene", "_title")

    def __init__(self, fn: Any, scene: str, title: str) -> None:
        self._fn = fn
        self._scene = scene
        self._title = title

    def __call__(self, ctx: StepContext) -> float:
        try:
            return float(self._fn(ctx))
        except Exception as exc:
            raise RewardTermError(self._message(f"at step {ctx.step}", exc)) from exc

    def reset(self, ctx: StepContext) -> None:
        try:
            self._fn.reset(ctx)
        except Exception as exc:
            raise RewardTermError(self._message("at reset (step 0)", exc)) from exc

    def _message(self, when: str, exc: Exception) -> str:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (
            f" ({tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}, in {tb.tb_frame.f_code.co_name})"
            if tb
            else ""
        )
        return (
            f"scene '{self._scene}': {self._title} raised {type(exc).__name__} {when}{where}: {exc}. "
            "Fix the term, or remove it from the scene's reward to run without it; "
            "the full traceback is chained to this error."
        )


def non_finite_message(
    scene: str, bound: list[BoundTerm], contributions: dict[str, float], total: float, step: int
) -> str:
    """Why the summed reward is NaN or inf: the non-finite terms, else the finite terms that overflowed."""
    bad = [t for t in bound if not math.isfinite(contributions[t.label])]
    if bad:
        parts = []
        for t in bad:
            c = contributions[t.label]
            if not math.isfinite(t.weight):
                parts.append(f"{_term_title(t)} has weight {t.weight:g} (contribution {c:g})")
                continue
            value = f"{c / t.weight:g}" if t.weight != 0.0 else "a non-finite value"
            parts.append(f"{_term_title(t)} returned {value} (weight {t.weight:g}, contribution {c:g})")
        return (
            f"scene '{scene}': {'; '.join(parts)} at step {step}, so the reward is {total:g}. "
            "A reward term must return a finite number: look in the term for a division by zero, a log or "
            "square root of a value <= 0, or an overflow. envkit stops here because a NaN reward reaching the "
            "agent surfaces thousands of steps later as a NaN loss that names nothing."
        )
    largest = sorted(bound, key=lambda t: abs(contributions[t.label]), reverse=True)[:3]
    named = ", ".join(f"{_term_title(t)} = {contributions[t.label]:g}" for t in largest)
    return (
        f"scene '{scene}': every reward term is finite at step {step}, but their sum overflows to {total:g}; "
        f"the largest contributions: {named}. Scale these terms or their weights down."
    )
