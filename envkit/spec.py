"""The scene spec: typed, validated models of a scene YAML, with every default in one place.

A scene file is plain YAML. `load_scene()` parses it, applies dotted overrides,
validates it into `SceneSpec` and runs the geometric checks that need the whole
scene (`envkit.checks`: bins on a table, objects that fit their spawn region, ...). Every problem
becomes one paragraph naming the file, line and field path, collected into one
`SpecError` so a user fixes them all in one go.

Conventions (metres, radians, panda-gym's world frame: z up, table top at z=0):
- `half_extents` are half sizes, as pybullet takes them; objects' `size.base` is a
  half size too (a cube of base 0.025 is 5 cm wide).
- Colours are RGBA in [0, 1].
- Ranges are `[low, high]` pairs with low <= high.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from envkit.hints import suggest
from envkit.robot import MAX_FINGER_WIDTH

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


# Reusable checked types: each rule is one validator attached to a type (`Annotated` +
# `AfterValidator`), so a field states its rule by its type. Messages state the rule and the
# value; the loader puts the field path and line in front (`objects.spawn.y: range [0.2, -0.2]
# has low > high; ...`).


def _each(ok: Callable[[float], bool], rule: str) -> AfterValidator:
    """Every component passes `ok`, else "<rule>, got [..]"."""

    def check(v: tuple[float, ...]) -> tuple[float, ...]:
        if not all(ok(x) for x in v):
            raise ValueError(f"{rule}, got {list(v)}")
        return v

    return AfterValidator(check)


def _range_end(end: int, ok: Callable[[float], bool], rule: str) -> AfterValidator:
    """A range's low (end 0) or high (end 1) end passes `ok`, else "<rule>, got [low, high]"."""

    def check(v: Range) -> Range:
        if not ok(v[end]):
            raise ValueError(f"{rule}, got [{v[0]}, {v[1]}]")
        return v

    return AfterValidator(check)


_low = partial(_range_end, 0)
_high = partial(_range_end, 1)


def _positive(x: float) -> bool:
    return x > 0


def _non_negative(x: float) -> bool:
    return x >= 0


#: `[low, high]` with low <= high.
OrderedRange = Annotated[Range, AfterValidator(_check_range)]
#: A range of multipliers: ordered, low > 0.
ScaleRange = Annotated[
    Range, AfterValidator(partial(_check_range, what="scale")), _low(_positive, "scale must be > 0")
]
#: A range of physical quantities that cannot be negative (frictions).
NonNegativeRange = Annotated[OrderedRange, _low(_non_negative, "must be >= 0")]
#: Metres above an object a reach start may open the hand (`episode.reach_height`, and a
#: curriculum stage's): ordered, >= 0, and within the arm's useful workspace over the table.
MAX_REACH_HEIGHT = 0.5
ReachHeightRange = Annotated[
    NonNegativeRange,
    _high(
        lambda x: x <= MAX_REACH_HEIGHT,
        f"reaches beyond the arm's useful workspace over the table; keep high <= {MAX_REACH_HEIGHT:g}",
    ),
]
#: A range of mass multipliers: a zero mass would make a body static.
MassScaleRange = Annotated[
    NonNegativeRange, _low(_positive, "mass_scale must be > 0 (a zero mass makes a body static)")
]
#: Half sizes of a box, all > 0.
HalfExtents = Annotated[Vec3, _each(_positive, "half_extents must all be > 0")]
#: A table top's size along x and y, both > 0.
TableSize = Annotated[Vec2, _each(_positive, "table size must be positive along x and y")]
#: A block's full size along x, y and z, all > 0.
BlockSize = Annotated[Vec3, _each(_positive, "size must be > 0 along x, y and z")]
#: +- half widths of a uniform jitter per axis, all >= 0.
Jitter = Annotated[Vec3, _each(_non_negative, "jitter amplitudes must be >= 0 (they are +- half widths)")]


