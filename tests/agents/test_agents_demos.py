"""PPO with demonstrations (agents.demos): the cloning loss, its errors, pretraining and resume.

Why: on Task B the demonstrations are what gets PPO past the grasp (docs/task-b.md); a wrong
action scale, a stale normaliser or a pretraining repeated on --resume would each silently
change what is learned.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from agents_testenvs import TargetEnv

import agents
import envkit  # noqa: F401 - registers envkit/<scene>-v0
from agents.checkpoint import load_checkpoint
from agents.errors import ConfigError

TARGET = 1.0  # TargetEnv's target, in each coordinate


def expert(x: np.ndarray) -> np.ndarray:
    """Straight to the target at full speed, slowing down inside 0.5."""
    return np.clip(2.0 * (TARGET - x), -1.0, 1.0).astype(np.float32)


def write_demos(path, n: int = 2000, obs_dim: int = 2, act_dim: int = 2):
    rng = np.random.default_rng(0)
    obs = rng.uniform(-3, 3, (n, obs_dim)).astype(np.float32)
    actions = expert(obs[:, :2]) if act_dim == 2 else np.zeros((n, act_dim), np.float32)
    np.savez_compressed(path, obs=obs, actions=actions, meta=np.array('{"scene": "target"}'))
    return path


def cfg(fast: dict, algo: str = "ppo", **kw) -> dict:
    if algo == "td3":  # 128 steps, the actor and critics updated from step 32
        base = dict(total_timesteps=128, n_envs=2, batch_size=32, learning_starts=32, hidden_sizes=[32, 32])
    else:
        base = dict(total_timesteps=128, n_envs=2, batch_size=64, minibatch_size=32, epochs=2, hidden_sizes=[32, 32])
    return {**fast, **base, **kw}


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_pretraining_clones_the_demonstrated_actions(tmp_path, fast, algo) -> None:
    demos = write_demos(tmp_path / "d.npz")
    no_td3_updates = dict(learning_starts=128) if algo == "td3" else {}  # only the cloning is measured
    res = agents.train(TargetEnv, algo, cfg(fast, algo, demos=str(demos), demo_pretrain_steps=1500, demo_coef=0.0,
                                            **no_td3_updates), run_dir=tmp_path / "bc", seed=0, quiet=True)
    assert res.status == "completed"
    policy = agents.load_policy(tmp_path / "bc" / "checkpoints" / "last.pt")
    probe = np.random.default_rng(1).uniform(-2, 2, (200, 2)).astype(np.float32)
    err = np.abs(policy.act_unit({"obs": probe}) - expert(probe)).mean()
    res = agents.train(TargetEnv, algo, cfg(fast, algo), run_dir=tmp_path / "plain", seed=0, quiet=True)
    plain = agents.load_policy(tmp_path / "plain" / "checkpoints" / "last.pt")
    assert err < 0.1 and err < 0.5 * np.abs(plain.act_unit({"obs": probe}) - expert(probe)).mean()


def test_the_cloning_term_is_logged_fades_and_resume_does_not_clone_again(tmp_path, fast) -> None:
    demos = write_demos(tmp_path / "d.npz")
    config = cfg(fast, demos=str(demos), demo_pretrain_steps=50, demo_decay=0.5, log_every=1,
                 total_timesteps=192, checkpoint_every=64)
    agents.train(TargetEnv, "ppo", config, run_dir=tmp_path / "run", seed=0, quiet=True)
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    np.testing.assert_allclose(stats["demo_coef"], 0.5 ** np.arange(len(stats)))
    assert np.isfinite(stats["demo_loss"]).all()
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ckpt["rng"]["demos"] is not None
    # The observation statistics are the demonstrations' (plus the first reset's 2 observations),
    # frozen: none of the 192 training transitions moved them.
    stats0 = ckpt["obs_normalizer"]["stats"]["obs"]
    assert stats0["count"] == pytest.approx(2000 + 2, abs=0.01)

    # Resumed with nothing left to train: the policy is the checkpoint's, not cloned again.
    before = ckpt["models"]["actor"]
    agents.train(TargetEnv, "ppo", dict(config, demo_pretrain_steps=500), run_dir=tmp_path / "run", seed=0,
                 quiet=True, resume=True)
    resumed = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    after = resumed["models"]["actor"]
    assert all(torch.equal(before[k], after[k]) for k in before)
    agents.train(TargetEnv, "ppo", dict(config, total_timesteps=320), run_dir=tmp_path / "run", seed=0, quiet=True,
                 resume=True)  # two more rollouts after a resume: the statistics stay frozen
    more = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert more["counters"]["global_step"] > resumed["counters"]["global_step"]
    assert more["obs_normalizer"]["stats"]["obs"]["count"] == stats0["count"]


def test_demo_decay_every_fades_ppos_cloning_term_per_transitions_not_per_update(tmp_path, fast) -> None:
    """experiment=task_b_batch: batch sizes compared at equal timesteps must see the same weight."""
    demos = write_demos(tmp_path / "d.npz")
    for batch in (64, 128):
        run = tmp_path / f"b{batch}"
        agents.train(TargetEnv, "ppo", cfg(fast, demos=str(demos), demo_pretrain_steps=10, demo_decay=0.5,
                                           demo_decay_every=64, batch_size=batch, log_every=1, total_timesteps=512),
                     run_dir=run, seed=0, quiet=True)
        stats = pd.read_csv(run / "train_stats.csv")
        assert len(stats) == 512 // batch
        # Update k has consumed k * batch transitions before it: 0.5 per 64 of them.
        np.testing.assert_allclose(stats["demo_coef"], 0.5 ** (np.arange(len(stats)) * batch / 64))


def test_td3_adds_the_cloning_term_to_the_actor_loss_and_fades_it_per_1000_steps(tmp_path, fast) -> None:
    demos = write_demos(tmp_path / "d.npz")
    config = cfg(fast, "td3", demos=str(demos), demo_pretrain_steps=10, demo_decay=0.5, log_every=500,
                 total_timesteps=2000, normalize_obs=True)
    agents.train(TargetEnv, "td3", config, run_dir=tmp_path / "run", seed=0, quiet=True)
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    np.testing.assert_allclose(stats["demo_coef"], 0.5 ** (stats["global_step"] / 1000), rtol=1e-5)
    assert np.isfinite(stats["demo_loss"]).all() and np.isfinite(stats["actor_loss"]).all()


def test_td3s_cloning_weight_fades_from_actor_learning_starts(tmp_path, fast) -> None:
    demos = write_demos(tmp_path / "d.npz")
    config = cfg(fast, "td3", demos=str(demos), demo_pretrain_steps=10, demo_decay=0.5, log_every=500,
                 total_timesteps=2500, actor_learning_starts=1000)
    agents.train(TargetEnv, "td3", config, run_dir=tmp_path / "run", seed=0, quiet=True)
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    np.testing.assert_allclose(stats["demo_coef"], 0.5 ** (np.maximum(0, stats["global_step"] - 1000) / 1000),
                               rtol=1e-5)
    early, late = stats[stats["global_step"] < 1000], stats[stats["global_step"] > 1000]
    assert len(early) and early["actor_loss"].isna().all() and early["demo_loss"].isna().all()
    assert len(late) and np.isfinite(late["actor_loss"]).all() and np.isfinite(late["critic_loss"]).all()


@pytest.mark.parametrize("scale", [1.0, 500.0])
def test_td3s_actor_loss_with_demos_does_not_depend_on_the_reward_scale(tmp_path, fast, scale) -> None:
    """TD3+BC's -Q / mean|Q|: the same Q term at any scale, so the cloning weight means the same
    for sorting's +500 rewards as for rewards of order 1; without demos it is plain -mean Q."""
    from agents.config import make_config
    from agents.runner import Run
    from agents.td3 import TD3

    demos = write_demos(tmp_path / "d.npz")
    agent_by_demos = {}
    for name, extra in (("with", dict(demos=str(demos), demo_coef=0.5)), ("without", {})):
        run = Run("td3", TargetEnv, make_config("td3", cfg(fast, "td3", **extra)), tmp_path / name, 0, quiet=True,
                  resume=False)
        agent_by_demos[name] = TD3(run)
    q = -scale * torch.tensor([1.0, 2.0, 3.0])
    with_demos = agent_by_demos["with"]
    with_demos.demo_generator = torch.Generator().manual_seed(5)  # the cloning minibatch drawn below
    bc = with_demos.demos.loss(with_demos.actor, with_demos.obs_norm, 256, torch.Generator().manual_seed(5))
    loss = with_demos._with_demos(q)
    assert float(loss.detach()) == pytest.approx(1.0 + 0.5 * float(bc.detach()), rel=1e-5)
    assert float(agent_by_demos["without"]._with_demos(q)) == pytest.approx(2.0 * scale)
    for agent in agent_by_demos.values():
        agent.run.close()


