"""What each reward term pays, in which situations: the lint's model of a term.

The lint cannot run a term without a simulator, so each built-in term has a small
model (`TermProfile`) built from its weight, its params and the scene's facts:

- `kind`: 'step' (the same value every step), 'event' (paid when an outcome
  happens: an object reaches a bin or the floor, success, a collision), 'dense'
  (a function of the state, paid every step), 'potential' (gamma*phi(s')-phi(s),
  which sums to a constant over any terminated episode), 'telescoping' (a
  progress term whose sum depends only on where the episode starts and ends) or
  'unknown' (a user term the lint has no model for).
- `outcomes`: the weighted reward per occurrence of each outcome.
- `per_step`: the weighted per-step reward while an agent is trying and failing.
- `idle_best`: the best weighted per-step reward reachable *without* finishing
  (what a loitering agent can collect forever).
- `at_success`: the weighted per-step reward in a success state (matters only
  when success does not end the episode).
- `magnitude`: a plausible size of the term's per-episode sum, for the scale check.

A user term can carry its own model: give the function (or RewardTerm class) a
`lint_profile(facts, weight, params) -> TermProfile` attribute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envkit.analysis.scenefacts import SceneFacts
from rewards.registry import expand_terms, resolve

#: Outcomes that are failures: paying for one of them is a bug.
BAD_OUTCOMES = ("wrong_bin", "floor", "collision")
#: Outcomes that are (part of) the task.
GOOD_OUTCOMES = ("correct_bin", "success")


@dataclass
class TermProfile:
    """The lint's model of one weighted reward term in one scene (see module docstring)."""

    label: str
    term: str
    weight: float
    kind: str
    requires: tuple[str, ...] = ()
    outcomes: dict[str, float] = field(default_factory=dict)
    per_step: float = 0.0
    idle_best: float = 0.0
    at_success: float = 0.0
    magnitude: float = 0.0
    shaping: bool = False  # a dense hint towards the task, not the task itself
    phi: str | None = None
    gamma: float | None = None
    basis: str = ""  # how the numbers were estimated, for `lint -v`


Builder = Callable[[SceneFacts, float, dict[str, Any]], dict[str, Any]]
BUILDERS: dict[str, Builder] = {}


def _builder(name: str) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn

    return deco


def _best(w: float, low: float, high: float) -> float:
    """The larger of w*low and w*high: the best an agent can make of a value in [low, high]."""
    return max(w * low, w * high) + 0.0  # + 0.0 turns -0.0 into 0.0


