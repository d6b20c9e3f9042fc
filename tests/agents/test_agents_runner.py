"""Vector envs with gymnasium 1.x NEXT_STEP autoreset, episode logs, run directory layout, the schedule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from agents_testenvs import CountingEnv

import agents
from agents.config import make_config
from agents.ppo import PPO
from agents.runner import Every, Run


@pytest.mark.parametrize("vec_env", ["sync", "async"])
def test_ppo_rollout_never_trains_on_the_reset_transition(tmp_path, fast, vec_env):
    cfg = make_config("ppo", dict(fast, n_envs=2, vec_env=vec_env, batch_size=16, minibatch_size=4,
                                  normalize_obs=False))
    run = Run("ppo", lambda: CountingEnv(length=3), cfg, tmp_path / "run", seed=0, quiet=True, resume=False)
    try:
        agent = PPO(run)
        run.start()
        agent.collect(run.reset_envs())
        buf = agent.buffer
        t = buf.obs["obs"][..., 0]
        # valid steps act on t in {0, 1, 2}; the autoreset call acts on the final obs t == 3
        assert set(np.unique(t[buf.valid])) == {0.0, 1.0, 2.0}
        assert (t[~buf.valid] == 3).all() and (~buf.valid).any()
        assert (buf.rewards[~buf.valid] == 0).all()
        # the truncation step bootstraps from V(final obs) = the value stored at the reset call
        steps, envs = np.nonzero(buf.truncated)
        for s, e in zip(steps, envs, strict=True):
            if s + 1 < buf.n_steps:
                expected = buf.rewards[s, e] + cfg.gamma * buf.values[s + 1, e] - buf.values[s, e]
                assert buf.advantages[s, e] == pytest.approx(expected, rel=1e-5, abs=1e-5)
        # counters: only real transitions count as steps
        assert run.global_step == int(buf.valid.sum())
        batch = buf.flat_valid()
        assert batch.actions.shape[0] == int(buf.valid.sum())
    finally:
        run.close()


@pytest.mark.parametrize("vec_env", ["sync", "async"])  # async also overlaps updates with env steps
def test_td3_replay_holds_only_real_transitions_and_episode_logs(tmp_path, fast, vec_env):
    cfg = dict(fast, n_envs=2, total_timesteps=60, learning_starts=20, batch_size=8, buffer_size=100,
               vec_env=vec_env, hidden_sizes=[8])
    agents.train(lambda: CountingEnv(length=3), "td3", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    with np.load(tmp_path / "run" / "checkpoints" / "replay.npz") as d:
        obs, nxt, term = d["obs/obs"], d["next_obs/obs"], d["terminated"]
    assert len(obs) == 60
    np.testing.assert_array_equal(nxt[:, 0], obs[:, 0] + 1)  # never (final obs -> reset obs)
    np.testing.assert_array_equal(nxt[:, 1], obs[:, 1])  # same episode id
    assert (term == 0).all()  # truncations are not terminations

    ep = pd.read_csv(tmp_path / "run" / "episodes.csv")
    assert list(ep.columns[:6]) == ["global_step", "episode", "return", "length", "success", "wall_time"]
    assert (ep["length"] == 3).all() and (ep["return"] == 6).all() and (ep["term/time"] == 6).all()
    assert len(ep) == 20 and ep["episode"].tolist() == list(range(1, 21))
    assert set(ep["success"]) == {0.0, 1.0}


def test_termination_is_stored_as_terminal(tmp_path, fast):
    cfg = dict(fast, total_timesteps=9, learning_starts=1000, batch_size=4, buffer_size=100)
    agents.train(lambda: CountingEnv(length=3, terminate=True), "td3", cfg, run_dir=tmp_path / "r", quiet=True)
    with np.load(tmp_path / "r" / "checkpoints" / "replay.npz") as d:
        np.testing.assert_array_equal(d["terminated"], (d["next_obs/obs"][:, 0] == 3).astype(np.float32))


def test_run_directory_contract(tmp_path, fast):
    cfg = dict(fast, total_timesteps=128, batch_size=64, minibatch_size=32, epochs=1, tensorboard=True,
               eval_every=64, eval_episodes=1, log_every=64)
    run = tmp_path / "run"
    agents.train(lambda: CountingEnv(length=4), "ppo", cfg, run_dir=run, seed=3, quiet=True)
    for name in ("config.yaml", "status.json", "episodes.csv", "eval.csv", "train_stats.csv",
                 "checkpoints/last.pt", "checkpoints/final.pt"):
        assert (run / name).is_file(), name
    assert any((run / "tb").iterdir())
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "completed" and status["error"] is None
    assert set(status) == {"status", "error", "global_step", "total_timesteps", "wall_time"}
    conf = yaml.safe_load((run / "config.yaml").read_text())
    assert conf["algo"] == "ppo" and conf["seed"] == 3 and conf["agent"]["batch_size"] == 64
    ev = pd.read_csv(run / "eval.csv")
    assert list(ev.columns) == ["global_step", "episodes", "mean_return", "std_return", "success_rate",
                                "mean_length", "wall_time"]
    assert ev["global_step"].iloc[0] == 0  # untrained baseline first
    stats = pd.read_csv(run / "train_stats.csv")
    assert stats.columns[0] == "global_step" and "steps_per_second" in stats.columns


def test_existing_run_directory_is_not_overwritten(tmp_path, fast):
    cfg = dict(fast, total_timesteps=64, batch_size=64, minibatch_size=32, epochs=1)
    agents.train(lambda: CountingEnv(), "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    with pytest.raises(agents.ConfigError, match="already holds a run"):
        agents.train(lambda: CountingEnv(), "ppo", cfg, run_dir=tmp_path / "run", quiet=True)


def test_every_fires_at_multiples_of_its_interval_and_schedules_the_next_itself():
    log = Every(100, global_step=0)
    assert not log.due(99) and log.due(100)
    assert not log.take(99) and log.next == 100
    assert log.take(130) and log.next == 200  # the first multiple after the step it fired at
    assert not log.take(150) and log.take(150, force=True) and log.next == 200
    assert Every(100, global_step=250).next == 300  # a resumed run keeps the same grid
    never = Every(0, global_step=0)
    assert not never.due(10**12) and never.take(5, force=True) and not never.due(10**12)


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_train_stats_rows_follow_log_every_with_named_columns(tmp_path, fast, algo):
    """One row per log_every transitions (PPO logs after the update that crosses it, and always
    after the last one); the columns are the algorithm's named statistics, in this order."""
    if algo == "ppo":
        cfg = dict(fast, total_timesteps=256, batch_size=32, minibatch_size=16, epochs=1, log_every=64)
    else:
        cfg = dict(fast, total_timesteps=300, learning_starts=50, batch_size=16, hidden_sizes=[8], log_every=100)
    agents.train(lambda: CountingEnv(length=1000), algo, cfg, run_dir=tmp_path / "run", quiet=True)
    stats = pd.read_csv(tmp_path / "run" / "train_stats.csv")
    named = (["policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "explained_variance", "std",
              "learning_rate", "epochs", "batch_transitions", "updates"] if algo == "ppo"
             else ["critic_loss", "actor_loss", "q_mean", "critic_updates", "buffer_size"])
    assert list(stats.columns) == ["global_step", *named, "steps_per_second"]
    assert stats["global_step"].tolist() == ([64, 128, 192, 256] if algo == "ppo" else [100, 200, 300])
    assert np.isfinite(stats[named[0]]).all()


def test_the_eval_env_is_told_it_evaluates_and_episode_stats_become_columns(tmp_path, fast):
    """The generic protocol: an env (behind wrappers) with set_evaluation(True) gets it on the
    evaluation env only, in training and in agents.evaluate; info["episode_stats"] numbers
    become stat/<key> columns of episodes.csv."""
    from agents_testenvs import StagedEnv
    from gymnasium.wrappers import OrderEnforcing

    StagedEnv.evaluation_calls.clear()
    cfg = dict(fast, n_envs=2, total_timesteps=48, batch_size=24, minibatch_size=12, epochs=1,
               eval_every=24, eval_episodes=2)
    run = tmp_path / "run"
    agents.train(lambda: OrderEnforcing(StagedEnv()), "ppo", cfg, run_dir=run, seed=0, quiet=True)
    assert StagedEnv.evaluation_calls == [True]  # once, on the one evaluation env
    ev = pd.read_csv(run / "eval.csv")
    assert (ev["success_rate"] == 1.0).all()  # evaluation played the evaluation stage
    ep = pd.read_csv(run / "episodes.csv")
    assert (ep["stat/stage"] == 0).all() and (ep["success"] == 0).all()  # training did not
    assert "stat/note" not in ep.columns
    res = agents.evaluate(run, env=lambda: OrderEnforcing(StagedEnv()), episodes=2)
    assert res["success_rate"] == 1.0 and StagedEnv.evaluation_calls == [True, True]


def test_eval_max_steps_cuts_episodes_and_counts_a_cut_episode_as_a_failure():
    from agents.runner import run_episodes
    from agents.spaces import ActionScaler, obs_layout

    env = CountingEnv(length=10)
    layout, scaler = obs_layout(env.observation_space), ActionScaler(env.action_space)

    def act(obs):
        return np.zeros((1, 1), np.float32)

    full = run_episodes(env, act, layout, scaler, episodes=4, seed=0)
    assert full["success_rate"] == 0.5 and full["mean_length"] == 10 and full["returns"] == [55.0] * 4
    cut = run_episodes(CountingEnv(length=10), act, layout, scaler, episodes=4, seed=0, max_steps=4)
    assert cut["success_rate"] == 0.0 and cut["mean_length"] == 4 and cut["returns"] == [10.0] * 4
    at_limit = run_episodes(CountingEnv(length=10), act, layout, scaler, episodes=4, seed=0, max_steps=10)
    assert {k: at_limit[k] for k in ("success_rate", "mean_length", "returns")} == {
        k: full[k] for k in ("success_rate", "mean_length", "returns")}
    with pytest.raises(agents.ConfigError, match="eval_max_steps"):
        make_config("ppo", {"eval_max_steps": 0})


def test_a_run_evaluates_with_the_cap(tmp_path, fast):
    res = agents.train(lambda: CountingEnv(length=10), "ppo", dict(fast, batch_size=16, minibatch_size=8,
                       total_timesteps=32, eval_every=16, eval_episodes=2, eval_max_steps=3),
                       run_dir=tmp_path / "run", quiet=True)
    evals = pd.read_csv(res.run_dir / "eval.csv")
    assert (evals["mean_length"] == 3).all() and (evals["success_rate"] == 0).all()


@pytest.mark.parametrize("vec_env", ["sync", "async"])
def test_checkpoints_keep_the_envs_training_state_and_a_resume_restores_it(tmp_path, fast, vec_env):
    """A curriculum stage used to restart from the first stage on every resume."""
    from agents_testenvs import MemoryEnv

    from agents.checkpoint import load_checkpoint

    cfg = dict(fast, n_envs=2, vec_env=vec_env, batch_size=16, minibatch_size=8, total_timesteps=48)
    res = agents.train(MemoryEnv, "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    saved = load_checkpoint(res.run_dir / "checkpoints" / "last.pt")["env_states"]
    before = len(pd.read_csv(res.run_dir / "episodes.csv"))
    assert saved == [{"seen": before // 2}] * 2 and before >= 8
    agents.train(MemoryEnv, "ppo", dict(cfg, total_timesteps=96), run_dir=tmp_path / "run", quiet=True,
                 resume=True)
    seen = pd.read_csv(res.run_dir / "episodes.csv")["stat/seen"]
    after = seen.iloc[before:]
    assert len(after) >= 8 and after.min() == before // 2 + 1  # counting went on from the saved state
    # envs without the protocol store nothing
    plain = agents.train(lambda: CountingEnv(length=3), "ppo", dict(cfg, vec_env="sync"), run_dir=tmp_path / "p",
                         quiet=True)
    assert load_checkpoint(plain.run_dir / "checkpoints" / "last.pt")["env_states"] is None
