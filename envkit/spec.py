"""The scene spec: typed, validated models of a scene YAML, with every default in one place.

A scene file is plain YAML. `load_scene()` parses it, applies dotted overrides,
validates it into `SceneSpec` and runs the geometric checks that need the whole
scene (bins on a table, objects that fit their spawn region, ...). Every problem
becomes one paragraph naming the file, line and field path, collected into one
`SpecError` so a user fixes them all in one go.

Conventions (metres, radians, panda-gym's world frame: z up, table top at z=0):
- `half_extents` are half sizes, as pybullet takes them; objects' `size.base` is a
  half size too (a cube of base 0.025 is 5 cm wide).
- Colours are RGBA in [0, 1].
- Ranges are `[low, high]` pairs with low <= high.
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SHAPES: tuple[str, ...] = ("cube", "cylinder", "sphere")
Shape = Literal["cube", "cylinder", "sphere"]

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]
RGBA = tuple[
    Annotated[float, Field(ge=0.0, le=1.0)],
    Annotated[float, Field(ge=0.0, le=1.0)],
    Annotated[float, Field(ge=0.0, le=1.0)],
    Annotated[float, Field(ge=0.0, le=1.0)],
]
RGB = tuple[
    Annotated[float, Field(ge=0.0, le=1.0)],
    Annotated[float, Field(ge=0.0, le=1.0)],
    Annotated[float, Field(ge=0.0, le=1.0)],
]
Range = tuple[float, float]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=64)]


def _check_range(value: Range, what: str = "range") -> Range:
    lo, hi = value
    if lo > hi:
        raise ValueError(f"{what} [{lo}, {hi}] has low > high; write it as [low, high]")
    return value


def suggest(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    """Ends a sentence: "; did you mean 'x'?" when a candidate is close, else "."."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else "."


class Strict(BaseModel):
    """Base of every spec model: unknown keys are errors with a 'did you mean'."""

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    raise ValueError(
                        f"unknown key '{key}'{suggest(str(key), known)} Valid keys here: {', '.join(known)}"
                    )
        return data


# ----------------------------------------------------------------------------- physics & robot


class PhysicsSpec(Strict):
    """Simulator timing. One env step = `substeps` x `timestep` seconds (panda-gym: 20 x 1/500 s)."""

    timestep: float = Field(1.0 / 500.0, gt=0.0, le=0.05, description="physics substep, seconds")
    substeps: int = Field(20, ge=1, le=1000, description="physics substeps per env step")
    gravity: float = Field(-9.81, description="gravity along z, m/s^2")


class RobotSpec(Strict):
    """The arm: panda-gym's Franka Panda model and how actions drive it."""

    model: Literal["panda"] = Field("panda", description="robot model (the Franka Panda of panda-gym)")
    base_position: Vec3 = Field((-0.6, 0.0, 0.0), description="base position (x, y, z)")
    control: Literal["ee", "joints"] = Field(
        "ee",
        description="ee: (dx, dy, dz) end-effector displacement solved by inverse kinematics; "
        "joints: 7 joint-angle deltas",
    )
    ee_step: float = Field(
        0.05, gt=0.0, le=0.5, description="metres moved per unit of action in ee mode (Task A: 0.005)"
    )
    joint_step: float = Field(0.05, gt=0.0, le=1.0, description="radians per unit of action in joints mode")
    gripper: bool = Field(
        True,
        description="true: the last action component opens/closes the fingers; false: fingers held closed",
    )
    gripper_step: float = Field(0.2, gt=0.0, le=1.0, description="finger-width change (m) per unit of action")
    ee_min_height: float | None = Field(
        0.0, description="lowest end-effector target height (panda-gym clips at 0); null = no clip"
    )


# ----------------------------------------------------------------------------- static scene


class FloorSpec(Strict):
    """The ground plane under the tables."""

    height: float = Field(-0.4, description="z of the floor surface")
    color: RGBA = (0.15, 0.15, 0.15, 1.0)
    removes_objects: bool = Field(
        True, description="an object touching the floor is removed and fires an 'on_floor' event"
    )


class TableSpec(Strict):
    """A table: a box from the floor up to `top`."""

    name: Name = "table"
    size: Vec2 = Field((0.8, 0.8), description="top size along x and y")
    center: Vec2 = Field((-0.3, 0.0), description="centre of the top, (x, y)")
    top: float = Field(0.0, description="z of the table top")
    color: RGBA = (0.95, 0.95, 0.95, 1.0)
    lateral_friction: float | None = Field(None, ge=0.0)

    @field_validator("size")
    @classmethod
    def _positive(cls, v: Vec2) -> Vec2:
        if min(v) <= 0:
            raise ValueError(f"table size must be positive along x and y, got {list(v)}")
        return v


