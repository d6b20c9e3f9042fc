"""What each reward term pays, in which situations: the lint's model of a term.

The lint cannot run a term without a simulator, so each term has a small model
(`TermProfile`) built from its weight, its params and the scene's facts. Which model
a term gets is declared where the term is registered, as plain data
(`register(profile=LintProfile.of("event", outcomes={"floor": 1.0}, ...))`): this
module holds one builder per model kind (`MODELS`) and interprets it. A profile has:

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

A term registered without a profile is 'unknown'. A user term whose pay no model
describes can carry its own: give the function (or RewardTerm class) a
`lint_profile(facts, weight, params) -> TermProfile` attribute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envkit.analysis.scenefacts import SceneFacts
from rewards.registry import REGISTRY, LintProfile, expand_terms, resolve

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
    #: what a real termination pays against running out of time: a potential's phi is 0 in
    #: a terminal state, so ending the episode, however, cashes in -w x phi of the state it
    #: ended from (the typical value is used)
    at_termination: float = 0.0
    shaping: bool = False  # a dense hint towards the task, not the task itself
    phi: str | None = None
    gamma: float | None = None
    basis: str = ""  # how the numbers were estimated, for `lint -v`


#: A model kind's builder: (scene facts, weight, the term's params, the model's params) -> profile fields.
Builder = Callable[[SceneFacts, float, dict[str, Any], dict[str, Any]], dict[str, Any]]
#: Model kind (`LintProfile.kind`) -> its builder.
MODELS: dict[str, Builder] = {}


def _model(kind: str) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        MODELS[kind] = fn
        return fn

    return deco


def _best(w: float, low: float, high: float) -> float:
    """The larger of w*low and w*high: the best an agent can make of a value in [low, high]."""
    return max(w * low, w * high) + 0.0  # + 0.0 turns -0.0 into 0.0


@_model("per_step")
def _per_step(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    v = w * float(m.get("value", 1.0))
    return dict(
        kind="step",
        per_step=v,
        idle_best=v,
        at_success=v,
        magnitude=abs(v) * f.max_steps,
        basis=f"{v:g} per step, up to {f.max_steps} steps",
    )


@_model("event")
def _event(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    count = m.get("count", "objects")
    n = f.n_objects if count == "objects" else float(count)
    return dict(
        kind="event",
        outcomes={k: w * float(v) for k, v in m["outcomes"].items()},
        magnitude=abs(w) * n,
        basis=f"{w:g} per {m.get('what', 'event')}, at most {n:g} per episode",
    )


@_model("success")
def _success(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    once = bool(p.get(m.get("once_param", "once"), True))
    every = not once and not f.success_terminates
    return dict(
        kind="event",
        outcomes={"success": w},
        at_success=w if every else 0.0,
        magnitude=abs(w) * (f.max_steps if every else 1),
        basis=f"{w:g} " + ("every step in success" if every else "once, on success"),
    )


@_model("progress")
def _progress(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
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


@_model("distance")
def _distance(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    """A dense function of the goal's or the nearest object's distance: linear, or 1 - tanh(d / std)."""
    to = m.get("to", "goal")
    if to == "goal":
        d, near_d = _goal_values(f)
    else:
        d, near_d = (f.typical_bin_distance if to == "bin" else f.typical_object_distance), 0.0
    if m.get("kernel", "linear") == "linear":
        return dict(
            kind="dense",
            shaping=True,
            per_step=w * d,
            idle_best=_best(w, near_d, f.max_distance),
            at_success=0.0,
            magnitude=abs(w) * d * f.max_steps,
            basis=f"{w:g} x {m.get('what', 'distance')} (~{d:.3g} m typical) every step",
        )
    default = float(m.get("default_std", 0.1))
    std = float(p.get(m.get("std_param", "std"), default)) or default
    typical = 1.0 - math.tanh(d / std)
    near = 1.0 - math.tanh(near_d / std)
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


@_model("lifted")
def _lifted(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    return _held_each(f, w, "per lifted object per step (a random policy lifts nothing")


@_model("height")
def _height(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    return _held_up_to(f, w, p, m, 0.06, "x metres lifted", "holding all {n} up")


@_model("grasped")
def _grasped(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    return _held_each(f, w, "per object pinched by both fingers per step (a random policy rarely pinches")


def _held_each(f: SceneFacts, w: float, pays: str) -> dict[str, Any]:
    """A held-object term paying 1 per object held (lifted, pinched)."""
    n = _holdable(f)
    return _held(f, w, 1.0, f"{w:g} {pays}; holding all {n} pays {w * n:g} per step)")


@_model("held_closeness")
def _held_closeness(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    return _held_up_to(f, w, p, m, 0.5, "x (max_distance - distance to the bin) per object pinched",
                       "holding all {n} over their bins")


def _held_up_to(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any], default: float, pays: str,
                best: str) -> dict[str, Any]:
    """A held-object term whose per-object value is capped by a param (max_height, max_distance)."""
    top = float(p.get(m.get("param", ""), m.get("default", default)))
    n = _holdable(f)
    return _held(f, w, top, f"{w:g} {pays} (at most {top:g} per object; a random policy holds nothing up; "
                 f"{best.format(n=n)} pays {w * n * top:.3g} per step)")


def _holdable(f: SceneFacts) -> int:
    """Objects the robot could hold up: all of them with a gripper, none without."""
    return f.n_objects if f.spec.robot.gripper else 0


def _held(f: SceneFacts, w: float, per_object: float, basis: str) -> dict[str, Any]:
    """A term paying `per_object` for each object held up, every step it is held."""
    n = _holdable(f)
    hold = n * max(f.success.steps if f.success else 0, 1)
    return dict(
        kind="dense",
        shaping=True,
        per_step=0.0,
        idle_best=_best(w, 0.0, n * per_object),
        at_success=0.0,
        magnitude=abs(w) * per_object * hold,
        basis=basis,
    )


@_model("action_norm")
def _action(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    typical = f.n_actions / 3.0  # E|a|^2 for a uniform action in [-1, 1]^n
    return dict(
        kind="dense",
        per_step=w * typical,
        idle_best=_best(w, 0.0, float(f.n_actions)),
        at_success=0.0,
        magnitude=abs(w) * typical * f.max_steps,
        basis=f"{w:g} x |a|^2 ({typical:.3g} for uniform random actions) every step",
    )


@_model("potential")
def _potential(f: SceneFacts, w: float, p: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
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
        at_termination=-w * inner.per_step if inner.kind == "dense" else 0.0,
        basis=f"gamma*phi(s')-phi(s) with phi = {w:g} x {phi} (~{w * size:.3g} per approach, "
        f"{phases} approach(es)); sums to a constant over a terminated episode",
    )


def _resolved(term: str) -> Any:
    """The registered or `module:function` object of a term, or None when it does not resolve."""
    try:
        return resolve(term)
    except LookupError:
        return None


def _profile_for(term: str, f: SceneFacts, weight: float, params: dict[str, Any], label: str) -> TermProfile:
    obj = _resolved(term)
    requires = tuple(getattr(obj, "requires", ()))
    custom = getattr(obj, "lint_profile", None)
    if custom is not None and callable(custom):
        prof = custom(f, weight, params)
        if isinstance(prof, TermProfile):
            return prof
    model = getattr(obj, "profile", None)
    build = MODELS.get(model.kind) if isinstance(model, LintProfile) else None
    if build is None:
        return TermProfile(label, term, weight, "unknown", requires, basis="no model: not analysed")
    fields = build(f, weight, params, dict(model.params))
    fields.setdefault("requires", requires)
    return TermProfile(label=label, term=term, weight=weight, **fields)


def state_function(term: str) -> bool | None:
    """Whether a term is declared a function of the state alone (its registration's state_function)."""
    return getattr(_resolved(term), "state_function", None)


def outcome_terms() -> dict[str, str]:
    """Outcome -> the first registered term whose profile pays that outcome alone (for suggested fixes)."""
    found: dict[str, str] = {}
    for name, obj in REGISTRY.items():
        model = getattr(obj, "profile", None)
        if not isinstance(model, LintProfile):
            continue
        if model.kind == "event":
            paid = set(model.params.get("outcomes", {}))
        elif model.kind == "success":
            paid = {"success"}
        else:
            continue
        if len(paid) == 1:
            found.setdefault(paid.pop(), name)
    return found


def profiles(facts: SceneFacts) -> list[TermProfile]:
    """A profile for every term of the scene's reward, in order."""
    return [
        _profile_for(t.term, facts, float(t.weight), dict(t.params), t.label)
        for t in expand_terms(facts.spec.reward)
    ]
