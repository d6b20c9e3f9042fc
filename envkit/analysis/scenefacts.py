"""What a scene allows, and roughly how fast: the facts the reward lint reasons from.

The lint never starts the simulator, so times are *estimates* from the geometry:
the end effector moves at most `robot.ee_step` metres per step in a straight line,
objects fall freely, and a skilled policy wastes no step. Both the quick exits
(knock everything off the table) and the quick successes are estimated with the
same optimism, so comparing their returns is fair even though each is a lower
bound on the real number of steps. Every estimate is listed by `envkit lint -v`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from envkit.robot import NEUTRAL_EE_OFFSET, action_size
from envkit.spec import SceneSpec

#: Height an object is lifted before it is carried (m).
LIFT_HEIGHT = 0.05
#: Steps to close the gripper on an object.
GRASP_STEPS = 2
#: In joint control, metres the hand moves per radian of joint motion (a mid-arm lever).
JOINT_LEVER = 0.5


@dataclass
class Route:
    """One way an episode can go: how many steps it takes and which outcomes it collects.

    `outcomes` counts the outcome events at the end of the route ('correct_bin',
    'wrong_bin', 'floor', 'collision', 'success', 'progress').
    """

    name: str
    steps: int
    outcomes: dict[str, float]
    terminates: bool
    how: str


@dataclass
class SceneFacts:
    """Scene facts relevant to reward design, with the estimates the lint uses."""

    spec: SceneSpec
    gamma: float
    n_objects: int
    shapes: tuple[str, ...]
    n_actions: int
    max_steps: int
    dt: float
    speed: float  # metres the hand moves per step, at most
    ee_start: np.ndarray
    object_start: np.ndarray | None  # centre of the spawn region (or mean of fixed positions)
    goal_start: np.ndarray | None
    wrong_bin_possible: bool
    correct_bin_possible: bool
    success_possible: bool
    success_terminates: bool
    typical_goal_distance: float
    typical_object_distance: float
    typical_bin_distance: float  # spawn centre to the nearest bin accepting a spawnable shape
    max_distance: float
    possible: dict[str, bool] = field(default_factory=dict)
    exits: list[Route] = field(default_factory=list)
    success: Route | None = None
    notes: list[str] = field(default_factory=list)

    def discounted_steps(self, n: int) -> float:
        """sum_{t<n} gamma^t: the weight of a constant per-step reward over n steps."""
        if self.gamma >= 1.0:
            return float(n)
        return (1.0 - self.gamma**n) / (1.0 - self.gamma)

    def discount_at(self, step: int) -> float:
        """Discount of a reward received on step `step` (1-based)."""
        return self.gamma ** max(step - 1, 0)


def _steps(distance: float, speed: float) -> int:
    return max(1, math.ceil(max(distance, 0.0) / speed - 1e-9))


def _spawn_shapes(spec: SceneSpec) -> tuple[str, ...]:
    o = spec.objects
    if not o.items:
        return tuple(o.shapes) if o.count > 0 else ()
    shapes: set[str] = set()
    for item in o.items:
        shapes |= {item.shape} if item.shape else set(o.shapes)
    return tuple(sorted(shapes))


def _rms_distance(a: np.ndarray, centre: np.ndarray, widths: np.ndarray) -> float:
    """RMS distance from point a to a point uniform in a box (centre, full widths)."""
    return float(math.sqrt(float(np.sum((a - centre) ** 2)) + float(np.sum(widths**2)) / 12.0))


def scene_facts(spec: SceneSpec, gamma: float = 0.99) -> SceneFacts:
    """Derive the lint's facts and route estimates from a validated scene."""
    r = spec.robot
    n = spec.objects.n
    shapes = _spawn_shapes(spec)
    n_act = action_size(r.control, r.gripper)
    dt = spec.physics.timestep * spec.physics.substeps
    speed = r.ee_step if r.control == "ee" else r.joint_step * JOINT_LEVER
    ee = np.asarray(r.base_position, dtype=float) + NEUTRAL_EE_OFFSET
    notes = [
        f"hand starts at ({ee[0]:.2f}, {ee[1]:.2f}, {ee[2]:.2f}) and moves at most {speed:.3g} m per step"
        + (" (joint control: assumed 0.5 m lever per radian)" if r.control != "ee" else "")
    ]

    # -- objects and bins -----------------------------------------------------------
    table = spec.table(spec.objects.spawn.table) if n else spec.tables[0]
    obj = None
    obj_widths = np.zeros(3)
    if n:
        sp = spec.objects.spawn
        fixed = [it.position for it in spec.objects.items if it.position is not None]
        if fixed and len(fixed) == n:
            xy = np.mean(np.array(fixed, dtype=float), axis=0)
        else:
            xy = np.array([(sp.x[0] + sp.x[1]) / 2, (sp.y[0] + sp.y[1]) / 2])
            obj_widths = np.array([sp.x[1] - sp.x[0], sp.y[1] - sp.y[0], 0.0])
        obj = np.array([xy[0], xy[1], table.top + spec.objects.size.base])
    bins = spec.bins
    wrong_possible = bool(n and any(s not in b.accepts for s in shapes for b in bins if b.accepts))
    correct_possible = bool(n and any(not b.accepts or s in b.accepts for s in shapes for b in bins))
    removes = any(b.on_contact == "remove" for b in bins)
    rules = spec.episode.terminate_on
    mode = spec.success_mode
    if mode == "all_sorted":
        success_possible = correct_possible
        success_terminates = rules.success or (rules.all_objects_removed and removes)
    elif mode == "goal_reached":
        success_possible = spec.goal is not None
        success_terminates = rules.success
    else:
        success_possible = False
        success_terminates = False

    goal = None
    d_goal = 0.0
    if spec.goal is not None:
        from envkit.fixtures import nominal_goal

        g = spec.goal
        centre, gw = nominal_goal(spec)  # a goal may follow a fixture (no fixed position)
        goal = np.asarray(g.position, dtype=float) if g.position is not None else centre
        by_object = g.achieved_object is not None and obj is not None
        start = obj if by_object else ee
        if g.achieved == "tool_tip" and spec.tool is not None:
            start = ee - np.array([0.0, 0.0, spec.tool.tip_depth])
        d_goal = _rms_distance(start, centre, gw + (obj_widths if by_object else 0.0))
    d_obj = _rms_distance(ee, obj, obj_widths) if obj is not None else 0.0
    d_bin = _bin_distance(spec, obj, shapes) if obj is not None else 0.0
    t0 = spec.tables[0]
    max_distance = float(math.hypot(t0.size[0], t0.size[1]))

    possible = {
        "correct_bin": correct_possible,
        "wrong_bin": wrong_possible,
        "floor": bool(n and spec.physics.gravity < 0),
        "collision": bool(rules.collisions),
        "success": success_possible,
        "progress": spec.goal is not None,
    }

    facts = SceneFacts(
        spec=spec,
        gamma=gamma,
        n_objects=n,
        shapes=shapes,
        n_actions=n_act,
        max_steps=spec.episode.max_steps,
        dt=dt,
        speed=speed,
        ee_start=ee,
        object_start=obj,
        goal_start=goal,
        wrong_bin_possible=wrong_possible,
        correct_bin_possible=correct_possible,
        success_possible=success_possible,
        success_terminates=success_terminates,
        typical_goal_distance=d_goal,
        typical_object_distance=d_obj,
        typical_bin_distance=d_bin,
        max_distance=max_distance,
        possible=possible,
        notes=notes,
    )
    facts.success = _success_route(facts)
    facts.exits = _exit_routes(facts)
    return facts


