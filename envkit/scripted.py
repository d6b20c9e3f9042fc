"""A scripted grasp-and-carry controller for the sorting scenes, and demonstrations from it.

Why it exists: learning curves can only say that an agent has not found a solution; a
controller that sorts says one exists with the scene's action space, objects and events
(docs/task-b.md). Its episodes are also the demonstrations that `agents` can learn from
(`envkit demos`, PPO's `demos`): the grasp is the step that Gaussian exploration from the
scene's own start does not find.

The controller reads only the observation vector, through the env's named layout
(`env.unwrapped.obs_layout`), so it needs a state observation that includes every
object's `shape_onehot` and `position` and the end effector's `position`, end-effector
control, and a gripper.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envkit.errors import ConfigError
from envkit.spec import SHAPES, SceneSpec

ABOVE = 0.08
"""Height above the object's centre at which the open hand lines up before coming down."""
CARRY = 0.12
"""Carrying height above the table: clears the bins (2 cm) and the blocker bar (1.5 cm) with the
largest object hanging below the fingers."""
RELEASE = 0.06
"""Height over the bin's centre at which the fingers open."""


class ScriptedControllerError(ConfigError):
    """The scene cannot be driven by the scripted controller (missing observation parts, ...)."""


def _requirements(spec: SceneSpec, layout: dict[str, slice]) -> list[str]:
    missing = []
    if spec.robot.control != "ee":
        missing.append(f"robot.control: ee (the scene has {spec.robot.control!r})")
    if not spec.robot.gripper:
        missing.append("robot.gripper: true")
    if not spec.bins:
        missing.append("at least one bin under bins:")
    if "ee.position" not in layout:
        missing.append("the end effector's position in observation.state (the `ee` term)")
    for name in spec.object_names():
        for part in ("shape_onehot", "position"):
            if f"{name}.{part}" not in layout:
                missing.append(f"{name}.{part} in observation.state (the `objects` term)")
    return missing


class GraspAndCarry:
    """Above the first object still in play with the gripper open, down to its centre, close,
    lift to CARRY, move over the centre of the bin accepting its shape, lower to RELEASE, open;
    then the next object.

    Its phases are kept between steps (call `reset` at each episode's start); each step's action
    is in the env's units ([-1, 1] per component).
    """

    def __init__(self, spec: SceneSpec, layout: dict[str, slice]) -> None:
        missing = _requirements(spec, layout)
        if missing:
            raise ScriptedControllerError(
                f"Scene {spec.name!r} cannot be driven by the scripted grasp-and-carry controller: it needs "
                + "; ".join(missing) + ". Use a sorting scene such as sort-1, or add those parts to the scene."
            )
        self.spec, self.layout = spec, layout
        self.names = spec.object_names()
        self.step_size = spec.robot.ee_step
        self.table_top = max((t.top for t in spec.tables), default=0.0)
        self.bin_xy = {s: self._bin_for(s) for s in SHAPES}
        self.reset()

    def _bin_for(self, shape: str) -> np.ndarray | None:
        for b in self.spec.bins:
            if not b.accepts or shape in b.accepts:
                return np.array(b.position[:2], dtype=float)
        return None

    def reset(self) -> None:
        self.phase, self.t, self.target = "above", 0, None

    def _to(self, ee: np.ndarray, target: Any, grip: float, gain: float = 1.0) -> np.ndarray:
        delta = np.clip(gain * (np.asarray(target, dtype=float) - ee) / self.step_size, -1.0, 1.0)
        return np.array([*delta, grip], dtype=np.float32)

    def _next_object(self, obs: np.ndarray) -> tuple[int, str] | None:
        for i, name in enumerate(self.names):
            onehot = obs[self.layout[f"{name}.shape_onehot"]]
            if onehot.max() > 0.5:  # removed objects read as zeros
                shape = SHAPES[int(np.argmax(onehot))]
                if self.bin_xy[shape] is not None:
                    return i, shape
        return None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=float)
        ee = obs[self.layout["ee.position"]]
        current = self._next_object(obs)
        if current is None:  # nothing left that a bin accepts: hold still, open
            return np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32)
        if current[0] != self.target:
            self.phase, self.t, self.target = "above", 0, current[0]
        o = obs[self.layout[f"{self.names[current[0]]}.position"]]
        bin_xy = self.bin_xy[current[1]]
        self.t += 1
        if self.phase == "above":
            target = [o[0], o[1], o[2] + ABOVE]
            if np.linalg.norm(ee - target) < 0.01:
                self.phase = "descend"
            return self._to(ee, target, 1.0)
        if self.phase == "descend":
            target = [o[0], o[1], max(o[2], self.table_top + 0.015)]
            if abs(ee[2] - target[2]) < 0.005:
                self.phase, self.t = "close", 0
            return self._to(ee, target, 1.0, 0.5)
        if self.phase == "close":
            if self.t > 6:
                self.phase = "lift"
            return np.array([0.0, 0.0, 0.0, -1.0], dtype=np.float32)
        if self.phase == "lift":
            if ee[2] > self.table_top + CARRY - 0.02:
                self.phase = "carry"
            return self._to(ee, [ee[0], ee[1], self.table_top + CARRY], -1.0)
        if self.phase == "carry":
            if np.linalg.norm(ee[:2] - bin_xy) < 0.01:
                self.phase = "lower"
            return self._to(ee, [*bin_xy, self.table_top + CARRY], -1.0, 0.6)
        if self.phase == "lower":
            if ee[2] < self.table_top + RELEASE + 0.01:
                self.phase = "release"
            return self._to(ee, [*bin_xy, self.table_top + RELEASE], -1.0)
        return np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32)


