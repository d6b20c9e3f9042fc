"""What a backend hands back and the env hands down: one episode's objects and one step's state.

Plain data (numpy arrays in dataclasses), so the step context, observation terms
and reward terms read the world without depending on any backend, and a backend
fills them without depending on the env.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ObjectInstance:
    """One object as drawn at reset: the backend builds exactly this."""

    name: str
    shape: str  # cube | cylinder | sphere
    half_extents: np.ndarray  # (3,) half sizes; (r, r, h) for cylinders, (r, r, r) for spheres
    mass: float
    color: np.ndarray  # (4,) RGBA
    position: np.ndarray  # (3,)
    orientation: np.ndarray  # (4,) quaternion x, y, z, w
    lateral_friction: float | None = (
        None  # None: the scene's objects.lateral_friction (or pybullet's default)
    )
    spinning_friction: float | None = None


@dataclass
class WorldState:
    """A snapshot read once per step; observation and reward terms read only this.

    Removed objects keep their last pose here but have `object_active[i] == False`.
    """

    ee_position: np.ndarray  # (3,)
    ee_orientation: np.ndarray  # (4,) quaternion x, y, z, w
    ee_velocity: np.ndarray  # (3,)
    ee_angular_velocity: np.ndarray  # (3,)
    fingers_width: float
    object_position: np.ndarray  # (n, 3)
    object_orientation: np.ndarray  # (n, 4)
    object_velocity: np.ndarray  # (n, 3)
    object_angular_velocity: np.ndarray  # (n, 3)
    object_active: np.ndarray  # (n,) bool
    joint_positions: np.ndarray | None = None  # (7,) only when cheap (joints control)
    tool_tip: np.ndarray | None = None  # (3,) tip of the welded tool, when the scene has one
    extra: dict[str, np.ndarray] = field(default_factory=dict)
