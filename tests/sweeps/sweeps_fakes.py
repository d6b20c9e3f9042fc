"""Trial folders with chosen learning curves, written exactly as a real trial writes them
(status.json, eval.csv, episodes.csv, trial.json, then summary.json by sweeps.summary),
so the report can be tested against known answers without training anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweeps.summary import summarize, write_summary


def fake_trial(
    root: Path,
    design: dict[str, Any],
    seed: int,
    success: list[float] | None,
    returns: list[float],
    episodes: pd.DataFrame | None = None,
    status: str = "completed",
    error: str | None = None,
    write_summary_file: bool = True,
    eval_every: int = 1000,
) -> Path:
    """One trial of `design` (override key -> value) with eval curves `success`/`returns`."""
    overrides = [f"{k}={v}" for k, v in design.items()] + [f"seed={seed}"]
    label = ",".join(sorted(overrides))
    job = root / label
    job.mkdir(parents=True)
    steps = [eval_every * (i + 1) for i in range(len(returns))]
    pd.DataFrame({
        "global_step": steps, "episodes": 10, "mean_return": returns, "std_return": 0.0,
        "success_rate": success if success is not None else [np.nan] * len(returns), "mean_length": 50,
        "wall_time": [s / 100 for s in steps],
    }).to_csv(job / "eval.csv", index=False)
    if episodes is not None:
        episodes.to_csv(job / "episodes.csv", index=False)
    last = steps[-1] if steps else 0
    (job / "status.json").write_text(json.dumps({"status": status, "error": error, "global_step": last,
                                                 "total_timesteps": last, "wall_time": last / 100}))
    config: dict[str, Any] = {"seed": seed, "success_threshold": 0.8, "final_evals": 2,
                              "agent": {"algo": "ppo"}, "scene": {"id": "reach"}, "reward": {"name": "x"}}
    choices: dict[str, Any] = {}
    for k, v in design.items():
        if "." in k:
            head, _, leaf = k.partition(".")
            config.setdefault(head, {})[leaf] = v
        else:
            choices[k] = v
    info = {"label": label, "fingerprint": "f", "overrides": overrides, "choices": choices, "config": config}
    (job / "trial.json").write_text(json.dumps(info))
    if write_summary_file:
        write_summary(job, summarize(job, info, error=error if status != "completed" else None, wall_time=1.0))
    return job


def episodes_frame(n: int, success_p: np.ndarray | float, return_fn, rng: np.random.Generator,
                   terms: dict[str, Any] | None = None) -> pd.DataFrame:
    """n training episodes: success drawn with probability success_p (per episode), returns from
    return_fn(index, success), and optional term columns computed from (index, success)."""
    p = np.broadcast_to(np.asarray(success_p, float), (n,))
    succ = (rng.random(n) < p).astype(float)
    idx = np.arange(n)
    df = pd.DataFrame({"global_step": (idx + 1) * 50, "episode": idx + 1, "length": 50,
                       "success": succ, "wall_time": idx * 0.1})
    df["return"] = return_fn(idx, succ)
    for name, fn in (terms or {}).items():
        df[f"term/{name}"] = fn(idx, succ)
    return df
