"""The pybullet backend, built on panda-gym's simulator facade and Panda robot.

panda-gym builds the world (connection, primitives, the Panda URDF with its
friction settings); the per-step hot path calls pybullet's functions directly with
the client id, because `BulletClient.__getattr__` dispatch alone costs ~3% of a
step (measured), and reads each quantity once per step instead of panda-gym's
four end-effector reads.

Memory: pybullet never frees a collision shape once a body used it, even after
`removeBody`, so creating random-size objects at every reset leaks ~3 KB per
shape. Shapes are cached by exact size, and when more than `SHAPE_BUDGET` new
shapes have been created the world is rebuilt from scratch at the next reset
(`resetSimulation` frees them; ~70 ms, amortised over thousands of resets). A
rebuild does not change trajectories: a fresh world and a reset one are
bit-identical (tested).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator

import numpy as np

from envkit.backends.base import ObjectInstance, World, WorldState
from envkit.errors import EnvkitError
from envkit.spec import SceneSpec

#: New collision shapes allowed before the world is rebuilt to free them.
SHAPE_BUDGET = 3000

_PANDA_JOINTS = [0, 1, 2, 3, 4, 5, 6, 9, 10]
_PANDA_FORCES = [87.0, 87.0, 87.0, 87.0, 12.0, 120.0, 120.0, 170.0, 170.0]
_PANDA_NEUTRAL = [0.00, 0.41, 0.00, -1.85, 0.00, 2.26, 0.79, 0.00, 0.00]
_PANDA_EE_LINK = 11
_EE_DOWN = [1.0, 0.0, 0.0, 0.0]


@contextlib.contextmanager
def silence_stdout() -> Iterator[None]:
    """pybullet prints build lines from C on import and connection: silence them at the fds."""
    streams = []
    for stream in (sys.stdout, sys.stderr):
        try:
            streams.append((stream, stream.fileno()))
        except (AttributeError, ValueError, OSError):
            continue
    saved = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream, fd in streams:
            stream.flush()
            saved.append((stream, fd, os.dup(fd)))
            os.dup2(devnull, fd)
        yield
    finally:
        for stream, fd, copy in saved:
            stream.flush()
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


with silence_stdout():  # pybullet prints its build time on import
    import pybullet as p


def _quat_from_yaw(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


class BulletWorld(World):
    """A scene built in pybullet (DIRECT mode unless render_mode='human')."""

    def __init__(self, spec: SceneSpec, render_mode: str | None = None) -> None:
        super().__init__(spec)
        if render_mode == "human" and not os.environ.get("DISPLAY"):
            raise EnvkitError(
                "render_mode='human' opens a pybullet GUI window, but there is no display (DISPLAY is unset). "
                "Use render_mode='rgb_array' (render() returns an image) or `envkit preview FILE -o scene.png`."
            )
        from panda_gym.pybullet import PyBullet

        with silence_stdout():
            self.sim = PyBullet(
                render_mode="human" if render_mode == "human" else "rgb_array",
                n_substeps=spec.physics.substeps,
                renderer="OpenGL" if render_mode == "human" else "Tiny",
            )
        self._cid: int = self.sim.physics_client._client
        self._n_substeps = spec.physics.substeps
        self._ids: dict[str, int] = {}
        self._tags: dict[int, str] = {}
        self._objects: list[ObjectInstance] = []
        self._object_ids: list[int] = []
        self._active: list[bool] = []
        self._removed: dict[int, np.ndarray] = {}
        self._shape_cache: dict[tuple, int] = {}
        self._shapes_created = 0
        self._build()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        """Create the static scene and the robot (called again on a rebuild)."""
        spec, sim, cid = self.spec, self.sim, self._cid
        p.resetSimulation(physicsClientId=cid)
        p.setTimeStep(spec.physics.timestep, physicsClientId=cid)
        p.setGravity(0.0, 0.0, spec.physics.gravity, physicsClientId=cid)
        sim.timestep = spec.physics.timestep
        sim._bodies_idx = {}
        self._ids.clear()
        self._tags.clear()
        self._shape_cache.clear()
        self._shapes_created = 0
        self._object_ids = []
        self._active = []
        p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 0, physicsClientId=cid)
        from panda_gym.envs.robots.panda import Panda

        self.robot = Panda(
            sim,
            block_gripper=not spec.robot.gripper,
            base_position=np.array(spec.robot.base_position, dtype=float),
            control_type=spec.robot.control,
        )
        self._robot_id = sim._bodies_idx["panda"]
        self._ids["robot"] = self._robot_id
        self._tags[self._robot_id] = "robot"

        sim.create_plane(z_offset=spec.floor.height)
        self._register("floor", sim._bodies_idx["plane"])
        p.changeVisualShape(self._ids["floor"], -1, rgbaColor=list(spec.floor.color), physicsClientId=cid)
        for t in spec.tables:
            height = t.top - spec.floor.height
            sim.create_box(
                body_name=f"table:{t.name}",
                half_extents=np.array([t.size[0] / 2, t.size[1] / 2, height / 2]),
                mass=0.0,
                position=np.array([t.center[0], t.center[1], t.top - height / 2]),
                rgba_color=np.array(t.color),
                lateral_friction=t.lateral_friction,
            )
            self._register(t.name, sim._bodies_idx[f"table:{t.name}"])
        for b in spec.bins:
            sim.create_box(
                body_name=f"bin:{b.name}",
                half_extents=np.array(b.half_extents),
                mass=0.0,
                position=np.array(b.position),
                rgba_color=np.array(b.color),
            )
            self._register(b.name, sim._bodies_idx[f"bin:{b.name}"])
        for o in spec.obstacles:
            sim.create_box(
                body_name=f"obstacle:{o.name}",
                half_extents=np.array(o.half_extents),
                mass=0.0,
                position=np.array(o.position),
                rgba_color=np.array(o.color),
            )
            oid = sim._bodies_idx[f"obstacle:{o.name}"]
            p.resetBasePositionAndOrientation(oid, o.position, _quat_from_yaw(o.yaw), physicsClientId=cid)
            self._register(o.name, oid)
        if spec.goal is not None and spec.goal.marker:
            sim.create_sphere(
                body_name="goal",
                radius=spec.goal.marker_radius,
                mass=0.0,
                ghost=True,
                position=np.array(spec.goal.position),
                rgba_color=np.array(spec.goal.marker_color),
            )
            self._register("goal", sim._bodies_idx["goal"])
        p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 1, physicsClientId=cid)

    def _register(self, name: str, body_id: int) -> None:
        self._ids[name] = body_id
        self._tags[body_id] = name

    def _collision_shape(self, shape: str, he: np.ndarray) -> int:
        key = (shape, *np.round(he, 9).tolist())
        sid = self._shape_cache.get(key)
        if sid is None:
            cid = self._cid
            if shape == "cube":
                sid = p.createCollisionShape(p.GEOM_BOX, halfExtents=he.tolist(), physicsClientId=cid)
            elif shape == "cylinder":
                sid = p.createCollisionShape(
                    p.GEOM_CYLINDER, radius=float(he[0]), height=float(2 * he[2]), physicsClientId=cid
                )
            else:
                sid = p.createCollisionShape(p.GEOM_SPHERE, radius=float(he[0]), physicsClientId=cid)
            self._shape_cache[key] = sid
            self._shapes_created += 1
        return sid

    # ------------------------------------------------------------------ World interface

    @property
    def dt(self) -> float:
        return self.spec.physics.timestep * self._n_substeps

    def reset(
        self, objects: list[ObjectInstance], goal: np.ndarray | None, colors: dict[str, np.ndarray]
    ) -> None:
        cid = self._cid
        if self._shapes_created > SHAPE_BUDGET:
            self._build()
        for oid, active in zip(self._object_ids, self._active, strict=True):
            if active:
                p.removeBody(oid, physicsClientId=cid)
                self._tags.pop(oid, None)
        for name in [n for n in self._ids if n.startswith("object:")]:
            del self._ids[name]
        for joint, angle in zip(_PANDA_JOINTS, _PANDA_NEUTRAL, strict=True):
            p.resetJointState(self._robot_id, joint, angle, 0.0, physicsClientId=cid)
        self._objects = list(objects)
        self._object_ids = []
        self._removed = {}
        for i, obj in enumerate(objects):
            sid = self._collision_shape(obj.shape, obj.half_extents)
            oid = p.createMultiBody(
                baseMass=float(obj.mass),
                baseCollisionShapeIndex=sid,
                baseVisualShapeIndex=-1,
                basePosition=obj.position.tolist(),
                baseOrientation=obj.orientation.tolist(),
                physicsClientId=cid,
            )
            p.changeVisualShape(oid, -1, rgbaColor=obj.color.tolist(), physicsClientId=cid)
            of = self.spec.objects
            if of.lateral_friction is not None or of.spinning_friction is not None:
                kwargs = {}
                if of.lateral_friction is not None:
                    kwargs["lateralFriction"] = of.lateral_friction
                if of.spinning_friction is not None:
                    kwargs["spinningFriction"] = of.spinning_friction
                p.changeDynamics(oid, -1, physicsClientId=cid, **kwargs)
            self._object_ids.append(oid)
            self._tags[oid] = f"object:{i}"
            self._ids[f"object:{i}"] = oid
        self._active = [True] * len(objects)
        if goal is not None and "goal" in self._ids:
            p.resetBasePositionAndOrientation(
                self._ids["goal"], goal.tolist(), [0, 0, 0, 1], physicsClientId=cid
            )
        for body, rgba in colors.items():
            self.set_color(body, rgba)
        # Motor targets from the previous episode would pull the arm away from neutral.
        p.setJointMotorControlArray(
            self._robot_id,
            _PANDA_JOINTS,
            p.POSITION_CONTROL,
            targetPositions=_PANDA_NEUTRAL,
            forces=_PANDA_FORCES,
            physicsClientId=cid,
        )

    def apply_action(self, action: np.ndarray, state: WorldState) -> None:
        robot, cid = self.spec.robot, self._cid
        a = np.clip(action, -1.0, 1.0)
        if robot.control == "ee":
            target = state.ee_position + a[:3] * robot.ee_step
            if robot.ee_min_height is not None and target[2] < robot.ee_min_height:
                target[2] = robot.ee_min_height
            arm = p.calculateInverseKinematics(
                self._robot_id, _PANDA_EE_LINK, target.tolist(), _EE_DOWN, physicsClientId=cid
            )[:7]
        else:
            current = state.joint_positions if state.joint_positions is not None else self._joint_positions()
            arm = (current + a[:7] * robot.joint_step).tolist()
        if robot.gripper:
            width = state.fingers_width + float(a[-1]) * robot.gripper_step
        else:
            width = 0.0
        p.setJointMotorControlArray(
            self._robot_id,
            _PANDA_JOINTS,
            p.POSITION_CONTROL,
            targetPositions=[*arm, width / 2, width / 2],
            forces=_PANDA_FORCES,
            physicsClientId=cid,
        )

    def step(self) -> None:
        cid = self._cid
        for _ in range(self._n_substeps):
            p.stepSimulation(physicsClientId=cid)

    def _joint_positions(self) -> np.ndarray:
        states = p.getJointStates(self._robot_id, range(7), physicsClientId=self._cid)
        return np.array([s[0] for s in states])

    def read_state(self) -> WorldState:
        cid, rid = self._cid, self._robot_id
        link = p.getLinkState(rid, _PANDA_EE_LINK, computeLinkVelocity=1, physicsClientId=cid)
        if self.spec.robot.gripper:
            f1, f2 = p.getJointStates(rid, (9, 10), physicsClientId=cid)
            width = f1[0] + f2[0]
        else:
            width = 0.0
        n = len(self._object_ids)
        pos = np.zeros((n, 3))
        orn = np.zeros((n, 4))
        orn[:, 3] = 1.0
        vel = np.zeros((n, 3))
        avel = np.zeros((n, 3))
        for i, oid in enumerate(self._object_ids):
            if self._active[i]:
                pos[i], orn[i] = p.getBasePositionAndOrientation(oid, physicsClientId=cid)
                vel[i], avel[i] = p.getBaseVelocity(oid, physicsClientId=cid)
            else:
                pos[i] = self._removed[i]
        return WorldState(
            ee_position=np.array(link[0]),
            ee_orientation=np.array(link[1]),
            ee_velocity=np.array(link[6]),
            ee_angular_velocity=np.array(link[7]),
            fingers_width=width,
            object_position=pos,
            object_orientation=orn,
            object_velocity=vel,
            object_angular_velocity=avel,
            object_active=np.array(self._active, dtype=bool),
            joint_positions=self._joint_positions() if self.spec.robot.control == "joints" else None,
        )

    def object_contacts(self, index: int) -> set[str]:
        if not self._active[index]:
            return set()
        tags = self._tags
        found = set()
        for c in p.getContactPoints(bodyA=self._object_ids[index], physicsClientId=self._cid):
            tag = tags.get(c[2])
            if tag is not None:
                found.add(tag)
        return found

    def _group(self, name: str) -> list[int]:
        if name == "objects":
            return [oid for oid, a in zip(self._object_ids, self._active, strict=True) if a]
        if name in self._ids:
            return [self._ids[name]]
        names = self.spec.object_names()
        if name in names:
            i = names.index(name)
            return [self._object_ids[i]] if i < len(self._object_ids) and self._active[i] else []
        raise KeyError(name)

    def touching(self, a: str, b: str) -> bool:
        cid = self._cid
        ids_b = self._group(b)
        for ia in self._group(a):
            for ib in ids_b:
                if ia != ib and p.getContactPoints(bodyA=ia, bodyB=ib, physicsClientId=cid):
                    return True
        return False

    def remove_object(self, index: int) -> None:
        if not self._active[index]:
            return
        oid = self._object_ids[index]
        self._removed[index] = np.array(p.getBasePositionAndOrientation(oid, physicsClientId=self._cid)[0])
        p.removeBody(oid, physicsClientId=self._cid)
        self._tags.pop(oid, None)
        self._active[index] = False

    def set_object_pose(
        self,
        index: int,
        position: np.ndarray,
        orientation: np.ndarray | None = None,
        zero_velocity: bool = True,
    ) -> None:
        if not self._active[index]:
            raise ValueError(f"object {index} has been removed this episode")
        oid, cid = self._object_ids[index], self._cid
        if orientation is None:
            orientation = np.array(p.getBasePositionAndOrientation(oid, physicsClientId=cid)[1])
        p.resetBasePositionAndOrientation(oid, list(position), list(orientation), physicsClientId=cid)
        if zero_velocity:
            p.resetBaseVelocity(oid, [0, 0, 0], [0, 0, 0], physicsClientId=cid)

    def set_color(self, body: str, rgba: np.ndarray) -> None:
        p.changeVisualShape(self._ids[body], -1, rgbaColor=list(rgba), physicsClientId=self._cid)

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
        cid = self._cid
        view = p.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=list(target),
            distance=distance,
            yaw=yaw,
            pitch=pitch,
            roll=0.0,
            upAxisIndex=2,
            physicsClientId=cid,
        )
        proj = p.computeProjectionMatrixFOV(
            fov=fov, aspect=width / height, nearVal=0.05, farVal=20.0, physicsClientId=cid
        )
        _, _, rgba, _, _ = p.getCameraImage(
            width,
            height,
            viewMatrix=view,
            projectionMatrix=proj,
            shadow=0,
            renderer=p.ER_TINY_RENDERER,
            flags=p.ER_NO_SEGMENTATION_MASK,
            physicsClientId=cid,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].copy()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if p.isConnected(physicsClientId=self._cid):
                p.disconnect(physicsClientId=self._cid)
