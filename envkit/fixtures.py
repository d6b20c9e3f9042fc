"""Geometry of fixtures (a block with a hole), shared by the checks, the env and the backend.

Pure arithmetic on the spec, so the scene checks can say "the hole does not fit"
before any simulator starts, and every backend builds the same boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envkit.hints import suggest
from envkit.spec import FixtureSpec, SceneSpec, ToolSpec

#: Thinnest wall a hole block may have (m); thinner walls let a fast peg tunnel through.
MIN_WALL = 0.005


@dataclass(frozen=True)
class Box:
    """One box of a compound fixture: half sizes and centre in the fixture frame (origin on the table top)."""

    half_extents: tuple[float, float, float]
    center: tuple[float, float, float]


def hole_width(fixture: FixtureSpec, tool: ToolSpec | None) -> float:
    """Side of the square hole: the tool's width plus the clearance."""
    tool_width = tool.width if tool is not None else 0.0
    return tool_width + fixture.hole.clearance


def bottom_thickness(fixture: FixtureSpec) -> float:
    """Height of the plug under the hole (0 for a through hole)."""
    return max(0.0, fixture.size[2] - fixture.hole.depth)


def hole_block_boxes(fixture: FixtureSpec, tool: ToolSpec | None) -> list[Box]:
    """Four full-height walls around a square hole, plus a plug at the hole's bottom."""
    sx, sy, sz = fixture.size
    w = hole_width(fixture, tool)
    ty = (sy - w) / 2.0  # thickness of the walls along y
    tx = (sx - w) / 2.0
    hz = sz / 2.0
    boxes = [
        Box((sx / 2, ty / 2, hz), (0.0, w / 2 + ty / 2, hz)),
        Box((sx / 2, ty / 2, hz), (0.0, -(w / 2 + ty / 2), hz)),
        Box((tx / 2, w / 2, hz), (w / 2 + tx / 2, 0.0, hz)),
        Box((tx / 2, w / 2, hz), (-(w / 2 + tx / 2), 0.0, hz)),
    ]
    b = bottom_thickness(fixture)
    if b > 0:
        boxes.append(Box((w / 2, w / 2, b / 2), (0.0, 0.0, b / 2)))
    return boxes


def goal_point(fixture: FixtureSpec, base: np.ndarray) -> np.ndarray:
    """The hole's bottom centre, for a fixture whose frame origin is at `base` (x, y, table top)."""
    return base + np.array([0.0, 0.0, bottom_thickness(fixture)])


def nominal_goal(spec: SceneSpec) -> tuple[np.ndarray, np.ndarray]:
    """The goal's nominal position and the full widths (x, y, z) of its random offsets.

    For a goal that follows a fixture: the fixture's goal point at its nominal place
    (plus the goal's offset), and the fixture's x/y range. Used where no episode has
    been drawn yet (the goal marker's build position, reward-design estimates).
    """
    g = spec.goal
    if g is None:
        raise ValueError("the scene has no goal")
    if g.fixture is None:
        widths = [hi - lo for lo, hi in (g.range.x, g.range.y, g.range.z)]
        centre = np.array(g.position, dtype=float) + [
            sum(g.range.x) / 2,
            sum(g.range.y) / 2,
            sum(g.range.z) / 2,
        ]
        return centre, np.array(widths, dtype=float)
    f = spec.fixture(g.fixture)
    mid = np.array(
        [f.position[0] + sum(f.range.x) / 2, f.position[1] + sum(f.range.y) / 2, spec.table(f.table).top]
    )
    widths = np.array([f.range.x[1] - f.range.x[0], f.range.y[1] - f.range.y[0], 0.0])
    return goal_point(f, mid) + np.array(g.offset), widths


RIM_TOLERANCE = 0.001
"""m above the block's top that still counts as at the hole: a tool resting on the rim sits
from ~0.1 mm below to ~0.1 mm above the top, depending on the solver's penetration."""


def tip_in_hole(fixture: FixtureSpec, tool: ToolSpec | None, base: np.ndarray, tip: np.ndarray) -> bool:
    """Whether the tool's tip is at the hole: its centre within the hole's square and no higher
    than RIM_TOLERANCE above the block's top.

    Contact then is with the hole's walls or its rim, which `insertion_contact: allowed`
    forgives: an almost aligned peg jams (costing time) instead of ending the episode. The
    tolerance makes a peg resting on the rim count the same whether the solver lets it sink
    into the top or holds it just above.
    """
    half = hole_width(fixture, tool) / 2.0
    return bool(
        abs(tip[0] - base[0]) <= half
        and abs(tip[1] - base[1]) <= half
        and tip[2] <= base[2] + fixture.size[2] + RIM_TOLERANCE
    )


def check_fixtures(spec: SceneSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Whole-scene problems with fixtures, as (field path, message) pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, f in enumerate(spec.fixtures):
        try:
            table = spec.table(f.table)
        except KeyError:
            names = [t.name for t in spec.tables]
            problems.append(
                (
                    ("fixtures", i, "table"),
                    f"unknown table '{f.table}'{suggest(f.table or '', names)} Tables: {', '.join(names)}",
                )
            )
            continue
        if spec.tool is None:
            problems.append(
                (
                    ("fixtures", i, "hole"),
                    f"fixture '{f.name}' sizes its hole from the tool (width + clearance), but the scene has no "
                    "`tool` section; add one",
                )
            )
            continue
        w = hole_width(f, spec.tool)
        wall = (min(f.size[0], f.size[1]) - w) / 2
        if wall < MIN_WALL:
            problems.append(
                (
                    ("fixtures", i, "size"),
                    f"fixture '{f.name}': a {w:.3g} m hole (tool {spec.tool.width:.3g} m + clearance "
                    f"{f.hole.clearance:.3g} m) leaves walls of {wall:.3g} m in a {f.size[0]:.3g} x {f.size[1]:.3g} m "
                    f"block; walls need >= {MIN_WALL} m. Enlarge size or reduce the clearance.",
                )
            )
        if f.hole.depth > f.size[2] + 1e-12:
            problems.append(
                (
                    ("fixtures", i, "hole", "depth"),
                    f"fixture '{f.name}': hole depth {f.hole.depth} is deeper than the block ({f.size[2]} m tall)",
                )
            )
        (x, y), (sx, sy) = f.position, (f.size[0] / 2, f.size[1] / 2)
        x0, x1 = x + f.range.x[0] - sx, x + f.range.x[1] + sx
        y0, y1 = y + f.range.y[0] - sy, y + f.range.y[1] + sy
        tx0, tx1 = table.center[0] - table.size[0] / 2, table.center[0] + table.size[0] / 2
        ty0, ty1 = table.center[1] - table.size[1] / 2, table.center[1] + table.size[1] / 2
        if x0 < tx0 - 1e-9 or x1 > tx1 + 1e-9 or y0 < ty0 - 1e-9 or y1 > ty1 + 1e-9:
            problems.append(
                (
                    ("fixtures", i, "position"),
                    f"fixture '{f.name}' can reach x [{x0:.3g}, {x1:.3g}], y [{y0:.3g}, {y1:.3g}] (position +- range "
                    f"+- half size), beyond table '{table.name}' (x [{tx0:.3g}, {tx1:.3g}], y [{ty0:.3g}, {ty1:.3g}]). "
                    "Move it, shrink its range, or enlarge the table.",
                )
            )
    return problems
