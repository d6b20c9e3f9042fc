"""TD3 with one image encoder shared by actor and critics (encoder=shared): the encoder learns
from the critic loss only, its target lerps, and checkpoints round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from agents_testenvs import TargetEnv

from agents.api import Policy
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.config import make_config
from agents.errors import CheckpointError
from agents.runner import Run
from agents.td3 import TD3

TINY = dict(batch_size=8, hidden_sizes=[16], cnn_channels=[4, 4], cnn_features=8, learning_starts=0,
            tensorboard=False, eval_episodes=0, buffer_size=64)


def make_agent(run_dir, seed: int = 0, **overrides) -> TD3:
    """A TD3 on the tiny camera env with 40 random transitions in its buffer."""
    cfg = make_config("td3", {**TINY, **overrides})
    run = Run("td3", lambda: TargetEnv(image=True), cfg, run_dir, seed, quiet=True, resume=False)
    agent = TD3(run)
    run.envs.close()
    env, rng = TargetEnv(image=True), np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(40):  # one episode of 20 steps, then another
        action = rng.uniform(-1, 1, (1, 2)).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = env.step(action[0])
        batch = lambda o: {k: v[None] for k, v in o.items()}  # noqa: E731
        agent.buffer.add(batch(obs), action, np.array([reward], np.float32), batch(next_obs),
                         np.array([terminated]), np.array([True]))
        obs = env.reset()[0] if terminated or truncated else next_obs
    return agent


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_encoder_is_shared_and_only_the_critic_optimiser_owns_it(tmp_path):
    agent = make_agent(tmp_path / "run")
    assert agent.shared and agent.actor.encoder is agent.encoder
    assert agent.actor_target.encoder is agent.encoder_target  # no third copy
    enc = {id(p) for p in agent.encoder.parameters()}
    assert not any(id(p) in enc for p in agent.actor_opt.param_groups[0]["params"])
    assert enc <= {id(p) for p in agent.critic_opt.param_groups[0]["params"]}
    assert len(agent.critic.encoders) == 0  # the critics own no CNN
    # each parameter is lerped exactly once
    assert len({id(p) for p in agent._online}) == len(agent._online) == len(agent._target)


def test_gradients_reach_the_encoder_from_the_critic_loss_only(tmp_path):
    agent = make_agent(tmp_path / "run", augment="shift")
    b = agent.sample()
    critic_loss, q, feats = agent.shared_critic_loss(b)
    actor_loss = agent.shared_actor_loss(feats)
    enc0, mlp0 = params(agent.encoder), params(agent.actor.mlp)

    agent.actor_opt.zero_grad(set_to_none=True)
    agent.critic_opt.zero_grad(set_to_none=True)
    actor_loss.backward()
    assert all(p.grad is None for p in agent.encoder.parameters())
    assert all(p.grad is None for p in agent.critic.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.actor.mlp.parameters())
    agent.actor_opt.step()
    assert same(params(agent.encoder), enc0)  # an actor step leaves the encoder alone
    assert not same(params(agent.actor.mlp), mlp0)

    agent._critic_step(critic_loss, q)
    assert not same(params(agent.encoder), enc0)  # the critic step trains it


def test_the_target_encoder_lerps_with_the_critic_targets(tmp_path):
    agent = make_agent(tmp_path / "run", policy_delay=1, tau=0.25)
    target0 = params(agent.encoder_target)
    assert same(target0, params(agent.encoder))  # starts as a copy
    agent.update(agent.sample())  # critic step, actor step, target update
    online = params(agent.encoder)
    for t0, o, t in zip(target0, online, params(agent.encoder_target), strict=True):
        torch.testing.assert_close(t, t0 + 0.25 * (o - t0))
    assert not same(params(agent.encoder_target), online)


def _save_and_load(agent: TD3, path) -> dict:
    save_checkpoint(path, {**agent.run._header(), **agent.state_dict(), "replay": None})
    return load_checkpoint(path)


@pytest.mark.parametrize("encoder", ["shared", "separate"])
def test_checkpoint_round_trip_keeps_every_network_and_the_augmentation_stream(tmp_path, encoder):
    agent = make_agent(tmp_path / "a", seed=0, encoder=encoder, augment="shift")
    for _ in range(3):
        agent.update(agent.sample())
    state = _save_and_load(agent, tmp_path / "a.pt")
    other = make_agent(tmp_path / "b", seed=5, encoder=encoder, augment="shift")
    with pytest.warns(UserWarning):  # no replay file: the resumed buffer refills (warned)
        other.load_state_dict(state)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        a, b = getattr(agent, name).state_dict(), getattr(other, name).state_dict()
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    obs = {k: v[:3] for k, v in agent.buffer.sample_numpy(3)[0].items()}
    np.testing.assert_array_equal(agent.act_deterministic(obs), other.act_deterministic(obs))
    # the shifts continue where they stopped
    assert torch.equal(agent.augment.generator.get_state(), other.augment.generator.get_state())
    # a Policy (eval, best.pt) rebuilds the actor with an encoder of its own: same actions
    policy = Policy(state)
    np.testing.assert_allclose(policy.act_unit(obs), agent.act_deterministic(obs), rtol=0, atol=1e-6)


def test_a_checkpoint_of_the_other_encoder_mode_is_a_clear_error(tmp_path):
    state = _save_and_load(make_agent(tmp_path / "a", encoder="separate"), tmp_path / "a.pt")
    shared = make_agent(tmp_path / "b", encoder="shared")
    with pytest.raises(CheckpointError, match="does not fit this TD3 config"):
        shared.load_state_dict(state)
    state = _save_and_load(shared, tmp_path / "b.pt")
    with pytest.raises(CheckpointError, match="does not fit this TD3 config"):
        make_agent(tmp_path / "c", encoder="separate").load_state_dict(state)


def test_vector_observations_take_the_plain_path_whatever_encoder_says(tmp_path):
    cfg = make_config("td3", {**TINY, "encoder": "shared", "augment": "shift"})
    run = Run("td3", TargetEnv, cfg, tmp_path / "run", 0, quiet=True, resume=False)
    agent = TD3(run)
    run.envs.close()
    assert not agent.shared and agent.encoder is None and agent.augment is None
