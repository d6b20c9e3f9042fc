"""GAE, rollout buffer and replay buffer."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.buffers import ReplayBuffer, RolloutBuffer, compute_gae
from agents.spaces import obs_layout


def test_gae_hand_computed_with_truncation_and_termination_in_one_batch():
    # One env, 4 steps: step 1 is truncated (time limit), step 3 terminated.
    gamma, lam = 0.9, 0.8
    r = np.array([[1.0], [2.0], [3.0], [4.0]])
    v = np.array([[0.5], [0.6], [0.7], [0.8]])
    # next_values[t] = V(obs returned by step t); at step 1 that is the final obs of
    # the truncated episode (value 10), which must be bootstrapped.
    nv = np.array([[0.6], [10.0], [0.8], [99.0]])
    term = np.array([[0], [0], [0], [1]], bool)
    trunc = np.array([[0], [1], [0], [0]], bool)
    adv, ret = compute_gae(r, v, nv, term, trunc, gamma, lam)

    d3 = 4.0 - 0.8  # termination: no bootstrap (the 99 must be ignored)
    d2 = 3.0 + gamma * 0.8 - 0.7
    d1 = 2.0 + gamma * 10.0 - 0.6  # truncation: bootstrap V(final obs)
    d0 = 1.0 + gamma * 0.6 - 0.5
    a3 = d3
    a2 = d2 + gamma * lam * a3
    a1 = d1  # recursion stops at the episode end
    a0 = d0 + gamma * lam * a1
    np.testing.assert_allclose(adv[:, 0], [a0, a1, a2, a3], rtol=1e-6)
    np.testing.assert_allclose(ret[:, 0], [a0 + 0.5, a1 + 0.6, a2 + 0.7, a3 + 0.8], rtol=1e-6)


def test_gae_lambda_one_is_discounted_return_plus_bootstrap():
    r = np.ones((5, 2))
    v = np.full((5, 2), 2.0)  # consistent with next_values, so lambda=1 telescopes
    nv = np.full((5, 2), 2.0)
    term = np.zeros((5, 2), bool)
    trunc = np.zeros((5, 2), bool)
    trunc[4, 1] = True
    term[4, 0] = True
    _, ret = compute_gae(r, v, nv, term, trunc, 0.5, 1.0)
    # env 0 terminates at the end: 1 + .5 + .25 + .125 + .0625
    assert ret[0, 0] == pytest.approx(1.9375)
    # env 1 truncates: the same plus 0.5^5 * V(final) = 2 * 0.03125
    assert ret[0, 1] == pytest.approx(1.9375 + 0.0625)


def _rollout_buffer(n_steps=4):
    layout = obs_layout(gym.spaces.Box(-1, 1, (1,)))
    return RolloutBuffer(layout, 1, n_steps, 1, torch.device("cpu"))


def test_rollout_buffer_masks_autoreset_steps_and_uses_final_obs_value():
    buf = _rollout_buffer()
    # step 0: ends by truncation; step 1: the autoreset call (invalid); steps 2, 3: new episode.
    values = [1.0, 5.0, 2.0, 3.0]  # 5.0 = V(final obs of episode 1), computed at the reset call
    for t, (val, trunc, valid) in enumerate(zip(values, [1, 0, 0, 0], [1, 0, 1, 1], strict=True)):
        buf.add_obs({"obs": np.array([[t]], np.float32)})
        buf.add_step(np.zeros((1, 1)), np.zeros(1), np.array([val]), np.array([1.0 if valid else 0.0]),
                     np.array([False]), np.array([bool(trunc)]), np.array([bool(valid)]))
    buf.compute_returns_and_advantages(np.array([4.0]), gamma=0.5, gae_lambda=1.0)
    assert buf.advantages[1, 0] == 0.0
    assert buf.advantages[0, 0] == pytest.approx(1.0 + 0.5 * 5.0 - 1.0)
    batch = buf.flat_valid()
    assert batch.obs["obs"][:, 0].tolist() == [0.0, 2.0, 3.0]  # the reset call is not trained on


def test_replay_buffer_preallocated_dict_uint8_and_valid_rows():
    space = gym.spaces.Dict({"img": gym.spaces.Box(0, 255, (8, 8, 1), np.uint8),
                             "vec": gym.spaces.Box(-1, 1, (3,), np.float32)})
    layout = obs_layout(space)
    buf = ReplayBuffer(layout, 2, capacity=5, seed=0)
    assert buf.obs["img"].dtype == np.uint8 and buf.obs["img"].shape == (5, 8, 8, 1)
    assert buf.obs["vec"].dtype == np.float32
    for i in range(4):  # 2 envs per add, the second row invalid every other time
        o = {"img": np.full((2, 8, 8, 1), i, np.uint8), "vec": np.full((2, 3), i, np.float32)}
        no = {"img": np.full((2, 8, 8, 1), i + 1, np.uint8), "vec": np.full((2, 3), i + 1, np.float32)}
        buf.add(o, np.full((2, 2), i, np.float32), np.array([i + 1, -(i + 1)], np.float32), no,
                np.array([0.0, 1.0], np.float32), valid=np.array([True, i % 2 == 0]))
    assert len(buf) == 5  # 6 valid rows into capacity 5: wrapped around
    obs, act, rew, nxt, term = buf.sample_numpy(64)
    assert obs["img"].dtype == np.uint8
    # every sampled transition is consistent: next = obs + 1, action = obs, reward = +-obs
    np.testing.assert_array_equal(nxt["vec"][:, 0], obs["vec"][:, 0] + 1)
    np.testing.assert_array_equal(act[:, 0], obs["vec"][:, 0])
    np.testing.assert_array_equal(np.abs(rew), obs["vec"][:, 0] + 1)
    # termination flags travel with their transition (the second env's rows are terminal)
    np.testing.assert_array_equal(term == 1.0, rew < 0)


def test_replay_state_dict_round_trip():
    layout = obs_layout(gym.spaces.Box(-1, 1, (2,)))
    a = ReplayBuffer(layout, 1, 10, seed=1)
    for i in range(3):
        a.add({"obs": np.full((1, 2), i, np.float32)}, np.zeros((1, 1), np.float32), np.array([i], np.float32),
              {"obs": np.full((1, 2), i + 1, np.float32)}, np.zeros(1, np.float32))
    b = ReplayBuffer(layout, 1, 10, seed=1)
    b.load_state_dict(a.state_dict())
    assert (b.pos, b.size) == (3, 3)
    np.testing.assert_array_equal(b.obs["obs"][:3], a.obs["obs"][:3])
