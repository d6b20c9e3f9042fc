"""End to end: real multiruns through `envkit sweep` (real pybullet, real PPO, tiny budgets).

A deliberately failing trial is reported as failed while the others complete; rerunning
skips finished trials and redoes the failed one without losing its files; a sweep killed
mid-trial leaves a usable report, and the rerun continues the killed trial from its
checkpoint.
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

from envkit.loader import load_scene
from sweeps.report import build_report, write_report

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
TINY = ["budget.timesteps=1000", "budget.eval_every=500", "budget.eval_episodes=2", "agent.batch_size=250",
        "agent.tensorboard=false"]


# sequential: the short trial finishes, then the long one is killed after its first checkpoint
ARGS_KILLED = ["reward=reach_dense", "budget.timesteps=1000,8000", "launcher=sequential", "budget.eval_every=1000",
               "budget.eval_episodes=2", "agent.batch_size=500", "agent.checkpoint_every=1000", "agent.tensorboard=false"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def _sweep(args: list[str], cwd: Path, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envkit.cli", "sweep", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _job_dir(sweep_dir: Path, part: str) -> Path:
    """A trial folder is named by all of its overrides (Hydra's override_dirname), sorted."""
    name = ",".join(sorted(a for a in ARGS_KILLED if "=" in a and not a.startswith(("out_dir", "name", "launcher"))))
    name = name.replace("budget.timesteps=1000,8000,", part).replace("agent.tensorboard=false", "agent.tensorboard=False")
    return sweep_dir / name


def _summary(job: Path) -> dict:
    return json.loads((job / "summary.json").read_text())


def _user_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "conf"
    (conf / "reward").mkdir(parents=True)
    (conf / "reward" / "explode.yaml").write_text(yaml.safe_dump({
        "name": "explode",
        "terms": [{"term": "goal_distance", "weight": -1.0},
                  {"term": "sweeps_testterms:ExplodeAfter", "weight": 1.0, "params": {"steps": 400}}],
    }))
    return conf


def test_failing_trial_is_reported_others_complete_and_rerun_skips_and_redoes(tmp_path: Path) -> None:
    conf = _user_conf(tmp_path)
    args = ["reward=reach_dense,explode", "seed=0,1", *TINY, f"out_dir={tmp_path / 'runs'}", "name=e2e",
            f"hydra.searchpath=[file://{conf}]", "--jobs", "2"]
    first = _sweep(args, tmp_path)
    out = first.stdout + first.stderr
    assert first.returncode == 1, out  # a failed trial makes the sweep's exit code 1 ...
    assert "envkit sweep: 4 trials" in out and "2 completed, 2 failed" in out, out
    sweep_dir = tmp_path / "runs" / "e2e"
    jobs = {p.name: p for p in sweep_dir.iterdir() if (p / "trial.json").is_file()}
    assert len(jobs) == 4
    good = [p for n, p in jobs.items() if "reward=reach_dense" in n]
    bad = [p for n, p in jobs.items() if "reward=explode" in n]

    for job in good:  # ... but the others completed, with everything a trial writes
        s = _summary(job)
        assert s["status"] == "completed" and s["error"] is None
        assert s["global_step"] >= 900 and s["n_evals"] >= 3  # whole PPO batches, less autoreset steps
        assert s["steps_per_second"] > 0
        for key in ("final_success", "final_return", "auc_success", "steps_to_threshold", "wall_time",
                    "envkit_version", "git_commit"):
            assert key in s
        assert (job / "checkpoints" / "final.pt").is_file() and (job / ".hydra" / "overrides.yaml").is_file()
        assert s["best_checkpoint"] == "checkpoints/best.pt" and (job / s["best_checkpoint"]).is_file()
        assert load_scene(job / "scene.yaml").reward.preset == "reach_dense"
        assert len(pd.read_csv(job / "episodes.csv")) >= 10
    for job in bad:
        s = _summary(job)
        assert s["status"] == "failed" and "deliberate failure after 400 steps" in s["error"]
        assert "Traceback" in (job / "error.txt").read_text()
        assert 300 <= s["global_step"] <= 500
        assert len(pd.read_csv(job / "episodes.csv")) >= 5  # partial logs are kept
        assert json.loads((job / "status.json").read_text())["status"] == "failed"

    report = (sweep_dir / "report" / "comparison.md").read_text()
    assert "| 1 | reach_dense | 2 | 0 |" in report, report
    assert "| - | explode | 0 | 2 |" in report
    assert "2 trial(s) failed" in report and "deliberate failure" in report
    for png in ("learning_curves", "episode_returns", "intervals"):
        assert (sweep_dir / "report" / "plots" / f"{png}.png").stat().st_size > 5000
    assert "Verdict:" in first.stdout

    second = _sweep(args, tmp_path)
    out2 = second.stdout + second.stderr
    assert out2.count("already complete, skipped") == 2, out2
    assert out2.count("redoing this trial (it ended as failed)") == 2, out2
    for job in good:  # untouched
        assert not (job / "attempts").exists()
    for job in bad:  # redone; the first attempt's files moved aside, not deleted
        old = job / "attempts" / "1"
        assert (old / "status.json").is_file() and (old / "episodes.csv").is_file() and (old / "summary.json").is_file()
        assert _summary(job)["status"] == "failed"


def test_killed_sweep_leaves_a_usable_report_and_the_rerun_continues_the_trial(tmp_path: Path) -> None:
    args = [*ARGS_KILLED, f"out_dir={tmp_path / 'runs'}", "name=killed"]
    sweep_dir = tmp_path / "runs" / "killed"
    first_job, second_job = (_job_dir(sweep_dir, f"budget.timesteps={n},") for n in (1000, 8000))
    proc = subprocess.Popen([sys.executable, "-m", "envkit.cli", "sweep", *args], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if (first_job / "summary.json").is_file() and (second_job / "checkpoints" / "last.pt").is_file():
                break
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.2)
        else:
            pytest.fail("the sweep did not reach its second trial's first checkpoint in time")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]

    rep = build_report([sweep_dir], reps=200)
    assert sorted(t.status for t in rep.trials) == ["completed", "incomplete"]
    assert rep.keys == ["budget.timesteps"] and [d.seeds for d in rep.designs] == [1, 0]
    assert any("have no summary" in w and "budget.timesteps=8000" in w for w in rep.warnings)
    write_report(rep, sweep_dir / "report")
    assert (sweep_dir / "report" / "comparison.md").is_file()
    assert (sweep_dir / "report" / "plots" / "learning_curves.png").is_file()
    killed_at = json.loads((second_job / "status.json").read_text())
    assert killed_at["status"] == "running"

    rerun = _sweep(args, tmp_path)
    out = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out
    assert "already complete, skipped" in out and "continuing an interrupted attempt" in out, out
    s = _summary(second_job)
    # PPO counts its budget in whole rollouts, less the autoreset steps they contain
    assert s["status"] == "completed" and s["global_step"] >= 0.95 * 8000
    steps = pd.read_csv(second_job / "episodes.csv")["global_step"]
    assert steps.is_monotonic_increasing and steps.iloc[-1] >= 0.94 * 8000  # one log, continued
    assert not (second_job / "attempts").exists()  # continued, not redone


