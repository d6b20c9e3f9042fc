"""Checkpoints: round trip, resume, bad checkpoints, NaN handling."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from agents_testenvs import TargetEnv

import agents
from agents.checkpoint import load_checkpoint


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_checkpoint_round_trip_gives_identical_actions(tmp_path, fast, algo):
    extra = dict(batch_size=64, minibatch_size=32, epochs=1) if algo == "ppo" else dict(learning_starts=50, batch_size=16)
    cfg = dict(fast, total_timesteps=128, hidden_sizes=[16, 16], normalize_obs=True, **extra)
    res = agents.train(lambda: TargetEnv(image=True), algo, cfg, run_dir=tmp_path / "run", quiet=True)
    ckpt = load_checkpoint(res.checkpoint)
    assert ckpt["obs_normalizer"]["enabled"] is True
    assert ckpt["counters"]["global_step"] == res.global_step
    p1, p2 = agents.load_policy(res.checkpoint), agents.load_policy(tmp_path / "run")
    env = TargetEnv(image=True)
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        a1, a2 = p1.predict(obs), p2.predict(obs)
        np.testing.assert_array_equal(a1, a2)
        assert env.action_space.contains(a1)
        obs, *_ = env.step(a1)
    # the same actions as the live networks at the end of training (normalisation included)
    r1 = agents.evaluate(p1, env=lambda: TargetEnv(image=True), episodes=2, seed=5)
    r2 = agents.evaluate(res.checkpoint, env=lambda: TargetEnv(image=True), episodes=2, seed=5)
    assert r1["returns"] == r2["returns"]


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_resume_continues_the_same_run_and_logs(tmp_path, fast, algo):
    extra = dict(batch_size=64, minibatch_size=32, epochs=1) if algo == "ppo" else dict(learning_starts=50, batch_size=16)
    run = tmp_path / "run"
    cfg = dict(fast, total_timesteps=128, checkpoint_every=64, **extra)
    agents.train(lambda: TargetEnv(), algo, cfg, run_dir=run, quiet=True)
    before = load_checkpoint(run / "checkpoints" / "last.pt")
    res = agents.train(lambda: TargetEnv(), algo, {"total_timesteps": 256}, run_dir=run, quiet=True, resume=True)
    assert res.global_step > before["counters"]["global_step"]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["config"]["total_timesteps"] == 256
    ep = pd.read_csv(run / "episodes.csv")
    assert ep["global_step"].is_monotonic_increasing and ep["episode"].is_unique
    assert ep["episode"].tolist() == list(range(1, len(ep) + 1))
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    if algo == "td3":
        assert res.global_step == 256
        with np.load(run / "checkpoints" / "replay.npz") as d:
            assert len(d["rewards"]) == 256  # the replay buffer came back with the resume


def test_resume_drops_log_rows_written_after_the_checkpoint(tmp_path, fast):
    run = tmp_path / "run"
    cfg = dict(fast, total_timesteps=200, checkpoint_every=100, learning_starts=50, batch_size=16)
    agents.train(lambda: TargetEnv(), "td3", cfg, run_dir=run, quiet=True)
    # simulate a crash after step 100: last.pt from step 100, logs up to 200
    ck = load_checkpoint(run / "checkpoints" / "last.pt")
    ck["counters"]["global_step"] = 100
    ck.pop("path")
    torch.save(ck, run / "checkpoints" / "last.pt")
    agents.train(lambda: TargetEnv(), "td3", {}, run_dir=run, quiet=True, resume=True)
    ep = pd.read_csv(run / "episodes.csv")
    assert ep["global_step"].is_monotonic_increasing
    assert (ep["global_step"] == 200).sum() == 1


def test_missing_and_incompatible_checkpoints_are_clear_errors(tmp_path, fast):
    with pytest.raises(agents.CheckpointError, match="does not exist"):
        agents.load_policy(tmp_path / "nope.pt")
    with pytest.raises(agents.CheckpointError, match="No checkpoint in"):
        agents.load_policy(tmp_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(agents.CheckpointError, match="Cannot read"):
        agents.load_policy(bad)
    with pytest.raises(agents.CheckpointError, match="Cannot resume"):
        agents.train(lambda: TargetEnv(), "ppo", {}, run_dir=tmp_path / "empty", quiet=True, resume=True)
    cfg = dict(fast, total_timesteps=64, batch_size=64, minibatch_size=32, epochs=1)
    res = agents.train(lambda: TargetEnv(), "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    with pytest.raises(agents.CheckpointError, match="trained on observations"):
        agents.evaluate(res.checkpoint, env=lambda: TargetEnv(image=True), episodes=1)
    with pytest.raises(agents.CheckpointError, match="trained with 'ppo'"):
        agents.train(lambda: TargetEnv(), "td3", {}, run_dir=tmp_path / "run", quiet=True, resume=True)
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").glob("*.*")}
    with pytest.raises(agents.CheckpointError, match="does not fit"):
        agents.train(lambda: TargetEnv(), "ppo", {"hidden_sizes": [7]}, run_dir=tmp_path / "run", quiet=True,
                     resume=True)
    # a refused resume leaves the run's files as they were (status stays completed)
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").glob("*.*")} == before


@pytest.mark.parametrize("algo", ["ppo", "td3"])
@pytest.mark.parametrize(("bad", "error", "says"), [
    ("huge_after", agents.TrainingDivergedError, "diverged"),  # finite rewards, overflowing losses
    ("nan_after", agents.EnvFailedError, "non-finite reward"),  # caught at the step, before any loss
])
def test_nan_stops_the_run_marks_it_failed_and_keeps_the_last_good_checkpoint(tmp_path, fast, algo, bad, error, says):
    extra = dict(batch_size=64, minibatch_size=32, epochs=1) if algo == "ppo" else dict(learning_starts=32, batch_size=16)
    run = tmp_path / "run"
    cfg = dict(fast, total_timesteps=1000, checkpoint_every=64, log_every=64, **extra)
    with pytest.raises(error, match=says):
        agents.train(lambda: TargetEnv(**{bad: 150}), algo, cfg, run_dir=run, quiet=True)
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and says in status["error"]
    ck = load_checkpoint(run / "checkpoints" / "last.pt")
    assert 0 < ck["counters"]["global_step"] <= 200
    for sd in ck["models"].values():
        assert all(torch.isfinite(v).all() for v in sd.values())
    assert not (run / "checkpoints" / "final.pt").exists()


def _argmax_eval(evals: pd.DataFrame) -> pd.Series:
    """The first row with the highest (success rate, mean return); NaN success counts as -1."""
    best, best_score = None, None
    for _, row in evals.iterrows():
        score = (-1.0 if np.isnan(row["success_rate"]) else row["success_rate"], row["mean_return"])
        if best_score is None or score > best_score:
            best, best_score = row, score
    return best


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_best_checkpoint_holds_the_best_evaluation_across_a_resume(tmp_path, fast, algo):
    from agents.runner import EVAL_SEED_OFFSET

    extra = dict(batch_size=100, minibatch_size=50, epochs=2) if algo == "ppo" else dict(learning_starts=100, batch_size=32)
    run = tmp_path / "run"
    cfg = dict(fast, total_timesteps=600, eval_every=100, eval_episodes=3, hidden_sizes=[32], **extra)
    agents.train(TargetEnv, algo, cfg, run_dir=run, seed=3, quiet=True)
    agents.train(TargetEnv, algo, {"total_timesteps": 1200}, run_dir=run, quiet=True, resume=True)
    evals = pd.read_csv(run / "eval.csv")
    assert len(evals) >= 10 and evals["mean_return"].nunique() > 1
    row = _argmax_eval(evals)
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert best["counters"]["global_step"] == row["global_step"]
    assert best["eval"]["mean_return"] == pytest.approx(row["mean_return"], abs=1e-3)  # eval.csv is rounded
    assert set(best["models"]) == {"actor"} and "optimizers" not in best  # a policy, not a resumable state
    # the file really is the policy that scored it: the same episodes give the same return
    again = agents.evaluate(run / "checkpoints" / "best.pt", env=TargetEnv, episodes=3, seed=3 + EVAL_SEED_OFFSET)
    assert again["mean_return"] == pytest.approx(best["eval"]["mean_return"], rel=1e-6)


def test_keep_best_off_writes_no_best_checkpoint(tmp_path, fast):
    cfg = dict(fast, total_timesteps=200, eval_every=100, learning_starts=50, batch_size=16, keep_best=False)
    agents.train(TargetEnv, "td3", cfg, run_dir=tmp_path / "run", quiet=True)
    assert (tmp_path / "run" / "checkpoints" / "final.pt").is_file()
    assert not (tmp_path / "run" / "checkpoints" / "best.pt").exists()
