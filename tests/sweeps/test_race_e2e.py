"""End to end: a real race through `envkit sweep ... race=true` (real pybullet, real PPO, tiny budgets).

The design built to lose is a reward of zero (a user reward option with one term of weight 0):
its policy never learns to reach, so its evaluation success stays at what an untrained policy
gets, while panda-gym's dense reward reaches about half of 20 evaluation goals within 3,000
steps at the settings below (a small batch and a large learning rate). The race must eliminate
it at the first rung on the interval evidence, continue the dense design from its checkpoints
to the budget without retraining a step, survive Ctrl-C, and continue on a rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
# the settings live in an experiment, so the trial folders keep short names (experiment=race,reward=zero,seed=0)
EXPERIMENT = {"budget": {"timesteps": 4000, "eval_every": 1000, "eval_episodes": 20},
              "agent": {"batch_size": 256, "minibatch_size": 64, "learning_rate": 0.002, "gamma": 0.95,
                        "checkpoint_every": 500, "tensorboard": False},
              "final_evals": 1}
ARGS = ["experiment=race", "reward=reach_dense,zero", "race=true", "race.rungs=[0.75]", "--jobs", "2"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def _conf(tmp_path: Path) -> Path:
    conf = tmp_path / "conf"
    (conf / "reward").mkdir(parents=True)
    (conf / "experiment").mkdir(parents=True)
    (conf / "reward" / "zero.yaml").write_text(yaml.safe_dump(
        {"name": "zero", "terms": [{"term": "goal_distance", "weight": 0.0}]}))
    (conf / "experiment" / "race.yaml").write_text("# @package _global_\n" + yaml.safe_dump(EXPERIMENT))
    return conf


def _args(tmp_path: Path) -> list[str]:
    return [*ARGS, f"out_dir={tmp_path / 'runs'}", "name=race", f"hydra.searchpath=[file://{_conf(tmp_path)}]"]


def _run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envkit.cli", "sweep", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _summaries(sweep_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep_dir.glob("*/summary.json")}


def _reward(job: Path) -> str:
    overrides = json.loads((job / "trial.json").read_text())["overrides"]
    return next(o.split("=", 1)[1] for o in overrides if o.startswith("reward="))


def test_a_race_eliminates_the_design_built_to_lose_survives_ctrl_c_and_continues(tmp_path: Path) -> None:
    args = _args(tmp_path)
    sweep_dir = tmp_path / "runs" / "race"
    # first run: interrupted (Ctrl-C to the whole process group) once the first rung is decided and
    # the survivor's trials have written a checkpoint on their way to the budget
    proc = subprocess.Popen([sys.executable, "-m", "envkit.cli", "sweep", *args], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            record = _read(sweep_dir / "race.json")
            beyond = [j for j in sweep_dir.glob("*/") if _step(j) > 3100]  # past the rung
            if record and len(record.get("rungs", [])) == 1 and beyond:
                os.killpg(proc.pid, signal.SIGINT)
                break
            time.sleep(0.2)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode == 0:
        pytest.skip("the race finished before it could be interrupted (a fast machine): nothing to test here")
    assert proc.returncode == 130, out
    assert "rerun the same command to continue the race" in out, out

    rerun = _run(args, tmp_path)
    out = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out
    assert "already there" in out and "continuing" in out, out  # the rung is not retrained; the legs continue
    record = json.loads((sweep_dir / "race.json").read_text())
    assert record["finished"] is True
    zero, dense = record["designs"]["reward=zero"], record["designs"]["reward=reach_dense"]
    assert zero["status"] == "eliminated" and zero["out_at"] == 0, json.dumps(record["rungs"], indent=1)
    assert dense["status"] == "finished"
    (standing,) = [s for s in record["rungs"][0]["standings"] if s["design"] == "reward=zero"]
    assert "lies entirely below the leader's" in standing["why"] and "(reward=reach_dense)" in standing["why"]
    assert standing["interval"][2] < record["rungs"][0]["standings"][0]["interval"][1]
    assert 0 < record["race_steps"] < record["grid_steps"]

    summaries = _summaries(sweep_dir)
    assert len(summaries) == 6 and all(n.startswith("experiment=race,reward=") for n in summaries)
    for name, s in summaries.items():
        job = sweep_dir / name
        evals = pd.read_csv(job / "eval.csv")
        episodes = pd.read_csv(job / "episodes.csv")
        assert evals["global_step"].is_monotonic_increasing and episodes["global_step"].is_monotonic_increasing
        legs = json.loads((job / "legs.json").read_text())["legs"]
        assert legs[0]["pause_at"] == 3000 and 2700 <= legs[0]["global_step"] <= 3300
        if _reward(job) == "zero":
            assert s["status"] == "paused" and s["paused_at"] == 3000 and s["global_step"] == legs[0]["global_step"]
        else:  # continued from the rung's checkpoint: one log, no step trained twice, no attempt redone
            assert s["status"] == "completed" and s["global_step"] >= 0.9 * 4000
            assert not (job / "attempts").exists()
            assert episodes["global_step"].iloc[-1] <= s["global_step"]
            assert s["wall_time"] > legs[0]["wall_time"] > 0  # the rung's leg counts in the trial's wall time

    report = (sweep_dir / "report" / "comparison.md").read_text()
    assert "## Race" in report and "eliminated at rung 1" in report and "lies entirely below" in report
    assert "Compute: the race trained" in report
    assert (sweep_dir / "report" / "race.csv").is_file()
    assert "Race:" in out and "of the full grid" in out

    again = _run(args, tmp_path)  # a rerun of a finished race trains nothing and decides the same
    out = again.stdout + again.stderr
    assert again.returncode == 0, out
    assert "0 trials to train" in out and "ppo on reach" not in out, out
    assert json.loads((sweep_dir / "race.json").read_text())["rungs"] == record["rungs"]


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _step(job: Path) -> int:
    status = _read(job / "status.json") or {}
    return int(status.get("global_step") or 0) if (job / "checkpoints" / "last.pt").is_file() else 0


def test_bad_race_settings_fail_before_anything_trains(tmp_path: Path) -> None:
    base = ["budget.timesteps=1000", "budget.eval_every=500", f"out_dir={tmp_path / 'runs'}", "name=bad"]
    cases = [
        (["reward=reach_dense", "race=true"], "needs at least 2 designs"),
        (["reward=reach_dense,reach_sparse", "race=true", "race.rungs=[0.5,1.5]"], "beyond the budget"),
        (["reward=reach_dense,reach_sparse", "race=true", "race.rungs=[0.4,0.6]"], "rounds to 500 steps"),
        (["reward=reach_dense,reach_sparse", "race=true", "race.metric=return"], "race.metric"),
        (["reward=reach_dense,reach_sparse", "race=true", "race.min_seeds=3", "race.max_seeds=2"], "race.max_seeds"),
        (["reward=reach_dense,reach_sparse", "race=true", "race.metrc=auc"], "Did you mean 'race.metric'"),
        (["reward=reach_dense,reach_sparse", "race=true", "agent.anneal_lr=true"], "agent.anneal_lr"),
        (["reward=reach_dense,reach_sparse", "race=true", "budget.eval_episodes=0"], "budget.eval_episodes"),
    ]
    for extra, words in cases:
        r = _run([*extra, *base], tmp_path, timeout=300)
        assert r.returncode == 1 and words in r.stderr, (extra, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1  # one paragraph
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written