@pytest.mark.parametrize(("sig", "said"), [(signal.SIGKILL, "killed by SIGKILL"),
                                           (signal.SIGTERM, "interrupted (Ctrl-C or `kill`)")])
def test_a_killed_trial_is_reported_failed_while_the_others_go_on(tmp_path: Path, sig: int, said: str) -> None:
    # two equal trials in parallel; one trial's own process is killed (SIGKILL: as the out-of-memory
    # killer would; SIGTERM: `kill PID` by hand) after its first checkpoint: the other completes, the
    # sweep reports the killed one as failed, and the rerun continues it from its checkpoint
    args = ["reward=reach_dense", "seed=0,1", "budget.timesteps=8000", "budget.eval_every=2000",
            "budget.eval_episodes=2", "agent.batch_size=500", "agent.checkpoint_every=1000", "agent.tensorboard=false",
            f"out_dir={tmp_path / 'runs'}", "name=oom", "--jobs", "2"]
    sweep_dir = tmp_path / "runs" / "oom"
    proc = subprocess.Popen([sys.executable, "-m", "envkit.cli", "sweep", *args], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    victim = None
    try:
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            for job in sweep_dir.glob("*seed=1*"):
                if (job / "checkpoints" / "last.pt").is_file() and (job / "trial.pid").is_file():
                    victim = job
                    os.kill(int((job / "trial.pid").read_text()), sig)
            time.sleep(0.2)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert victim is not None, "the trial to kill never reached its first checkpoint"
    assert proc.returncode == 1, out
    assert "1 completed, 1 failed" in out, out
    s = _summary(victim)
    assert s["status"] == "failed" and said in s["error"], s["error"]
    (other,) = [j for j in sweep_dir.glob("*seed=0*")]
    assert _summary(other)["status"] == "completed"
    report = (sweep_dir / "report" / "comparison.md").read_text()
    assert "1 trial(s) failed" in report and said in report

    rerun = _sweep(args, tmp_path)
    out2 = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out2
    assert "already complete, skipped" in out2 and "continuing an interrupted attempt" in out2, out2
    assert _summary(victim)["status"] == "completed" and not (victim / "attempts").exists()


def _session_processes(sid: int) -> list[int]:
    """Live processes of a session (field 6 of /proc/PID/stat), zombies excluded."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
def test_kill_of_a_background_sweep_stops_its_trials_and_the_rerun_continues_them(tmp_path: Path) -> None:
    # started the way `nohup envkit sweep ... &` in a script starts it: SIGINT ignored, so `kill PID`
    # (SIGTERM, to the launcher only) is how it is stopped; its trials used to train on as orphans
    args = ["reward=reach_dense", "seed=0,1", "budget.timesteps=8000", "budget.eval_every=4000",
            "budget.eval_episodes=2", "agent.batch_size=500", "agent.checkpoint_every=500", "agent.tensorboard=false",
            f"out_dir={tmp_path / 'runs'}", "name=bg", "--jobs", "2"]
    sweep_dir = tmp_path / "runs" / "bg"
    proc = subprocess.Popen([sys.executable, "-m", "envkit.cli", "sweep", *args], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = list(sweep_dir.glob("*seed=*"))
            if len(jobs) == 2 and all((j / "checkpoints" / "last.pt").is_file() for j in jobs):
                break
            assert proc.poll() is None, proc.stdout.read()  # type: ignore[union-attr]
            time.sleep(0.2)
        else:
            pytest.fail("the two trials did not reach their first checkpoints in time")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        deadline = time.monotonic() + 15  # joblib's resource tracker ends on its own once the launcher is gone
        while (left := _session_processes(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out
    assert "stopping 2 running trials (SIGTERM)" in out and "envkit sweep: interrupted" in out, out
    assert left == [], f"processes of the sweep still running after it exited: {left}"
    assert "Traceback" not in out, out  # joblib's resource tracker, stopped too early, used to print one
    for job in sweep_dir.glob("*seed=*"):
        status = json.loads((job / "status.json").read_text())
        assert status["status"] == "failed" and status["error"] == "interrupted", status
        assert 0 < status["global_step"] < 8000

    rerun = _sweep(args, tmp_path)  # the same command continues both from their checkpoints
    out2 = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out2
    assert out2.count("continuing an interrupted attempt") == 2, out2
    for job in sweep_dir.glob("*seed=*"):
        summary = _summary(job)
        assert summary["status"] == "completed" and not (job / "attempts").exists()
        # the run's own clock continues across the interruption; the trial's wall time is never below it
        assert summary["wall_time"] >= summary["train_time"] > 0, summary
