"""End to end: `envkit tune` with real training at tiny budgets (real pybullet, real PPO).

A study of 3 trials on reach (the weight of the sparse reward's success bonus and the learning
rate), 2 seeds each, pruned at half the budget, killed mid-trial (SIGKILL to the whole process
group, as a crash or the out-of-memory killer would): the rerun keeps every completed trial,
retries the killed one with the same configuration (its seeds continue from their checkpoints),
finishes the study, re-runs the top 2 on 2 fresh seeds and writes the outputs beside their report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from envkit.loader import load_scene

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def _experiment(tmp_path: Path, trials: int) -> list[str]:
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True, exist_ok=True)
    body = {"defaults": [{"override /reward": "reach_sparse"}], "name": "tiny",
            "budget": {"timesteps": 600, "eval_every": 300, "eval_episodes": 2},
            "agent": {"batch_size": 150, "minibatch_size": 50, "checkpoint_every": 150, "tensorboard": False},
            "race": {"rungs": [0.5, 1.0]},
            "search": {"reward.terms.success_bonus.weight": {"low": 0.1, "high": 100, "log": True},
                       "agent.learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}},
            "trials": trials, "tune": {"seeds": 2, "top_k": 2, "confirm_seeds": 2, "startup_trials": 2}}
    (conf / "experiment" / "tiny.yaml").write_text("# @package _global_\n" + yaml.safe_dump(body, sort_keys=False))
    return ["experiment=tiny", f"hydra.searchpath=[file://{conf}]", f"out_dir={tmp_path / 'runs'}", "--jobs", "2"]


def _tune(args: list[str], cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envkit.cli", "tune", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _study(root: Path) -> optuna.Study:
    return optuna.load_study(study_name="tune", storage=f"sqlite:///{root / 'study.db'}")


def test_a_killed_study_resumes_keeping_its_completed_trials_then_confirms_and_reports(tmp_path: Path) -> None:
    # 4 trials on 2 workers: on a quiet machine 3 could all finish (or be pruned at their first
    # rung) between two looks at the study, leaving nothing running to kill
    args = _experiment(tmp_path, trials=4)
    root = tmp_path / "runs" / "tiny"
    proc = subprocess.Popen([sys.executable, "-m", "envkit.cli", "tune", *args], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    before: dict[int, tuple] = {}
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            if (root / "study.db").is_file():
                try:
                    trials = _study(root).trials
                except Exception:  # noqa: BLE001 - the database is being written
                    trials = []
                done = [x for x in trials if x.state in (TrialState.COMPLETE, TrialState.PRUNED)]
                running = [x for x in trials if x.state == TrialState.RUNNING and "rung0" in x.user_attrs]
                if done and running:  # one trial finished, the next one past its first rung: kill
                    os.killpg(proc.pid, signal.SIGKILL)
                    before = {x.number: (x.state, x.value, x.params) for x in done}
                    killed = running[0].number
                    break
            time.sleep(0.2)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    assert before, "the study never had a finished trial and a running one to kill"
    assert _study(root).trials[killed].state == TrialState.RUNNING  # the kill left it running in the study

    time.sleep(11)  # recover() leaves a trial started in the last 10 s to the worker that may just have taken it
    rerun = _tune(args, tmp_path)
    out = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out
    assert f"retrying trial(s) #{killed}" in out, out
    study = _study(root)
    assert {n: (x.state, x.value, x.params) for n, x in enumerate(study.trials) if n in before} == before
    assert study.trials[killed].state == TrialState.FAIL and study.trials[killed].user_attrs["ended"] == "worker killed"
    (retry,) = [x for x in study.trials if x.system_attrs.get("failed_trial") == killed]
    assert retry.params == study.trials[killed].params and retry.state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert "continuing" in out or "already paused" in out  # its seeds went on from where the kill left them
    finished = [x for x in study.trials if x.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 4
    for x in finished:
        assert 1 <= len(x.user_attrs["rung0"]) <= 2 and len(x.user_attrs["folders"]) == 2
        for folder in x.user_attrs["folders"]:
            assert (Path(folder) / "legs.json").is_file()  # paused at the rung, then continued (or pruned)

    # the top 2 on 2 fresh seeds, and the outputs beside their report
    confirm = sorted((root / "confirm").glob("*/summary.json"))
    assert len(confirm) in (2, 4) and all(json.loads(p.read_text())["status"] == "completed" for p in confirm)
    assert all("seed=100" in p.parent.name for p in confirm)  # fresh seeds 1000, 1001
    tune = root / "tune"
    for name in ("tune.md", "tune.json", "history.csv", "history.png", "importances.csv", "best_reward.yaml",
                 "lint.txt"):
        assert (tune / name).is_file(), name
    assert (root / "confirm" / "report" / "comparison.md").is_file()
    data = json.loads((tune / "tune.json").read_text())
    assert data["best"] is not None and data["lint"]["verdict"] in ("clean", "warnings", "errors")
    reward = yaml.safe_load((tune / "best_reward.yaml").read_text())["reward"]
    assert load_scene("reach", {"reward": reward}).reward is not None  # it drops into a scene
    assert "envkit lint of" in (tune / "lint.txt").read_text()
    assert "best on fresh seeds" in out and "tune.md" in out

    again = _tune(args, tmp_path)  # done: nothing trains again
    assert again.returncode == 0 and "ppo on reach" not in again.stdout, again.stdout + again.stderr
