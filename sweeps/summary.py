"""summary.json: what one trial achieved, computed from its run directory's logs.

The report reads only summaries and logs, so a trial's numbers are computed once,
here, and mean the same in every report. Definitions (also in docs/sweeps.md):

- final_success / final_return: the mean of the last `final_evals` evaluations
  (one evaluation of 10 episodes is noisy; the last few average that out);
- last_success / last_return: the very last evaluation;
- auc_success / auc_return: the area under the evaluation curve divided by the span of
  steps it covers (the curve's mean height: 1.0 means solved from the first evaluation);
- steps_to_threshold: the first evaluated step whose success rate reaches
  `success_threshold` (null if never).
"""

from __future__ import annotations

import functools
import math
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.logger import write_json_atomic
from sweeps.files import read_csv, read_json

SUMMARY_VERSION = 1


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def curve_area(steps: np.ndarray, values: np.ndarray) -> float | None:
    """Trapezoid area under (steps, values) divided by the step span; NaN points are dropped."""
    ok = np.isfinite(values) & np.isfinite(steps)
    steps, values = steps[ok], values[ok]
    if len(values) == 0:
        return None
    if len(values) == 1 or steps[-1] == steps[0]:
        return float(values[-1])
    area = float(np.sum((values[1:] + values[:-1]) * np.diff(steps)) / 2.0)
    return area / float(steps[-1] - steps[0])


def curve_metrics(evals: pd.DataFrame, threshold: float, final_evals: int) -> dict[str, Any]:
    """The learning-curve numbers of one trial from its eval.csv rows."""
    out: dict[str, Any] = {
        "n_evals": int(len(evals)), "final_success": None, "final_return": None, "last_success": None,
        "last_return": None, "auc_success": None, "auc_return": None, "steps_to_threshold": None,
    }
    if evals.empty or "global_step" not in evals:
        return out
    evals = evals.sort_values("global_step")
    steps = evals["global_step"].to_numpy(float)
    ret = pd.to_numeric(evals.get("mean_return"), errors="coerce").to_numpy(float)
    succ = pd.to_numeric(evals.get("success_rate"), errors="coerce").to_numpy(float)
    tail = slice(-max(1, final_evals), None)
    if np.isfinite(ret).any():
        out["final_return"] = _num(np.nanmean(ret[tail])) if np.isfinite(ret[tail]).any() else None
        out["last_return"] = _num(ret[-1])
        out["auc_return"] = curve_area(steps, ret)
    if np.isfinite(succ).any():
        out["final_success"] = _num(np.nanmean(succ[tail])) if np.isfinite(succ[tail]).any() else None
        out["last_success"] = _num(succ[-1])
        out["auc_success"] = curve_area(steps, succ)
        reached = np.flatnonzero(np.nan_to_num(succ, nan=-1.0) >= threshold)
        out["steps_to_threshold"] = int(steps[reached[0]]) if len(reached) else None
    return out


@functools.cache
def code_version() -> dict[str, Any]:
    """envkit's version and, when run from a git checkout, the commit (and whether it had local edits)."""
    import envkit

    root = Path(envkit.__file__).resolve().parent.parent
    info: dict[str, Any] = {"envkit_version": envkit.__version__, "git_commit": None, "git_dirty": None,
                            "python": platform.python_version()}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10)
            info["git_dirty"] = bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def summarize(job_dir: Path, trial: dict[str, Any], error: str | None = None,
              wall_time: float | None = None) -> dict[str, Any]:
    """The summary of the trial in `job_dir`: status, curve metrics, speed, provenance."""
    config = trial.get("config", {})
    run_status = read_json(job_dir / "status.json") or {}
    if error is None and run_status.get("status") != "completed":
        error = run_status.get("error") or "the run did not complete (no completed status.json)"
    status = "completed" if error is None else "failed"
    evals = read_csv(job_dir / "eval.csv")
    episodes = read_csv(job_dir / "episodes.csv")
    global_step = int(run_status.get("global_step", 0))
    train_time = _num(run_status.get("wall_time"))
    summary: dict[str, Any] = {
        "summary_version": SUMMARY_VERSION,
        "status": status,
        "error": error,
        "label": trial.get("label", job_dir.name),
        "fingerprint": trial.get("fingerprint"),
        "seed": config.get("seed"),
        "algo": (config.get("agent") or {}).get("algo"),
        "scene": config.get("scene_file") or (config.get("scene") or {}).get("id"),
        "reward": (config.get("reward") or {}).get("name"),
        "choices": trial.get("choices", {}),
        "overrides": trial.get("overrides", []),
        "global_step": global_step,
        "total_timesteps": int(run_status.get("total_timesteps", 0) or 0),
        "episodes": int(len(episodes)),
        "success_threshold": config.get("success_threshold"),
        **curve_metrics(evals, float(config.get("success_threshold", 0.8)), int(config.get("final_evals", 3))),
        # never below the run's own clock, which continues across resumes (an attempt killed before it
        # wrote a summary leaves no wall time of its own to add)
        "wall_time": round(max(float(wall_time or 0.0), train_time or 0.0), 3),
        "train_time": train_time,
        "steps_per_second": round(global_step / train_time, 2) if train_time else None,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "checkpoint": "checkpoints/final.pt" if (job_dir / "checkpoints" / "final.pt").is_file() else None,
        "best_checkpoint": "checkpoints/best.pt" if (job_dir / "checkpoints" / "best.pt").is_file() else None,
        **code_version(),
    }
    return summary


def write_summary(job_dir: Path, summary: dict[str, Any]) -> None:
    write_json_atomic(job_dir / "summary.json", summary)
