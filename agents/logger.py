"""The one logger of a training run: CSV files, TensorBoard, status.json and the progress bar.

Layout (binding, read by `sweeps`; see docs/architecture.md):
episodes.csv, eval.csv, train_stats.csv, tb/, status.json. Columns may be added,
never renamed. On resume, rows past the checkpoint's step are dropped so that the
logs continue exactly where the checkpoint left off.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

EPISODE_COLUMNS = ["global_step", "episode", "return", "length", "success", "wall_time"]
EVAL_COLUMNS = ["global_step", "episodes", "mean_return", "std_return", "success_rate", "mean_length", "wall_time"]
TRAIN_COLUMNS_HEAD = ["global_step"]
#: bar: a live rich progress bar; lines: one plain line per evaluation (several runs can share a
#: terminal, as in sweeps); none: silent.
PROGRESS_MODES = ("bar", "lines", "none")


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    if v is None:
        return ""
    return v


class CsvLog:
    """Append-only CSV whose header can grow: a new column rewrites the file once."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = list(columns)
        self._file = None
        self._writer: csv.writer | None = None
        if path.exists() and path.stat().st_size > 0:
            with open(path, newline="") as f:
                header = next(csv.reader(f), None)
            if header:
                self.columns = header + [c for c in self.columns if c not in header]
                if self.columns != header:
                    self._rewrite()
        else:
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(self.columns)

    def _open(self) -> csv.writer:
        if self._writer is None:
            self._file = open(self.path, "a", newline="")
            self._writer = csv.writer(self._file)
        return self._writer

    def _rewrite(self, keep_until_step: int | None = None) -> None:
        self.close()
        with open(self.path, newline="") as f:
            rows = list(csv.DictReader(f))
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, self.columns, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                if keep_until_step is not None and r.get("global_step") not in (None, ""):
                    if int(float(r["global_step"])) > keep_until_step:
                        continue
                w.writerow(r)
        os.replace(tmp, self.path)

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (they are re-done after a resume)."""
        self._rewrite(keep_until_step=step)

    def write(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        if new:
            self.columns += new
            self._rewrite()
        self._open().writerow([_fmt(row.get(c)) for c in self.columns])

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._writer = None, None


class RunLogger:
    """Everything a run records, behind one object the algorithms call."""

    def __init__(
        self,
        run_dir: Path,
        total_timesteps: int,
        quiet: bool = False,
        tensorboard: bool = True,
        resume_step: int | None = None,
        wall_time_offset: float = 0.0,
        description: str = "",
        progress: str = "bar",
    ) -> None:
        self.run_dir = run_dir
        self.total_timesteps = total_timesteps
        self.mode = "none" if quiet else progress
        self.quiet = self.mode == "none"
        self.description = description
        self.t0 = time.perf_counter() - wall_time_offset
        self.episodes = CsvLog(run_dir / "episodes.csv", EPISODE_COLUMNS)
        self.evals = CsvLog(run_dir / "eval.csv", EVAL_COLUMNS)
        self.train = CsvLog(run_dir / "train_stats.csv", TRAIN_COLUMNS_HEAD)
        if resume_step is not None:
            for log in (self.episodes, self.evals, self.train):
                log.truncate_after(resume_step)
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step)
        self.recent_returns: deque[float] = deque(maxlen=100)
        self.recent_success: deque[float] = deque(maxlen=100)
        self.last_eval: dict[str, Any] | None = None
        self._last_flush = time.perf_counter()
        self._progress = None
        self._task = None
        self._last_bar = 0.0
        self._sps_window: deque[tuple[float, int]] = deque(maxlen=50)
        if self.mode == "bar":
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn(f"[bold]{description}"),
                BarColumn(),
                TextColumn("{task.completed:>9,}/{task.total:,}"),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                refresh_per_second=4,
            )
            self._progress.start()
            self._task = self._progress.add_task("train", total=total_timesteps, stats="")

    @property
    def wall_time(self) -> float:
        return time.perf_counter() - self.t0

    # ------------------------------------------------------------------ records
    def episode(self, global_step: int, episode: int, ret: float, length: int, success: float | None,
                terms: dict[str, float] | None, stats: dict[str, float] | None = None) -> None:
        """One finished training episode. `terms` (info["episode_reward_terms"]) become term/<name>
        columns, `stats` (info["episode_stats"]: any per-episode numbers an env reports, such as its
        curriculum stage) stat/<name> columns, both also in TensorBoard."""
        row: dict[str, Any] = {
            "global_step": global_step, "episode": episode, "return": float(ret), "length": int(length),
            "success": "" if success is None else float(success), "wall_time": round(self.wall_time, 3),
        }
        for name, v in (terms or {}).items():
            row[f"term/{name}"] = float(v)
        for name, v in (stats or {}).items():
            row[f"stat/{name}"] = float(v)
        self.episodes.write(row)
        self.recent_returns.append(float(ret))
        if success is not None:
            self.recent_success.append(float(success))
        if self.tb is not None:
            self.tb.add_scalar("episode/return", ret, global_step)
            self.tb.add_scalar("episode/length", length, global_step)
            if success is not None:
                self.tb.add_scalar("episode/success", success, global_step)
            for name, v in (terms or {}).items():
                self.tb.add_scalar(f"term/{name}", v, global_step)
            for name, v in (stats or {}).items():
                self.tb.add_scalar(f"stat/{name}", v, global_step)
        self._maybe_flush()

    def evaluation(self, global_step: int, result: dict[str, Any]) -> None:
        row = {"global_step": global_step, **result, "wall_time": round(self.wall_time, 3)}
        self.evals.write(row)
        self.evals.flush()
        self.last_eval = row
        if self.mode == "lines":
            parts = [f"[{self.description}] step {global_step:,}/{self.total_timesteps:,}",
                     f"eval return {row['mean_return']:.2f}"]
            if row.get("success_rate") == row.get("success_rate") and row.get("success_rate") is not None:
                parts.append(f"success {row['success_rate']:.2f}")
            parts.append(f"{self.steps_per_second():.0f} steps/s")
            sys.stdout.write(", ".join(parts) + "\n")  # one write: parallel runs share the terminal
            sys.stdout.flush()
        if self.tb is not None:
            for k, v in result.items():
                if isinstance(v, (int, float)) and v == v:
                    self.tb.add_scalar(f"eval/{k}", v, global_step)

    def train_stats(self, global_step: int, stats: dict[str, float]) -> None:
        now = time.perf_counter()
        self._sps_window.append((now, global_step))
        row = {"global_step": global_step, **stats, "steps_per_second": round(self.steps_per_second(), 2)}
        self.train.write(row)
        if self.tb is not None:
            for k, v in row.items():
                if k != "global_step":
                    self.tb.add_scalar(f"train/{k}", v, global_step)
        self._maybe_flush()

    def steps_per_second(self) -> float:
        if len(self._sps_window) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._sps_window[0], self._sps_window[-1]
        return (s1 - s0) / max(t1 - t0, 1e-9)

    def mark_speed(self, global_step: int) -> None:
        self._sps_window.append((time.perf_counter(), global_step))

    def progress(self, global_step: int) -> None:
        """Cheap to call every step: the bar is redrawn at most 4 times per second."""
        if self._progress is None:
            return
        now = time.perf_counter()
        if now - self._last_bar < 0.25:
            return
        self._last_bar = now
        self._sps_window.append((now, global_step))
        parts = [f"{self.steps_per_second():6.0f} steps/s"]
        if self.recent_returns:
            parts.append(f"return {sum(self.recent_returns) / len(self.recent_returns):8.2f}")
        if self.recent_success:
            parts.append(f"success {sum(self.recent_success) / len(self.recent_success):.2f}")
        if self.last_eval is not None:
            parts.append(f"eval {self.last_eval['mean_return']:.2f}")
        self._progress.update(self._task, completed=global_step, stats=" | ".join(parts))

    def status(self, status: str, global_step: int, error: str | None = None) -> None:
        write_json_atomic(
            self.run_dir / "status.json",
            {"status": status, "error": error, "global_step": int(global_step),
             "total_timesteps": int(self.total_timesteps), "wall_time": round(self.wall_time, 3)},
        )

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(text)
        elif self.mode == "lines":
            from rich.text import Text

            sys.stdout.write(f"[{self.description}] {Text.from_markup(text).plain}\n")
            sys.stdout.flush()
        else:
            print(text)

    def _maybe_flush(self) -> None:
        now = time.perf_counter()
        if now - self._last_flush > 5.0:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        for log in (self.episodes, self.evals, self.train):
            log.flush()
        if self.tb is not None:
            self.tb.flush()

    def close(self, global_step: int | None = None) -> None:
        if self._progress is not None:
            if global_step is not None:
                self._last_bar = 0.0
                self.progress(global_step)
            self._progress.stop()
            self._progress = None
        self.flush()
        for log in (self.episodes, self.evals, self.train):
            log.close()
        if self.tb is not None:
            self.tb.close()
            self.tb = None
