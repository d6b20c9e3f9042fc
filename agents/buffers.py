"""Rollout buffer with GAE (PPO) and a preallocated replay buffer (TD3).

Conventions shared by both, for gymnasium 1.x vector envs with NEXT_STEP autoreset:
a sub-env that returned terminated or truncated at step t is reset by the call at
step t+1, which ignores the action and returns the reset observation with reward 0.
That step is not a transition: it is stored with `valid=False` (rollouts) or not
stored at all (replay), and never trained on.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from agents.spaces import ObsLayout


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation over a (T, N) rollout; returns (advantages, returns).

    `next_values[t]` is V(s_{t+1}), the value of the observation the env returned
    at step t: at the last step of an episode that is its final observation. So:

    - at a termination the next state has no value: delta = r - V(s);
    - at a truncation (time limit) the episode could have gone on: the value of the
      final observation is bootstrapped, delta = r + gamma V(s_final) - V(s);
    - in both cases the recursion stops there, so advantages never leak across
      episode boundaries: A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}.
    """
    rewards = np.asarray(rewards, np.float64)
    T = rewards.shape[0]
    not_term = 1.0 - np.asarray(terminated, np.float64)
    not_done = not_term * (1.0 - np.asarray(truncated, np.float64))
    deltas = rewards + gamma * not_term * next_values - values
    adv = np.zeros_like(rewards)
    last = np.zeros(rewards.shape[1:], np.float64)
    for t in reversed(range(T)):
        last = deltas[t] + gamma * gae_lambda * not_done[t] * last
        adv[t] = last
    return adv.astype(np.float32), (adv + values).astype(np.float32)


class RolloutBatch(NamedTuple):
    obs: dict[str, torch.Tensor]
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor


