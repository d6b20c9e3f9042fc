"""The report's first step: find the trials of one or more sweep directories, read their
files and group them into designs (then sweeps/judge.py says what the numbers mean and
sweeps/render.py shows it).

A design is what a sweep compares: the values of the keys that vary across its trials
(reward x batch size x agent, ...), seeds excluded. The keys come from the trials' own
overrides, so nothing has to be declared: `-m reward=a,b agent.batch_size=5000,50000`
gives the designs `reward=a agent.batch_size=5000`, ... A key that one directory swept
and another did not is read from each trial's resolved config, so sweeps can be merged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from envkit.errors import ConfigError
from sweeps.files import read_csv, read_json
from sweeps.racing import RaceRecord, load_record
from sweeps.summary import curve_metrics

#: Keys never part of a design: the seed (what designs are averaged over) and bookkeeping.
NOT_DESIGN_KEYS = ("seed", "name", "out_dir", "launcher", "progress", "resume", "isolate", "pause_at")
#: Sections of settings for how a sweep runs (racing, tuning), never part of a design.
NOT_DESIGN_SECTIONS = ("race", "search", "trials", "tune")


def is_design_key(key: str) -> bool:
    """False for the seed, bookkeeping keys and the race/tune settings."""
    return key not in NOT_DESIGN_KEYS and key.split(".")[0] not in NOT_DESIGN_SECTIONS


@dataclass
class Trial:
    """One trial folder: its status, summary.json (or partial metrics) and trial.json."""

    path: Path
    status: str
    """completed | paused (stopped at a race's rung before its budget) | failed | incomplete (killed or
    still running: no summary.json yet)."""
    summary: dict[str, Any]
    info: dict[str, Any]
    design: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.info.get("label") or self.path.name)

    @property
    def seed(self) -> Any:
        return self.info.get("config", {}).get("seed")

    @property
    def design_label(self) -> str:
        return design_label(self.design)

    @functools.cached_property
    def evals(self) -> pd.DataFrame:
        """The evaluations (eval.csv: the learning curve); read once, when first asked for."""
        return read_csv(self.path / "eval.csv")

    @functools.cached_property
    def episodes(self) -> pd.DataFrame:
        """The training episodes (episodes.csv: return, success, each term's sum), step, return and
        success as numbers; read once, when first asked for."""
        df = read_csv(self.path / "episodes.csv")
        if not df.empty:
            for col in ("global_step", "return", "success"):
                if col in df:
                    df[col] = pd.to_numeric(df[col], errors="coerce")
        return df


@dataclass
class Sweep:
    """The collected trials of one or more sweep directories, each with its design set."""

    trials: list[Trial]
    keys: list[str]
    """The design keys: what varies across the trials (seeds and `task_key` excluded)."""
    task_key: str | None = None
    """A key treated as tasks to stratify over (e.g. scene) instead of as part of the design."""
    race: RaceRecord | None = None
    """The race's history (race.json) when the first sweep folder was raced (`envkit sweep ... race=true`)."""


def design_label(design: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in design.items()) or "all trials"


def find_trials(dirs: Sequence[str | Path]) -> list[Trial]:
    """Every trial under `dirs` (earlier attempts kept in attempts/ are skipped)."""
    trials: list[Trial] = []
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            raise ConfigError(f"{root}: no such sweep directory. Give the folder a sweep wrote "
                              "(runs/sweeps/<name> by default; see `ls runs/sweeps`).")
        found = [p.parent for p in sorted(root.rglob("trial.json")) if "attempts" not in p.relative_to(root).parts]
        if not found:
            raise ConfigError(
                f"{root}: no trials found (no */trial.json below it). Is this the folder of a sweep "
                "(runs/sweeps/<name>)? A sweep that was stopped before any trial started has nothing to report."
            )
        for path in found:
            trial = Trial(path, "incomplete", {}, read_json(path / "trial.json") or {})
            summary = read_json(path / "summary.json")
            if summary is None:
                cfg = trial.info.get("config", {})
                partial = curve_metrics(trial.evals, float(cfg.get("success_threshold", 0.8)),
                                        int(cfg.get("final_evals", 3)))
                status_json = read_json(path / "status.json") or {}
                summary = {"status": "incomplete", "global_step": status_json.get("global_step", 0),
                           "error": "no summary.json: the trial was killed or is still running", **partial}
            trial.status, trial.summary = str(summary.get("status")), summary
            trials.append(trial)
    return trials


def _override_key(text: str) -> str | None:
    key, sep, _ = text.partition("=")
    key = key.lstrip("+~")
    return key if sep and not key.startswith("hydra") else None


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def design_value(trial: Trial, key: str) -> str:
    """A trial's value for `key`: the chosen option of a config group, else the resolved config value."""
    choices = trial.info.get("choices", {})
    if key in choices:
        return str(choices[key])
    value = _lookup(trial.info.get("config", {}), key)
    if value is None:
        for o in trial.info.get("overrides", []):
            if _override_key(o) == key:
                return o.partition("=")[2]
    return "null" if value is None else str(value)


def design_keys(trials: Iterable[Trial]) -> list[str]:
    """The keys whose values differ between trials, in a stable order (reward and agent first)."""
    trials = list(trials)
    keys: list[str] = []
    for t in trials:
        for o in t.info.get("overrides", []):
            k = _override_key(o)
            if k and is_design_key(k) and k not in keys:
                keys.append(k)
    varying = [k for k in keys if len({design_value(t, k) for t in trials}) > 1]
    order = {"scene": 0, "scene_file": 0, "reward": 1, "agent": 2}
    return sorted(varying, key=lambda k: (order.get(k.split(".")[0], 3), k))


def assign_designs(trials: list[Trial], task_key: str | None = None) -> list[str]:
    """Set each trial's design (the varying keys but `task_key`); returns the design keys."""
    keys = [k for k in design_keys(trials) if k != task_key]
    for t in trials:
        t.design = {k: design_value(t, k) for k in keys}
    return keys


def collect(dirs: Sequence[str | Path], task_key: str | None = None) -> Sweep:
    """The trials under `dirs`, grouped into designs; `task_key` (e.g. scene) is left out of the
    designs, to be stratified over by the judging step."""
    trials = find_trials(dirs)
    return Sweep(trials, assign_designs(trials, task_key), task_key, load_record(Path(dirs[0])) if dirs else None)
