"""Camera observations: view/projection matrices, pose jitter, grayscale and frame stacking.

Backend-independent: the matrices are plain OpenGL column-major 4x4 (what
pybullet's `getCameraImage` takes), computed here in numpy so a fixed camera's
matrices are built once per reset and an eye-in-hand camera's once per step from
the end-effector pose the env already read, without extra simulator calls. The
backend only rasterises (`World.camera_image`), once per env step.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces

from envkit.backends.base import World
from envkit.spec import CameraJitter, CameraSpec
from envkit.state import WorldState

#: Defaults of a world camera placed by orbit (pybullet's yaw/pitch convention, as the render section).
WORLD_TARGET = (-0.2, 0.0, 0.0)
ORBIT_DISTANCE = 1.0
ORBIT_YAW = 90.0
ORBIT_PITCH = -45.0
#: Defaults of a hand camera, in the end-effector frame (z points out of the fingers).
HAND_TARGET = (0.0, 0.0, 0.15)
HAND_UP = (1.0, 0.0, 0.0)

#: ITU-R BT.601 luma weights in 1/256ths (they sum to 256, so white stays 255).
_LUMA = (77, 150, 29)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """View matrix (16,) column-major, as gluLookAt / pybullet's computeViewMatrix."""
    f = target - eye
    norm = np.linalg.norm(f)
    if norm < 1e-9:
        raise ValueError("the camera position and target coincide; move one of them")
    f = f / norm
    s = np.cross(f, up)
    ns = np.linalg.norm(s)
    if ns < 1e-6:
        raise ValueError(
            f"the camera's up direction {np.round(up, 3).tolist()} is parallel to its viewing direction "
            f"{np.round(f, 3).tolist()}; give another `up`"
        )
    s = s / ns
    u = np.cross(s, f)
    return np.array(
        [
            s[0], u[0], -f[0], 0.0,
            s[1], u[1], -f[1], 0.0,
            s[2], u[2], -f[2], 0.0,
            -s @ eye, -u @ eye, f @ eye, 1.0,
        ]
    )  # fmt: skip