@dataclass
class Demos:
    """Observation/action pairs of scripted episodes, with what produced them."""

    obs: np.ndarray
    """(N, obs_dim) float32: the observations the controller acted on."""
    actions: np.ndarray
    """(N, act_dim) float32: its actions, in the env's units."""
    episode: np.ndarray
    """(N,) int32: which kept episode each pair belongs to."""
    meta: dict[str, Any] = field(default_factory=dict)
    """scene, seeds, episodes run and kept, success rate, controller."""


def record_demos(env: Any, episodes: int, seed: int = 0, keep: str = "success",
                 progress: Any = None) -> Demos:
    """Run the controller for `episodes` episodes (seeds seed, seed+1, ...) and keep the pairs of
    the successful ones (keep='success') or of all (keep='all').

    Only successful episodes by default: a demonstration that drops the object teaches the drop.
    In a scene with a curriculum the episodes are split evenly over its stages, each played
    pinned (earlier stages get the remainder): training starts in stage 0, and the controller
    sorts in slot order, so the full task's episodes never show a stage's states (stage 1's
    object 0 alone); a policy cloned from them all has seen every stage it will train in.
    """
    base = env.unwrapped
    bot = GraspAndCarry(base.spec_scene, base.obs_layout)
    curriculum = getattr(base, "curriculum", None)
    n_stages = 1 if curriculum is None else curriculum.last + 1
    shares = [episodes // n_stages + (i < episodes % n_stages) for i in range(n_stages)]
    stage_of = [stage for stage, share in enumerate(shares) for _ in range(share)]
    kept_in = [0] * n_stages
    obs_rows: list[np.ndarray] = []
    act_rows: list[np.ndarray] = []
    ep_rows: list[np.ndarray] = []
    kept = successes = 0
    lengths: list[int] = []
    try:
        for ep in range(episodes):
            if curriculum is not None:
                curriculum.pin(stage_of[ep])  # takes effect at the reset below
            obs, _ = env.reset(seed=seed + ep)
            bot.reset()
            o_ep, a_ep, done, info = [], [], False, {}
            while not done:
                action = bot(obs)
                o_ep.append(np.asarray(obs, dtype=np.float32))
                a_ep.append(action)
                obs, _, terminated, truncated, info = env.step(action)
                done = terminated or truncated
            success = bool(info.get("is_success", False))
            successes += success
            lengths.append(len(a_ep))
            if success or keep == "all":
                obs_rows.append(np.stack(o_ep))
                act_rows.append(np.stack(a_ep))
                ep_rows.append(np.full(len(a_ep), kept, dtype=np.int32))
                kept += 1
                kept_in[stage_of[ep]] += 1
            if progress is not None:
                progress(ep + 1, episodes, successes)
    finally:
        if curriculum is not None:
            curriculum.pin(None)
    if not kept:
        raise ScriptedControllerError(
            f"The scripted controller succeeded in none of {episodes} episodes of scene "
            f"{base.spec_scene.name!r}, so there is nothing to keep; use keep='all' to record them anyway."
        )
    meta = {
        "scene": base.spec_scene.name, "controller": "grasp_and_carry", "seed": seed,
        "episodes": episodes, "kept": kept, "success_rate": successes / episodes,
        "mean_length": float(np.mean(lengths)), "keep": keep,
    }
    if curriculum is not None:
        meta["curriculum_stages"] = [
            {"stage": stage, "objects": curriculum.spec.stages[stage].objects_count or base.n_objects,
             "episodes": share, "kept": kept_in[stage], "first_seed": seed + sum(shares[:stage])}
            for stage, share in enumerate(shares)
        ]
    return Demos(np.concatenate(obs_rows), np.concatenate(act_rows), np.concatenate(ep_rows), meta)


def save_demos(demos: Demos, path: str | Path) -> Path:
    """An .npz of plain arrays (the metadata as a JSON string): loading it never unpickles."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez_compressed(f, obs=demos.obs, actions=demos.actions, episode=demos.episode,
                            meta=np.array(json.dumps(demos.meta)))
    return path
