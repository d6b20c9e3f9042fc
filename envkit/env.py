"""`SceneEnv`: the one generic gymnasium environment, assembled from a scene spec.

Per step: action -> backend physics -> one state read -> events (bins, floor) and
removals (`envkit.events`) -> success and termination rules (`envkit.termination`)
-> reward terms (`rewards`, guarded by `envkit.reward_guard`) -> observation (state
vector, one camera frame, or both). At reset the episode is drawn
(`envkit.sampling`, `envkit.randomization`). All randomness comes from
`self.np_random`, so `reset(seed=s)` fixes the whole episode.

A scene with a `curriculum` (`envkit.curriculum`) plays only the first k objects of each
episode in its early stages; the spaces stay those of the full scene, and the stage is
part of the seed contract: the same seed in the same stage gives the same episode.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envkit.backends import make_world
from envkit.backends.base import World
from envkit.camera import CameraRig
from envkit.context import StepContext
from envkit.curriculum import Curriculum
from envkit.errors import EnvkitError, RewardTermError
from envkit.events import EVENT_KEYS, EventDetector
from envkit.observations import ObsInput, build_obs_terms, make_layout
from envkit.randomization import apply_object_dynamics, sample_fixture_bases
from envkit.reward_guard import guard_terms, non_finite_message
from envkit.robot import action_size
from envkit.sampling import PlacementError, sample_colors, sample_goal, sample_objects
from envkit.spec import SceneSpec
from envkit.state import ObjectInstance, WorldState
from envkit.termination import EpisodeRules
from rewards.registry import build_reward

__all__ = ["EVENT_KEYS", "PlacementError", "SceneEnv", "check_render_mode"]


def check_render_mode(render_mode: str | None) -> None:
    """A render mode SceneEnv supports, else an EnvkitError saying which ones it does."""
    if render_mode not in (None, "rgb_array", "human"):
        raise EnvkitError(f"render_mode must be None, 'rgb_array' or 'human', got {render_mode!r}")


class SceneEnv(gym.Env[Any, np.ndarray]):
    """A robot-arm environment built from a validated scene spec (see README: scene tutorial).

    The env does not read files: `envkit.make(...)` (and the bundled gymnasium ids)
    load and validate a scene, then build this, so a spec from anywhere (a file, a
    dict, a sweep) becomes the same env.

    Observations by `observation.mode`: state -> float32 vector (named by
    `obs_layout`); camera -> uint8 image (H, W, C x stack); both -> Dict with
    "image" and "state".

    Args:
        spec: a validated scene (`envkit.load_scene(...)`).
        render_mode: None, "rgb_array" (render() returns an image) or "human" (needs a display).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 25}

    def __init__(self, spec: SceneSpec, render_mode: str | None = None) -> None:
        if not isinstance(spec, SceneSpec):
            raise TypeError(
                f"SceneEnv takes a validated SceneSpec, got {type(spec).__name__}; build from a file, an id or "
                "a dict with envkit.make(scene, overrides), or load one with envkit.load_scene(scene)"
            )
        check_render_mode(render_mode)
        self.spec_scene: SceneSpec = spec
        self.render_mode = render_mode
        mode = self._obs_mode = spec.observation.mode
        self.obs_terms = build_obs_terms(spec, spec.observation.state) if mode != "camera" else []
        self.obs_layout: dict[str, slice] = make_layout(self.obs_terms)
        n_obs = max(s.stop for s in self.obs_layout.values()) if self.obs_layout else 0
        state_space = spaces.Box(-np.inf, np.inf, shape=(n_obs,), dtype=np.float32)
        cam = spec.observation.camera_spec
        try:
            self.camera: CameraRig | None = CameraRig(cam, spec.randomize.camera) if cam is not None else None
        except ValueError as exc:
            raise EnvkitError(f"scene '{spec.name}': observation.camera: {exc}") from None
        if self.camera is None:
            self.observation_space = state_space
        elif mode == "camera":
            self.observation_space = self.camera.space
        else:
            self.observation_space = spaces.Dict({"image": self.camera.space, "state": state_space})
        n_act = action_size(spec.robot.control, spec.robot.gripper)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(n_act,), dtype=np.float32)
        self.reward_fn = build_reward(spec.reward)
        guard_terms(self.reward_fn, spec.name)
        self.reward_labels: list[str] = list(self.reward_fn.labels)
        self.n_objects = spec.objects.n
        self.curriculum: Curriculum | None = Curriculum(spec.curriculum) if spec.curriculum is not None else None
        self._events = EventDetector(spec)
        self._rules = EpisodeRules(spec)
        self.world: World = make_world(spec, render_mode=render_mode)
        self.metadata = dict(self.metadata, render_fps=int(round(1.0 / self.world.dt)))
        self._state: WorldState | None = None
        self._objects: list[ObjectInstance] = []
        self._goal: np.ndarray | None = None
        self._fixtures: dict[str, np.ndarray] = {}
        self._evaluation = False  # set_evaluation: play the scene as written (no training aids)
        self._start = "scene"  # how this episode started: scene, held or reach (training aids)

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        spec, rng = self.spec_scene, self.np_random
        # Draw order is part of the seed contract (see RandomizeSpec): objects, fixtures, goal,
        # colours, object dynamics, camera jitter; absent sections draw nothing.
        # Every object of the full scene is drawn whatever the stage, so a stage with k objects
        # plays the first k of the full scene's episode and the later draws do not shift.
        self._objects = sample_objects(spec, rng)
        in_play = None
        if self.curriculum is not None:
            self.curriculum.on_reset()
            in_play = self.curriculum.objects_count
        self._rules.in_play = self.n_objects if in_play is None else in_play
        fixtures = sample_fixture_bases(spec, rng)
        self._goal = sample_goal(spec, rng, fixtures)
        colors = sample_colors(spec, rng)
        apply_object_dynamics(spec, self._objects, rng)
        if self.camera is not None:
            self.camera.reset(rng)
        self._fixtures = fixtures
        self.world.reset(self._objects, self._goal, colors, fixtures, in_play=in_play)
        self._start = self._draw_start(rng)
        if self._start == "held":
            self.world.place_in_gripper(int(rng.integers(self._rules.in_play)), spec.episode.held_lift)
        elif self._start == "reach":
            index = int(rng.integers(self._rules.in_play))
            staged = self.curriculum.reach_height if self.curriculum is not None else None
            low, high = staged if staged is not None else spec.episode.reach_height
            # drawn only when asked for, so scenes without a height range keep their episodes
            self.world.place_hand_at(index, float(rng.uniform(low, high)) if high > 0 else 0.0)
        self._state = self.world.read_state()
        self._step = 0
        self._events.reset(self._objects)
        self._episode_terms = dict.fromkeys(self.reward_labels, 0.0)
        self._ever_success = False
        achieved, d = self._rules.goal_distance(self._state, self._goal)
        self._initial_distance = d
        self._prev_distance = d
        success = self._rules.is_success(d, self._events.counts["sorted"])
        ctx = StepContext(
            spec=spec,
            state=self._state,
            objects=self._objects,
            step=0,
            goal=self._goal,
            achieved=achieved,
            goal_distance=d,
            initial_goal_distance=d,
            success=success,
            world=self.world,
        )
        self.reward_fn.reset(ctx)
        info: dict[str, Any] = {"is_success": success, "events": dict(self._events.counts)}
        if self.curriculum is not None:
            info["curriculum_stage"] = self.curriculum.stage
        return self._observation(self._state, achieved), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action has shape {action.shape}, expected {self.action_space.shape} "
                f"({self.spec_scene.robot.control} control{', with gripper' if self.spec_scene.robot.gripper else ''})"
            )
        spec, world, rules = self.spec_scene, self.world, self._rules
        world.apply_action(action, self._state)
        world.step()
        state = world.read_state()
        self._step += 1

        events = self._events.detect(state, world)
        achieved, d = rules.goal_distance(state, self._goal)
        success = rules.is_success(d, self._events.counts["sorted"])
        first_success = success and not self._ever_success
        self._ever_success = self._ever_success or success
        collision = rules.collision(state, world, self._fixtures)
        terminated = rules.terminated(state, success, d, collision)
        truncated = (not terminated) and self._step >= spec.episode.max_steps

        ctx = StepContext(
            spec=spec,
            state=state,
            objects=self._objects,
            step=self._step,
            action=action,
            events=events,
            goal=self._goal,
            achieved=achieved,
            goal_distance=d,
            prev_goal_distance=self._prev_distance,
            initial_goal_distance=self._initial_distance,
            success=success,
            first_success=first_success,
            collision=collision,
            terminated=terminated,
            truncated=truncated,
            world=world,
        )
        reward, terms = self.reward_fn(ctx)
        if not math.isfinite(reward):  # the one check per step; the culprit is looked for only now
            raise RewardTermError(
                non_finite_message(spec.name, self.reward_fn.terms, terms, reward, self._step)
            )
        for k, v in terms.items():
            self._episode_terms[k] += v
        self._prev_distance = d
        self._state = state

        info: dict[str, Any] = {
            "is_success": success,
            "reward_terms": terms,
            "events": dict(self._events.counts),
        }
        if self.curriculum is not None:
            info["curriculum_stage"] = self.curriculum.stage
        if terminated or truncated:
            info["episode_reward_terms"] = dict(self._episode_terms)
            stats: dict[str, float] = {}
            if spec.episode.held_start > 0:  # so episodes.csv can tell the easy starts apart
                stats["held_start"] = float(self._start == "held")
            if spec.episode.reach_start > 0:
                stats["reach_start"] = float(self._start == "reach")
            if self.curriculum is not None:
                stats["curriculum_stage"] = self.curriculum.stage
                self.curriculum.episode_end(success)
            if stats:
                info["episode_stats"] = stats
        return self._observation(state, achieved), float(reward), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.render_image()
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; make the env with render_mode='rgb_array' to get images"
            )
        return None

    def close(self) -> None:
        world = getattr(self, "world", None)
        if world is not None:
            world.close()
            self.world = None  # type: ignore[assignment]

    def _draw_start(self, rng: np.random.Generator) -> str:
        """scene, held or reach: one draw, and only in scenes with a training-aid start."""
        ep = self.spec_scene.episode
        if self._evaluation or ep.held_start + ep.reach_start <= 0:
            return "scene"
        u = float(rng.random())
        return "held" if u < ep.held_start else "reach" if u < ep.held_start + ep.reach_start else "scene"

    def set_evaluation(self, evaluation: bool = True) -> None:
        """Evaluate on the full task: play the curriculum's last stage and never promote, and
        start every episode as the scene does (no `episode.held_start`/`reach_start`).

        The agents call this on their evaluation env (a generic protocol: they do not
        know envkit), so eval.csv measures the scene as written, not the stage the
        training envs have reached or their easier starts. Takes effect at the next reset.
        """
        self._evaluation = bool(evaluation)
        if self.curriculum is not None:
            self.curriculum.evaluation = bool(evaluation)

    def scripted_demos(self, episodes: int, seed: int, progress: Any = None) -> dict[str, Any]:
        """Demonstrations of this scene by envkit's scripted grasp-and-carry controller
        (envkit.scripted): the successful episodes' observation/action pairs and what produced
        them. The agents' `demos: scripted` finds this method through wrappers, as it finds
        `set_evaluation`, so they need nothing of envkit. Call it on an env set to evaluation:
        the demonstrations should start as the scene does."""
        from envkit.scripted import record_demos

        demos = record_demos(self, episodes, seed=seed, progress=progress)
        return {"obs": demos.obs, "actions": demos.actions, "meta": demos.meta}

    @property
    def training_state(self) -> dict[str, int]:
        """What a checkpoint keeps of this env (the agents' `training_state` protocol): the
        curriculum stage it has reached, so that a resumed run does not start the curriculum
        again. Empty without a curriculum."""
        if self.curriculum is None:
            return {}
        return {"curriculum_stage": self.curriculum.training_stage}

    @training_state.setter
    def training_state(self, state: dict[str, int]) -> None:
        if self.curriculum is None or not state or "curriculum_stage" not in state:
            return
        stage = int(state["curriculum_stage"])
        self.curriculum.set_stage(min(max(stage, 0), self.curriculum.last))

    def set_curriculum_stage(self, stage: int) -> None:
        """Jump to a training stage at the next reset (tests, continuing a curriculum by hand)."""
        if self.curriculum is None:
            raise EnvkitError(f"scene '{self.spec_scene.name}' has no curriculum section")
        self.curriculum.set_stage(stage)

    # ------------------------------------------------------------------ helpers

    def render_image(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """An RGB image of the scene from the spec's overview camera, whatever the render mode."""
        r = self.spec_scene.render
        return self.world.render(
            width or r.width, height or r.height, np.array(r.target), r.distance, r.yaw, r.pitch, r.fov
        )

    def camera_view(self) -> np.ndarray:
        """The camera's current view as RGB uint8 (H, W, 3), rendered now (preview, debugging).

        Does not touch the frame stack, so it can be called between steps without
        changing what the agent sees.
        """
        if self.camera is None:
            raise EnvkitError(
                f"scene '{self.spec_scene.name}' has no camera observation; set observation.mode to camera or both"
            )
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before camera_view()")
        frame = self.camera.frame(self.world, self._state)
        return np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame

    def camera_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """World-frame (eye, target) of the camera now (a hand camera follows the end effector)."""
        if self.camera is None or self._state is None:
            raise EnvkitError("camera_pose() needs a camera scene after reset()")
        return self.camera.pose(self._state)

    def teleport_ee(self, position: Any) -> None:
        """Move the arm at once so the end effector is at `position` (tests, scripted demos).

        Joints are set by inverse kinematics with the end effector pointing down and
        held there by the motors; a welded tool moves with the hand.
        """
        self.world.set_ee_position(np.asarray(position, dtype=float))
        self._state = self.world.read_state()

    @property
    def fixture_bases(self) -> dict[str, np.ndarray]:
        """This episode's fixture base positions (x, y, table top) by name."""
        return {k: v.copy() for k, v in self._fixtures.items()}

    def teleport_object(self, index: int, position: Any, orientation: Any = None) -> None:
        """Place object `index` (tests and scripted demos); velocities are zeroed."""
        self.world.set_object_pose(
            index, np.asarray(position, dtype=float), None if orientation is None else np.asarray(orientation)
        )
        self._state = self.world.read_state()

    @property
    def objects(self) -> list[ObjectInstance]:
        """This episode's objects as drawn at reset."""
        return list(self._objects)

    @property
    def goal(self) -> np.ndarray | None:
        return None if self._goal is None else self._goal.copy()

    @property
    def state(self) -> WorldState | None:
        """The snapshot the last reset or step read (diagnostics and scripted controllers;
        an agent sees only the observation). None before the first reset."""
        return self._state

    def _observation(self, state: WorldState, achieved: np.ndarray | None) -> Any:
        """The observation in the scene's mode; the camera renders exactly one frame."""
        if self.camera is None:
            return self._observe(state, achieved)
        image = self.camera.observe(self.world, state)
        if self._obs_mode == "camera":
            return image
        return {"image": image, "state": self._observe(state, achieved)}

    def _observe(self, state: WorldState, achieved: np.ndarray | None) -> np.ndarray:
        inp = ObsInput(state, self._objects, self._goal, achieved)
        parts = [term(inp) for term in self.obs_terms]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