class BinSpec(Strict):
    """A scoring zone: an object that touches it fires an event (correct or wrong bin)."""

    name: Name
    position: Vec3 = Field(description="centre of the bin box")
    half_extents: Vec3
    color: RGBA = (0.5, 0.5, 0.5, 0.4)
    accepts: list[Shape] = Field(
        default_factory=list, description="shapes this bin is correct for; empty = every shape"
    )
    on_contact: Literal["remove", "event"] = Field(
        "remove", description="remove: the object disappears and scores once; event: it scores once and stays"
    )

    @field_validator("half_extents")
    @classmethod
    def _positive(cls, v: Vec3) -> Vec3:
        if min(v) <= 0:
            raise ValueError(f"half_extents must all be > 0, got {list(v)}")
        return v


class ObstacleSpec(Strict):
    """A static box, e.g. Task B's blocker bar."""

    name: Name
    position: Vec3
    half_extents: Vec3
    yaw: float = Field(0.0, description="rotation about z, radians")
    color: RGBA = (0.0, 0.0, 0.0, 1.0)

    @field_validator("half_extents")
    @classmethod
    def _positive(cls, v: Vec3) -> Vec3:
        if min(v) <= 0:
            raise ValueError(f"half_extents must all be > 0, got {list(v)}")
        return v


# ----------------------------------------------------------------------------- objects


class SizeSpec(Strict):
    """Object size: each half-dimension is `base` times an independent U(scale) draw."""

    base: float = Field(0.025, gt=0.0, le=0.5, description="nominal half size (m); radius for spheres")
    scale: Range = Field((0.5, 1.5), description="per-dimension multiplier range")

    @field_validator("scale")
    @classmethod
    def _range(cls, v: Range) -> Range:
        _check_range(v, "scale")
        if v[0] <= 0:
            raise ValueError(f"scale must be > 0, got [{v[0]}, {v[1]}]")
        return v


class MassSpec(Strict):
    """Object mass: fixed, or proportional to volume."""

    rule: Literal["fixed", "volume"] = "volume"
    value: float = Field(0.1, gt=0.0, description="kg, when rule is fixed")
    density: float = Field(1000.0, gt=0.0, description="kg/m^3, when rule is volume")


DEFAULT_PALETTE: list[tuple[float, float, float, float]] = [
    (0.90, 0.60, 0.10, 1.0),
    (0.60, 0.20, 0.80, 1.0),
    (0.10, 0.80, 0.80, 1.0),
    (0.95, 0.90, 0.20, 1.0),
    (0.90, 0.40, 0.60, 1.0),
    (0.50, 0.35, 0.20, 1.0),
]


class ColorSpec(Strict):
    """Object colours: drawn from a palette, or uniformly random RGB."""

    mode: Literal["palette", "random"] = "palette"
    palette: list[RGBA] = Field(default_factory=lambda: list(DEFAULT_PALETTE), min_length=1)


class SpawnSpec(Strict):
    """Where object centres are drawn at reset, uniformly, without overlap."""

    table: Name | None = Field(None, description="table the objects rest on; default: the first table")
    x: Range = Field((-0.06, 0.06), description="range of object-centre x (world frame)")
    y: Range = Field((-0.2, 0.2), description="range of object-centre y (world frame)")
    yaw: Range = Field((0.0, 0.0), description="range of rotation about z, radians")
    min_gap: float = Field(0.005, ge=0.0, description="minimum clearance between objects' footprints")
    max_tries: int = Field(200, ge=1, le=100000, description="placement attempts before giving up")

    @field_validator("x", "y", "yaw")
    @classmethod
    def _range(cls, v: Range) -> Range:
        return _check_range(v)


class ObjectItem(Strict):
    """One explicit object; any field left out is drawn as for random objects."""

    name: Name | None = None
    shape: Shape | None = None
    half_extents: Vec3 | None = None
    mass: float | None = Field(None, gt=0.0)
    color: RGBA | None = None
    position: Vec2 | None = Field(None, description="fixed centre (x, y); z rests on the table")


class ObjectsSpec(Strict):
    """Movable objects spawned at every reset (Task B: random shape, size and colour)."""

    count: int = Field(0, ge=0, le=50, description="number of random objects (ignored when items are given)")
    shapes: list[Shape] = Field(default_factory=lambda: list(SHAPES), min_length=1)
    size: SizeSpec = Field(default_factory=SizeSpec)
    mass: MassSpec = Field(default_factory=MassSpec)
    color: ColorSpec = Field(default_factory=ColorSpec)
    spawn: SpawnSpec = Field(default_factory=SpawnSpec)
    items: list[ObjectItem] = Field(default_factory=list, description="explicit objects; overrides count")
    lateral_friction: float | None = Field(None, ge=0.0)
    spinning_friction: float | None = Field(None, ge=0.0)

    @property
    def n(self) -> int:
        return len(self.items) if self.items else self.count


