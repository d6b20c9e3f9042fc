"""The physics-backend interface: what a simulator must do for `SceneEnv`.

Everything random (object shapes, sizes, poses, colours, goals) is drawn by the
environment from its own seeded generator and handed to the backend as plain
values, so a backend is deterministic plumbing and the same seed gives the same
scene on any backend. Nothing outside `envkit.backends` imports a simulator, and
this module imports none: the factory that picks a backend is `envkit.backends.make_world`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from envkit.spec import SceneSpec
from envkit.state import ObjectInstance, WorldState

__all__ = ["ObjectInstance", "World", "WorldState"]


class World(ABC):
    """A built scene in a simulator. Created once per env; `reset` reuses the static bodies."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec

    @property
    @abstractmethod
    def dt(self) -> float:
        """Seconds of simulated time per env step."""

    @abstractmethod
    def reset(
        self,
        objects: list[ObjectInstance],
        goal: np.ndarray | None,
        colors: dict[str, np.ndarray],
        fixtures: dict[str, np.ndarray] | None = None,
        in_play: int | None = None,
    ) -> None:
        """Put the robot in its neutral pose and build this episode's objects, goal and colours.

        `fixtures` maps a fixture name to its base position this episode (x, y, table top).
        `in_play` (a curriculum stage with fewer objects): only the first `in_play` objects
        are built; the rest are out of play from the start, as if removed before the first
        step (`object_active` False, no contacts), so the state keeps the scene's full size.
        """

    @abstractmethod
    def apply_action(self, action: np.ndarray, state: WorldState) -> None:
        """Send motor targets for one env step; `state` is the latest snapshot (saves a read)."""

    @abstractmethod
    def step(self) -> None:
        """Advance the physics by one env step (all substeps)."""

    @abstractmethod
    def read_state(self) -> WorldState:
        """Read the robot and object state after a step or a reset."""

    @abstractmethod
    def object_contacts(self, index: int) -> set[str]:
        """Names of the bodies object `index` touches now (e.g. a bin name, 'floor', a table name)."""

    @abstractmethod
    def touching(self, a: str, b: str) -> bool:
        """Whether any body of group/name `a` touches any of `b` ('objects' and 'robot' are groups)."""

    def grasping(self, index: int) -> bool:
        """Whether both gripper fingers touch object `index` (the object is pinched, i.e. held).

        Not abstract: only terms that ask about grasps need it, so a backend without a
        gripper model still builds every other scene.
        """
        raise NotImplementedError(
            f"the {type(self).__name__} backend cannot tell whether the gripper holds an object; "
            "use a reward term that does not need grasps (e.g. object_height) with this backend"
        )

    def place_in_gripper(self, index: int, lift: float) -> bool:
        """Start an episode with object `index` pinched between the fingers, `lift` metres above
        where it lies (a training start state, `episode.held_start`); returns whether the fingers
        hold it. Called right after `reset`, before the first state is read."""
        raise NotImplementedError(
            f"the {type(self).__name__} backend cannot put an object in the gripper; "
            "remove episode.held_start from the scene to use this backend"
        )

    def place_hand_at(self, index: int, height: float = 0.0) -> None:
        """Start an episode with the open hand around object `index`, its pinch point at the
        object's centre (a training start state, `episode.reach_start`): closing the fingers
        is all a grasp still needs. With `height` > 0 the hand is that far straight above that
        point (`episode.reach_height`), so it must first come down. Called right after `reset`,
        before the first state is read."""
        raise NotImplementedError(
            f"the {type(self).__name__} backend cannot place the hand; "
            "remove episode.reach_start from the scene to use this backend"
        )

    @abstractmethod
    def remove_object(self, index: int) -> None:
        """Take an object out of the world for the rest of the episode."""

    @abstractmethod
    def set_object_pose(
        self,
        index: int,
        position: np.ndarray,
        orientation: np.ndarray | None = None,
        zero_velocity: bool = True,
    ) -> None:
        """Teleport an object (tests, scripted resets)."""

    def set_ee_position(self, position: np.ndarray) -> None:
        """Move the arm at once so the end effector is at `position`, pointing down (tests, demos)."""
        raise NotImplementedError(f"{type(self).__name__} cannot teleport the end effector")

    @abstractmethod
    def set_color(self, body: str, rgba: np.ndarray) -> None:
        """Recolour a named body (domain randomisation)."""

    @abstractmethod
    def render(
        self,
        width: int,
        height: int,
        target: np.ndarray,
        distance: float,
        yaw: float,
        pitch: float,
        fov: float,
    ) -> np.ndarray:
        """An RGB uint8 image (height, width, 3) from an orbiting camera, headless."""

    def camera_image(
        self, view: np.ndarray, projection: np.ndarray, width: int, height: int, fixed: bool = False
    ) -> np.ndarray:
        """An RGB uint8 image (height, width, 3) through a camera given by OpenGL matrices.

        `view` and `projection` are column-major 4x4 as 16 floats (see `envkit.camera`).
        `fixed=True` promises the same matrices until the next reset, which lets a
        backend cache work per episode (e.g. skip static bodies no pixel shows).
        """
        raise NotImplementedError(f"{type(self).__name__} does not render camera observations")

    @abstractmethod
    def close(self) -> None:
        """Release the simulator."""
