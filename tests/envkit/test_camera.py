"""Camera observations on real pybullet: spaces, determinism, stacking, mounts, exact fast rendering."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import envkit
from envkit.camera import CameraRig, look_at, orbit_eye, perspective, to_gray
from envkit.errors import EnvkitError
from envkit.spec import CameraSpec

REACH_CAMERA = {
    "observation.mode": "camera",
    "observation.camera": {
        "width": 64,
        "height": 48,
        "position": [0.6, 0.0, 0.5],
        "target": [0.0, 0.0, 0.05],
    },
}


def _rollout_images(env: gym.Env, seed: int, n: int = 12) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(5).uniform(-1, 1, size=(n, env.action_space.shape[0]))
    frames = [obs]
    for a in actions:
        obs, _, terminated, truncated, _ = env.step(a)
        frames.append(obs)
        if terminated or truncated:
            obs, _ = env.reset()
    return np.array(frames)


def test_camera_observation_shape_dtype_and_space() -> None:
    env = envkit.make("envkit/peg_in_hole-v0")
    try:
        assert env.observation_space == gym.spaces.Box(0, 255, (84, 84, 1), np.uint8)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8 and obs in env.observation_space
        obs, *_ = env.step(np.zeros(3, dtype=np.float32))
        assert obs.shape == (84, 84, 1) and obs.std() > 5, "the image should show something"
    finally:
        env.close()


def test_task_a_resolution_variant() -> None:
    env = envkit.make("envkit/peg_in_hole_320-v0")
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (240, 320, 1) and obs.dtype == np.uint8
    finally:
        env.close()


def test_camera_images_are_deterministic_under_a_seed() -> None:
    env = envkit.make("envkit/peg_in_hole-v0")
    try:
        a = _rollout_images(env, seed=3)
        _rollout_images(env, seed=4)
        b = _rollout_images(env, seed=3)
        c = _rollout_images(env, seed=4)
    finally:
        env.close()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], c[0]), "another seed moves the block and recolours the scene"


@pytest.mark.parametrize("scene", ["envkit/peg_in_hole-v0", "envkit/tosser_camera-v0"])
def test_fast_rendering_is_pixel_identical_to_plain_rendering(scene: str) -> None:
    fast, plain = envkit.make(scene), envkit.make(scene)
    plain.unwrapped.world.camera.optimize = False
    try:
        a, b = _rollout_images(fast, seed=1, n=15), _rollout_images(plain, seed=1, n=15)
        camera = fast.unwrapped.world.camera
        assert camera.cached and camera.hidden, "a fixed camera caches its static layer"
    finally:
        fast.close()
        plain.close()
    np.testing.assert_array_equal(a, b)


def test_overview_render_still_shows_skipped_bodies() -> None:
    env = envkit.make("envkit/peg_in_hole-v0", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        env.step(np.zeros(3, dtype=np.float32))
        hidden = env.unwrapped.world.camera.hidden
        assert hidden
        with_skips = env.render()
        env.unwrapped.world.camera.optimize = False
        env.unwrapped.world.camera.invalidate()
        np.testing.assert_array_equal(with_skips, env.render())
    finally:
        env.close()


def test_both_mode_returns_image_and_state() -> None:
    env = envkit.make("envkit/reach-v0", dict(REACH_CAMERA, **{"observation.mode": "both"}))
    try:
        space = env.observation_space
        assert isinstance(space, gym.spaces.Dict) and set(space.spaces) == {"image", "state"}
        obs, _ = env.reset(seed=0)
        assert obs["image"].shape == (48, 64, 1) and obs["image"].dtype == np.uint8
        assert obs["state"].shape == space["state"].shape and obs["state"].dtype == np.float32
        assert obs in space
        layout = env.unwrapped.obs_layout
        np.testing.assert_allclose(obs["state"][layout["goal.position"]], env.unwrapped.goal, rtol=1e-6)
    finally:
        env.close()


def test_rgb_and_frame_stacking() -> None:
    overrides = dict(REACH_CAMERA)
    overrides["observation.camera"] = dict(REACH_CAMERA["observation.camera"], grayscale=False, stack=3)
    env = envkit.make("envkit/reach-v0", overrides)
    try:
        assert env.observation_space.shape == (48, 64, 9)
        first, _ = env.reset(seed=0)
        np.testing.assert_array_equal(first[..., 0:3], first[..., 6:9])  # padded with the first frame
        frames = [first[..., 6:9]]
        obs = first
        for _ in range(3):
            previous = obs
            obs, *_ = env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
            np.testing.assert_array_equal(obs[..., 0:6], previous[..., 3:9])  # oldest first, shifted by one
            frames.append(obs[..., 6:9])
        assert not np.array_equal(frames[0], frames[-1]), "the arm moved, so the newest frame changed"
        view = env.unwrapped.camera_view()
        np.testing.assert_array_equal(view, obs[..., 6:9])  # camera_view renders the current frame
    finally:
        env.close()


def test_gray_is_luma_of_rgb() -> None:
    rgb = np.array([[[255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 0]]], dtype=np.uint8)
    gray = to_gray(rgb)[0, :, 0]
    assert gray.tolist() == [255, 77, 149, 29, 0]


def test_eye_in_hand_camera_moves_with_the_end_effector() -> None:
    overrides = {
        "observation.mode": "camera",
        "observation.camera": {"mount": "hand", "position": [0.06, 0.0, -0.02], "target": [0.0, 0.0, 0.15]},
    }
    env = envkit.make("envkit/reach-v0", overrides)
    try:
        first, _ = env.reset(seed=0)
        eye0, target0 = env.unwrapped.camera_pose()
        ee0 = env.unwrapped.world.read_state().ee_position.copy()
        for _ in range(8):
            obs, *_ = env.step(np.array([0.0, 1.0, 0.0], dtype=np.float32))
        eye1, target1 = env.unwrapped.camera_pose()
        ee1 = env.unwrapped.world.read_state().ee_position
        moved = ee1 - ee0
        assert moved[1] > 0.2
        # the end effector points down and keeps its orientation: the camera translates with it
        np.testing.assert_allclose(eye1 - eye0, moved, atol=5e-3)
        np.testing.assert_allclose(target1 - target0, moved, atol=5e-3)
        # looking down: the target is below the eye
        assert target1[2] < eye1[2] - 0.1
        assert not np.array_equal(first, obs), "the view changes as the hand moves"
    finally:
        env.close()


def test_camera_pose_jitter_is_seeded_and_bounded() -> None:
    overrides = dict(REACH_CAMERA)
    overrides["randomize.camera"] = {"position": [0.02, 0.02, 0.02], "target": [0.01, 0.01, 0.0], "fov": 2.0}
    env = envkit.make("envkit/reach-v0", overrides)
    try:
        poses = []
        for seed in (0, 1, 0):
            env.reset(seed=seed)
            poses.append(np.concatenate(env.unwrapped.camera_pose()))
    finally:
        env.close()
    np.testing.assert_array_equal(poses[0], poses[2])
    assert not np.array_equal(poses[0], poses[1])
    nominal = np.array([0.6, 0.0, 0.5, 0.0, 0.0, 0.05])
    assert np.all(np.abs(poses[1] - nominal) <= [0.02, 0.02, 0.02, 0.01, 0.01, 0.0])


def test_orbit_camera_looks_at_its_target() -> None:
    cam = CameraSpec(distance=1.2, yaw=30.0, pitch=-40.0, target=(0.1, -0.1, 0.05))
    rig = CameraRig(cam)
    eye, target = rig.pose(None)  # a fixed camera ignores the state
    assert np.linalg.norm(eye - target) == pytest.approx(1.2)
    assert eye[2] > target[2]
    # the target projects to the image centre
    view = np.array(look_at(eye, target, orbit_eye(target, 1.2, 30.0, -40.0)[1])).reshape(4, 4).T
    proj = np.array(perspective(cam.fov, 1.0, cam.near, cam.far)).reshape(4, 4).T
    clip = proj @ view @ np.append(target, 1.0)
    np.testing.assert_allclose(clip[:2] / clip[3], [0.0, 0.0], atol=1e-9)


def test_degenerate_camera_up_is_a_clear_error() -> None:
    overrides = dict(REACH_CAMERA)
    overrides["observation.camera"] = {"position": [0.0, 0.0, 1.0], "target": [0.0, 0.0, 0.0]}
    with pytest.raises(EnvkitError, match=r"observation.camera: .*up direction .* parallel"):
        envkit.make("envkit/reach-v0", overrides)


def test_camera_view_on_a_state_scene_is_a_clear_error() -> None:
    env = envkit.make("envkit/reach-v0")
    try:
        env.reset(seed=0)
        with pytest.raises(EnvkitError, match="no camera observation"):
            env.unwrapped.camera_view()
    finally:
        env.close()


def test_egl_renderer_works_or_falls_back_to_tiny() -> None:
    overrides = dict(REACH_CAMERA)
    overrides["observation.camera"] = dict(REACH_CAMERA["observation.camera"], renderer="egl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the fallback warns when EGL is unavailable
        env = envkit.make("envkit/reach-v0", overrides)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (48, 64, 1) and obs.std() > 1
        assert env.unwrapped.world.camera.renderer in ("egl", "tiny")
    finally:
        env.close()
