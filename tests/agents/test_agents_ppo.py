"""PPO: the clipped loss, smoke runs (MLP and CNN) and a learning test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from agents_testenvs import TargetEnv

import agents
from agents.ppo import gaussian_log_prob, ppo_losses


def test_gaussian_log_prob_matches_torch_distribution():
    mean, log_std = torch.randn(5, 3), torch.randn(3)
    a = torch.randn(5, 3)
    ref = torch.distributions.Normal(mean, log_std.exp()).log_prob(a).sum(-1)
    torch.testing.assert_close(gaussian_log_prob(a, mean, log_std), ref)


def test_clipped_loss_moves_probability_toward_positive_advantage_actions():
    torch.manual_seed(0)
    mean = torch.zeros(1, 2, requires_grad=True)
    log_std = torch.zeros(2, requires_grad=True)
    actions = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    adv = torch.tensor([1.0, -1.0])  # the first action was good, the second bad
    old_lp = gaussian_log_prob(actions, mean.detach().expand(2, -1), log_std.detach())
    opt = torch.optim.SGD([mean, log_std], lr=0.1)
    for _ in range(5):
        loss, _, _, _ = ppo_losses(mean.expand(2, -1), log_std, actions, old_lp, adv, clip_coef=0.2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    new_lp = gaussian_log_prob(actions, mean.detach().expand(2, -1), log_std.detach())
    assert new_lp[0] > old_lp[0] and new_lp[1] < old_lp[1]
    assert (mean.detach() > 0).all()


def test_clipping_stops_the_gradient_beyond_the_trust_region():
    mean = torch.tensor([[2.0]], requires_grad=True)  # moved from the old mean 0 onto the action:
    actions = torch.tensor([[2.0]])  # ratio = e^2 >> 1 + clip
    old_lp = gaussian_log_prob(actions, torch.zeros(1, 1), torch.zeros(1))
    loss, _, clip_frac, _ = ppo_losses(mean, torch.zeros(1), actions, old_lp, torch.tensor([1.0]), 0.2)
    loss.backward()
    assert mean.grad.abs().item() == 0.0 and clip_frac.item() == 1.0


@pytest.mark.parametrize("image", [False, True], ids=["mlp", "cnn"])
def test_ppo_smoke(tmp_path, fast, image):
    cfg = dict(fast, total_timesteps=256, n_envs=2, batch_size=128, minibatch_size=32, epochs=2,
               hidden_sizes=[16, 16], cnn_channels=[8, 8], cnn_features=16, normalize_reward=True)
    res = agents.train(lambda: TargetEnv(image=image), "ppo", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    assert res.status == "completed"
    run = tmp_path / "run"
    stats = pd.read_csv(run / "train_stats.csv")
    for col in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "explained_variance",
                "steps_per_second"):
        assert col in stats.columns and np.isfinite(stats[col]).all(), col
    episodes = pd.read_csv(run / "episodes.csv")
    assert (episodes["length"] == 20).all()
    assert len(episodes) == res.global_step // 20


@pytest.mark.slow
def test_ppo_improves_on_pendulum(tmp_path):
    """From the untrained policy's ~-1300, PPO must gain clearly within 60k steps (~-250 expected)."""
    cfg = dict(total_timesteps=60_000, n_envs=4, batch_size=4096, minibatch_size=64, learning_rate=1e-3,
               gamma=0.9, eval_every=60_000, eval_episodes=10, tensorboard=False, checkpoint_every=0)
    res = agents.train("Pendulum-v1", "ppo", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    evals = pd.read_csv(tmp_path / "run" / "eval.csv")
    first, last = evals["mean_return"].iloc[0], evals["mean_return"].iloc[-1]
    assert evals["global_step"].iloc[0] == 0
    assert last > first + 300 and last > -900, evals
    assert res.final_eval is not None


@pytest.mark.parametrize("n_envs", [1, 2])
def test_ppo_rollouts_with_one_or_no_valid_transition_train_without_nan(tmp_path, fast, n_envs):
    """1-step episodes: with one env every rollout of 2 steps holds exactly one transition (the other
    step is the autoreset call); with two envs and 1-step rollouts they alternate 2 and 0."""
    from agents_testenvs import CountingEnv

    cfg = dict(fast, total_timesteps=16, n_envs=n_envs, batch_size=2, minibatch_size=2, epochs=2,
               hidden_sizes=[8], log_every=1)
    res = agents.train(lambda: CountingEnv(length=1), "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    assert res.status == "completed"
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    trained = stats[stats["batch_transitions"] > 0]
    assert len(trained) and np.isfinite(trained["policy_loss"]).all() and np.isfinite(trained["value_loss"]).all()
    assert (trained["value_loss"] > 0).all()  # a real update, not a skipped one logged as 0


def test_ppo_checkpoint_round_trip_with_augmentation(tmp_path, fast):
    """Networks, the optimiser and the shift generator come back from a checkpoint; minibatch
    images are shifted (the update sees other pixels than the rollout) and losses stay finite."""
    from agents.checkpoint import load_checkpoint, save_checkpoint
    from agents.config import make_config
    from agents.ppo import PPO
    from agents.runner import Run

    cfg = make_config("ppo", dict(fast, total_timesteps=40, batch_size=40, minibatch_size=8, epochs=1,
                                  hidden_sizes=[16], cnn_channels=[4], cnn_features=8, augment="shift"))

    def build(name: str, seed: int) -> PPO:
        run = Run("ppo", lambda: TargetEnv(image=True), cfg, tmp_path / name, seed, quiet=True, resume=False)
        agent = PPO(run)
        run.start()
        return agent

    agent = build("a", 0)
    agent.collect(agent.obs_norm.normalize(agent.run.reset_envs()))
    stats = agent.update()
    assert np.isfinite(stats["policy_loss"]) and np.isfinite(stats["value_loss"])
    save_checkpoint(tmp_path / "a.pt", {**agent.run._header(), **agent.state_dict()})
    other = build("b", 3)
    other.load_state_dict(load_checkpoint(tmp_path / "a.pt"))
    for name in ("actor", "critic"):
        a, b = getattr(agent, name).state_dict(), getattr(other, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert torch.equal(agent.augment.generator.get_state(), other.augment.generator.get_state())
    obs = {k: v.cpu().numpy()[:4] for k, v in agent.buffer.flat_valid().obs.items()}
    np.testing.assert_array_equal(agent.act_deterministic(obs), other.act_deterministic(obs))
    for a in (agent, other):
        a.run.close()