def _bin_distance(spec: SceneSpec, obj: np.ndarray, shapes: tuple[str, ...]) -> float:
    """Mean over spawnable shapes of the distance from the spawn centre to the nearest
    accepting bin's box (what `object_bin_distance` starts from on a typical reset)."""
    per_shape = []
    for shape in shapes:
        d = [
            float(np.linalg.norm(obj - np.clip(obj, np.subtract(b.position, b.half_extents),
                                                np.add(b.position, b.half_extents))))
            for b in spec.bins
            if not b.accepts or shape in b.accepts
        ]
        if d:
            per_shape.append(min(d))
    return float(np.mean(per_shape)) if per_shape else 0.0


# ----------------------------------------------------------------------------- routes


def _fall_steps(spec: SceneSpec, height: float, dt: float) -> int | None:
    g = -spec.physics.gravity
    if g <= 0 or height <= 0:
        return None
    return max(1, math.ceil(math.sqrt(2.0 * height / g) / dt))


def _sort_steps(f: SceneFacts, correct: bool) -> int:
    """Steps to carry every object into a (correct or wrong) bin, one after the other."""
    spec = f.spec
    assert f.object_start is not None
    if correct:
        chosen = [b for b in spec.bins if not b.accepts or any(s in b.accepts for s in f.shapes)]
    else:
        chosen = [b for b in spec.bins if b.accepts and any(s not in b.accepts for s in f.shapes)]
    targets = [np.asarray(b.position, dtype=float) for b in (chosen or spec.bins)]
    carry = float(np.mean([np.linalg.norm(t[:2] - f.object_start[:2]) for t in targets]))
    reach = _steps(float(np.linalg.norm(f.ee_start - f.object_start)), f.speed)
    per_object = _steps(carry, f.speed)
    if spec.robot.gripper:
        per_object += GRASP_STEPS + _steps(LIFT_HEIGHT, f.speed)
    back = _steps(carry, f.speed)
    return reach + f.n_objects * per_object + (f.n_objects - 1) * back


