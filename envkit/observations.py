"""State observation terms and the named layout of the observation vector.

Each term knows its size from the spec alone (so the observation space exists
before the first reset) and fills its slice from the step's WorldState. The
layout maps names such as `object0.position` or `ee.fingers_width` to slices,
so a user can tell which index is which (`env.unwrapped.obs_layout`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envkit.hints import suggest
from envkit.robot import ARM_DOF
from envkit.spec import SHAPES, SceneSpec, TermSpec
from envkit.state import ObjectInstance, WorldState


def euler_from_quaternion(q: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw of (..., 4) quaternions (x, y, z, w); pybullet's convention."""
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    roll = np.arctan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2.0 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return np.stack([roll, pitch, yaw], axis=-1)


class ObsInput:
    """What observation terms read (kept minimal so terms stay backend-independent)."""

    __slots__ = ("state", "objects", "goal", "achieved")

    def __init__(
        self,
        state: WorldState,
        objects: list[ObjectInstance],
        goal: np.ndarray | None,
        achieved: np.ndarray | None,
    ) -> None:
        self.state = state
        self.objects = objects
        self.goal = goal
        self.achieved = achieved


class ObsTerm:
    """A block of the state vector: `layout()` names its parts, `__call__` fills them."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec

    def layout(self) -> list[tuple[str, int]]:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, inp: ObsInput) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


OBJECT_FIELDS = {
    "shape_onehot": 3,
    "dims": 3,
    "position": 3,
    "rotation": 3,
    "velocity": 3,
    "angular_velocity": 3,
}
EE_FIELDS = {
    "position": 3,
    "rotation": 3,
    "velocity": 3,
    "angular_velocity": 3,
    "fingers_width": 1,
}


def _check_fields(term: str, fields: list[str], allowed: dict[str, int]) -> list[str]:
    if not fields:
        raise ValueError(f"observation term '{term}': fields must not be empty")
    for f in fields:
        if f not in allowed:
            raise ValueError(
                f"observation term '{term}': unknown field '{f}'{suggest(f, list(allowed))} "
                f"Fields: {', '.join(allowed)}"
            )
    return list(fields)


class ObjectsObs(ObsTerm):
    """Per object: one-hot shape (cube, cylinder, sphere), half sizes, position, Euler rotation,
    linear and angular velocity (Task B's 18 values). Removed objects read as zeros."""

    def __init__(self, spec: SceneSpec, fields: list[str] | None = None) -> None:
        super().__init__(spec)
        self.fields = _check_fields("objects", fields or list(OBJECT_FIELDS), OBJECT_FIELDS)
        self.n = spec.objects.n
        self.per_object = sum(OBJECT_FIELDS[f] for f in self.fields)

    def layout(self) -> list[tuple[str, int]]:
        names = self.spec.object_names()
        return [(f"{names[i]}.{f}", OBJECT_FIELDS[f]) for i in range(self.n) for f in self.fields]

    def __call__(self, inp: ObsInput) -> np.ndarray:
        s = inp.state
        out = np.zeros((self.n, self.per_object))
        if self.n == 0:
            return out.ravel()
        needs_rot = "rotation" in self.fields
        rot = euler_from_quaternion(s.object_orientation) if needs_rot else None
        col = 0
        for f in self.fields:
            k = OBJECT_FIELDS[f]
            if f == "shape_onehot":
                for i, obj in enumerate(inp.objects):
                    out[i, col + SHAPES.index(obj.shape)] = 1.0
            elif f == "dims":
                for i, obj in enumerate(inp.objects):
                    out[i, col : col + 3] = obj.half_extents
            elif f == "position":
                out[:, col : col + 3] = s.object_position
            elif f == "rotation":
                out[:, col : col + 3] = rot
            elif f == "velocity":
                out[:, col : col + 3] = s.object_velocity
            elif f == "angular_velocity":
                out[:, col : col + 3] = s.object_angular_velocity
            col += k
        out[~s.object_active] = 0.0
        return out.ravel()


class EEObs(ObsTerm):
    """End effector: position, Euler rotation, linear and angular velocity, finger opening."""

    def __init__(self, spec: SceneSpec, fields: list[str] | None = None) -> None:
        super().__init__(spec)
        self.fields = _check_fields("ee", fields or list(EE_FIELDS), EE_FIELDS)

    def layout(self) -> list[tuple[str, int]]:
        return [(f"ee.{f}", EE_FIELDS[f]) for f in self.fields]

    def __call__(self, inp: ObsInput) -> np.ndarray:
        s = inp.state
        parts = []
        for f in self.fields:
            if f == "position":
                parts.append(s.ee_position)
            elif f == "rotation":
                parts.append(euler_from_quaternion(s.ee_orientation))
            elif f == "velocity":
                parts.append(s.ee_velocity)
            elif f == "angular_velocity":
                parts.append(s.ee_angular_velocity)
            else:
                parts.append((s.fingers_width,))
        return np.concatenate(parts) if len(parts) > 1 else np.asarray(parts[0], dtype=float)


class GoalObs(ObsTerm):
    """The goal position (a scene without a goal cannot use it)."""

    def __init__(self, spec: SceneSpec) -> None:
        super().__init__(spec)
        if spec.goal is None:
            raise ValueError("observation term 'goal' needs a goal section in the scene")

    def layout(self) -> list[tuple[str, int]]:
        return [("goal.position", 3)]

    def __call__(self, inp: ObsInput) -> np.ndarray:
        return inp.goal  # type: ignore[return-value]


class AchievedObs(GoalObs):
    """The point that must reach the goal (end effector or an object): panda-gym's achieved_goal."""

    def layout(self) -> list[tuple[str, int]]:
        return [("achieved.position", 3)]

    def __call__(self, inp: ObsInput) -> np.ndarray:
        return inp.achieved  # type: ignore[return-value]


class GoalRelativeObs(GoalObs):
    """Goal minus achieved point: the vector still to travel."""

    def layout(self) -> list[tuple[str, int]]:
        return [("goal.relative", 3)]

    def __call__(self, inp: ObsInput) -> np.ndarray:
        return inp.goal - inp.achieved  # type: ignore[operator]


class JointsObs(ObsTerm):
    """The 7 arm joint angles (read only when listed: it costs one extra simulator call)."""

    def layout(self) -> list[tuple[str, int]]:
        return [("robot.joints", ARM_DOF)]

    def __call__(self, inp: ObsInput) -> np.ndarray:
        return inp.state.joint_positions  # type: ignore[return-value]


OBS_TERMS: dict[str, Callable[..., ObsTerm]] = {
    "objects": ObjectsObs,
    "ee": EEObs,
    "goal": GoalObs,
    "achieved": AchievedObs,
    "goal_relative": GoalRelativeObs,
    "joints": JointsObs,
}


def build_obs_terms(spec: SceneSpec, terms: list[TermSpec]) -> list[ObsTerm]:
    """Instantiate observation terms; raises ValueError naming the term on bad input."""
    built = []
    for t in terms:
        cls = OBS_TERMS.get(t.term)
        if cls is None:
            raise ValueError(
                f"unknown observation term '{t.term}'{suggest(t.term, list(OBS_TERMS))} "
                f"Observation terms: {', '.join(OBS_TERMS)}"
            )
        try:
            built.append(cls(spec, **t.params))
        except TypeError as exc:
            raise ValueError(f"observation term '{t.term}': bad params {t.params} ({exc})") from None
    return built


def make_layout(terms: list[ObsTerm]) -> dict[str, slice]:
    """Name -> slice of every part of the flat state vector, in order."""
    layout: dict[str, slice] = {}
    start = 0
    for term in terms:
        for name, size in term.layout():
            layout[name] = slice(start, start + size)
            start += size
    return layout


def check_observation(spec: SceneSpec) -> list[tuple[tuple[Any, ...], str]]:
    """Observation problems as (field path, message) pairs, for `validate`."""
    problems = []
    for i, t in enumerate(spec.observation.state):
        try:
            build_obs_terms(spec, [t])
        except ValueError as exc:
            problems.append((("observation", "state", i), str(exc)))
    if not spec.observation.state and spec.observation.mode != "camera":
        problems.append((("observation", "state"), "no state observation terms; list at least one (e.g. ee)"))
    return problems