@_builder("time_penalty")
def _time(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    return dict(
        kind="step",
        per_step=w,
        idle_best=w,
        at_success=w,
        magnitude=abs(w) * f.max_steps,
        basis=f"{w:g} per step, up to {f.max_steps} steps",
    )


def _event(outcomes: dict[str, float], count: float, what: str) -> Builder:
    def build(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
        n = f.n_objects if count < 0 else count
        return dict(
            kind="event",
            outcomes={k: w * v for k, v in outcomes.items()},
            magnitude=abs(w) * n,
            basis=f"{w:g} per {what}, at most {n:g} per episode",
        )

    return build


BUILDERS["object_on_floor"] = _event({"floor": 1.0}, -1, "object on the floor")
BUILDERS["object_in_bin"] = _event({"correct_bin": 1.0, "wrong_bin": 1.0}, -1, "object in any bin")
BUILDERS["object_in_correct_bin"] = _event({"correct_bin": 1.0}, -1, "object in its correct bin")
BUILDERS["object_in_wrong_bin"] = _event({"wrong_bin": 1.0}, -1, "object in a wrong bin")
BUILDERS["collision"] = _event({"collision": 1.0}, 1, "collision (it ends the episode)")


@_builder("success_bonus")
def _success(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    once = bool(p.get("once", True))
    every = not once and not f.success_terminates
    return dict(
        kind="event",
        outcomes={"success": w},
        at_success=w if every else 0.0,
        magnitude=abs(w) * (f.max_steps if every else 1),
        basis=f"{w:g} " + ("every step in success" if every else "once, on success"),
    )


@_builder("distance_progress")
def _progress(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    g = f.spec.goal
    d0 = f.typical_goal_distance
    share = 1.0 - (g.threshold / d0 if g is not None and d0 > 0 else 0.0)
    return dict(
        kind="telescoping",
        outcomes={"progress": w * max(share, 0.0)},
        magnitude=abs(w),
        basis=f"sums to {w:g} x (d0 - d_end) / d0 over an episode, whatever its length",
    )


def _goal_values(f: SceneFacts) -> tuple[float, float]:
    """(typical distance while trying, smallest distance that is not yet success)."""
    g = f.spec.goal
    thr = g.threshold if g is not None and f.spec.success_mode == "goal_reached" else 0.0
    return f.typical_goal_distance, thr


@_builder("goal_distance")
def _goal_distance(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    d, thr = _goal_values(f)
    return dict(
        kind="dense",
        shaping=True,
        per_step=w * d,
        idle_best=_best(w, thr, f.max_distance),
        at_success=0.0,
        magnitude=abs(w) * d * f.max_steps,
        basis=f"{w:g} x distance (~{d:.3g} m typical) every step",
    )


@_builder("goal_distance_tanh")
def _goal_tanh(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    std = float(p.get("std", 0.1)) or 0.1
    d, thr = _goal_values(f)
    typical = 1.0 - math.tanh(d / std)
    near = 1.0 - math.tanh(thr / std)
    far = 1.0 - math.tanh(f.max_distance / std)
    return dict(
        kind="dense",
        shaping=True,
        per_step=w * typical,
        idle_best=_best(w, far, near),
        at_success=w,
        magnitude=abs(w) * max(typical, 0.5) * f.max_steps,
        basis=f"{w:g} x (1 - tanh(d / {std:g})): {w * typical:.3g} per step at the typical distance, "
        f"{w * near:.3g} just outside the goal",
    )


@_builder("ee_object_distance")
def _ee_object(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    d = f.typical_object_distance
    return dict(
        kind="dense",
        shaping=True,
        per_step=w * d,
        idle_best=_best(w, 0.0, f.max_distance),
        at_success=0.0,
        magnitude=abs(w) * d * f.max_steps,
        basis=f"{w:g} x hand-object distance (~{d:.3g} m typical) every step",
    )


@_builder("object_lifted")
def _lifted(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    n = f.n_objects if f.spec.robot.gripper else 0
    hold = n * max(f.success.steps if f.success else 0, 1)
    return dict(
        kind="dense",
        shaping=True,
        per_step=0.0,
        idle_best=_best(w, 0.0, float(n)),
        at_success=0.0,
        magnitude=abs(w) * hold,
        basis=f"{w:g} per lifted object per step (a random policy lifts nothing; holding all {n} pays "
        f"{w * n:g} per step)",
    )


@_builder("action_l2")
def _action(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    typical = f.n_actions / 3.0  # E|a|^2 for a uniform action in [-1, 1]^n
    return dict(
        kind="dense",
        per_step=w * typical,
        idle_best=_best(w, 0.0, float(f.n_actions)),
        at_success=0.0,
        magnitude=abs(w) * typical * f.max_steps,
        basis=f"{w:g} x |a|^2 ({typical:.3g} for uniform random actions) every step",
    )


@_builder("potential")
def _potential(f: SceneFacts, w: float, p: dict[str, Any]) -> dict[str, Any]:
    phi = str(p.get("phi", ""))
    inner = _profile_for(phi, f, 1.0, dict(p.get("phi_params") or {}), label=phi)
    # the shaping of a terminated episode sums to -w*phi(s0); a phi over the nearest
    # object is re-earned once per object as objects are removed
    phases = max(1, f.n_objects) if "objects" in inner.requires else 1
    size = abs(inner.per_step) if inner.kind == "dense" else abs(inner.magnitude)
    return dict(
        kind="potential",
        requires=inner.requires,
        phi=phi,
        gamma=float(p.get("gamma", 0.99)),
        magnitude=abs(w) * size * phases,
        basis=f"gamma*phi(s')-phi(s) with phi = {w:g} x {phi} (~{w * size:.3g} per approach, "
        f"{phases} approach(es)); sums to a constant over a terminated episode",
    )


def _profile_for(term: str, f: SceneFacts, weight: float, params: dict[str, Any], label: str) -> TermProfile:
    try:
        obj = resolve(term)
    except LookupError:
        obj = None
    requires = tuple(getattr(obj, "requires", ()))
    custom = getattr(obj, "lint_profile", None)
    if custom is not None and callable(custom):
        prof = custom(f, weight, params)
        if isinstance(prof, TermProfile):
            return prof
    build = BUILDERS.get(term) if obj is not None and obj is resolve_builtin(term) else None
    if build is None:
        return TermProfile(label, term, weight, "unknown", requires, basis="no model: not analysed")
    fields = build(f, weight, params)
    fields.setdefault("requires", requires)
    return TermProfile(label=label, term=term, weight=weight, **fields)


def resolve_builtin(term: str) -> Any:
    """The registered object for a built-in term name (None for user terms)."""
    from rewards.registry import REGISTRY

    return REGISTRY.get(term) if term in BUILDERS else None


def profiles(facts: SceneFacts) -> list[TermProfile]:
    """A profile for every term of the scene's reward, in order."""
    return [
        _profile_for(t.term, facts, float(t.weight), dict(t.params), t.label)
        for t in expand_terms(facts.spec.reward)
    ]