def _success_route(f: SceneFacts) -> Route | None:
    spec = f.spec
    if not f.success_possible:
        return None
    if spec.success_mode == "all_sorted":
        steps = _sort_steps(f, correct=True)
        outcomes = {"correct_bin": float(f.n_objects), "success": 1.0}
        how = f"grasp and carry each of the {f.n_objects} object(s) to its bin"
    else:
        g = spec.goal
        assert g is not None
        steps = _steps(f.typical_goal_distance - g.threshold, f.speed) + 1
        if g.achieved_object is not None and f.object_start is not None:
            steps += _steps(float(np.linalg.norm(f.ee_start - f.object_start)), f.speed)
        outcomes = {"success": 1.0, "progress": 1.0}
        how = "move straight to the goal"
    if steps >= f.max_steps:
        f.notes.append(
            f"a fast success ({how}) needs about {steps} steps, more than the {f.max_steps}-step limit: "
            "the lint treats success as unreachable"
        )
        return None
    return Route("success", steps, outcomes, f.success_terminates, how)


def _body_point(f: SceneFacts, name: str) -> np.ndarray | None:
    spec = f.spec
    if name == "robot":
        return f.ee_start
    if name == "objects" or name in spec.object_names():
        return f.object_start
    if name == "goal":
        return f.goal_start
    if name == "floor":
        return np.array([f.ee_start[0], f.ee_start[1], spec.floor.height])
    for t in spec.tables:
        if t.name == name:
            return np.array([f.ee_start[0], f.ee_start[1], t.top])
    for b in list(spec.bins) + list(spec.obstacles):
        if b.name == name:
            return np.asarray(b.position, dtype=float)
    return None


