"""TD3: target masking, smoke runs (MLP and CNN) and a learning test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from agents_testenvs import TargetEnv, replay_obs_dtypes

import agents
from agents.td3 import td3_target


def test_td3_target_bootstraps_unless_terminated_and_uses_min():
    r = torch.tensor([1.0, 1.0])
    term = torch.tensor([0.0, 1.0])
    next_q = torch.tensor([[5.0, 5.0], [3.0, 7.0]])  # (critics, batch)
    out = td3_target(r, term, next_q, 0.9)
    assert out.tolist() == pytest.approx([1.0 + 0.9 * 3.0, 1.0])


@pytest.mark.parametrize("image", [False, True], ids=["mlp", "cnn"])
def test_td3_smoke(tmp_path, fast, image):
    cfg = dict(fast, total_timesteps=300, learning_starts=100, batch_size=32, hidden_sizes=[32, 32],
               cnn_channels=[8, 8], cnn_features=32, log_every=100)
    res = agents.train(lambda: TargetEnv(image=image), "td3", cfg, run_dir=tmp_path / "run", seed=1, quiet=True)
    assert res.status == "completed" and res.global_step == 300
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    assert {"critic_loss", "actor_loss", "q_mean", "steps_per_second"} <= set(stats.columns)
    assert np.isfinite(stats["critic_loss"]).all()
    assert (tmp_path / "run" / "checkpoints" / "replay.npz").exists()
    if image:
        assert replay_obs_dtypes(tmp_path / "run")["obs/camera"] == np.uint8


@pytest.mark.parametrize("image", [False, True])
def test_actor_learning_starts_holds_the_actor_while_the_critics_learn(tmp_path, fast, image):
    """Before actor_learning_starts the actor stays as initialised (here: the whole run), exactly
    as in a run that never updates, while the critics do learn. With images the encoder is
    shared and trained by the critics, so there only the actor's own steps are checked."""
    base = dict(fast, total_timesteps=300, batch_size=32, hidden_sizes=[32, 32], cnn_channels=[8, 8],
                cnn_features=32, log_every=100)
    env = lambda: TargetEnv(image=image)  # noqa: E731
    agents.train(env, "td3", dict(base, learning_starts=50, actor_learning_starts=400), run_dir=tmp_path / "held",
                 seed=3, quiet=True)
    agents.train(env, "td3", dict(base, learning_starts=300), run_dir=tmp_path / "none", seed=3, quiet=True)
    agents.train(env, "td3", dict(base, learning_starts=50), run_dir=tmp_path / "free", seed=3, quiet=True)
    rng = np.random.default_rng(0)
    probe = rng.uniform(-2, 2, (64, 2)).astype(np.float32)
    obs = {"camera": rng.integers(0, 255, (64, 12, 12, 1), dtype=np.uint8), "state": probe} if image else {"obs": probe}
    acts = {name: agents.load_policy(tmp_path / name / "checkpoints" / "last.pt").act_unit(obs)
            for name in ("held", "none", "free")}
    if not image:
        np.testing.assert_array_equal(acts["held"], acts["none"])
    assert np.abs(acts["free"] - acts["none"]).max() > 1e-4  # the actor does move when not held
    held = pd.read_csv(tmp_path / "held" / "train_stats.csv")
    assert held["actor_loss"].isna().all() and np.isfinite(held["critic_loss"].iloc[1:]).all()


@pytest.mark.slow
def test_td3_learns_pendulum(tmp_path):
    """TD3 must reach a mean evaluation return > -400 on Pendulum-v1 within 15k steps."""
    cfg = dict(total_timesteps=15_000, gamma=0.98, hidden_sizes=[64, 64], learning_starts=1000,
               eval_every=5000, eval_episodes=10, tensorboard=False, checkpoint_every=0)
    res = agents.train("Pendulum-v1", "td3", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    assert res.final_eval["mean_return"] > -400, res.final_eval


@pytest.mark.parametrize("encoder", ["shared", "separate"])
def test_td3_target_networks_follow_the_batch_norm_statistics(tmp_path, fast, encoder):
    """Targets lerp parameters (tau) and copy buffers (BatchNorm running statistics), as SB3 does:
    with policy_delay=1 every update ends with a target update, so at the end they are equal.
    A shared encoder lives in the actor's state_dict (its target in actor_target's)."""
    from agents.checkpoint import load_checkpoint

    cfg = dict(fast, total_timesteps=120, learning_starts=40, batch_size=16, hidden_sizes=[16], cnn_channels=[4],
               cnn_features=8, cnn_norm="batch", policy_delay=1, encoder=encoder)
    res = agents.train(lambda: TargetEnv(image=True), "td3", cfg, run_dir=tmp_path / "run", quiet=True)
    models = load_checkpoint(res.checkpoint)["models"]
    pairs = [("actor", "actor_target")] + ([("critic", "critic_target")] if encoder == "separate" else [])
    for online, target in pairs:
        stats = [k for k in models[online] if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
        assert stats, online
        for k in stats:
            torch.testing.assert_close(models[target][k], models[online][k], msg=f"{target}.{k}")
        moved = [k for k in stats if k.endswith("running_mean")]
        assert all(models[online][k].abs().sum() > 0 for k in moved)
        weights = [k for k in models[online] if k.endswith("weight")]
        assert any(not torch.equal(models[target][k], models[online][k]) for k in weights)  # still soft
