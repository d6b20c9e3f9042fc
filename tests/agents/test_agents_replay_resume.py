"""Resuming TD3: the replay buffer comes back whole, consistent with last.pt, in any capacity;
without it, updates wait for fresh transitions and a warning says so."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from agents_testenvs import CountingEnv

import agents
from agents.buffers import ReplayBuffer
from agents.checkpoint import load_checkpoint
from agents.spaces import obs_layout

CFG = dict(tensorboard=False, eval_every=0, eval_episodes=0, log_every=1000, hidden_sizes=[8], batch_size=8,
           learning_starts=16)


def _env():
    return CountingEnv(length=5)


def _replay(run):
    with np.load(run / "checkpoints" / "replay.npz") as d:
        return {k: d[k] for k in d.files}


def test_a_full_buffer_resumed_with_a_larger_capacity_has_no_empty_rows(tmp_path):
    run = tmp_path / "run"
    agents.train(_env, "td3", dict(CFG, total_timesteps=80, buffer_size=50), run_dir=run, quiet=True)
    agents.train(_env, "td3", {"total_timesteps": 120, "buffer_size": 200}, run_dir=run, quiet=True, resume=True)
    d = _replay(run)
    assert len(d["rewards"]) == 50 + 40  # the 50 kept across the resume, then 40 new ones
    assert (d["next_obs/obs"][:, 0] >= 1).all()  # a real transition's next t is >= 1; an unwritten row is 0
    np.testing.assert_array_equal(d["rewards"], d["next_obs/obs"][:, 0])


def test_a_buffer_resumed_with_a_smaller_capacity_keeps_the_newest_and_says_so(tmp_path):
    run = tmp_path / "run"
    agents.train(_env, "td3", dict(CFG, total_timesteps=80, buffer_size=100), run_dir=run, quiet=True)
    before = _replay(run)
    with pytest.warns(UserWarning, match="oldest 40"):
        agents.train(_env, "td3", {"total_timesteps": 80, "buffer_size": 40}, run_dir=run, quiet=True, resume=True)
    after = _replay(run)
    assert len(after["rewards"]) == 40
    kept = {tuple(r) for r in after["obs/obs"]}
    assert kept == {tuple(r) for r in before["obs/obs"][-40:]}


def test_replay_buffer_load_state_dict_puts_transitions_in_insertion_order():
    layout = obs_layout(CountingEnv().observation_space)
    small = ReplayBuffer(layout, 1, 4)
    for t in range(6):  # wraps: rows hold t = 4, 5, 2, 3
        small.add({"obs": np.array([[t, 0]], np.float32)}, np.zeros((1, 1), np.float32), np.array([t], np.float32),
                  {"obs": np.array([[t + 1, 0]], np.float32)}, np.zeros(1, np.float32))
    big = ReplayBuffer(layout, 1, 8)
    assert big.load_state_dict(small.state_dict()) == 0
    assert big.rewards[: big.size].tolist() == [2, 3, 4, 5] and big.pos == 4
    tiny = ReplayBuffer(layout, 1, 3)
    assert tiny.load_state_dict(small.state_dict()) == 1  # the oldest transition is dropped
    assert tiny.rewards.tolist() == [3, 4, 5] and tiny.pos == 0 and tiny.size == 3


def test_last_pt_names_the_replay_file_it_belongs_to(tmp_path):
    run = tmp_path / "run"
    agents.train(_env, "td3", dict(CFG, total_timesteps=40, checkpoint_every=20), run_dir=run, quiet=True)
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["replay"]["id"] == str(_replay(run)["checkpoint_id"]) and ckpt["replay"]["size"] == 40


def test_a_replay_file_of_another_checkpoint_is_not_used(tmp_path):
    """A run stopped between writing replay.npz and last.pt leaves a pair that does not belong together."""
    run, ck = tmp_path / "run", tmp_path / "run" / "checkpoints"
    agents.train(_env, "td3", dict(CFG, total_timesteps=40, checkpoint_every=40), run_dir=run, quiet=True)
    shutil.copy(ck / "last.pt", tmp_path / "last-40.pt")
    agents.train(_env, "td3", {"total_timesteps": 80}, run_dir=run, quiet=True, resume=True)
    shutil.copy(tmp_path / "last-40.pt", ck / "last.pt")  # replay.npz is now the one of step 80
    with pytest.warns(UserWarning, match="belongs to another checkpoint"):
        agents.train(_env, "td3", {"total_timesteps": 100}, run_dir=run, quiet=True, resume=True)


@pytest.mark.parametrize("why", ["deleted", "not saved"])
def test_resume_without_a_replay_file_refills_before_updating(tmp_path, why):
    run = tmp_path / "run"
    cfg = dict(CFG, total_timesteps=64, learning_starts=16, save_replay_buffer=why != "not saved")

    def _env():  # one long episode: no autoreset calls, so one update per transition after the start
        return CountingEnv(length=1000)

    agents.train(_env, "td3", cfg, run_dir=run, quiet=True)
    before = load_checkpoint(run / "checkpoints" / "last.pt")["algo_counters"]["critic_updates"]
    assert before == 64 - 16 + 1
    (run / "checkpoints" / "replay.npz").unlink(missing_ok=True)
    with pytest.warns(UserWarning, match="updates pause until 16 new transitions"):
        agents.train(_env, "td3", {"total_timesteps": 128}, run_dir=run, quiet=True, resume=True)
    after = load_checkpoint(run / "checkpoints" / "last.pt")["algo_counters"]["critic_updates"]
    assert after - before == 128 - 64 - 16 + 1  # no update on the first 15 fresh transitions