def _collision_steps(f: SceneFacts, a: str, b: str) -> int | None:
    spec = f.spec
    objects = {"objects", *spec.object_names()}
    table_names = {t.name for t in spec.tables}
    if {a, b} & objects and {a, b} & table_names:
        return 1  # objects rest on their table from the first step
    if "robot" in (a, b):
        other = b if a == "robot" else a
        p = _body_point(f, other)
        if p is None:
            return None
        low = spec.robot.ee_min_height
        if low is not None and p[2] < low - 0.05:
            return None  # the hand is clipped above it
        return _steps(float(np.linalg.norm(f.ee_start - p)), f.speed)
    if {a, b} & objects:
        other = b if a in objects else a
        if other == "floor":
            return _floor_steps(f)
        p = _body_point(f, other)
        if p is None or f.object_start is None:
            return None
        reach = _steps(float(np.linalg.norm(f.ee_start - f.object_start)), f.speed)
        return reach + _steps(float(np.linalg.norm(f.object_start - p)), f.speed)
    pa, pb = _body_point(f, a), _body_point(f, b)
    if pa is None or pb is None:
        return None
    return _steps(float(np.linalg.norm(pa - pb)), f.speed)


def _edge_distance(f: SceneFacts) -> float:
    spec = f.spec
    assert f.object_start is not None
    t = spec.table(spec.objects.spawn.table)
    x, y = f.object_start[:2]
    x0, x1 = t.center[0] - t.size[0] / 2, t.center[0] + t.size[0] / 2
    y0, y1 = t.center[1] - t.size[1] / 2, t.center[1] + t.size[1] / 2
    return min(x - x0, x1 - x, y - y0, y1 - y) + spec.objects.size.base


def _floor_steps(f: SceneFacts, to_floor: bool = True) -> int | None:
    spec = f.spec
    if f.object_start is None:
        return None
    t = spec.table(spec.objects.spawn.table)
    fall = _fall_steps(spec, t.top - spec.floor.height, f.dt) if to_floor else 1
    if fall is None:
        return None
    reach = _steps(float(np.linalg.norm(f.ee_start - f.object_start)), f.speed)
    push = _steps(_edge_distance(f), f.speed)
    n = f.n_objects if to_floor else 1
    return reach + n * push + (n - 1) * push + fall


def _exit_routes(f: SceneFacts) -> list[Route]:
    """Every quick way to end the episode for real without succeeding."""
    spec = f.spec
    rules = spec.episode.terminate_on
    n = f.n_objects
    routes: list[Route] = []
    if n and rules.all_objects_removed and spec.floor.removes_objects:
        steps = _floor_steps(f)
        if steps is not None:
            routes.append(
                Route(
                    "floor",
                    steps,
                    {"floor": float(n)},
                    True,
                    f"push each of the {n} object(s) over the nearest table edge; all removed ends the episode",
                )
            )
    if n and rules.object_off_table:
        steps = _floor_steps(f, to_floor=False)
        if steps is not None:
            routes.append(Route("off_table", steps, {}, True, "push one object over the table edge"))
    removes = any(b.on_contact == "remove" for b in spec.bins)
    if n and rules.all_objects_removed and removes and f.wrong_bin_possible:
        routes.append(
            Route(
                "wrong_bin",
                _sort_steps(f, correct=False),
                {"wrong_bin": float(n)},
                True,
                f"drop each of the {n} object(s) into a wrong bin; all removed ends the episode",
            )
        )
    for a, b in rules.collisions:
        steps = _collision_steps(f, a, b)
        if steps is not None:
            routes.append(Route(f"collision:{a}-{b}", steps, {"collision": 1.0}, True, f"make {a} touch {b}"))
    if rules.goal_distance_above is not None and spec.goal is not None:
        steps = _steps(rules.goal_distance_above - f.typical_goal_distance, f.speed) + 1
        if spec.goal.achieved_object is not None and f.object_start is not None:
            steps += _steps(float(np.linalg.norm(f.ee_start - f.object_start)), f.speed)
        routes.append(
            Route(
                "too_far",
                steps,
                {},
                True,
                f"move the {'hand' if spec.goal.achieved_object is None else 'object'} "
                f"{rules.goal_distance_above} m away from the goal",
            )
        )
    # a route that cannot finish before the time limit is not an early exit
    return [r for r in routes if r.steps < f.max_steps]
