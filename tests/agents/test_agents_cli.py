"""`envkit train` and `envkit eval` through the dispatcher."""

from __future__ import annotations

import json

import pytest

from envkit.cli import main


def test_train_then_eval_with_gif(tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["train", "Pendulum-v1", "--algo", "td3", "--steps", "300", "--seed", "1", "--run-dir", str(run),
               "--set", "learning_starts=100", "--set", "batch_size=16", "--set", "hidden_sizes=[16,16]",
               "--set", "eval_episodes=1", "--set", "tensorboard=false", "--quiet"])
    assert rc == 0
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    out = capsys.readouterr().out
    assert out == ""  # quiet
    rc = main(["eval", str(run), "--episodes", "2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "return:" in out and "episodes:   2" in out


def test_user_errors_print_one_paragraph_and_exit_nonzero(tmp_path, capsys):
    assert main(["train", "Pendulum-v1", "--set", "batchsize=5"]) == 1
    err = capsys.readouterr().err
    assert "Did you mean 'batch_size'" in err and "Traceback" not in err
    assert main(["train", "Pendulum-v1", "--set", "nokeyvalue"]) == 1
    assert main(["eval", str(tmp_path / "missing.pt")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "NoSuchEnv-v9", "--run-dir", str(tmp_path / "r"), "--quiet"]) == 1
    assert "Cannot make environment" in capsys.readouterr().err


def test_list_params(capsys):
    assert main(["train", "--algo", "td3", "--list-params"]) == 0
    out = capsys.readouterr().out
    assert "policy_delay = 2" in out and "target_noise_clip" in out


@pytest.mark.parametrize("video", ["out.gif"])
def test_eval_video(tmp_path, video):
    from agents_testenvs import TargetEnv

    import agents

    res = agents.train(lambda: TargetEnv(), "ppo", {"total_timesteps": 64, "batch_size": 64, "minibatch_size": 32,
                                                    "epochs": 1, "tensorboard": False, "eval_episodes": 0},
                       run_dir=tmp_path / "run", quiet=True)
    out = agents.evaluate(res.checkpoint, env=TargetEnv, episodes=1, video=tmp_path / video)
    assert (tmp_path / video).stat().st_size > 0 and out["video"].endswith(video)


def test_progress_lines_print_one_line_per_evaluation(tmp_path, capsys):
    from agents_testenvs import TargetEnv

    import agents

    cfg = {"total_timesteps": 256, "batch_size": 64, "minibatch_size": 32, "epochs": 1, "tensorboard": False,
           "eval_every": 128, "eval_episodes": 1}
    agents.train(lambda: TargetEnv(), "ppo", cfg, run_dir=tmp_path / "run", progress="lines", label="my trial")
    lines = capsys.readouterr().out.splitlines()
    evals = [ln for ln in lines if ln.startswith("[my trial] step ")]
    # the untrained baseline, every 128 transitions, and the end: one plain line each, no bar
    assert len(evals) >= 3 and all("eval return" in ln for ln in evals), lines
    assert evals[-1].startswith("[my trial] step 2") and "/256, eval return" in evals[-1]
    assert not any("\r" in ln or "━" in ln for ln in lines)
    with pytest.raises(agents.ConfigError, match="progress must be one of bar, lines, none"):
        agents.train(lambda: TargetEnv(), "ppo", cfg, run_dir=tmp_path / "run2", progress="fancy")


def test_sigterm_marks_the_run_interrupted_and_it_resumes(tmp_path):
    """`kill PID` used to end a training silently with status.json still saying "running"."""
    import os
    import signal
    import subprocess
    import sys
    import time

    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "envkit.cli", "train", "reach", "--algo", "ppo", "--steps", "10000000",
           "--run-dir", str(run_dir), "--quiet", "--set", "batch_size=256", "--set", "minibatch_size=64",
           "--set", "checkpoint_every=512", "--set", "eval_every=100000000", "--set", "tensorboard=false"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "checkpoints" / "last.pt").is_file():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and status["error"] == "interrupted"
    assert 0 < status["global_step"] < 10_000_000
    assert main(["train", "reach", "--run-dir", str(run_dir), "--resume", "--steps", str(status["global_step"] + 256),
                 "--quiet"]) == 0
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"


def test_export_writes_a_small_policy_for_an_env_with_the_same_spaces(tmp_path, capsys):
    """A policy trained on a training variant of a scene is shipped for the scene itself: the
    exported file records the other env, holds only the policy, and acts exactly like the original."""
    import numpy as np

    import envkit
    from agents import load_policy

    variant = tmp_path / "reach_variant.yaml"
    import yaml

    from envkit.scenes import bundled_scenes

    data = yaml.safe_load(bundled_scenes()["reach"].read_text())
    data["name"], data["episode"]["max_steps"] = "reach-variant", 20  # a training variant: shorter episodes
    variant.write_text(yaml.safe_dump(data))
    run = tmp_path / "run"
    assert main(["train", str(variant), "--algo", "ppo", "--steps", "256", "--run-dir", str(run), "--quiet",
                 "--set", "batch_size=128", "--set", "minibatch_size=64", "--set", "epochs=1",
                 "--set", "eval_episodes=0", "--set", "tensorboard=false"]) == 0
    full = run / "checkpoints" / "last.pt"
    out = tmp_path / "reach.pt"
    assert main(["export", str(full), str(out), "--env", "reach"]) == 0
    assert "for env envkit/reach-v0" in capsys.readouterr().out
    assert out.stat().st_size < full.stat().st_size / 2  # no critic, no optimiser state
    from agents.checkpoint import load_checkpoint

    kept = load_checkpoint(out)
    assert set(kept["models"]) == {"actor"} and "optimizers" not in kept and "rng" not in kept
    assert kept["counters"] == {"global_step": load_checkpoint(full)["counters"]["global_step"]}
    original, exported = load_policy(full), load_policy(out)
    assert exported.env == "envkit/reach-v0" and original.env != exported.env
    obs, _ = envkit.make("reach").reset(seed=3)
    np.testing.assert_array_equal(original.predict(obs), exported.predict(obs))
    variant.unlink()  # the exported policy needs nothing but the bundled scene
    assert main(["eval", str(out), "--episodes", "1"]) == 0
    assert "env envkit/reach-v0" in capsys.readouterr().out
    # another env with other spaces is refused, and nothing is written
    assert main(["export", str(full), str(tmp_path / "bad.pt"), "--env", "sort-1"]) == 1
    err = capsys.readouterr().err
    assert "observation space" in err and "'envkit/sort-1-v0'" in err and not (tmp_path / "bad.pt").exists()