# ----------------------------------------------------------------------------- goal & randomisation


class GoalRangeSpec(Strict):
    """Uniform offsets added to the nominal goal at each reset."""

    x: Range = (0.0, 0.0)
    y: Range = (0.0, 0.0)
    z: Range = (0.0, 0.0)

    @field_validator("x", "y", "z")
    @classmethod
    def _range(cls, v: Range) -> Range:
        return _check_range(v)


class GoalSpec(Strict):
    """A target position for reach/push/peg-style tasks."""

    position: Vec3 = Field(description="nominal goal position")
    range: GoalRangeSpec = Field(default_factory=GoalRangeSpec)
    achieved: str = Field(
        "ee", description="what must reach the goal: 'ee' (end effector) or 'object:<index>'"
    )
    threshold: float = Field(0.05, gt=0.0, description="success distance (m)")
    marker: bool = Field(True, description="show a ghost sphere at the goal (no collisions)")
    marker_radius: float = Field(0.02, gt=0.0)
    marker_color: RGBA = (0.1, 0.9, 0.1, 0.3)

    @field_validator("achieved")
    @classmethod
    def _achieved(cls, v: str) -> str:
        if v == "ee" or v == "object":
            return "ee" if v == "ee" else "object:0"
        if v.startswith("object:") and v[7:].isdigit():
            return v
        raise ValueError(f"achieved must be 'ee' or 'object:<index>' (e.g. 'object:0'), got '{v}'")

    @property
    def achieved_object(self) -> int | None:
        return int(self.achieved[7:]) if self.achieved.startswith("object:") else None


class ColorRandomization(Strict):
    """Draw the RGB of a named body uniformly in [low, high] at every reset."""

    body: str = Field(description="floor, a table, bin or obstacle name, or goal")
    low: RGB = (0.0, 0.0, 0.0)
    high: RGB = (1.0, 1.0, 1.0)

    @model_validator(mode="after")
    def _ordered(self) -> ColorRandomization:
        if any(lo > hi for lo, hi in zip(self.low, self.high, strict=True)):
            raise ValueError(f"low {list(self.low)} must be <= high {list(self.high)} in every channel")
        return self


class RandomizeSpec(Strict):
    """Domain randomisation applied at reset, reproducible with the reset seed."""

    colors: list[ColorRandomization] = Field(default_factory=list)


# ----------------------------------------------------------------------------- observation


class TermSpec(Strict):
    """A named term with parameters (observation terms; reward terms extend it)."""

    term: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"term": data} if isinstance(data, str) else data


class CameraSpec(Strict):
    """Camera observation settings. Reserved: camera observations are not built yet."""

    width: int = Field(84, ge=8, le=1024)
    height: int = Field(84, ge=8, le=1024)
    grayscale: bool = True


class ObservationSpec(Strict):
    """What the agent sees. `state` lists observation terms, concatenated in order."""

    mode: Literal["state", "camera", "both"] = "state"
    state: list[TermSpec] = Field(
        default_factory=lambda: [TermSpec(term="objects"), TermSpec(term="ee")],
        description="observation terms; default: Task B's 18 values per object then the end-effector block",
    )
    camera: CameraSpec | None = None


# ----------------------------------------------------------------------------- episode & reward


class TerminationSpec(Strict):
    """Rules that end an episode for real (terminated=True). The time limit is separate."""

    all_objects_removed: bool = Field(True, description="every object has been removed (sorted or fell)")
    success: bool = Field(False, description="the success condition holds")
    goal_distance_above: float | None = Field(
        None, gt=0.0, description="the achieved point is farther than this from the goal (Task A: 0.8)"
    )
    collisions: list[tuple[str, str]] = Field(
        default_factory=list,
        description="pairs of body names whose contact ends the episode; 'objects' and 'robot' are groups",
    )
    object_off_table: bool = Field(False, description="an object left its table (fell below its top)")


class EpisodeSpec(Strict):
    """Episode length and end conditions."""

    max_steps: int = Field(750, ge=1, le=10_000_000, description="time limit: reaching it truncates")
    terminate_on: TerminationSpec = Field(default_factory=TerminationSpec)
    success: Literal["auto", "all_sorted", "goal_reached", "none"] = Field(
        "auto",
        description="meaning of info['is_success']; auto = goal_reached with a goal, all_sorted with bins",
    )


class RewardTermSpec(TermSpec):
    """One weighted reward term. Terms return magnitudes; the weight carries the sign."""

    weight: float = 1.0
    name: Name | None = Field(None, description="label in logs; default: the term name")

    @property
    def label(self) -> str:
        return self.name or self.term.replace(":", ".")


