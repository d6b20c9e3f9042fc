"""Tiny envs for the agents tests (fast, deterministic, and with known structure) and
small helpers that read a run directory."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np


def replay_obs_dtypes(run_dir: Path) -> dict[str, np.dtype]:
    """dtype of every observation array in the run's saved replay buffer (checkpoints/replay.npz),
    named "obs/<key>" and "next_obs/<key>"; <key> is a Dict observation's key, "obs" for a Box."""
    with np.load(Path(run_dir) / "checkpoints" / "replay.npz") as data:
        return {name: data[name].dtype for name in data.files if name.startswith(("obs/", "next_obs/"))}


class CountingEnv(gym.Env):
    """obs = [t, episode_id]; episodes of `length` steps end by truncation (or termination
    when `terminate` is set). Reward = t after the step, so returns are known exactly.
    `info` follows the envkit contract (is_success, reward_terms, episode_reward_terms)."""

    metadata = {"render_modes": []}

    def __init__(self, length: int = 3, terminate: bool = False) -> None:
        self.observation_space = gym.spaces.Box(-1e6, 1e6, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.length, self.terminate = length, terminate
        self.episode = -1

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.episode += 1
        return np.array([0, self.episode], np.float32), {"is_success": False}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        info = {"is_success": bool(end and self.episode % 2 == 0), "reward_terms": {"time": float(self.t)}}
        if end:
            info["episode_reward_terms"] = {"time": float(sum(range(1, self.t + 1)))}
        obs = np.array([self.t, self.episode], np.float32)
        return obs, float(self.t), end and self.terminate, end and not self.terminate, info


class TargetEnv(gym.Env):
    """Move a point towards a fixed target: reward = -|x - target|; 20-step episodes.
    With `image=True` the observation is a dict of a uint8 (12, 12, 1) image and a vector.
    After `nan_after` steps the reward is NaN, after `huge_after` it is 1e30 (finite, but the
    losses overflow), after `raise_after` step() raises ValueError naming a reward term."""

    def __init__(self, image: bool = False, nan_after: int | None = None, render_mode: str | None = None,
                 huge_after: int | None = None, raise_after: int | None = None) -> None:
        self.image, self.nan_after, self.render_mode = image, nan_after, render_mode
        self.huge_after, self.raise_after = huge_after, raise_after
        vec = gym.spaces.Box(-5.0, 5.0, (2,), np.float32)
        if image:
            self.observation_space = gym.spaces.Dict(
                {"camera": gym.spaces.Box(0, 255, (12, 12, 1), np.uint8), "state": vec}
            )
        else:
            self.observation_space = vec
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.total_steps = 0

    def _obs(self):
        if not self.image:
            return self.x.copy()
        img = np.zeros((12, 12, 1), np.uint8)
        i, j = np.clip(((self.x + 5) / 10 * 11).astype(int), 0, 11)
        img[i, j, 0] = 255
        return {"camera": img, "state": self.x.copy()}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-2, 2, 2).astype(np.float32)
        self.t = 0
        return self._obs(), {"is_success": False}

    def step(self, action):
        self.x = np.clip(self.x + 0.5 * np.asarray(action, np.float32), -5, 5)
        self.t += 1
        self.total_steps += 1
        dist = float(np.linalg.norm(self.x - 1.0))
        reward = -dist
        if self.nan_after is not None and self.total_steps > self.nan_after:
            reward = float("nan")
        if self.huge_after is not None and self.total_steps > self.huge_after:
            reward = 1e30
        if self.raise_after is not None and self.total_steps > self.raise_after:
            raise ValueError(f"reward term 'flaky' raised ZeroDivisionError at step {self.total_steps}")
        info = {"is_success": dist < 0.3}
        return self._obs(), reward, False, self.t >= 20, info

    def render(self):
        return np.zeros((16, 16, 3), np.uint8)


class DenormalProbeEnv(gym.Env):
    """obs[0] = 1.0 if a denormal survives a numpy multiply in the process stepping this env, else 0.0
    (i.e. whether the CPU flushes denormals there); 8-step episodes, reward 0."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        survives = (np.array([1e-310]) * np.array([1.0]))[0] != 0.0
        return np.array([float(survives), 0.0], np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, False, self.t >= 8, {}


class StagedEnv(CountingEnv):
    """A CountingEnv with a two-stage "curriculum": training episodes play stage 0 and fail,
    evaluation episodes (after `set_evaluation(True)`) play stage 1 and succeed. Every
    instance's `set_evaluation` calls are recorded in the class-level `evaluation_calls`,
    and the last step reports `episode_stats` with a number and a string (not a column)."""

    evaluation_calls: list[bool] = []

    def __init__(self, length: int = 3) -> None:
        super().__init__(length)
        self.stage = 0

    def set_evaluation(self, evaluation: bool) -> None:
        StagedEnv.evaluation_calls.append(evaluation)
        self.stage = 1 if evaluation else 0

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        info["is_success"] = bool(self.stage == 1 and (terminated or truncated))
        if terminated or truncated:
            info["episode_stats"] = {"stage": self.stage, "note": "not a number"}
        return obs, reward, terminated, truncated, info


class MemoryEnv(CountingEnv):
    """A CountingEnv that remembers how many episodes it has finished, exposed through the
    `training_state` protocol and reported per episode as `episode_stats["seen"]`."""

    def __init__(self, length: int = 3) -> None:
        super().__init__(length)
        self.seen = 0

    @property
    def training_state(self) -> dict[str, int]:
        return {"seen": self.seen}

    @training_state.setter
    def training_state(self, state: dict[str, int]) -> None:
        self.seen = int(state["seen"])

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated or truncated:
            self.seen += 1
            info["episode_stats"] = {"seen": self.seen}
        return obs, reward, terminated, truncated, info
