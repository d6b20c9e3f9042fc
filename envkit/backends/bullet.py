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
from collections.abc import Sequence

import numpy as np

from envkit import robot as panda
from envkit.backends.base import World
from envkit.backends.panda_model import TOOL_LINK, panda_urdf
from envkit.backends.stdio import silence_stdout
from envkit.errors import EnvkitError
from envkit.fixtures import hole_block_boxes, nominal_goal
from envkit.spec import SceneSpec
from envkit.state import ObjectInstance, WorldState

#: New collision shapes allowed before the world is rebuilt to free them.
SHAPE_BUDGET = 3000

# pybullet takes lists; converted once here from the robot's constants.
_PANDA_JOINTS = list(panda.JOINTS)
_PANDA_FORCES = list(panda.JOINT_FORCES)
_EE_DOWN = list(panda.EE_DOWN)
#: env steps the fingers get to close on an object placed in the gripper (place_in_gripper)
_CLOSE_STEPS = 4
#: lowest pinch point above the table top for place_hand_at (the fingertips reach ~1 cm below it)
_MIN_PINCH_HEIGHT = 0.015


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
        # Fingers hold a welded tool at its width; otherwise a blocked gripper closes to 0.
        self._held_width = spec.tool.width if spec.tool is not None else 0.0
        self._neutral = list(panda.NEUTRAL_JOINTS)
        self._neutral[7] = self._neutral[8] = self._held_width / 2
        self._tool_tip = np.array([0.0, 0.0, spec.tool.tip_depth]) if spec.tool is not None else None
        self._urdf = panda_urdf(spec.robot_visual, spec.tool)
        camera = spec.observation.camera_spec
        self.camera = None
        if camera is not None:
            from envkit.backends.bullet_camera import BulletCamera

            self.camera = BulletCamera(self._cid, camera.renderer, self._moving_bodies)
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

        if self._urdf is not None:
            urdf = self._urdf

            class Panda(Panda):  # type: ignore[no-redef]
                """panda-gym's Panda loading envkit's URDF variant (simplified visuals and/or a tool)."""

                def _load_robot(self, file_name: str, base_position: np.ndarray) -> None:
                    super()._load_robot(urdf, base_position)

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
                position=nominal_goal(spec)[0],
                rgba_color=np.array(spec.goal.marker_color),
            )
            self._register("goal", sim._bodies_idx["goal"])
        self._build_fixtures()
        p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 1, physicsClientId=cid)
        if self.camera is not None:
            static = {n: i for n, i in self._ids.items() if n != "robot"}
            colors = {i: list(p.getVisualShapeData(i, physicsClientId=cid)[0][7]) for i in static.values()}
            self.camera.set_bodies(static, colors)

    def _moving_bodies(self) -> list[int]:
        active = [oid for oid, a in zip(self._object_ids, self._active, strict=True) if a]
        return [self._robot_id, *active]

    def _build_fixtures(self) -> None:
        """Each fixture is one static compound body (its boxes), placed at its nominal pose."""
        spec, cid = self.spec, self._cid
        for f in spec.fixtures:
            boxes = hole_block_boxes(f, spec.tool)
            he = [list(b.half_extents) for b in boxes]
            centers = [list(b.center) for b in boxes]
            col = p.createCollisionShapeArray(
                [p.GEOM_BOX] * len(boxes),
                halfExtents=he,
                collisionFramePositions=centers,
                physicsClientId=cid,
            )
            vis = p.createVisualShapeArray(
                [p.GEOM_BOX] * len(boxes),
                halfExtents=he,
                visualFramePositions=centers,
                rgbaColors=[list(f.color)] * len(boxes),
                physicsClientId=cid,
            )
            top = spec.table(f.table).top
            fid = p.createMultiBody(
                baseMass=0.0,
                baseCollisionShapeIndex=col,
                baseVisualShapeIndex=vis,
                basePosition=[f.position[0], f.position[1], top],
                physicsClientId=cid,
            )
            if f.lateral_friction is not None:
                p.changeDynamics(fid, -1, lateralFriction=f.lateral_friction, physicsClientId=cid)
            self._register(f.name, fid)

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
        self,
        objects: list[ObjectInstance],
        goal: np.ndarray | None,
        colors: dict[str, np.ndarray],
        fixtures: dict[str, np.ndarray] | None = None,
        in_play: int | None = None,
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
        for joint, angle in zip(_PANDA_JOINTS, self._neutral, strict=True):
            p.resetJointState(self._robot_id, joint, angle, 0.0, physicsClientId=cid)
        self._objects = list(objects)
        self._object_ids = []
        self._removed = {}
        n_play = len(objects) if in_play is None else min(in_play, len(objects))
        # Objects out of play are never built (the cheapest way: no body, no contacts, no
        # collision shape); they read as removed, at their drawn position, from the start.
        for i in range(n_play, len(objects)):
            self._removed[i] = np.array(objects[i].position, dtype=float)
        for i, obj in enumerate(objects[:n_play]):
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
            lateral = obj.lateral_friction if obj.lateral_friction is not None else of.lateral_friction
            spinning = obj.spinning_friction if obj.spinning_friction is not None else of.spinning_friction
            if lateral is not None or spinning is not None:
                kwargs = {}
                if lateral is not None:
                    kwargs["lateralFriction"] = lateral
                if spinning is not None:
                    kwargs["spinningFriction"] = spinning
                p.changeDynamics(oid, -1, physicsClientId=cid, **kwargs)
            self._object_ids.append(oid)
            self._tags[oid] = f"object:{i}"
            self._ids[f"object:{i}"] = oid
        self._object_ids += [-1] * (len(objects) - n_play)
        self._active = [i < n_play for i in range(len(objects))]
        if goal is not None and "goal" in self._ids:
            p.resetBasePositionAndOrientation(
                self._ids["goal"], goal.tolist(), [0, 0, 0, 1], physicsClientId=cid
            )
        for name, base in (fixtures or {}).items():
            p.resetBasePositionAndOrientation(self._ids[name], list(base), [0, 0, 0, 1], physicsClientId=cid)
        if self.camera is not None:
            self.camera.invalidate()
        for body, rgba in colors.items():
            self.set_color(body, rgba)
        # Motor targets from the previous episode would pull the arm away from neutral.
        p.setJointMotorControlArray(
            self._robot_id,
            _PANDA_JOINTS,
            p.POSITION_CONTROL,
            targetPositions=self._neutral,
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
                self._robot_id, panda.EE_LINK, target.tolist(), _EE_DOWN, physicsClientId=cid
            )[: panda.ARM_DOF]
        else:
            current = state.joint_positions if state.joint_positions is not None else self._joint_positions()
            arm = (current + a[: panda.ARM_DOF] * robot.joint_step).tolist()
        if robot.gripper:
            width = state.fingers_width + float(a[-1]) * robot.gripper_step
        else:
            width = self._held_width
        self._hold(arm, width)

    def step(self) -> None:
        cid = self._cid
        for _ in range(self._n_substeps):
            p.stepSimulation(physicsClientId=cid)

    def _joint_positions(self) -> np.ndarray:
        states = p.getJointStates(self._robot_id, panda.ARM_JOINTS, physicsClientId=self._cid)
        return np.array([s[0] for s in states])

    def read_state(self) -> WorldState:
        cid, rid = self._cid, self._robot_id
        link = p.getLinkState(rid, panda.EE_LINK, computeLinkVelocity=1, physicsClientId=cid)
        if self.spec.robot.gripper:
            f1, f2 = p.getJointStates(rid, panda.FINGER_JOINTS, physicsClientId=cid)
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
        ee_position = np.array(link[0])
        tool_tip = None
        if self._tool_tip is not None:
            # The tool is rigid on the hand: its tip follows from the end-effector pose already read.
            x, y, z, w = link[1]
            d = self._tool_tip[2]
            tool_tip = ee_position + d * np.array(
                [2 * (x * z + y * w), 2 * (y * z - x * w), 1 - 2 * (x * x + y * y)]
            )
        return WorldState(
            ee_position=ee_position,
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
            tool_tip=tool_tip,
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

    def _group(self, name: str) -> list[tuple[int, int | None]]:
        """(body id, link index or None for the whole body) of a name or group."""
        if name == "objects":
            return [(oid, None) for oid, a in zip(self._object_ids, self._active, strict=True) if a]
        if name in self._ids:
            return [(self._ids[name], None)]
        if self.spec.tool is not None and name == self.spec.tool.name:
            return [(self._robot_id, TOOL_LINK)]
        names = self.spec.object_names()
        if name in names:
            i = names.index(name)
            return [(self._object_ids[i], None)] if i < len(self._object_ids) and self._active[i] else []
        raise KeyError(name)

    def touching(self, a: str, b: str) -> bool:
        cid = self._cid
        ids_b = self._group(b)
        for ia, la in self._group(a):
            for ib, lb in ids_b:
                if ia == ib:
                    continue
                kwargs = {}
                if la is not None:
                    kwargs["linkIndexA"] = la
                if lb is not None:
                    kwargs["linkIndexB"] = lb
                if p.getContactPoints(bodyA=ia, bodyB=ib, physicsClientId=cid, **kwargs):
                    return True
        return False

    def grasping(self, index: int) -> bool:
        if not self._active[index] or not self.spec.robot.gripper:
            return False
        cid, rid, oid = self._cid, self._robot_id, self._object_ids[index]
        return all(
            p.getContactPoints(bodyA=rid, bodyB=oid, linkIndexA=link, physicsClientId=cid)
            for link in panda.FINGER_JOINTS  # a finger's link index is its joint's index
        )

    def place_in_gripper(self, index: int, lift: float) -> bool:
        self._check_placeable(index, "place_in_gripper")
        cid, oid = self._cid, self._object_ids[index]
        position, orientation = p.getBasePositionAndOrientation(oid, physicsClientId=cid)
        pinch = [position[0], position[1], position[2] + float(lift)]
        arm = self._open_hand_at(pinch)
        # Close on the object with the fingers' own motors, holding the object at the pinch
        # point until they meet it (a few env steps; unheld, it would fall 1 cm per step).
        for _ in range(_CLOSE_STEPS):
            p.resetBasePositionAndOrientation(oid, pinch, orientation, physicsClientId=cid)
            p.resetBaseVelocity(oid, [0, 0, 0], [0, 0, 0], physicsClientId=cid)
            self._hold(arm, 0.0)
            self.step()
        return self.grasping(index)

    def place_hand_at(self, index: int, height: float = 0.0) -> None:
        self._check_placeable(index, "place_hand_at")
        position = p.getBasePositionAndOrientation(self._object_ids[index], physicsClientId=self._cid)[0]
        # the scripted grasp's height: the object's centre, but never so low the fingertips hit the table
        pinch = [position[0], position[1], max(position[2], _MIN_PINCH_HEIGHT) + float(height)]
        self._hold(self._open_hand_at(pinch), panda.MAX_FINGER_WIDTH)

    def _check_placeable(self, index: int, caller: str) -> None:
        if not self.spec.robot.gripper:
            raise ValueError(f"{caller} needs a robot with a gripper (robot.gripper: true)")
        if not self._active[index]:
            raise ValueError(f"object {index} is out of play this episode")

    def _open_hand_at(self, pinch: list[float]) -> list[float]:
        """Teleport the arm, fingers wide open, so its pinch point is at `pinch`; the arm's joints.

        Wide open, every object fits between the fingers, so the teleported hand cannot hit the
        object it is placed around (the training-aid starts of `episode.held_start`/`reach_start`).
        """
        for j in panda.FINGER_JOINTS:
            p.resetJointState(self._robot_id, j, panda.MAX_FINGER_WIDTH / 2, 0.0, physicsClientId=self._cid)
        self.set_ee_position(np.array(pinch))
        return self._joint_positions().tolist()

    def _hold(self, arm: Sequence[float], width: float) -> None:
        """Motor targets: the arm at `arm`, the fingers at `width` (metres between them)."""
        p.setJointMotorControlArray(
            self._robot_id, _PANDA_JOINTS, p.POSITION_CONTROL, targetPositions=[*arm, width / 2, width / 2],
            forces=_PANDA_FORCES, physicsClientId=self._cid,
        )

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
            raise ValueError(
                f"object {index} is out of play this episode (removed, or beyond the curriculum stage's count)"
            )
        oid, cid = self._object_ids[index], self._cid
        if orientation is None:
            orientation = np.array(p.getBasePositionAndOrientation(oid, physicsClientId=cid)[1])
        p.resetBasePositionAndOrientation(oid, list(position), list(orientation), physicsClientId=cid)
        if zero_velocity:
            p.resetBaseVelocity(oid, [0, 0, 0], [0, 0, 0], physicsClientId=cid)

    def set_ee_position(self, position: np.ndarray) -> None:
        cid, rid = self._cid, self._robot_id
        target = [float(v) for v in position]
        joints = panda.ARM_JOINTS
        for _ in range(20):  # IK from the current pose, re-linearised until it converges
            ik = p.calculateInverseKinematics(rid, panda.EE_LINK, target, _EE_DOWN, physicsClientId=cid)
            arm = ik[: panda.ARM_DOF]
            for j, a in zip(joints, arm, strict=True):
                p.resetJointState(rid, j, a, 0.0, physicsClientId=cid)
            reached = p.getLinkState(rid, panda.EE_LINK, computeForwardKinematics=1, physicsClientId=cid)[0]
            if np.linalg.norm(np.subtract(reached, target)) < 1e-5:
                break
        self._hold(arm, self._held_width)

    def set_color(self, body: str, rgba: np.ndarray) -> None:
        if self.spec.tool is not None and body == self.spec.tool.name:
            p.changeVisualShape(self._robot_id, TOOL_LINK, rgbaColor=list(rgba), physicsClientId=self._cid)
            return
        bid = self._ids[body]
        p.changeVisualShape(bid, -1, rgbaColor=list(rgba), physicsClientId=self._cid)
        if self.camera is not None:
            self.camera.set_color(bid, list(rgba))

    def camera_image(
        self, view: np.ndarray, projection: np.ndarray, width: int, height: int, fixed: bool = False
    ) -> np.ndarray:
        if self.camera is None:
            raise EnvkitError("this scene has no camera observation (observation.mode is 'state')")
        return self.camera.image(view, projection, width, height, fixed)

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
        with self.camera.everything_visible() if self.camera is not None else contextlib.nullcontext():
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
        """Disconnect through panda-gym's client object, once; closing again does nothing.

        pybullet hands a disconnected id to the next connection, and a `BulletClient`
        still holding the id disconnects it again when garbage-collected, which then
        kills whichever env owns the id by then (a world in a reference cycle is
        collected late). `BulletClient.disconnect` marks the client closed first, so
        its `__del__` does nothing. The ids kept here and by the camera become -1, so
        a closed world raises "Not connected" instead of driving the env that reuses
        its id.
        """
        client = self.sim.physics_client
        if client._client >= 0:
            with contextlib.suppress(p.error):
                client.disconnect()  # sets client._client = -1 before disconnecting
        self._cid = -1
        if self.camera is not None:
            self.camera._cid = -1
