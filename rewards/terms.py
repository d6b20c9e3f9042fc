"""Built-in reward terms. Each returns a magnitude or a count; the scene's weight sets the sign.

| term | returns | typical weight |
|---|---|---|
| time_penalty | 1 every step | negative |
| object_on_floor | objects that touched the floor this step | negative |
| object_in_bin | objects that reached any bin this step (correct or wrong) | positive |
| object_in_correct_bin | objects that reached a bin accepting their shape | positive |
| object_in_wrong_bin | objects that reached a bin not accepting their shape | negative |
| distance_progress | (previous - current goal distance) / distance at reset | positive |
| goal_distance | distance from the achieved point to the goal | negative |
| goal_distance_tanh | 1 - tanh(distance / std), a bounded kernel | positive |
| success_bonus | 1 on the step success is first reached (or every success step) | positive |
| collision | 1 when a pair in episode.terminate_on.collisions touches | negative |
| action_l2 | squared norm of the action | negative |
| ee_object_distance | distance from the end effector to the nearest remaining object | negative |
| object_lifted | objects whose bottom is `height` above their table | positive |
| object_bin_distance | distance from each remaining object to the nearest bin accepting its shape (0 inside) | negative, or as a potential's phi |
| object_height | height of each remaining object's bottom above its table, clipped to max_height | as a potential's phi (lift) |
| object_grasped | objects still in play that both gripper fingers touch | as a potential's phi (grasp) |
| held_bin_closeness | per object pinched by both fingers, max_distance minus its floor-plan distance to its bin | as a potential's phi (carry) |

Each registration states everything the analysis needs about its term: the scene
features it `requires`, whether it is a `state_function` (a valid potential), and its
lint `profile` (plain data the lint interprets). A new term is its function and its
`@register(...)`: nothing else to edit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from rewards.registry import LintProfile, positive, register

if TYPE_CHECKING:
    from envkit.context import StepContext


@register(state_function=False, profile=LintProfile.of("per_step", value=1.0))
def time_penalty(ctx: StepContext) -> float:
    """1 per step: with a negative weight, finishing sooner pays."""
    return 1.0


@register(
    requires=("objects",),
    state_function=False,
    profile=LintProfile.of("event", outcomes={"floor": 1.0}, count="objects", what="object on the floor"),
)
def object_on_floor(ctx: StepContext) -> float:
    """Objects that touched the floor this step (each object fires once)."""
    return float(len(ctx.events.on_floor))


@register(
    requires=("bins", "objects"),
    state_function=False,
    profile=LintProfile.of(
        "event", outcomes={"correct_bin": 1.0, "wrong_bin": 1.0}, count="objects", what="object in any bin"
    ),
)
def object_in_bin(ctx: StepContext) -> float:
    """Objects that reached any bin this step, right or wrong (Task B's 'reaches a bin')."""
    return float(len(ctx.events.in_bin))


@register(
    requires=("bins", "objects"),
    state_function=False,
    profile=LintProfile.of(
        "event", outcomes={"correct_bin": 1.0}, count="objects", what="object in its correct bin"
    ),
)
def object_in_correct_bin(ctx: StepContext) -> float:
    """Objects that reached a bin accepting their shape this step."""
    return float(ctx.events.n_correct)


@register(
    requires=("bins", "objects"),
    state_function=False,
    profile=LintProfile.of(
        "event", outcomes={"wrong_bin": 1.0}, count="objects", what="object in a wrong bin"
    ),
)
def object_in_wrong_bin(ctx: StepContext) -> float:
    """Objects that reached a bin not accepting their shape this step."""
    return float(ctx.events.n_wrong)


@register(requires=("goal",), state_function=False, profile=LintProfile.of("progress"))
def distance_progress(ctx: StepContext) -> float:
    """Task A's dense reward: progress towards the goal normalised by the distance at reset.

    Summed over an episode it telescopes to (d0 - d_T) / d0, so it is bounded by 1
    whatever the episode length.
    """
    d0 = ctx.initial_goal_distance
    if ctx.goal_distance is None or ctx.prev_goal_distance is None or not d0 or d0 < 1e-9:
        return 0.0
    return (ctx.prev_goal_distance - ctx.goal_distance) / d0


@register(
    requires=("goal",),
    state_function=True,
    profile=LintProfile.of("distance", to="goal", kernel="linear", what="distance"),
)
def goal_distance(ctx: StepContext) -> float:
    """Euclidean distance from the achieved point to the goal (panda-gym's dense reward with weight -1)."""
    return 0.0 if ctx.goal_distance is None else ctx.goal_distance


@register(
    requires=("goal",),
    state_function=True,
    profile=LintProfile.of("distance", to="goal", kernel="tanh", std_param="std", default_std=0.1),
    check=positive("std"),
)
def goal_distance_tanh(ctx: StepContext, std: float = 0.1) -> float:
    """1 - tanh(d / std): near 1 at the goal, near 0 far away; `std` sets the reach of the gradient."""
    if ctx.goal_distance is None:
        return 0.0
    if std <= 0:
        raise ValueError(f"goal_distance_tanh: std must be > 0, got {std}")
    return 1.0 - math.tanh(ctx.goal_distance / std)


@register(state_function=False, profile=LintProfile.of("success", once_param="once"))
def success_bonus(ctx: StepContext, once: bool = True) -> float:
    """1 when success is reached; with once=True only on the first success step of the episode."""
    return 1.0 if (ctx.first_success if once else ctx.success) else 0.0


@register(
    requires=("collisions",),
    state_function=False,
    profile=LintProfile.of(
        "event", outcomes={"collision": 1.0}, count=1, what="collision (it ends the episode)"
    ),
)
def collision(ctx: StepContext) -> float:
    """1 when any pair listed in episode.terminate_on.collisions touches."""
    return 1.0 if ctx.collision else 0.0


@register(state_function=False, profile=LintProfile.of("action_norm"))
def action_l2(ctx: StepContext) -> float:
    """Squared action norm: discourages jerky, maximal actions."""
    if ctx.action is None:
        return 0.0
    return float(np.dot(ctx.action, ctx.action))


@register(
    requires=("objects",),
    state_function=True,
    profile=LintProfile.of("distance", to="object", kernel="linear", what="hand-object distance"),
)
def ee_object_distance(ctx: StepContext) -> float:
    """Distance from the end effector to the nearest object still in play (0 when none is left)."""
    s = ctx.state
    if not s.object_active.any():
        return 0.0
    d = np.linalg.norm(s.object_position[s.object_active] - s.ee_position, axis=1)
    return float(d.min())


@register(requires=("objects",), state_function=True, profile=LintProfile.of("lifted"))
def object_lifted(ctx: StepContext, height: float = 0.04) -> float:
    """Objects still in play whose bottom is at least `height` above their table top."""
    return float(sum(bottom >= height for bottom in _bottoms_in_play(ctx)))


def _bottoms_in_play(ctx: StepContext) -> list[float]:
    """Height of each in-play object's bottom above the table the objects spawn on (metres)."""
    s = ctx.state
    top = ctx.spec.table(ctx.spec.objects.spawn.table).top
    return [float(s.object_position[i, 2] - obj.half_extents[2]) - top
            for i, obj in enumerate(ctx.objects) if s.object_active[i]]


@register(
    requires=("objects",),
    state_function=True,
    profile=LintProfile.of("height", param="max_height", default=0.06),
    check=positive("max_height"),
)
def object_height(ctx: StepContext, max_height: float = 0.06) -> float:
    """How high the objects still in play are held: per object, the height of its bottom above
    its table top, clipped to [0, max_height] metres, summed.

    Why: as a potential's phi (positive weight) it pays for lifting an object and takes the
    pay back when the object is put down, so it guides a grasp without rewarding holding.
    In Task B a grasped object goes where the hand goes while a pushed one slides or rolls
    (docs/task-b.md), and a 3-D `object_bin_distance` would charge for the lift.
    """
    return sum((min(max(bottom, 0.0), float(max_height)) for bottom in _bottoms_in_play(ctx)), 0.0)


@register(requires=("objects", "gripper"), state_function=True, profile=LintProfile.of("grasped"))
def object_grasped(ctx: StepContext) -> float:
    """Objects still in play that both gripper fingers touch (pinched, so they move with the hand).

    Why: with a grasp-and-carry design the first thing exploration must find is the pinch,
    and neither the hand's distance nor the object's height says when it happens: a hand
    can hover at an object forever without closing, and a lift pays only after the grasp.
    Used as a potential's phi (positive weight) it pays once for each grasp and takes it
    back on release, so it guides the agent without paying for holding; as a plain
    per-step term it pays for holding, and the lint says what that costs. It asks the
    backend for the contacts of the two finger links (`World.grasping`).
    """
    world = ctx.world
    if world is None:
        raise RuntimeError("object_grasped needs the backend world in the step context")
    active = ctx.state.object_active
    return float(sum(world.grasping(i) for i in range(len(ctx.objects)) if active[i]))  # type: ignore[attr-defined]


def _distance_to_own_bin(ctx: StepContext, shape: str, point: np.ndarray) -> float:
    """Distance from `point` (x, y or x, y, z) to the box of the nearest bin accepting `shape`
    (0 inside it; inf when no bin accepts it); 2 coordinates measure over the floor plan."""
    dims, best = len(point), math.inf
    for b in ctx.spec.bins:
        if b.accepts and shape not in b.accepts:
            continue
        lo = np.subtract(b.position, b.half_extents)[:dims]
        hi = np.add(b.position, b.half_extents)[:dims]
        best = min(best, float(np.linalg.norm(point - np.clip(point, lo, hi))))
    return best


@register(
    requires=("bins", "objects", "gripper"),
    state_function=True,
    profile=LintProfile.of("held_closeness", param="max_distance", default=0.5),
    check=positive("max_distance"),
)
def held_bin_closeness(ctx: StepContext, max_distance: float = 0.5) -> float:
    """For each object pinched by both fingers: `max_distance` minus its floor-plan distance to
    the nearest bin accepting its shape (clipped at 0); objects not held count 0. Summed.

    Why: as a potential's phi it shapes the carry and nothing else. `object_bin_distance`
    pays for moving an object towards its bin however it moves, so a push earns the same
    shaping as a carry; in Task B pushing is the local optimum PPO settles in (pushed
    objects slide off the table, docs/task-b.md). Here a push earns nothing, a grasp pays
    more the nearer the bin it happens, a carry towards the bin pays, and a release gives
    it all back, so the shaping still telescopes.
    """
    world = ctx.world
    if world is None:
        raise RuntimeError("held_bin_closeness needs the backend world in the step context")
    s, total = ctx.state, 0.0
    for i, obj in enumerate(ctx.objects):
        if not s.object_active[i] or not world.grasping(i):  # type: ignore[attr-defined]
            continue
        best = _distance_to_own_bin(ctx, obj.shape, s.object_position[i, :2])
        if math.isfinite(best):
            total += max(float(max_distance) - best, 0.0)
    return total


_REDUCE = ("sum", "min", "mean")


def _check_bin_distance(params: dict[str, Any]) -> list[str]:
    reduce = params.get("reduce", "sum")
    if reduce not in _REDUCE:
        return [f"reduce must be one of {', '.join(_REDUCE)}, got {reduce!r}"]
    if not isinstance(params.get("horizontal_only", False), bool):
        return ["horizontal_only must be true or false"]
    return []


@register(
    requires=("bins", "objects"),
    state_function=True,
    profile=LintProfile.of("distance", to="bin", kernel="linear", what="object-bin distance"),
    check=_check_bin_distance,
)
def object_bin_distance(ctx: StepContext, reduce: str = "sum", horizontal_only: bool = False) -> float:
    """How far the objects still in play are from a bin that accepts them.

    Per object: the distance from its centre to the nearest point of the box of the
    nearest bin accepting its shape (0 with the centre inside it; with
    `horizontal_only`, in x and y only, so a bin is a column over its footprint).
    Removed objects are done and count 0; an object no bin accepts counts 0 too
    (nothing to move it towards). `reduce` combines the objects: sum (every object
    counts), min (the closest one), mean. As a potential's phi it moves objects
    towards their bins, which `ee_object_distance` (the hand to an object) cannot.
    """
    s = ctx.state
    dims = 2 if horizontal_only else 3
    values = []
    for i, obj in enumerate(ctx.objects):
        if not s.object_active[i]:
            continue
        best = _distance_to_own_bin(ctx, obj.shape, s.object_position[i, :dims])
        values.append(best if math.isfinite(best) else 0.0)
    if not values:
        return 0.0
    if reduce == "min":
        return min(values)
    return float(sum(values) / len(values)) if reduce == "mean" else float(sum(values))
