"""Running mean/std statistics for observations and returns (saved in checkpoints)."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.spaces import ObsLayout


class RunningMeanStd:
    """Parallel (Chan et al.) running mean and variance, in float64 so that long runs stay exact."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, np.float64)
        b_count = batch.shape[0]
        if b_count == 0:
            return
        if b_count == 1:  # one env stepping: skip numpy's reductions (3x faster, same numbers)
            b_mean, b_var = batch[0], 0.0
        else:
            b_mean, b_var = batch.mean(axis=0), batch.var(axis=0)
        delta = b_mean - self.mean
        total = self.count + b_count
        self.mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": float(self.count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], np.float64).copy()
        self.var = np.asarray(state["var"], np.float64).copy()
        self.count = float(state["count"])


class ObsNormalizer:
    """Normalises the vector parts of an observation dict; images pass through untouched.

    With `enabled=False` it is the identity (but still converts to float32), so
    callers never branch on whether normalisation is on.
    """

    def __init__(self, layout: ObsLayout, enabled: bool, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.layout = layout
        self.enabled = enabled
        self.clip = clip
        self.epsilon = epsilon
        self.stats = {k: RunningMeanStd(layout.shapes[k]) for k in layout.vector_keys}
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.frozen = False
        """Ignore updates: set after fitting the statistics to demonstrations (agents.demos), so that
        a policy cloned from them keeps seeing its inputs as it learned them."""

    def update(self, obs: dict[str, np.ndarray]) -> None:
        """Update with a batch (leading axis = batch)."""
        if not self.enabled or self.frozen:
            return
        for k, rms in self.stats.items():
            rms.update(obs[k])
        self._cache.clear()

    def _mean_inv_std(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        if key not in self._cache:
            rms = self.stats[key]
            self._cache[key] = (
                rms.mean.astype(np.float32),
                (1.0 / np.sqrt(rms.var + self.epsilon)).astype(np.float32),
            )
        return self._cache[key]

    def normalize(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {}
        for k in self.layout.image_keys:
            out[k] = obs[k]
        for k in self.layout.vector_keys:
            x = np.asarray(obs[k], np.float32)
            if self.enabled:
                mean, inv_std = self._mean_inv_std(k)
                x = np.clip((x - mean) * inv_std, -self.clip, self.clip)
            out[k] = x
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "clip": self.clip, "stats": {k: s.state_dict() for k, s in self.stats.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.enabled = bool(state["enabled"])
        self.clip = float(state["clip"])
        for k, s in state["stats"].items():
            self.stats[k].load_state_dict(s)
        self._cache.clear()


class RewardScaler:
    """Scales rewards by the running std of the discounted return, per env (VecNormalize's scheme).

    The return accumulator is reset at every episode end (terminated or truncated).
    """

    def __init__(self, n_envs: int, gamma: float, clip: float, epsilon: float = 1e-8) -> None:
        self.rms = RunningMeanStd(())
        self.ret = np.zeros(n_envs, np.float64)
        self.gamma = gamma
        self.clip = clip
        self.epsilon = epsilon

    def __call__(self, reward: np.ndarray, done: np.ndarray, valid: np.ndarray) -> np.ndarray:
        self.ret = np.where(valid, self.ret * self.gamma + reward, self.ret)
        self.rms.update(self.ret[valid])
        scaled = np.clip(reward / np.sqrt(self.rms.var + self.epsilon), -self.clip, self.clip)
        self.ret[done] = 0.0
        return scaled.astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"rms": self.rms.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rms.load_state_dict(state["rms"])
