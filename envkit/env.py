"""`SceneEnv`: the one generic gymnasium environment, assembled from a scene spec.

Per step: action -> backend physics -> one state read -> events (bins, floor) and
removals -> success and termination rules -> reward terms -> observation (state
vector, one camera frame, or both). All randomness comes from `self.np_random`,
so `reset(seed=s)` fixes the whole episode.

A reward term that raises, or a reward that is not finite, stops the env with a
`RewardTermError` naming the term and the step: NaN would otherwise reach the
agent and surface thousands of steps later as a NaN loss.
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
from envkit.context import BinEvent, StepContext, StepEvents
from envkit.errors import EnvkitError, RewardTermError
from envkit.fixtures import goal_point, tip_in_hole
from envkit.observations import ObsInput, build_obs_terms, make_layout
from envkit.randomization import apply_object_dynamics, sample_fixture_bases
from envkit.robot import action_size
from envkit.spec import SceneSpec, footprint_radius
from envkit.state import ObjectInstance, WorldState
from rewards.registry import BoundTerm, build_reward

EVENT_KEYS = ("sorted", "wrong_bin", "on_floor", "removed")


class PlacementError(EnvkitError):
    """Objects could not be placed without overlap at reset."""


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
        for t in self.reward_fn.terms:
            t.fn = _NamedTerm(t.fn, spec.name, _term_title(t))
        self.reward_labels: list[str] = list(self.reward_fn.labels)
        self.n_objects = spec.objects.n
        self._object_names = spec.object_names()
        self._table = spec.table(spec.objects.spawn.table) if self.n_objects else spec.tables[0]
        self._bin_index = {b.name: i for i, b in enumerate(spec.bins)}
        if spec.bins:
            self._bin_low = np.array([np.subtract(b.position, b.half_extents) for b in spec.bins])
            self._bin_high = np.array([np.add(b.position, b.half_extents) for b in spec.bins])
            self._bin_centre_xy = np.array([b.position[:2] for b in spec.bins], dtype=float)
        else:
            self._bin_low = self._bin_high = self._bin_centre_xy = None
        self._achieved_object = spec.goal.achieved_object if spec.goal is not None else None
        self._achieved_tool = spec.goal is not None and spec.goal.achieved == "tool_tip"
        self._success_mode = spec.success_mode
        self._collision_pairs = [(a, b, self._hole_of(a, b)) for a, b in spec.episode.terminate_on.collisions]
        self.world: World = make_world(spec, render_mode=render_mode)
        self.metadata = dict(self.metadata, render_fps=int(round(1.0 / self.world.dt)))
        self._state: WorldState | None = None
        self._objects: list[ObjectInstance] = []
        self._goal: np.ndarray | None = None
        self._fixtures: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ sampling (all from np_random)

    def _sample_objects(self, rng: np.random.Generator) -> list[ObjectInstance]:
        o = self.spec_scene.objects
        table = self._table
        objects: list[ObjectInstance] = []
        placed: list[tuple[float, float, float]] = []  # x, y, footprint radius
        for i in range(self.n_objects):
            item = o.items[i] if o.items else None
            # Draw every random quantity even when an item fixes it, so one item's
            # settings do not shift the random stream of the others.
            shape_draw = o.shapes[int(rng.integers(len(o.shapes)))]
            scale = rng.uniform(o.size.scale[0], o.size.scale[1], size=3)
            color_index = int(rng.integers(len(o.color.palette)))
            rgb = rng.uniform(0.0, 1.0, size=3)
            yaw = float(rng.uniform(*o.spawn.yaw))
            shape = item.shape if item is not None and item.shape else shape_draw
            if item is not None and item.half_extents is not None:
                he = np.array(item.half_extents, dtype=float)
            else:
                he = o.size.base * scale
            if shape == "cylinder":
                he = np.array([he[0], he[0], he[2]])
            elif shape == "sphere":
                he = np.array([he[0], he[0], he[0]])
            if item is not None and item.mass is not None:
                mass = item.mass
            elif o.mass.rule == "fixed":
                mass = o.mass.value
            else:
                mass = o.mass.density * _volume(shape, he)
            if item is not None and item.color is not None:
                color = np.array(item.color, dtype=float)
            elif o.color.mode == "palette":
                color = np.array(o.color.palette[color_index], dtype=float)
            else:
                color = np.array([*rgb, 1.0])
            r = footprint_radius(shape, he)
            if item is not None and item.position is not None:
                x, y = item.position
            else:
                for _ in range(o.spawn.max_tries):
                    x = float(rng.uniform(*o.spawn.x))
                    y = float(rng.uniform(*o.spawn.y))
                    if all(math.hypot(x - px, y - py) >= r + pr + o.spawn.min_gap for px, py, pr in placed):
                        break
                else:
                    raise PlacementError(
                        f"scene '{self.spec_scene.name}': could not place object {i} ({shape}, footprint radius "
                        f"{r:.3f} m) without overlapping the {len(placed)} already placed, after "
                        f"{o.spawn.max_tries} tries (objects.spawn.max_tries). Enlarge objects.spawn.x/y, "
                        "reduce objects.count or objects.size, or raise max_tries."
                    )
            placed.append((x, y, r))
            position = np.array([x, y, table.top + he[2]])
            orientation = np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
            objects.append(
                ObjectInstance(self._object_names[i], shape, he, float(mass), color, position, orientation)
            )
        return objects

    def _sample_goal(self, rng: np.random.Generator, fixtures: dict[str, np.ndarray]) -> np.ndarray | None:
        g = self.spec_scene.goal
        if g is None:
            return None
        if g.fixture is not None:
            f = self.spec_scene.fixture(g.fixture)
            return goal_point(f, fixtures[g.fixture]) + np.array(g.offset)
        low = np.array([g.range.x[0], g.range.y[0], g.range.z[0]])
        high = np.array([g.range.x[1], g.range.y[1], g.range.z[1]])
        return np.array(g.position, dtype=float) + rng.uniform(low, high)

    def _sample_colors(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        colors = {}
        for c in self.spec_scene.randomize.colors:
            rgb = rng.uniform(np.array(c.low), np.array(c.high))
            colors[c.body] = np.array([*rgb, 1.0])
        return colors

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        rng = self.np_random
        # Draw order is part of the seed contract (see RandomizeSpec): objects, fixtures, goal,
        # colours, object dynamics, camera jitter; absent sections draw nothing.
        self._objects = self._sample_objects(rng)
        self._bounding_radius = np.array([float(np.linalg.norm(o.half_extents)) for o in self._objects])
        fixtures = sample_fixture_bases(self.spec_scene, rng)
        self._goal = self._sample_goal(rng, fixtures)
        colors = self._sample_colors(rng)
        apply_object_dynamics(self.spec_scene, self._objects, rng)
        if self.camera is not None:
            self.camera.reset(rng)
        self._fixtures = fixtures
        self.world.reset(self._objects, self._goal, colors, fixtures)
        self._state = self.world.read_state()
        self._step = 0
        self._fired_bin = np.zeros(self.n_objects, dtype=bool)
        self._fired_floor = np.zeros(self.n_objects, dtype=bool)
        self._counts = dict.fromkeys(EVENT_KEYS, 0)
        self._episode_terms = dict.fromkeys(self.reward_labels, 0.0)
        self._ever_success = False
        achieved, d = self._goal_distance(self._state)
        self._initial_distance = d
        self._prev_distance = d
        success = self._is_success(d)
        ctx = StepContext(
            spec=self.spec_scene,
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
        info = {"is_success": success, "events": dict(self._counts)}
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
        spec = self.spec_scene
        world = self.world
        world.apply_action(action, self._state)
        world.step()
        state = world.read_state()
        self._step += 1

        events = self._detect_events(state)
        achieved, d = self._goal_distance(state)
        success = self._is_success(d)
        first_success = success and not self._ever_success
        self._ever_success = self._ever_success or success
        collision = (
            any(self._collides(a, b, hole, state) for a, b, hole in self._collision_pairs)
            if self._collision_pairs
            else False
        )

        rules = spec.episode.terminate_on
        terminated = bool(
            (rules.all_objects_removed and self.n_objects > 0 and not state.object_active.any())
            or (rules.success and success)
            or (rules.goal_distance_above is not None and d is not None and d > rules.goal_distance_above)
            or collision
            or (rules.object_off_table and self._object_off_table(state))
        )
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
                _non_finite_message(spec.name, self.reward_fn.terms, terms, reward, self._step)
            )
        for k, v in terms.items():
            self._episode_terms[k] += v
        self._prev_distance = d
        self._state = state

        info: dict[str, Any] = {"is_success": success, "reward_terms": terms, "events": dict(self._counts)}
        if terminated or truncated:
            info["episode_reward_terms"] = dict(self._episode_terms)
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

    def _detect_events(self, state: WorldState) -> StepEvents:
        events = StepEvents()
        if self.n_objects == 0:
            return events
        spec = self.spec_scene
        world = self.world
        near = self._near_bin_or_floor(state)
        for i in range(self.n_objects):
            if not near[i]:
                continue
            touched = world.object_contacts(i)
            if not touched:
                continue
            remove = False
            if not self._fired_bin[i]:
                b = self._scoring_bin(state.object_position[i], touched)
                if b is not None:
                    bin_spec = spec.bins[b]
                    correct = not bin_spec.accepts or self._objects[i].shape in bin_spec.accepts
                    events.in_bin.append(BinEvent(object=i, bin=b, correct=correct))
                    self._fired_bin[i] = True
                    self._counts["sorted" if correct else "wrong_bin"] += 1
                    remove = bin_spec.on_contact == "remove"
            if not remove and "floor" in touched and not self._fired_floor[i]:
                events.on_floor.append(i)
                self._fired_floor[i] = True
                self._counts["on_floor"] += 1
                remove = spec.floor.removes_objects
            if remove:
                world.remove_object(i)
                state.object_active[i] = False
                self._counts["removed"] += 1
        return events

    def _scoring_bin(self, position: np.ndarray, touched: set[str]) -> int | None:
        """The bin an object scores in when it touches one or more bins, else None.

        Decided by where the object's centre is, so an object on the seam of two
        touching bins (the bundled sorting bins touch along y) scores the same
        whatever order pybullet lists contacts in or the spec lists bins in: the
        bin whose x/y region holds the centre; if the centre is over no bin, the
        touched bin whose x/y region is nearest to it. Ties (a centre exactly on a
        seam, or over overlapping bins) go to the bin whose centre is nearer, then
        to the name that sorts first.
        """
        hit = [self._bin_index[name] for name in touched if name in self._bin_index]
        if not hit:
            return None
        xy = position[:2]
        gap = np.maximum(np.maximum(self._bin_low[:, :2] - xy, xy - self._bin_high[:, :2]), 0.0)  # (bins, 2)
        outside = np.hypot(gap[:, 0], gap[:, 1])  # (bins,) 0 where the region holds the centre
        to_centre = np.hypot(*(self._bin_centre_xy - xy).T)  # (bins,)
        candidates = np.flatnonzero(outside == 0.0).tolist() or hit
        bins = self.spec_scene.bins
        return min(candidates, key=lambda b: (outside[b], to_centre[b], bins[b].name))

    def _hole_of(self, a: str, b: str) -> str | None:
        """The fixture of a tool-fixture pair whose in-hole contacts are allowed, else None."""
        spec = self.spec_scene
        if spec.tool is None or spec.episode.terminate_on.insertion_contact != "allowed":
            return None
        fixtures = {f.name for f in spec.fixtures}
        if a == spec.tool.name and b in fixtures:
            return b
        if b == spec.tool.name and a in fixtures:
            return a
        return None

    def _collides(self, a: str, b: str, hole: str | None, state: WorldState) -> bool:
        if hole is not None and state.tool_tip is not None:
            fixture = self.spec_scene.fixture(hole)
            if tip_in_hole(fixture, self.spec_scene.tool, self._fixtures[hole], state.tool_tip):
                return False
        return self.world.touching(a, b)

    def _near_bin_or_floor(self, state: WorldState) -> np.ndarray:
        """Active objects close enough to a bin or the floor to touch it.

        Contact queries cost a simulator call each; an object's bounding sphere must
        reach a bin's box (or the floor) before they can touch, so only those are asked.
        """
        pos = state.object_position
        reach = self._bounding_radius + 0.01
        near = pos[:, 2] - reach <= self.spec_scene.floor.height
        if self._bin_low is not None:
            inside = np.all(
                (pos[:, None, :] >= self._bin_low[None] - reach[:, None, None])
                & (pos[:, None, :] <= self._bin_high[None] + reach[:, None, None]),
                axis=2,
            )
            near |= inside.any(axis=1)
        return near & state.object_active

    def _goal_distance(self, state: WorldState) -> tuple[np.ndarray | None, float | None]:
        if self._goal is None:
            return None, None
        if self._achieved_object is not None:
            achieved = state.object_position[self._achieved_object]
        elif self._achieved_tool:
            achieved = state.tool_tip
        else:
            achieved = state.ee_position
        return achieved, float(np.linalg.norm(achieved - self._goal))

    def _is_success(self, d: float | None) -> bool:
        mode = self._success_mode
        if mode == "goal_reached":
            return d is not None and d < self.spec_scene.goal.threshold  # type: ignore[union-attr]
        if mode == "all_sorted":
            return self._counts["sorted"] == self.n_objects
        return False

    def _object_off_table(self, state: WorldState) -> bool:
        top = self._table.top
        return bool(np.any(state.object_active & (state.object_position[:, 2] < top)))

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


def _term_title(term: BoundTerm) -> str:
    """How a reward term reads in errors: as the scene names it, plus its log label if renamed."""
    title = f"reward term '{term.term}'"
    return title if term.label == term.term.replace(":", ".") else f"{title} (name '{term.label}')"


class _NamedTerm:
    """A bound reward term's callable that names the term and the step when it raises.

    The env installs one on each of its bound terms, so an exception inside a term
    (a user's `module:function`, say) reaches the user as a `RewardTermError`
    chained to the original instead of a traceback out of the reward sum. Stateful
    terms keep their `reset`, guarded the same way.
    """

    __slots__ = ("_fn", "_scene", "_title")

    def __init__(self, fn: Any, scene: str, title: str) -> None:
        self._fn = fn
        self._scene = scene
        self._title = title

    def __call__(self, ctx: StepContext) -> float:
        try:
            return float(self._fn(ctx))
        except Exception as exc:
            raise RewardTermError(self._message(f"at step {ctx.step}", exc)) from exc

    def reset(self, ctx: StepContext) -> None:
        try:
            self._fn.reset(ctx)
        except Exception as exc:
            raise RewardTermError(self._message("at reset (step 0)", exc)) from exc

    def _message(self, when: str, exc: Exception) -> str:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (
            f" ({tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}, in {tb.tb_frame.f_code.co_name})"
            if tb
            else ""
        )
        return (
            f"scene '{self._scene}': {self._title} raised {type(exc).__name__} {when}{where}: {exc}. "
            "Fix the term, or remove it from the scene's reward to run without it; "
            "the full traceback is chained to this error."
        )


def _non_finite_message(
    scene: str, bound: list[BoundTerm], contributions: dict[str, float], total: float, step: int
) -> str:
    """Why the summed reward is NaN or inf: the non-finite terms, else the finite terms that overflowed."""
    bad = [t for t in bound if not math.isfinite(contributions[t.label])]
    if bad:
        parts = []
        for t in bad:
            c = contributions[t.label]
            if not math.isfinite(t.weight):
                parts.append(f"{_term_title(t)} has weight {t.weight:g} (contribution {c:g})")
                continue
            value = f"{c / t.weight:g}" if t.weight != 0.0 else "a non-finite value"
            parts.append(f"{_term_title(t)} returned {value} (weight {t.weight:g}, contribution {c:g})")
        return (
            f"scene '{scene}': {'; '.join(parts)} at step {step}, so the reward is {total:g}. "
            "A reward term must return a finite number: look in the term for a division by zero, a log or "
            "square root of a value <= 0, or an overflow. envkit stops here because a NaN reward reaching the "
            "agent surfaces thousands of steps later as a NaN loss that names nothing."
        )
    largest = sorted(bound, key=lambda t: abs(contributions[t.label]), reverse=True)[:3]
    named = ", ".join(f"{_term_title(t)} = {contributions[t.label]:g}" for t in largest)
    return (
        f"scene '{scene}': every reward term is finite at step {step}, but their sum overflows to {total:g}; "
        f"the largest contributions: {named}. Scale these terms or their weights down."
    )


def _volume(shape: str, he: np.ndarray) -> float:
    if shape == "cube":
        return float(8.0 * he[0] * he[1] * he[2])
    if shape == "cylinder":
        return float(math.pi * he[0] ** 2 * 2.0 * he[2])
    return float(4.0 / 3.0 * math.pi * he[0] ** 3)
