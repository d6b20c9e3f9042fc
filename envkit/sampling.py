"""Reset-time draws of an episode's objects, goal and colours, all from the env's generator.

Each function draws the same number of values in the same order for a given spec,
whatever the values turn out to be, so `reset(seed=s)` fixes the episode and one
item's fixed settings do not shift the random stream of the others. The env calls
them (and `envkit.randomization`'s) in the order documented on `RandomizeSpec`.
"""

from __future__ import annotations

import math

import numpy as np

from envkit.errors import EnvkitError
from envkit.fixtures import goal_point
from envkit.spec import SceneSpec, footprint_radius
from envkit.state import ObjectInstance


class PlacementError(EnvkitError):
    """Objects could not be placed without overlap at reset."""


def sample_objects(spec: SceneSpec, rng: np.random.Generator) -> list[ObjectInstance]:
    """The episode's objects: shape, size, mass, colour and a pose on their table without overlap."""
    o = spec.objects
    if o.n == 0:
        return []
    table = spec.table(o.spawn.table)
    names = spec.object_names()
    objects: list[ObjectInstance] = []
    placed: list[tuple[float, float, float]] = []  # x, y, footprint radius
    for i in range(o.n):
        item = o.items[i] if o.items else None
        # Draw every random quantity even when an item fixes it, so one item's
        # settings do not shift the random stream of the others.
        shape_draw = o.shapes[int(rng.integers(len(o.shapes)))]
        scale = rng.uniform(o.size.scale[0], o.size.scale[1], size=3)
        color_index = int(rng.integers(len(o.color.palette)))
        rgb = rng.uniform(0.0, 1.0, size=3)
        yaw = float(rng.uniform(*o.spawn.yaw))
        shape = item.shape if item is not None and item.shape else shape_draw
        if item is not None and item.half_extents is not None:
            he = np.array(item.half_extents, dtype=float)
        else:
            he = o.size.base * scale
        if shape == "cylinder":
            he = np.array([he[0], he[0], he[2]])
        elif shape == "sphere":
            he = np.array([he[0], he[0], he[0]])
        if item is not None and item.mass is not None:
            mass = item.mass
        elif o.mass.rule == "fixed":
            mass = o.mass.value
        else:
            mass = o.mass.density * _volume(shape, he)
        if item is not None and item.color is not None:
            color = np.array(item.color, dtype=float)
        elif o.color.mode == "palette":
            color = np.array(o.color.palette[color_index], dtype=float)
        else:
            color = np.array([*rgb, 1.0])
        r = footprint_radius(shape, he)
        if item is not None and item.position is not None:
            x, y = item.position
        else:
            for _ in range(o.spawn.max_tries):
                x = float(rng.uniform(*o.spawn.x))
                y = float(rng.uniform(*o.spawn.y))
                if all(math.hypot(x - px, y - py) >= r + pr + o.spawn.min_gap for px, py, pr in placed):
                    break
            else:
                raise PlacementError(
                    f"scene '{spec.name}': could not place object {i} ({shape}, footprint radius "
                    f"{r:.3f} m) without overlapping the {len(placed)} already placed, after "
                    f"{o.spawn.max_tries} tries (objects.spawn.max_tries). Enlarge objects.spawn.x/y, "
                    "reduce objects.count or objects.size, or raise max_tries."
                )
        placed.append((x, y, r))
        position = np.array([x, y, table.top + he[2]])
        orientation = np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
        objects.append(ObjectInstance(names[i], shape, he, float(mass), color, position, orientation))
    return objects


def sample_goal(
    spec: SceneSpec, rng: np.random.Generator, fixtures: dict[str, np.ndarray]
) -> np.ndarray | None:
    """The goal this episode: a fixture's goal point (+ offset), or the nominal position + U(range)."""
    g = spec.goal
    if g is None:
        return None
    if g.fixture is not None:
        f = spec.fixture(g.fixture)
        return goal_point(f, fixtures[g.fixture]) + np.array(g.offset)
    low = np.array([g.range.x[0], g.range.y[0], g.range.z[0]])
    high = np.array([g.range.x[1], g.range.y[1], g.range.z[1]])
    return np.array(g.position, dtype=float) + rng.uniform(low, high)


def sample_colors(spec: SceneSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """RGBA of every body listed in randomize.colors, uniform in its [low, high] box."""
    colors = {}
    for c in spec.randomize.colors:
        rgb = rng.uniform(np.array(c.low), np.array(c.high))
        colors[c.body] = np.array([*rgb, 1.0])
    return colors


def _volume(shape: str, he: np.ndarray) -> float:
    if shape == "cube":
        return float(8.0 * he[0] * he[1] * he[2])
    if shape == "cylinder":
        return float(math.pi * he[0] ** 2 * 2.0 * he[2])
    return float(4.0 / 3.0 * math.pi * he[0] ** 3)