def perspective(fov_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """Projection matrix (16,) column-major, as pybullet's computeProjectionMatrixFOV (vertical fov)."""
    y = 1.0 / math.tan(math.radians(fov_deg) / 2.0)
    x = y / aspect
    return np.array(
        [
            x, 0.0, 0.0, 0.0,
            0.0, y, 0.0, 0.0,
            0.0, 0.0, (far + near) / (near - far), -1.0,
            0.0, 0.0, 2.0 * far * near / (near - far), 0.0,
        ]
    )  # fmt: skip


def orbit_eye(target: np.ndarray, distance: float, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """Eye position and up vector of an orbiting camera, in pybullet's yaw/pitch convention (z up)."""
    y, p = math.radians(yaw), math.radians(pitch)
    eye = target + distance * np.array([math.cos(p) * math.sin(y), -math.cos(p) * math.cos(y), -math.sin(p)])
    up = np.array([math.sin(p) * math.sin(y), -math.sin(p) * math.cos(y), math.cos(p)])
    return eye, up


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a quaternion (x, y, z, w)."""
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 1) uint8 luma, in integer arithmetic (exact and fast)."""
    r, g, b = _LUMA
    acc = rgb[..., 0].astype(np.uint16) * r
    acc += rgb[..., 1].astype(np.uint16) * g
    acc += rgb[..., 2].astype(np.uint16) * b
    acc += 128
    return (acc >> 8).astype(np.uint8)[..., None]


class CameraRig:
    """One camera of a scene: where it looks this episode, and its stacked uint8 observation.

    Per reset, `reset(rng)` draws the pose jitter (if any) and precomputes a fixed
    camera's matrices; per step, `observe` renders exactly one frame and pushes it
    onto the stack (oldest frame first along the channel axis).
    """

    def __init__(self, cam: CameraSpec, jitter: CameraJitter | None = None) -> None:
        self.cam = cam
        self.jitter = jitter if jitter is not None and jitter.active else None
        self.fixed = cam.mount == "world"
        self.frame_channels = 1 if cam.grayscale else 3
        self.shape = (cam.height, cam.width, cam.channels)
        self.space = spaces.Box(0, 255, shape=self.shape, dtype=np.uint8)
        if self.fixed:
            target = np.array(cam.target if cam.target is not None else WORLD_TARGET, dtype=float)
            if cam.position is not None:
                eye = np.array(cam.position, dtype=float)
                up = np.array(cam.up if cam.up is not None else (0.0, 0.0, 1.0), dtype=float)
            else:
                eye, up = orbit_eye(
                    target,
                    cam.distance if cam.distance is not None else ORBIT_DISTANCE,
                    cam.yaw if cam.yaw is not None else ORBIT_YAW,
                    cam.pitch if cam.pitch is not None else ORBIT_PITCH,
                )
                if cam.up is not None:
                    up = np.array(cam.up, dtype=float)
        else:
            eye = np.array(cam.position if cam.position is not None else (0.0, 0.0, 0.0), dtype=float)
            target = np.array(cam.target if cam.target is not None else HAND_TARGET, dtype=float)
            up = np.array(cam.up if cam.up is not None else HAND_UP, dtype=float)
        self._eye0, self._target0, self._up = eye, target, up
        look_at(eye, target, up)  # fail at construction on a degenerate pose, not at the first step
        self._eye, self._target, self._fov = eye, target, cam.fov
        self._proj = perspective(cam.fov, cam.width / cam.height, cam.near, cam.far)
        self._view = look_at(eye, target, up) if self.fixed else None
        self._stack: np.ndarray | None = None

    # ------------------------------------------------------------------ pose

    def reset(self, rng: np.random.Generator) -> None:
        """Draw this episode's pose jitter (7 draws, only when jitter is configured)."""
        self._stack = None
        if self.jitter is None:
            return
        j = self.jitter
        self._eye = self._eye0 + rng.uniform(-1.0, 1.0, size=3) * np.array(j.position)
        self._target = self._target0 + rng.uniform(-1.0, 1.0, size=3) * np.array(j.target)
        self._fov = self.cam.fov + float(rng.uniform(-1.0, 1.0)) * j.fov
        c = self.cam
        self._proj = perspective(self._fov, c.width / c.height, c.near, c.far)
        if self.fixed:
            self._view = look_at(self._eye, self._target, self._up)

    def pose(self, state: WorldState) -> tuple[np.ndarray, np.ndarray]:
        """World-frame eye and target this step (a hand camera follows the end effector)."""
        if self.fixed:
            return self._eye.copy(), self._target.copy()
        rot = quat_to_matrix(state.ee_orientation)
        return state.ee_position + rot @ self._eye, state.ee_position + rot @ self._target

    def matrices(self, state: WorldState) -> tuple[np.ndarray, np.ndarray]:
        """(view, projection), each (16,) column-major."""
        if self.fixed:
            return self._view, self._proj  # type: ignore[return-value]
        rot = quat_to_matrix(state.ee_orientation)
        eye = state.ee_position + rot @ self._eye
        target = state.ee_position + rot @ self._target
        return look_at(eye, target, rot @ self._up), self._proj

    # ------------------------------------------------------------------ images

    def frame(self, world: World, state: WorldState) -> np.ndarray:
        """One rendered frame, (H, W, 1) gray or (H, W, 3) RGB uint8."""
        view, proj = self.matrices(state)
        rgb = world.camera_image(view, proj, self.cam.width, self.cam.height, fixed=self.fixed)
        return to_gray(rgb) if self.cam.grayscale else rgb

    def observe(self, world: World, state: WorldState) -> np.ndarray:
        """Render one frame and return the stacked observation (a fresh array every call).

        After a reset the stack is filled with copies of the first frame, the usual
        convention (SB3's VecFrameStack pads with zeros instead; copies avoid a fake
        "all black" past).
        """
        frame = self.frame(world, state)
        k = self.cam.stack
        if k == 1:
            return frame
        c = self.frame_channels
        if self._stack is None:
            out = np.concatenate([frame] * k, axis=2)
        else:
            out = np.empty(self.shape, dtype=np.uint8)
            out[..., :-c] = self._stack[..., c:]
            out[..., -c:] = frame
        self._stack = out
        return out.copy()

    def latest(self, obs: np.ndarray) -> np.ndarray:
        """The newest frame of a stacked observation, as RGB for display."""
        frame = obs[..., -self.frame_channels :]
        return np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame
