"""The env failing during training: an exception from env.step/reset or a non-finite reward ends
the run with one clear paragraph, status.json says failed, the last checkpoint is kept."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import pytest
from agents_testenvs import TargetEnv

import agents
from agents.checkpoint import load_checkpoint
from envkit.cli import main

PPO = dict(batch_size=64, minibatch_size=32, epochs=1)
TD3 = dict(learning_starts=32, batch_size=16)


@pytest.mark.parametrize("vec_env", ["sync", "async"])
@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_an_env_exception_fails_the_run_with_one_paragraph_and_keeps_the_checkpoint(tmp_path, fast, algo, vec_env):
    run = tmp_path / "run"
    cfg = dict(fast, total_timesteps=1000, checkpoint_every=64, n_envs=2, vec_env=vec_env, hidden_sizes=[8],
               **(PPO if algo == "ppo" else TD3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(agents.EnvFailedError) as e:
            agents.train(lambda: TargetEnv(raise_after=100), algo, cfg, run_dir=run, quiet=True)
    msg = str(e.value)
    assert "reward term 'flaky' raised ZeroDivisionError at step 101" in msg  # the env's own words
    saved = load_checkpoint(run / "checkpoints" / "last.pt")["counters"]["global_step"]
    assert 0 < saved < 200  # the last one written before the failure, untouched
    assert "env.step" in msg and "status.json" in msg and f"last.pt (step {saved})" in msg and "--resume" in msg
    assert "\n" not in msg and "Traceback" not in msg
    assert not any("Traceback" in str(w.message) for w in caught)  # async workers' traces are not printed
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and status["error"].startswith(msg)
    assert not (run / "checkpoints" / "final.pt").exists()


def test_an_env_exception_before_the_first_checkpoint_says_so(tmp_path, fast):
    cfg = dict(fast, total_timesteps=1000, checkpoint_every=500, **TD3)
    with pytest.raises(agents.EnvFailedError, match="no checkpoint had been written yet"):
        agents.train(lambda: TargetEnv(raise_after=40), "td3", cfg, run_dir=tmp_path / "run", quiet=True)


def test_an_exception_in_the_evaluation_env_is_reported_the_same_way(tmp_path, fast):
    made = []

    def factory():
        made.append(1)
        return TargetEnv(raise_after=5 if len(made) > 1 else None)  # the second env built is the eval env

    cfg = dict(fast, total_timesteps=256, eval_every=64, **PPO)
    with pytest.raises(agents.EnvFailedError, match="evaluation env"):
        agents.train(factory, "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "failed"


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_a_non_finite_reward_names_the_step(tmp_path, fast, algo):
    cfg = dict(fast, total_timesteps=1000, **(PPO if algo == "ppo" else TD3))
    with pytest.raises(agents.EnvFailedError) as e:
        agents.train(lambda: TargetEnv(nan_after=70), algo, cfg, run_dir=tmp_path / "run", quiet=True)
    msg = str(e.value)
    assert "non-finite reward (nan)" in msg and "step 71" in msg and "\n" not in msg


def test_envkit_train_prints_the_env_error_without_a_traceback(tmp_path, capsys):
    gym.register("AgentsTestRaising-v0", entry_point=TargetEnv, kwargs={"raise_after": 60}, max_episode_steps=20)
    try:
        rc = main(["train", "AgentsTestRaising-v0", "--algo", "td3", "--steps", "500", "--run-dir", str(tmp_path / "r"),
                   "--set", "learning_starts=32", "--set", "batch_size=16", "--set", "hidden_sizes=[8]",
                   "--set", "checkpoint_every=50", "--set", "tensorboard=false", "--set", "eval_episodes=0",
                   "--quiet"])
    finally:
        gym.registry.pop("AgentsTestRaising-v0")
    err = capsys.readouterr().err
    assert rc == agents.EnvFailedError.exit_code != 0
    assert "reward term 'flaky'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert json.loads((tmp_path / "r" / "status.json").read_text())["status"] == "failed"