def test_demonstrations_that_do_not_fit_are_clear_errors(tmp_path, fast) -> None:
    with pytest.raises(ConfigError, match=r"does not exist.*envkit demos"):
        agents.train(TargetEnv, "ppo", cfg(fast, demos=str(tmp_path / "none.npz")), run_dir=tmp_path / "a", quiet=True)
    wrong = write_demos(tmp_path / "wrong.npz", obs_dim=5)
    with pytest.raises(ConfigError, match=r"do not fit this env.*\(N, 2\)"):
        agents.train(TargetEnv, "ppo", cfg(fast, demos=str(wrong)), run_dir=tmp_path / "b", quiet=True)
    pickled = tmp_path / "obj.npz"
    np.savez(pickled, obs=np.array([object()], dtype=object), actions=np.zeros((1, 2)))
    with pytest.raises(ConfigError, match=r"plain-array"):
        agents.train(TargetEnv, "ppo", cfg(fast, demos=str(pickled)), run_dir=tmp_path / "c", quiet=True)
    with pytest.raises(ConfigError, match=r"needs a state observation"):
        agents.train(lambda: TargetEnv(image=True), "ppo", cfg(fast, demos=str(write_demos(tmp_path / "d.npz"))),
                     run_dir=tmp_path / "d", quiet=True)
    with pytest.raises(ConfigError, match=r"this env has none"):
        agents.train(TargetEnv, "ppo", cfg(fast, demos="scripted"), run_dir=tmp_path / "e", quiet=True)


