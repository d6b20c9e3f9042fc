"""Potential-based reward shaping (Ng, Harada and Russell, 1999).

Adding F(s, s') = gamma * phi(s') - phi(s) to any reward leaves the optimal policy
unchanged, whatever the potential phi, *provided* gamma is the agent's discount
and the potential of a terminal state is zero. Any other dense "hint" (a per-step
distance penalty, a bonus for holding an object up) can change what is optimal;
`envkit lint` says so.

In a scene:

    reward:
      - {term: potential, weight: -10, params: {phi: ee_object_distance, gamma: 0.99}}

`phi` names a state function exactly as a reward term is named (a registered term
or "module:function"); `phi_params` are passed to it. Terms declare at registration
whether they are functions of the state (`register(state_function=...)`); `envkit
lint` warns about a phi declared not to be one. The weight multiplies F, so
weight -10 with phi = ee_object_distance is the same as the potential
-10 * distance: approaching the nearest object pays, moving away costs. Because
terms return magnitudes and weights carry the sign, write the potential you want
as weight * phi.

Episode ends: on a real termination (`ctx.terminated`) phi(s') is taken as 0, so
the shaping of a whole terminated episode sums (discounted) to -phi(s_0), the same
for every trajectory. On a time-limit truncation phi(s') is the real potential:
the state is not terminal, the agent bootstraps its value there, and zeroing phi
would hand it a spurious bonus or penalty for running out of time.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from rewards.registry import LintProfile, RewardTerm, check_params, register, resolve

if TYPE_CHECKING:
    from envkit.context import StepContext


def _resolve_phi(phi: str) -> Any:
    obj = resolve(phi)
    if inspect.isclass(obj):
        raise ValueError(
            f"reward term 'potential': phi '{phi}' is a stateful term class; a potential must be a plain "
            "function of the current state, phi(ctx, **phi_params) -> float"
        )
    return obj


@register("potential", state_function=False, profile=LintProfile.of("potential"))
class Potential(RewardTerm):
    """gamma * phi(s') - phi(s), with phi(terminal) = 0: shaping that keeps the optimal policy.

    Args:
        phi: the potential, a state function named like a reward term ("goal_distance",
            "ee_object_distance", "mypkg.shaping:height"); its sign comes from the weight.
        gamma: must equal the agent's discount, or the shaping is only approximately
            policy-invariant (lint checks it against `--gamma`).
        phi_params: keyword parameters passed to phi.
    """

    potential_based = True

    def __init__(self, phi: str, gamma: float = 0.99, phi_params: dict[str, Any] | None = None) -> None:
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"reward term 'potential': gamma must be in (0, 1], got {gamma}")
        self.phi_name = phi
        self.gamma = float(gamma)
        self.phi_params = dict(phi_params or {})
        self._phi = _resolve_phi(phi)
        problems = check_params(phi, self._phi, self.phi_params)
        if problems:
            raise ValueError(f"reward term 'potential', phi_params: {problems[0]}")
        self._last: float | None = None

    @classmethod
    def check_spec_params(cls, params: dict[str, Any]) -> list[str]:
        """Scene-load checks of `phi` and `phi_params` (called by `check_reward_spec`)."""
        phi = params.get("phi")
        if not isinstance(phi, str):
            return ["reward term 'potential': 'phi' must be a term name or 'module:function' string"]
        try:
            obj = _resolve_phi(phi)
        except (LookupError, ValueError) as exc:
            return [f"reward term 'potential', phi: {exc}"]
        gamma = params.get("gamma", 0.99)
        problems = []
        if not isinstance(gamma, int | float) or not 0.0 < float(gamma) <= 1.0:
            problems.append(f"reward term 'potential': gamma must be a number in (0, 1], got {gamma!r}")
        phi_params = params.get("phi_params") or {}
        if not isinstance(phi_params, dict):
            return problems + ["reward term 'potential': phi_params must be a mapping"]
        messages = check_params(phi, obj, phi_params)
        if not messages and hasattr(obj, "check_spec_params"):
            messages = obj.check_spec_params(phi_params)
        return problems + [f"reward term 'potential', phi_params: {p}" for p in messages]

    def phi(self, ctx: StepContext) -> float:
        """The potential of the state in `ctx` (0 for a real terminal state)."""
        if ctx.terminated:
            return 0.0
        return float(self._phi(ctx, **self.phi_params))

    def reset(self, ctx: StepContext) -> None:
        self._last = self.phi(ctx)

    def __call__(self, ctx: StepContext) -> float:
        if self._last is None:
            raise RuntimeError("potential term called before reset()")
        nxt = self.phi(ctx)
        value = self.gamma * nxt - self._last
        self._last = nxt
        return value
