"""Sweep scaling: the same sweep of N equal trials run sequentially and in parallel, in one run.

Each mode is a fresh `envkit sweep` process into its own folder (so nothing is skipped),
timed from start to end (Hydra start-up, worker start-up and the trials' own env
construction included: what a user waits for). The trials differ only in their seed.
Modes alternate per repeat to spread a shared machine's noise over both.

    python benchmarks/sweep_scaling.py                      # 4 trials x 10k PPO steps on reach, 2 jobs
    python benchmarks/sweep_scaling.py --trials 8 --steps 20000 --jobs 2 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_sweep(mode: str, out: Path, trials: int, steps: int, jobs: int, scene: str) -> float:
    args = [sys.executable, "-m", "envkit.cli", "sweep", f"scene={scene}", f"seed={','.join(map(str, range(trials)))}",
            f"budget.timesteps={steps}", f"budget.eval_every={steps}", "budget.eval_episodes=5",
            "agent.tensorboard=false", "progress=none", f"out_dir={out}", f"name={mode}", "--no-report"]
    args += ["launcher=sequential"] if mode == "sequential" else ["launcher=local", "--jobs", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{mode} sweep failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    done = [json.loads(p.read_text()) for p in (out / mode).glob("*/summary.json")]
    if len(done) != trials or any(s["status"] != "completed" for s in done):
        sys.exit(f"{mode} sweep: expected {trials} completed trials, found {[s['status'] for s in done]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=4)
    ap.add_argument("--steps", type=int, default=10_000, help="PPO transitions per trial")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel trials (default: cores)")
    ap.add_argument("--scene", default="reach")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()

    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            order = ["sequential", "parallel"] if r % 2 == 0 else ["parallel", "sequential"]
            for mode in order:
                out = Path(tmp) / f"r{r}"
                wall = run_sweep(mode, out, args.trials, args.steps, args.jobs, args.scene)
                times[mode].append(wall)
                print(f"repeat {r}: {mode:10s} {wall:7.1f} s", flush=True)
    seq, par = statistics.median(times["sequential"]), statistics.median(times["parallel"])
    print(f"\n{args.trials} trials x {args.steps:,} PPO steps on {args.scene}, {os.cpu_count()} cores, "
          f"{args.repeats} repeat(s), median wall time of the whole `envkit sweep` command\n")
    print("| launcher | jobs | wall s | s per trial | speed-up |")
    print("|---|---|---|---|---|")
    print(f"| sequential | 1 | {seq:.1f} | {seq / args.trials:.1f} | 1.00x |")
    print(f"| local (joblib) | {args.jobs} | {par:.1f} | {par / args.trials:.1f} | {seq / par:.2f}x |")


if __name__ == "__main__":
    main()
