"""Whole-scene checks: what a single field's validator cannot see (names, geometry, references).

`load_scene` runs them after the models validate: unique body names, bins and spawn
regions on a table, objects that fit, fixtures that fit their tool and table,
goals, success and termination rules that refer to things the scene has, camera
placement. Each problem is a (field path, message) pair, so the loader can name
the file and line.
"""

from __future__ import annotations

import math

from envkit.fixtures import check_fixtures
from envkit.hints import suggest
from envkit.spec import SceneSpec, TableSpec, max_half_extent


def check_scene(spec: SceneSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Geometric and cross-reference checks; returns (field path, message) pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []

    # unique names
    seen: dict[str, str] = {}
    groups = [("tables", [t.name for t in spec.tables]), ("bins", [b.name for b in spec.bins])]
    groups.append(("obstacles", [o.name for o in spec.obstacles]))
    groups.append(("objects.items", [it.name for it in spec.objects.items if it.name]))
    groups.append(("fixtures", [f.name for f in spec.fixtures]))
    if spec.tool is not None:
        groups.append(("tool", [spec.tool.name]))
    for where, names in groups:
        for i, n in enumerate(names):
            loc: tuple[str | int, ...] = (where, "name") if where == "tool" else (where, i, "name")
            if n in ("floor", "robot", "objects", "goal"):
                problems.append((loc, f"'{n}' is a reserved body name; choose another name"))
            elif n in seen:
                problems.append((loc, f"name '{n}' is already used by {seen[n]}; names must be unique"))
            else:
                seen[n] = f"{where}[{i}]"

    if not spec.tables:
        problems.append((("tables",), "a scene needs at least one table (the robot works on it)"))
        return problems

    def on_table(x: float, y: float, hx: float, hy: float) -> TableSpec | None:
        for t in spec.tables:
            x0, x1 = t.center[0] - t.size[0] / 2, t.center[0] + t.size[0] / 2
            y0, y1 = t.center[1] - t.size[1] / 2, t.center[1] + t.size[1] / 2
            if x - hx >= x0 - 1e-9 and x + hx <= x1 + 1e-9 and y - hy >= y0 - 1e-9 and y + hy <= y1 + 1e-9:
                return t
        return None

    def table_extents() -> str:
        return "; ".join(
            f"'{t.name}' spans x [{t.center[0] - t.size[0] / 2:.3g}, {t.center[0] + t.size[0] / 2:.3g}], "
            f"y [{t.center[1] - t.size[1] / 2:.3g}, {t.center[1] + t.size[1] / 2:.3g}]"
            for t in spec.tables
        )

    for i, b in enumerate(spec.bins):
        (x, y, _), (hx, hy, _) = b.position, b.half_extents
        if on_table(x, y, hx, hy) is None:
            problems.append(
                (
                    ("bins", i, "position"),
                    f"bin '{b.name}' (x {x - hx:.3g}..{x + hx:.3g}, y {y - hy:.3g}..{y + hy:.3g}) extends "
                    f"outside every table ({table_extents()}). Move the bin, shrink it, or enlarge a table.",
                )
            )

    # objects: spawn region on its table, objects fit, non-overlap feasible
    o = spec.objects
    n = o.n
    if o.items and o.count not in (0, len(o.items)):
        problems.append(
            (
                ("objects", "count"),
                f"count is {o.count} but {len(o.items)} items are listed; drop count or make them agree",
            )
        )
    if n > 0:
        try:
            table = spec.table(o.spawn.table)
        except KeyError:
            names = [t.name for t in spec.tables]
            problems.append(
                (
                    ("objects", "spawn", "table"),
                    f"unknown table '{o.spawn.table}'{suggest(o.spawn.table or '', names)} Tables: {', '.join(names)}",
                )
            )
            table = None
        h = max_half_extent(spec)
        (x0, x1), (y0, y1) = o.spawn.x, o.spawn.y
        if table is not None:
            tx0, tx1 = table.center[0] - table.size[0] / 2, table.center[0] + table.size[0] / 2
            ty0, ty1 = table.center[1] - table.size[1] / 2, table.center[1] + table.size[1] / 2
            if x0 - h < tx0 - 1e-9 or x1 + h > tx1 + 1e-9 or y0 - h < ty0 - 1e-9 or y1 + h > ty1 + 1e-9:
                problems.append(
                    (
                        ("objects", "spawn"),
                        f"objects spawned with centres in x [{x0}, {x1}], y [{y0}, {y1}] and half size up to "
                        f"{h:.3g} can overhang table '{table.name}' (x [{tx0:.3g}, {tx1:.3g}], "
                        f"y [{ty0:.3g}, {ty1:.3g}]). Shrink the spawn region or the objects.",
                    )
                )
        # a conservative area test: N bounding squares must fit in the region they can occupy
        r = math.hypot(h, h) + o.spawn.min_gap / 2
        region_area = (x1 - x0 + 2 * r) * (y1 - y0 + 2 * r)
        need = n * (2 * r) ** 2
        if n > 1 and need > region_area:
            problems.append(
                (
                    ("objects", "spawn"),
                    f"{n} objects of half size up to {h:.3g} (footprint {2 * r:.3g} m incl. min_gap) cannot be "
                    f"placed without overlap in a region of {x1 - x0 + 2 * r:.3g} x {y1 - y0 + 2 * r:.3g} m. "
                    "Enlarge spawn.x/spawn.y, reduce objects.count or size.base/scale.",
                )
            )
        for i, item in enumerate(o.items):
            if item.half_extents is not None and min(item.half_extents) <= 0:
                problems.append(((("objects", "items", i, "half_extents")), "half_extents must all be > 0"))
            if item.position is not None:
                px, py = item.position
                if not (x0 <= px <= x1 and y0 <= py <= y1) and table is not None:
                    hh = max(item.half_extents) if item.half_extents else h
                    if on_table(px, py, hh, hh) is None:
                        problems.append(
                            (
                                ("objects", "items", i, "position"),
                                f"position {list(item.position)} is not on any table ({table_extents()})",
                            )
                        )

    # tool & fixtures
    if spec.tool is not None and spec.robot.gripper:
        problems.append(
            (
                ("robot", "gripper"),
                f"the tool '{spec.tool.name}' is welded to the hand, so the fingers cannot open: set "
                "robot.gripper: false (they then hold the tool)",
            )
        )
    problems += check_fixtures(spec)
    ep = spec.episode
    for key, what in (("held_start", "puts an object in the gripper"), ("reach_start", "opens the hand around an object")):
        if getattr(ep, key) > 0 and not (spec.robot.gripper and spec.objects.n > 0):
            problems.append(
                (
                    ("episode", key),
                    f"a {key.replace('_', ' ')} {what}, but this scene has "
                    + ("no gripper (robot.gripper: false)" if not spec.robot.gripper else "no objects")
                    + f"; set episode.{key}: 0 or give the scene a gripper and objects",
                )
            )
    low, high = ep.reach_height
    if high > 0 and ep.reach_start <= 0:
        problems.append(
            (
                ("episode", "reach_height"),
                f"episode.reach_height [{low:g}, {high:g}] sets where reach starts put the hand, but "
                "episode.reach_start is 0, so there are none; set a reach_start share or remove reach_height",
            )
        )
    if ep.held_start + ep.reach_start > 1.0:
        problems.append(
            (
                ("episode", "reach_start"),
                f"episode.held_start ({ep.held_start:g}) and reach_start ({ep.reach_start:g}) are shares of the "
                "training episodes and add up to more than 1; lower one of them",
            )
        )

    # goal
    if spec.goal is not None and spec.goal.fixture is not None:
        names = [f.name for f in spec.fixtures]
        if spec.goal.fixture not in names:
            problems.append(
                (
                    ("goal", "fixture"),
                    f"unknown fixture '{spec.goal.fixture}'{suggest(spec.goal.fixture, names)} "
                    f"Fixtures: {', '.join(names) or 'none (add a fixtures section)'}",
                )
            )
    if spec.goal is not None and spec.goal.achieved == "tool_tip" and spec.tool is None:
        problems.append(
            (("goal", "achieved"), "'tool_tip' needs a `tool` section (a tool welded to the hand)")
        )
    if spec.goal is not None:
        idx = spec.goal.achieved_object
        if idx is not None and idx >= n:
            problems.append(
                (
                    ("goal", "achieved"),
                    f"'{spec.goal.achieved}' refers to object {idx} but the scene has {n} object(s) "
                    "(indices start at 0)",
                )
            )
    mode = spec.success_mode
    if mode == "goal_reached" and spec.goal is None:
        problems.append((("episode", "success"), "success 'goal_reached' needs a goal section"))
    if mode == "all_sorted" and (not spec.bins or n == 0):
        problems.append((("episode", "success"), "success 'all_sorted' needs bins and at least one object"))
    if spec.episode.terminate_on.success and mode == "none":
        problems.append(
            (
                ("episode", "terminate_on", "success"),
                "terminating on success needs a success condition: add a goal or bins, or set episode.success",
            )
        )
    if spec.episode.terminate_on.goal_distance_above is not None and spec.goal is None:
        problems.append(
            (("episode", "terminate_on", "goal_distance_above"), "goal_distance_above needs a goal section")
        )

    bodies = spec.body_names()
    for i, pair in enumerate(spec.episode.terminate_on.collisions):
        for j, name in enumerate(pair):
            if name not in bodies:
                problems.append(
                    (
                        ("episode", "terminate_on", "collisions", i, j),
                        f"unknown body '{name}'{suggest(name, bodies)} Known bodies: {', '.join(bodies)}",
                    )
                )
    colorable = [b for b in bodies if b not in ("robot", "objects")]
    for i, c in enumerate(spec.randomize.colors):
        if c.body not in colorable:
            problems.append(
                (
                    ("randomize", "colors", i, "body"),
                    f"unknown body '{c.body}'{suggest(c.body, colorable)} Bodies with a colour: {', '.join(colorable)}",
                )
            )

    problems += check_curriculum(spec)

    cam = spec.observation.camera_spec
    if cam is not None and cam.mount == "hand" and cam.position is None:
        problems.append(
            (
                ("observation", "camera", "position"),
                "a hand camera needs `position` (and optionally `target`) in the end-effector frame, e.g. "
                "position: [0.05, 0.0, -0.02] (z points out of the fingers)",
            )
        )
    return problems


def check_curriculum(spec: SceneSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """A curriculum's stages against each other and the scene.

    The scene's objects.count is the full task: it fixes the observation size, and the
    last stage must reach it because evaluation runs the last stage. A staged
    episode.reach_height only moves training starts (evaluation never uses them), so any
    stage may be last.
    """
    cur = spec.curriculum
    if cur is None:
        return []
    o = spec.objects
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, stage in enumerate(cur.stages):
        if i == 0 and stage.after_success is not None:
            problems.append(
                (
                    ("curriculum", "stages", i, "after_success"),
                    "the first stage is where training starts, so it has no after_success; remove it",
                )
            )
        if i > 0 and stage.after_success is None:
            problems.append(
                (
                    ("curriculum", "stages", i, "after_success"),
                    f"stage {i} needs after_success in (0, 1]: the success rate over the last {cur.window} "
                    f"episodes of stage {i - 1} that moves an env on, e.g. after_success: 0.8",
                )
            )
        if stage.reach_height is None:
            continue
        if spec.episode.reach_start <= 0:
            problems.append(
                (
                    ("curriculum", "stages", i, "episode.reach_height"),
                    f"stage {i} sets episode.reach_height, but the scene's episode.reach_start is 0, so no episode "
                    "starts with the hand at an object; set episode.reach_start (e.g. 0.5) or drop the key",
                )
            )
    if not any(stage.objects_count is not None for stage in cur.stages):
        return problems
    if o.items:
        return problems + [
            (
                ("curriculum",),
                f"a curriculum stages objects.count, but this scene lists {len(o.items)} explicit objects.items; "
                "use random objects (objects.count) or drop the curriculum",
            )
        ]
    previous = 0
    for i, stage in enumerate(cur.stages):
        loc: tuple[str | int, ...] = ("curriculum", "stages", i)
        k = o.count if stage.objects_count is None else stage.objects_count
        if k > o.count:
            problems.append(
                (
                    (*loc, "objects.count"),
                    f"stage {i} puts {k} objects in play but the scene has objects.count {o.count} (the maximum, "
                    f"which fixes the observation size); use 1..{o.count} or raise objects.count",
                )
            )
        if k < previous:
            problems.append(
                (
                    (*loc, "objects.count"),
                    f"stage {i} has {k} objects after a stage with {previous}; counts must not decrease",
                )
            )
        previous = max(previous, k)
    last = cur.stages[-1].objects_count or o.count
    if last < o.count:
        problems.append(
            (
                ("curriculum", "stages", len(cur.stages) - 1, "objects.count"),
                f"the last stage has {last} objects but the scene has objects.count {o.count}; the last stage "
                f"must be the full task (evaluation runs it): add a stage {{objects.count: {o.count}, "
                "after_success: 0.8}",
            )
        )
    goal = spec.goal
    idx = goal.achieved_object if goal is not None else None
    if idx is not None and idx >= (cur.stages[0].objects_count or o.count):
        problems.append(
            (
                ("curriculum", "stages", 0, "objects.count"),
                f"goal.achieved is object {idx}, which is out of play until a stage has {idx + 1} objects; "
                f"start with at least {idx + 1}",
            )
        )
    return problems