class RolloutBuffer:
    """Fixed (n_steps, n_envs) storage of one PPO rollout, preallocated once."""

    def __init__(self, layout: ObsLayout, act_dim: int, n_steps: int, n_envs: int, device: torch.device) -> None:
        self.layout, self.n_steps, self.n_envs, self.device = layout, n_steps, n_envs, device
        shape = (n_steps, n_envs)
        self.obs = {k: np.zeros(shape + layout.shapes[k], layout.dtypes[k]) for k in layout.keys}
        self.actions = np.zeros(shape + (act_dim,), np.float32)
        self.log_probs = np.zeros(shape, np.float32)
        self.values = np.zeros(shape, np.float32)
        self.rewards = np.zeros(shape, np.float32)
        self.terminated = np.zeros(shape, np.bool_)
        self.truncated = np.zeros(shape, np.bool_)
        self.valid = np.zeros(shape, np.bool_)
        self.advantages = np.zeros(shape, np.float32)
        self.returns = np.zeros(shape, np.float32)
        self.pos = 0

    def reset(self) -> None:
        self.pos = 0

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def add_obs(self, obs: dict[str, np.ndarray]) -> None:
        """Store the observation the policy acts on at the current step (before env.step)."""
        for k in self.layout.keys:
            self.obs[k][self.pos] = obs[k]

    def add_step(
        self,
        action: np.ndarray,
        log_prob: np.ndarray,
        value: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        p = self.pos
        self.actions[p] = action
        self.log_probs[p] = log_prob
        self.values[p] = value
        self.rewards[p] = reward
        self.terminated[p] = terminated
        self.truncated[p] = truncated
        self.valid[p] = valid
        self.pos += 1

    def compute_returns_and_advantages(self, last_values: np.ndarray, gamma: float, gae_lambda: float) -> None:
        """`last_values` = V(obs after the last step). Invalid (reset) steps get no advantage;
        the done flag of the step before them already cut the recursion."""
        next_values = np.concatenate([self.values[1:], last_values[None]], axis=0)
        adv, ret = compute_gae(self.rewards, self.values, next_values, self.terminated, self.truncated,
                               gamma, gae_lambda)
        adv[~self.valid] = 0.0
        self.advantages[:] = adv
        self.returns[:] = ret

    def flat_valid(self) -> RolloutBatch:
        """All valid transitions, flattened, as tensors (zero-copy views where possible)."""
        idx = np.flatnonzero(self.valid.reshape(-1))
        d = self.device

        def take(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a.reshape((-1,) + a.shape[2:])[idx], device=d)

        return RolloutBatch(
            obs={k: take(v) for k, v in self.obs.items()},
            actions=take(self.actions),
            log_probs=take(self.log_probs),
            values=take(self.values),
            advantages=take(self.advantages),
            returns=take(self.returns),
        )


class ReplayBatch(NamedTuple):
    obs: dict[str, torch.Tensor]
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: dict[str, torch.Tensor]
    terminated: torch.Tensor


class ReplayBuffer:
    """Circular buffer of transitions, preallocated in numpy.

    Images are stored as uint8 (a 240x320 gray frame is 77 kB, not 307 kB). Next
    observations are stored explicitly rather than as obs[i + 1]: with vector envs
    and autoreset, obs[i + 1] is not always the successor of obs[i].
    Only `terminated` is stored for bootstrapping: a truncated transition is an
    ordinary one whose next observation still has a value.
    """

    def __init__(self, layout: ObsLayout, act_dim: int, capacity: int, seed: int | None = None) -> None:
        self.layout, self.capacity = layout, capacity
        self.obs = {k: np.zeros((capacity,) + layout.shapes[k], layout.dtypes[k]) for k in layout.keys}
        self.next_obs = {k: np.zeros((capacity,) + layout.shapes[k], layout.dtypes[k]) for k in layout.keys}
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.pos = 0
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: dict[str, np.ndarray],
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: dict[str, np.ndarray],
        terminated: np.ndarray,
        valid: np.ndarray | None = None,
    ) -> None:
        """Add a batch of transitions (leading axis = env); rows with valid=False are skipped."""
        n = len(rewards)
        rows = np.arange(n) if valid is None else np.flatnonzero(valid)
        if len(rows) == 0:
            return
        m = len(rows)
        idx = (self.pos + np.arange(m)) % self.capacity
        all_rows = m == n
        for k in self.layout.keys:
            self.obs[k][idx] = obs[k] if all_rows else obs[k][rows]
            self.next_obs[k][idx] = next_obs[k] if all_rows else next_obs[k][rows]
        self.actions[idx] = actions if all_rows else actions[rows]
        self.rewards[idx] = rewards if all_rows else rewards[rows]
        self.terminated[idx] = terminated if all_rows else terminated[rows]
        self.pos = (self.pos + m) % self.capacity
        self.size = min(self.size + m, self.capacity)

    def sample_indices(self, batch_size: int) -> np.ndarray:
        return self.rng.integers(0, self.size, size=batch_size)

    def sample_numpy(self, batch_size: int) -> tuple[dict, np.ndarray, np.ndarray, dict, np.ndarray]:
        i = self.sample_indices(batch_size)
        return (
            {k: v[i] for k, v in self.obs.items()},
            self.actions[i],
            self.rewards[i],
            {k: v[i] for k, v in self.next_obs.items()},
            self.terminated[i],
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """The filled part, in insertion order is not needed: positions are kept as they are."""
        n = self.size
        out = {f"obs/{k}": v[:n] for k, v in self.obs.items()}
        out.update({f"next_obs/{k}": v[:n] for k, v in self.next_obs.items()})
        out.update(actions=self.actions[:n], rewards=self.rewards[:n], terminated=self.terminated[:n],
                   meta=np.array([self.pos, self.size], np.int64))
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> int:
        """Restore a saved buffer into this one, whatever its capacity; returns how many of the
        oldest transitions did not fit (0 unless this buffer is smaller).

        The saved rows are put back oldest first from row 0. Copying them to the same rows
        would break when the capacity changed: a wrapped buffer (pos < size) resumed with a
        larger capacity would grow `size` over rows that were never written (sampled as zeros)
        while overwriting its newest transitions."""
        pos, size = (int(x) for x in state["meta"])
        dropped = max(size - self.capacity, 0)
        start = pos % size if size else 0
        write, skip = 0, dropped
        for lo, hi in ((start, size), (0, start)):  # oldest first; slices, not a copy of a GB-sized array
            cut = min(skip, hi - lo)  # the oldest rows that do not fit
            lo, skip = lo + cut, skip - cut
            rows, dst = slice(lo, hi), slice(write, write + hi - lo)
            for k in self.layout.keys:
                self.obs[k][dst] = state[f"obs/{k}"][rows]
                self.next_obs[k][dst] = state[f"next_obs/{k}"][rows]
            self.actions[dst] = state["actions"][rows]
            self.rewards[dst] = state["rewards"][rows]
            self.terminated[dst] = state["terminated"][rows]
            write += hi - lo
        self.pos, self.size = write % self.capacity, write
        return dropped