class RewardSpec(Strict):
    """The reward: a preset name, or a list of terms (or both: the terms are appended)."""

    preset: str | None = None
    terms: list[RewardTermSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"preset": data}
        if isinstance(data, list):
            return {"terms": data}
        return data


class RenderSpec(Strict):
    """The overview camera used by render() and `envkit preview`."""

    width: int = Field(480, ge=16, le=4096)
    height: int = Field(360, ge=16, le=4096)
    target: Vec3 = (-0.2, 0.0, 0.0)
    distance: float = Field(1.3, gt=0.0)
    yaw: float = 45.0
    pitch: float = -30.0
    fov: float = Field(60.0, gt=0.0, lt=180.0)


# ----------------------------------------------------------------------------- the scene


class SceneSpec(Strict):
    """A whole scene: everything `envkit.make` needs to build an environment."""

    name: str = "scene"
    description: str = ""
    backend: Literal["pybullet"] = Field("pybullet", description="physics backend")
    physics: PhysicsSpec = Field(default_factory=PhysicsSpec)
    robot: RobotSpec = Field(default_factory=RobotSpec)
    floor: FloorSpec = Field(default_factory=FloorSpec)
    tables: list[TableSpec] = Field(default_factory=lambda: [TableSpec()])
    objects: ObjectsSpec = Field(default_factory=ObjectsSpec)
    bins: list[BinSpec] = Field(default_factory=list)
    obstacles: list[ObstacleSpec] = Field(default_factory=list)
    goal: GoalSpec | None = None
    randomize: RandomizeSpec = Field(default_factory=RandomizeSpec)
    observation: ObservationSpec = Field(default_factory=ObservationSpec)
    episode: EpisodeSpec = Field(default_factory=EpisodeSpec)
    reward: RewardSpec = Field(default_factory=RewardSpec)
    render: RenderSpec = Field(default_factory=RenderSpec)

    # -- derived facts used by the env and the checks ------------------------------------

    @property
    def success_mode(self) -> str:
        if self.episode.success != "auto":
            return self.episode.success
        if self.goal is not None:
            return "goal_reached"
        if self.bins and self.objects.n > 0:
            return "all_sorted"
        return "none"

    def object_names(self) -> list[str]:
        names = []
        for i in range(self.objects.n):
            item = self.objects.items[i] if self.objects.items else None
            names.append(item.name if item is not None and item.name else f"object{i}")
        return names

    def body_names(self) -> list[str]:
        """Names that collision rules and colour randomisation may refer to."""
        names = ["floor", "robot", "objects"]
        names += [t.name for t in self.tables]
        names += [b.name for b in self.bins]
        names += [o.name for o in self.obstacles]
        names += self.object_names()
        if self.goal is not None:
            names.append("goal")
        return names

    def table(self, name: str | None) -> TableSpec:
        if name is None:
            return self.tables[0]
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


# ----------------------------------------------------------------------------- whole-scene checks


def max_half_extent(spec: SceneSpec) -> float:
    """Largest half size any object of this scene can have, in any direction."""
    o = spec.objects
    hs = [o.size.base * o.size.scale[1]]
    for item in o.items:
        if item.half_extents is not None:
            hs.append(max(item.half_extents))
    return max(hs)


def footprint_radius(shape: str, half_extents: tuple[float, float, float] | list[float]) -> float:
    """Radius of the circle that bounds an object's footprint on the table, for non-overlap tests."""
    hx, hy, _ = half_extents
    if shape == "cube":
        return math.hypot(hx, hy)
    return max(hx, hy)


def check_scene(spec: SceneSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Geometric and cross-reference checks; returns (field path, message) pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []

    # unique names
    seen: dict[str, str] = {}
    groups = [("tables", [t.name for t in spec.tables]), ("bins", [b.name for b in spec.bins])]
    groups.append(("obstacles", [o.name for o in spec.obstacles]))
    groups.append(("objects.items", [it.name for it in spec.objects.items if it.name]))
    for where, names in groups:
        for i, n in enumerate(names):
            if n in ("floor", "robot", "objects", "goal"):
                problems.append(((where, i, "name"), f"'{n}' is a reserved body name; choose another name"))
            elif n in seen:
                problems.append(
                    ((where, i, "name"), f"name '{n}' is already used by {seen[n]}; names must be unique")
                )
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

    # goal
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

    if spec.observation.mode != "state":
        problems.append(
            (
                ("observation", "mode"),
                f"observation mode '{spec.observation.mode}' is not available yet in this version of envkit "
                "(camera observations are specified but not built); use mode: state",
            )
        )
    return problems