@pytest.mark.parametrize("field,value", [("demos", "demos.pkl"), ("demo_decay", 1.5), ("demo_coef", -1.0),
                                         ("demo_episodes", 0), ("demo_learning_rate", 0.0),
                                         ("demo_decay_every", 0)])
def test_bad_demo_settings_are_refused_before_anything_runs(tmp_path, fast, field, value) -> None:
    with pytest.raises(ConfigError, match=field):
        agents.train(TargetEnv, "ppo", cfg(fast, **{field: value}), run_dir=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_scripted_demonstrations_give_sort1_a_policy_that_sorts_before_any_ppo_update(tmp_path) -> None:
    """Real pybullet: cloning 40 scripted episodes makes the step-0 evaluation sort, where an
    untrained policy sorts nothing (it does not close the gripper)."""
    config = dict(demos="scripted", demo_episodes=40, demo_pretrain_steps=3000, hidden_sizes=[128, 128],
                  activation="relu", total_timesteps=256, n_envs=1, batch_size=256, minibatch_size=64, epochs=1,
                  eval_every=0, eval_episodes=10, eval_max_steps=150, tensorboard=False, checkpoint_every=0)
    agents.train("envkit/sort-1-v0", "ppo", config, run_dir=tmp_path / "run", seed=0, quiet=True)
    evals = pd.read_csv(tmp_path / "run" / "eval.csv")
    assert evals["global_step"].iloc[0] == 0
    assert evals["success_rate"].iloc[0] >= 0.3, evals


def test_the_per_stage_summary_names_objects_and_counts() -> None:
    from agents.demos import stage_summary

    stages = [{"objects": 1, "kept": 98, "episodes": 100}, {"objects": 2, "kept": 90, "episodes": 100}]
    assert stage_summary(stages) == "1 object 98/100, 2 objects 90/100"
