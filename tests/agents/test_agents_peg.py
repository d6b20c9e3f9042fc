"""TD3 + CNN on Task A's camera peg-in-hole scene: a real-physics smoke run, end to end."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pandas as pd
from agents_testenvs import replay_obs_dtypes

import agents
import envkit  # noqa: F401 - registers envkit/<scene>-v0

SCENE = "envkit/peg_in_hole-v0"


def test_td3_cnn_smoke_on_camera_peg_in_hole(tmp_path, fast):
    # Task A's TD3 settings on a tiny budget; the CNN is the default encoder (Task A's channels).
    cfg = dict(fast, total_timesteps=300, learning_starts=100, batch_size=16, eval_episodes=1,
               hidden_sizes=[64, 64], gamma=0.99, tau=0.01, critic_loss="huber", learning_rate=3e-4,
               exploration_noise=0.1, exploration_noise_prob=0.9, target_policy_noise=0.1)
    run_dir = tmp_path / "run"
    res = agents.train(SCENE, "td3", cfg, run_dir=run_dir, seed=0, quiet=True)

    assert res.status == "completed" and res.global_step == 300
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"
    # The (84, 84, 1) camera frames stay uint8 in the replay buffer (a Box observation: key "obs").
    dtypes = replay_obs_dtypes(run_dir)
    assert dtypes == {"obs/obs": np.uint8, "next_obs/obs": np.uint8}

    evals = pd.read_csv(run_dir / "eval.csv")
    assert len(evals) >= 1 and evals["global_step"].iloc[-1] == 300
    assert evals["episodes"].iloc[-1] == 1 and np.isfinite(evals["mean_return"].iloc[-1])

    # The final checkpoint acts on a real camera observation of the scene.
    policy = agents.load_policy(res.checkpoint)
    assert res.checkpoint.name == "final.pt" and policy.global_step == 300
    env = gym.make(SCENE)
    try:
        obs, _ = env.reset(seed=123)
        assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
        action = policy.predict(obs)
        assert action.shape == env.action_space.shape == (3,)
        assert np.all(np.isfinite(action))
        assert env.action_space.contains(action)
        env.step(action)  # the env accepts it
    finally:
        env.close()


def test_td3_shared_encoder_with_shifts_trains_and_evaluates_on_camera_peg_in_hole(tmp_path, fast):
    """The pixel defaults end to end on real physics: one shared encoder, DrQ shifts."""
    cfg = dict(fast, total_timesteps=200, learning_starts=100, batch_size=16, eval_episodes=1, log_every=50,
               hidden_sizes=[64, 64], encoder="shared", augment="shift", augment_pad=4)
    res = agents.train(SCENE, "td3", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    assert res.status == "completed" and res.global_step == 200
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv").dropna(subset=["critic_loss", "actor_loss"])
    assert len(stats) >= 1 and np.isfinite(stats[["critic_loss", "actor_loss", "q_mean"]].to_numpy()).all()
    result = agents.evaluate(res.checkpoint, episodes=1, seed=7)
    assert result["episodes"] == 1 and np.isfinite(result["mean_return"])


def test_ppo_with_shift_augmentation_runs_on_camera_peg_in_hole(tmp_path, fast):
    cfg = dict(fast, total_timesteps=64, batch_size=32, minibatch_size=16, epochs=2, eval_episodes=1,
               log_every=1, hidden_sizes=[32], augment="shift")
    res = agents.train(SCENE, "ppo", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    assert res.status == "completed"
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    assert len(stats) >= 2 and np.isfinite(stats[["policy_loss", "value_loss"]].to_numpy()).all()