class Strict(BaseModel):
    """Base of every spec model: unknown keys are errors with a 'did you mean'.

    Every float field refuses NaN and infinity (YAML's `.nan`, `.inf`, and literals
    too large for a float, such as `1e400`): no scene quantity is meaningfully
    infinite, and a NaN weight or size would only surface as NaN rewards or a
    broken simulation thousands of steps later.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            # A field with an alias is written by its alias (a curriculum stage's `objects.count`).
            known = [info.alias or name for name, info in cls.model_fields.items()]
            for key in data:
                if key not in known:
                    raise ValueError(
                        f"unknown key '{key}'{suggest(str(key), known)} Valid keys here: {', '.join(known)}"
                    )
        return data


# ----------------------------------------------------------------------------- backend options

#: Marks a field that only the pybullet backend reads (in the field's JSON schema).
PYBULLET_OPTION: dict[str, Any] = {"backend_option": "pybullet"}


def backend_options(model: type[BaseModel] | None = None, prefix: str = "") -> dict[str, str]:
    """Dotted path -> backend of every field only one backend reads (`robot.visual` -> pybullet)."""
    model = SceneSpec if model is None else model
    found: dict[str, str] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = info.json_schema_extra
        if isinstance(extra, dict) and "backend_option" in extra:
            found[path] = str(extra["backend_option"])
        for arg in _model_types(info.annotation):
            found.update(backend_options(arg, f"{path}."))
    return found


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    """The spec models an annotation holds (`CameraSpec | None` -> [CameraSpec])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _model_types(arg)]


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
    visual: Literal["auto", "full", "simple", "boxes"] = Field(
        "auto",
        json_schema_extra=PYBULLET_OPTION,
        description="pybullet backend option. Robot meshes drawn in images: full (panda-gym's ~102k faces: ~30 ms per camera frame), "
        "simple (its collision meshes, ~3.4k faces), boxes (arm links as boxes, hand and fingers as collision "
        "meshes: the fastest); auto = boxes when the observation has a camera, else full. Physics is identical.",
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
    size: TableSize = Field((0.8, 0.8), description="top size along x and y")
    center: Vec2 = Field((-0.3, 0.0), description="centre of the top, (x, y)")
    top: float = Field(0.0, description="z of the table top")
    color: RGBA = (0.95, 0.95, 0.95, 1.0)
    lateral_friction: float | None = Field(None, ge=0.0)


class BinSpec(Strict):
    """A scoring zone: an object that touches it fires an event (correct or wrong bin)."""

    name: Name
    position: Vec3 = Field(description="centre of the bin box")
    half_extents: HalfExtents
    color: RGBA = (0.5, 0.5, 0.5, 0.4)
    accepts: list[Shape] = Field(
        default_factory=list, description="shapes this bin is correct for; empty = every shape"
    )
    on_contact: Literal["remove", "event"] = Field(
        "remove", description="remove: the object disappears and scores once; event: it scores once and stays"
    )


class ObstacleSpec(Strict):
    """A static box, e.g. Task B's blocker bar."""

    name: Name
    position: Vec3
    half_extents: HalfExtents
    yaw: float = Field(0.0, description="rotation about z, radians")
    color: RGBA = (0.0, 0.0, 0.0, 1.0)


# ----------------------------------------------------------------------------- tool & fixtures


class ToolSpec(Strict):
    """A tool welded to the hand (Task A's peg), held between the closed fingers.

    It is a link of the robot (a fixed joint to the hand), so it is perfectly rigid
    and its contacts are the robot's. The end effector's frame has z pointing out
    of the fingers; the tool's tip sits `2 * half_extents[2] - grip` below the
    grasp point along that axis.
    """

    name: Name = Field("tool", description="body name for collision rules and colour randomisation")
    shape: Literal["cube", "cylinder"] = Field("cube", description="a square prism or a round peg")
    half_extents: HalfExtents = Field(
        (0.0125, 0.0125, 0.04),
        description="half sizes (x, y, length/2); for a cylinder (radius, radius, length/2)",
    )
    grip: float = Field(
        0.02, ge=0.0, description="length of the tool above the grasp point, between the fingers"
    )
    mass: float = Field(0.05, gt=0.0, le=5.0, description="kg")
    color: RGBA = (0.85, 0.45, 0.1, 1.0)

    @model_validator(mode="after")
    def _geometry(self) -> ToolSpec:
        hx, hy, hz = self.half_extents
        if self.shape == "cylinder" and hx != hy:
            raise ValueError(
                f"a cylinder tool needs half_extents [r, r, h] with equal radii, got {list(self.half_extents)}"
            )
        if 2 * max(hx, hy) > MAX_FINGER_WIDTH:
            raise ValueError(
                f"the tool is {2 * max(hx, hy):.3g} m wide but the Panda's fingers open to {MAX_FINGER_WIDTH:g} m; "
                "make it narrower"
            )
        if self.grip >= 2 * hz:
            raise ValueError(f"grip {self.grip} must be shorter than the tool's length {2 * hz:.3g} m")
        return self

    @property
    def width(self) -> float:
        """Finger opening that holds the tool."""
        return 2.0 * max(self.half_extents[0], self.half_extents[1])

    @property
    def tip_depth(self) -> float:
        """Distance from the grasp point (end effector) to the tool's tip, along the hand's z axis."""
        return 2.0 * self.half_extents[2] - self.grip


class XYRangeSpec(Strict):
    """Uniform offsets along x and y drawn at each reset."""

    x: OrderedRange = (0.0, 0.0)
    y: OrderedRange = (0.0, 0.0)


class HoleSpec(Strict):
    """A square blind hole through the top of a fixture, sized from the tool."""

    clearance: float = Field(
        0.004, gt=0.0, le=0.1, description="hole width minus tool width (m); Task A-like fits use 1-5 mm"
    )
    depth: float = Field(0.04, gt=0.0, description="from the fixture's top down to the hole bottom (m)")


class FixtureSpec(Strict):
    """A static part on a table, moved at each reset; `kind: hole_block` is a block with a hole.

    The block is one compound body of boxes (four walls and a bottom plug), which
    pybullet collides exactly, unlike a concave mesh. Its goal point, which a goal
    can follow, is the centre of the hole bottom.
    """

    name: Name
    kind: Literal["hole_block"] = "hole_block"
    table: Name | None = Field(None, description="table it stands on; default: the first table")
    position: Vec2 = Field((0.0, 0.0), description="nominal centre (x, y) on the table")
    range: XYRangeSpec = Field(default_factory=XYRangeSpec, description="uniform offsets drawn at each reset")
    size: BlockSize = Field((0.12, 0.12, 0.05), description="outer full size (x, y, z) of the block")
    hole: HoleSpec = Field(default_factory=HoleSpec)
    color: RGBA = (0.2, 0.35, 0.8, 1.0)
    lateral_friction: float | None = Field(None, ge=0.0)


# ----------------------------------------------------------------------------- objects


class SizeSpec(Strict):
    """Object size: each half-dimension is `base` times an independent U(scale) draw."""

    base: float = Field(0.025, gt=0.0, le=0.5, description="nominal half size (m); radius for spheres")
    scale: ScaleRange = Field((0.5, 1.5), description="per-dimension multiplier range")


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
    x: OrderedRange = Field((-0.06, 0.06), description="range of object-centre x (world frame)")
    y: OrderedRange = Field((-0.2, 0.2), description="range of object-centre y (world frame)")
    yaw: OrderedRange = Field((0.0, 0.0), description="range of rotation about z, radians")
    min_gap: float = Field(0.005, ge=0.0, description="minimum clearance between objects' footprints")
    max_tries: int = Field(200, ge=1, le=100000, description="placement attempts before giving up")


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

    x: OrderedRange = (0.0, 0.0)
    y: OrderedRange = (0.0, 0.0)
    z: OrderedRange = (0.0, 0.0)


class GoalSpec(Strict):
    """A target position for reach/push/peg-style tasks: fixed (plus a random offset) or following a fixture."""

    position: Vec3 | None = Field(None, description="nominal goal position (needed unless `fixture` is set)")
    fixture: Name | None = Field(
        None, description="follow this fixture: the goal is its goal point (a hole's bottom centre) + offset"
    )
    offset: Vec3 = Field((0.0, 0.0, 0.0), description="added to the fixture's goal point")
    range: GoalRangeSpec = Field(default_factory=GoalRangeSpec)
    achieved: str = Field(
        "ee", description="what must reach the goal: 'ee' (end effector), 'tool_tip' or 'object:<index>'"
    )
    threshold: float = Field(0.05, gt=0.0, description="success distance (m)")
    marker: bool = Field(True, description="show a ghost sphere at the goal (no collisions)")
    marker_radius: float = Field(0.02, gt=0.0)
    marker_color: RGBA = (0.1, 0.9, 0.1, 0.3)

    @field_validator("achieved")
    @classmethod
    def _achieved(cls, v: str) -> str:
        if v in ("ee", "tool_tip"):
            return v
        if v == "object":
            return "object:0"
        if v.startswith("object:") and v[7:].isdigit():
            return v
        raise ValueError(
            f"achieved must be 'ee', 'tool_tip' or 'object:<index>' (e.g. 'object:0'), got '{v}'{suggest(v, ['ee', 'tool_tip'])}"
        )

    @model_validator(mode="after")
    def _where(self) -> GoalSpec:
        if self.position is None and self.fixture is None:
            raise ValueError("a goal needs a `position`, or a `fixture` whose goal point it follows")
        if self.position is not None and self.fixture is not None:
            raise ValueError(
                "give either `position` or `fixture`, not both (to shift a fixture's goal point, use `offset`)"
            )
        if self.fixture is not None and any(
            lo != 0 or hi != 0 for lo, hi in (self.range.x, self.range.y, self.range.z)
        ):
            raise ValueError(
                f"a goal following fixture '{self.fixture}' moves with it; randomise the fixture's `range` instead "
                "of goal.range"
            )
        return self

    @property
    def achieved_object(self) -> int | None:
        return int(self.achieved[7:]) if self.achieved.startswith("object:") else None


class ColorRandomization(Strict):
    """Draw the RGB of a named body uniformly in [low, high] at every reset."""

    body: str = Field(description="floor, a table, bin, obstacle, fixture or tool name, or goal")
    low: RGB = (0.0, 0.0, 0.0)
    high: RGB = (1.0, 1.0, 1.0)

    @model_validator(mode="after")
    def _ordered(self) -> ColorRandomization:
        if any(lo > hi for lo, hi in zip(self.low, self.high, strict=True)):
            raise ValueError(f"low {list(self.low)} must be <= high {list(self.high)} in every channel")
        return self


class ObjectDynamicsRandomization(Strict):
    """Per-object physical properties drawn at each reset (one draw per object, in order)."""

    mass_scale: MassScaleRange | None = Field(
        None, description="multiplies each object's mass by U(low, high)"
    )
    lateral_friction: NonNegativeRange | None = Field(
        None, description="each object's lateral friction ~ U(low, high)"
    )
    spinning_friction: NonNegativeRange | None = Field(
        None, description="each object's spinning friction ~ U(low, high)"
    )


class CameraJitter(Strict):
    """Camera pose jitter drawn at each reset: uniform in [-j, +j] per axis (sim-to-real robustness)."""

    position: Jitter = Field(
        (0.0, 0.0, 0.0), description="+- metres added to the camera position (hand: offset)"
    )
    target: Jitter = Field((0.0, 0.0, 0.0), description="+- metres added to the looked-at point")
    fov: float = Field(0.0, ge=0.0, lt=30.0, description="+- degrees added to the field of view")

    @property
    def active(self) -> bool:
        return any(self.position) or any(self.target) or self.fov > 0


class RandomizeSpec(Strict):
    """Domain randomisation applied at reset, reproducible with the reset seed.

    Draw order at reset (fixed, so a seed fixes everything): objects, fixtures,
    goal, colours, object dynamics, camera jitter, then (training episodes of a scene with
    episode.held_start or reach_start > 0) the kind of start and its object. Sections left
    out draw nothing,
    so adding one does not change the others' draws in existing scenes.
    """

    colors: list[ColorRandomization] = Field(default_factory=list)
    objects: ObjectDynamicsRandomization = Field(default_factory=ObjectDynamicsRandomization)
    camera: CameraJitter = Field(default_factory=CameraJitter)


# ----------------------------------------------------------------------------- observation


class TermSpec(Strict):
    """A named term with parameters (observation terms; reward terms extend it)."""

    term: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"term": data} if isinstance(data, str) else data

    @field_validator("params")
    @classmethod
    def _finite(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Params are free-form (the term's signature is checked later), so NaN/inf are caught here."""
        for where, value in _numbers(params):
            if not math.isfinite(value):
                raise ValueError(f"parameter '{where}' is {value}; give a finite number")
        return params


#: What PyYAML (YAML 1.1) reads as a string but pydantic and float() as a number: `1e400`, `2E-3`.
_EXPONENT_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _numbers(node: Any, path: str = "") -> list[tuple[str, float]]:
    """Every number in nested params, with its dotted path (`phi_params.std`, `sizes[1]`)."""
    if isinstance(node, float):
        return [(path, node)]
    if isinstance(node, str) and _EXPONENT_NUMBER.match(node):
        return [(path, float(node))]
    if isinstance(node, dict):
        return [n for k, v in node.items() for n in _numbers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list | tuple):
        return [n for i, v in enumerate(node) for n in _numbers(v, f"{path}[{i}]")]
    return []


class CameraSpec(Strict):
    """A camera observation: uint8 images, channel-last (height, width, channels x stack).

    Mounts: `world` is fixed, placed either by `position` + `target` or by an orbit
    around `target` (`distance`, `yaw`, `pitch`, as in the `render` section);
    `hand` rides on the end effector: `position` and `target` are then in the
    end-effector frame (z points out of the fingers, x along the finger opening).
    """

    width: int = Field(84, ge=8, le=1024, description="pixels; Task A used 320 x 240")
    height: int = Field(84, ge=8, le=1024)
    grayscale: bool = Field(True, description="one luma channel (ITU-R 601 weights) instead of RGB")
    stack: int = Field(1, ge=1, le=16, description="frames stacked along the channel axis, oldest first")
    mount: Literal["world", "hand"] = "world"
    position: Vec3 | None = Field(
        None, description="world: camera position (or use distance/yaw/pitch); hand: position in the EE frame"
    )
    target: Vec3 | None = Field(
        None,
        description="the point looked at (world frame, or EE frame for hand); world default (-0.2, 0, 0)",
    )
    up: Vec3 | None = Field(
        None, description="image-up direction; default z (world) or -x of the EE frame (hand)"
    )
    distance: float | None = Field(
        None, gt=0.0, description="world orbit: distance from target (default 1.0)"
    )
    yaw: float | None = Field(
        None, description="world orbit: degrees about z (pybullet convention; default 90)"
    )
    pitch: float | None = Field(None, description="world orbit: degrees, negative looks down (default -45)")
    fov: float = Field(60.0, gt=1.0, lt=170.0, description="vertical field of view, degrees")
    near: float = Field(0.01, gt=0.0, description="near clipping distance (m)")
    far: float = Field(5.0, gt=0.0, description="far clipping distance (m)")
    renderer: Literal["tiny", "egl"] = Field(
        "tiny",
        json_schema_extra=PYBULLET_OPTION,
        description="pybullet backend option. tiny: pybullet's CPU rasteriser (always available); egl: pybullet's eglRenderer plugin "
        "(GPU, or Mesa's software rasteriser; falls back to tiny with a warning if it cannot load)",
    )

    @model_validator(mode="after")
    def _placement(self) -> CameraSpec:
        orbit = [k for k in ("distance", "yaw", "pitch") if getattr(self, k) is not None]
        if self.mount == "hand":
            if orbit:
                raise ValueError(
                    f"{', '.join(orbit)}: orbit placement is for world cameras; a hand camera is placed by "
                    "position and target in the end-effector frame"
                )
        elif self.position is not None and orbit:
            raise ValueError(
                f"give either position (+ target) or an orbit ({', '.join(orbit)}) for a world camera, not both"
            )
        if self.far <= self.near:
            raise ValueError(f"far ({self.far}) must be greater than near ({self.near})")
        return self

    @property
    def channels(self) -> int:
        return (1 if self.grayscale else 3) * self.stack


class ObservationSpec(Strict):
    """What the agent sees. `state` lists observation terms, concatenated in order."""

    mode: Literal["state", "camera", "both"] = "state"
    state: list[TermSpec] = Field(
        default_factory=lambda: [TermSpec(term="objects"), TermSpec(term="ee")],
        description="observation terms; default: Task B's 18 values per object then the end-effector block",
    )
    camera: CameraSpec | None = Field(
        None, description="camera settings for mode camera/both (defaults apply when left out)"
    )

    @property
    def camera_spec(self) -> CameraSpec | None:
        """The camera in use: None in state mode, else the given or default camera."""
        if self.mode == "state":
            return None
        return self.camera if self.camera is not None else CameraSpec()


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
    insertion_contact: Literal["collision", "allowed"] = Field(
        "collision",
        description="a listed tool-fixture pair touching while the tool's tip is inside that fixture's hole: "
        "'collision' ends the episode (Task A: any contact), 'allowed' lets the tool brush the hole's walls "
        "while going in (contact outside the hole still counts)",
    )


class EpisodeSpec(Strict):
    """Episode length and end conditions."""

    max_steps: int = Field(750, ge=1, le=10_000_000, description="time limit: reaching it truncates")
    terminate_on: TerminationSpec = Field(default_factory=TerminationSpec)
    success: Literal["auto", "all_sorted", "goal_reached", "none"] = Field(
        "auto",
        description="meaning of info['is_success']; auto = goal_reached with a goal, all_sorted with bins",
    )
    held_start: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="training aid: the share of training episodes that start with one object (drawn among "
        "those in play) already pinched in the gripper, lifted held_lift above where it spawned; "
        "evaluation (set_evaluation) always starts as the scene does. Needs robot.gripper and objects",
    )
    held_lift: float = Field(
        0.05, gt=0.0, le=0.5, description="metres above its spawn point an object held at the start is lifted"
    )
    reach_start: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="training aid: the share of training episodes that start with the open hand around one "
        "object (drawn among those in play), so closing the fingers is all a grasp needs; with held_start, "
        "the two shares add up to at most 1. Evaluation always starts as the scene does",
    )
    reach_height: ReachHeightRange = Field(
        (0.0, 0.0),
        description="training aid, with reach_start: [low, high] metres above the object's pinch point that "
        "a reach start puts the open hand, drawn uniformly per episode (a reverse curriculum in one "
        "distribution: at 0 closing is all a grasp needs, higher up the hand must first come down); "
        "[0, 0] (the default) always starts at the pinch point",
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


# ----------------------------------------------------------------------------- curriculum

#: Scene keys a curriculum stage may set (dotted paths, as in `--set`).
CURRICULUM_KEYS: tuple[str, ...] = ("objects.count", "episode.reach_height")


class CurriculumStage(Strict):
    """One stage of a curriculum: the scene values that differ while it lasts, and what unlocks it.

    Keys are dotted scene paths so a stage reads like the `--set` overrides users know;
    only keys that keep the observation and action spaces fixed can be staged, which is
    why the list is short.
    """

    model_config = ConfigDict(
        extra="forbid", validate_default=True, allow_inf_nan=False, serialize_by_alias=True
    )

    objects_count: int | None = Field(
        None,
        alias="objects.count",
        ge=1,
        description="objects in play during this stage: the first k of the scene's objects.count; "
        "the others are out of play from the start (observed as zeros). Default: all of them",
    )
    reach_height: ReachHeightRange | None = Field(
        None,
        alias="episode.reach_height",
        description="where this stage's reach starts (episode.reach_start) open the hand: [low, high] metres "
        "above the object; raised stage by stage it is a reverse curriculum that moves the start back "
        "towards the scene's own once the closer starts succeed. Default: the scene's episode.reach_height",
    )
    after_success: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="promotion threshold: the env moves to this stage once the mean success of its last "
        "`window` training episodes in the previous stage reaches it (not on the first stage)",
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in (*CURRICULUM_KEYS, "after_success"):
                    raise ValueError(
                        f"unknown key '{key}'{suggest(str(key), [*CURRICULUM_KEYS, 'after_success'])} A stage "
                        f"can set {', '.join(CURRICULUM_KEYS)} (the keys supported so far), plus after_success"
                    )
        return data


class CurriculumSpec(Strict):
    """Stages of a training curriculum: an env starts easy and moves on as it succeeds.

    The scene itself (objects.count) fixes the spaces and is the full task; stages only
    put fewer objects in play, and the last stage must be the full task, because
    evaluation (`set_evaluation(True)`) uses it. Each env promotes on its own window of
    episodes, so the envs of a vector env can be in different stages.
    """

    window: int = Field(
        100, ge=1, le=1_000_000, description="the last N finished training episodes of the env decide promotion"
    )
    stages: list[CurriculumStage] = Field(min_length=1, description="stages in order; the last is the full task")

    def describe(self) -> str:
        """One line for `envkit info`/`validate`: '1 -> 2 (at 0.8) -> 5 (at 0.8) objects, window 100'."""
        stages = self.stages
        staged_count = any(s.objects_count is not None for s in stages)
        staged_reach = any(s.reach_height is not None for s in stages)

        def stage(s: CurriculumStage) -> str:
            what = []
            if staged_count:
                what.append("all" if s.objects_count is None else f"{s.objects_count}")
            if staged_reach:
                h = s.reach_height
                what.append("reach height as the scene" if h is None else f"reach height [{h[0]:g}, {h[1]:g}] m")
            text = ", ".join(what) or "the scene as written"
            return text if s.after_success is None else f"{text} (at {s.after_success:g})"

        unit = " objects" if staged_count and not staged_reach else ""
        return f"{' -> '.join(stage(s) for s in stages)}{unit}, promoted on the success of the last {self.window} episodes"


# ----------------------------------------------------------------------------- the scene


class SceneSpec(Strict):
    """A whole scene: everything `envkit.make` needs to build an environment.

    Backend options: every field describes the scene in engine-neutral terms except
    `backend` and the options of the backend it names, which only that backend reads
    (`backend_options()` lists them; each is marked `backend_option` in the JSON schema).
    For pybullet: `robot.visual` (which Panda meshes images draw: full, simple, boxes)
    and `observation.camera.renderer` (tiny or egl). They stay where a scene file has
    always had them, so no YAML changes; another backend would ignore them and add its own.
    """

    name: str = "scene"
    description: str = ""
    backend: Literal["pybullet"] = Field(
        "pybullet",
        description="physics backend; its options: see backend_options() (pybullet: robot.visual, "
        "observation.camera.renderer)",
    )
    physics: PhysicsSpec = Field(default_factory=PhysicsSpec)
    robot: RobotSpec = Field(default_factory=RobotSpec)
    floor: FloorSpec = Field(default_factory=FloorSpec)
    tables: list[TableSpec] = Field(default_factory=lambda: [TableSpec()])
    objects: ObjectsSpec = Field(default_factory=ObjectsSpec)
    bins: list[BinSpec] = Field(default_factory=list)
    obstacles: list[ObstacleSpec] = Field(default_factory=list)
    fixtures: list[FixtureSpec] = Field(default_factory=list, description="static parts moved at reset")
    tool: ToolSpec | None = Field(None, description="a tool welded to the hand (needs robot.gripper: false)")
    goal: GoalSpec | None = None
    randomize: RandomizeSpec = Field(default_factory=RandomizeSpec)
    observation: ObservationSpec = Field(default_factory=ObservationSpec)
    episode: EpisodeSpec = Field(default_factory=EpisodeSpec)
    reward: RewardSpec = Field(default_factory=RewardSpec)
    render: RenderSpec = Field(default_factory=RenderSpec)
    curriculum: CurriculumSpec | None = Field(
        None, description="training stages with fewer objects, promoted by success (see README: curriculum)"
    )

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
        names += [f.name for f in self.fixtures]
        if self.tool is not None:
            names.append(self.tool.name)
        names += self.object_names()
        if self.goal is not None:
            names.append("goal")
        return names

    @property
    def robot_visual(self) -> str:
        """robot.visual with 'auto' resolved: boxes when a camera observes (speed), else full."""
        if self.robot.visual != "auto":
            return self.robot.visual
        return "full" if self.observation.mode == "state" else "boxes"

    def fixture(self, name: str) -> FixtureSpec:
        for f in self.fixtures:
            if f.name == name:
                return f
        raise KeyError(name)

    def table(self, name: str | None) -> TableSpec:
        if name is None:
            return self.tables[0]
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


# ----------------------------------------------------------------------------- geometry helpers


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
