"""Learning curves, wall time and steps/s of finished training runs (made for Task A, TD3 on
peg-in-hole; --title/--success/--threshold serve other tasks, e.g. Task B in docs/task-b.md).

    python benchmarks/peg_td3.py --run state=RUN_DIR --run camera=RUN_DIR \
        [--plot docs/img/peg_td3_learning.png] [--threshold 0.5]

Reads the run directories `envkit train` writes (config.yaml, status.json, eval.csv,
episodes.csv; the commands that made them are in docs/benchmarks.md, section "Task A:
TD3 on peg-in-hole") and prints, per run: the budget, wall time, steps/s (end to end,
and after learning_starts), the final and best evaluation, then the learning curve as a
table (evaluation step vs success rate, mean return and mean episode length of the
deterministic policy).
With --plot it also draws success rate and mean return against env steps, one line per
run, with the training episodes' success (mean of the last 100) dashed.

Run directories live outside git (runs/ is ignored, and a sitting's runs do not outlive it),
so `--save DIR` keeps what the tables and the plot need in a few KB per run:
DIR/NAME/config.yaml, status.json, eval.csv and episodes_summary.csv (the training
episodes' global step, wall time and success over the last 100, every ~1000 steps).
`--run NAME=DIR/NAME` reads such a saved run like a run directory; the curves in
docs/benchmarks.md are kept that way under benchmarks/results/. `--curve NAME=CSV` adds an
evaluation curve alone (global_step, episodes, success_rate, mean_return, mean_length) to
the plot and the curve tables, for a run whose directory is gone but whose evaluation table
was recorded (benchmarks/results/peg/hand-s*.eval.csv are the hand-camera tables of
docs/benchmarks.md, transcribed).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import yaml

SUMMARY_EVERY = 1000  # env steps between the rows a saved run keeps of its training episodes


def load_run(run_dir: Path) -> dict:
    for needed in ("config.yaml", "status.json", "eval.csv"):
        if not (run_dir / needed).is_file():
            raise SystemExit(f"{run_dir}: no {needed}; give a directory `envkit train` wrote, or one --save made")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    status = json.loads((run_dir / "status.json").read_text())
    evals = pd.read_csv(run_dir / "eval.csv")
    if (run_dir / "episodes.csv").is_file():
        episodes = pd.read_csv(run_dir / "episodes.csv")
        episodes["success_100"] = episodes["success"].rolling(100, min_periods=10).mean()
    else:
        episodes = pd.read_csv(run_dir / "episodes_summary.csv")
    return {"dir": run_dir, "config": config, "status": status, "evals": evals, "episodes": episodes}


def load_curve(path: Path) -> dict:
    """An evaluation curve without its run: plotted and tabulated, left out of the summary."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (--curve takes NAME=EVAL_CSV)")
    evals = pd.read_csv(path)
    missing = {"global_step", "episodes", "success_rate", "mean_return", "mean_length"} - set(evals)
    if missing:
        raise SystemExit(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    empty = pd.DataFrame({"global_step": [], "wall_time": [], "success_100": []})
    return {"dir": None, "config": None, "status": None, "evals": evals, "episodes": empty, "source": path}


def save_run(run: dict, dst: Path) -> None:
    """What the tables and the plot need, a few KB: the run's files but its episodes thinned."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "status.json", "eval.csv"):
        shutil.copyfile(run["dir"] / name, dst / name)
    ep = run["episodes"][["global_step", "wall_time", "success_100"]]
    keep = ep["global_step"] // SUMMARY_EVERY
    thinned = ep[keep != keep.shift(-1)]  # the last episode in each SUMMARY_EVERY steps, and the last
    thinned.to_csv(dst / "episodes_summary.csv", index=False, float_format="%.4g")


def rates(run: dict) -> tuple[float, float]:
    """Steps/s over the whole run (evaluations and checkpoints included), and after learning_starts
    (from the training episodes' wall times: the update-bound phase)."""
    status, ep = run["status"], run["episodes"]
    total = status["global_step"] / status["wall_time"] if status["wall_time"] else float("nan")
    start = run["config"]["agent"].get("learning_starts", 0)
    after = ep[ep["global_step"] >= start]
    if len(after) < 2:
        return total, float("nan")
    a, b = after.iloc[0], after.iloc[-1]
    return total, (b["global_step"] - a["global_step"]) / max(b["wall_time"] - a["wall_time"], 1e-9)


def first_at(ev: pd.DataFrame, threshold: float) -> str:
    """Step and wall time of the first evaluation at or above `threshold` ("-" if none)."""
    hit = ev[ev["success_rate"] >= threshold]
    if not len(hit):
        return "-"
    row = hit.iloc[0]
    return f"{int(row['global_step']):,} ({row['wall_time'] / 60:.1f} min)"


def summary_table(runs: dict[str, dict], threshold: float = 0.5) -> str:
    head = ("| run | env | steps | batch | vec_env | threads | status | wall time | steps/s (all) "
            f"| steps/s (after warm-up) | final success | final return | best success (step) "
            f"| first eval >= {threshold:g} (wall) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, run in runs.items():
        if run["config"] is None:
            continue
        agent, ev = run["config"]["agent"], run["evals"]
        total, after = rates(run)
        final = ev.iloc[-1]
        best = ev.loc[ev["success_rate"].idxmax()]
        lines.append(
            f"| {name} | `{run['config']['env']}` | {run['status']['global_step']:,} | {agent['batch_size']} "
            f"| {agent['vec_env']} | {agent['torch_threads']} | {run['status']['status']} "
            f"| {run['status']['wall_time'] / 60:.1f} min | {total:.0f} | {after:.0f} "
            f"| {final['success_rate']:.2f} | {final['mean_return']:.2f} "
            f"| {best['success_rate']:.2f} ({int(best['global_step']):,}) | {first_at(ev, threshold)} |"
        )
    return "\n".join(lines)


def curve_table(name: str, run: dict) -> str:
    """The learning curve of one run: evaluation step vs success rate and mean return."""
    ev = run["evals"]
    what = f"`{run['config']['env']}`" if run["config"] is not None else f"evaluation curve from {run['source']}"
    lines = [f"{name}: {what}, {int(ev['episodes'].iloc[-1])} evaluation episodes per point",
             "", "| eval step | success rate | mean return | mean length |", "|---|---|---|---|"]
    for _, row in ev.iterrows():
        lines.append(f"| {int(row['global_step']):,} | {row['success_rate']:.2f} | {row['mean_return']:.2f} "
                     f"| {row['mean_length']:.1f} |")
    return "\n".join(lines)


PEG_TITLE = "TD3 on envkit peg_in_hole (Task A)"
PEG_SUCCESS = "tip within 1 cm of the hole bottom"


def plot(runs: dict[str, dict], path: Path, title: str = PEG_TITLE, success: str = PEG_SUCCESS) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (ax_s, ax_r) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for i, (name, run) in enumerate(runs.items()):
        colour = f"C{i}"
        ev, ep = run["evals"], run["episodes"]
        n_eval = int(ev["episodes"].iloc[-1])
        ax_s.plot(ev["global_step"], ev["success_rate"], "o-", color=colour, label=f"{name}: eval ({n_eval} episodes)")
        if ep["success_100"].notna().any():
            ax_s.plot(ep["global_step"], ep["success_100"], "--", color=colour,
                      alpha=0.6, label=f"{name}: training episodes (last 100)")
        ax_r.plot(ev["global_step"], ev["mean_return"], "o-", color=colour, label=f"{name}: eval")
    ax_s.set(xlabel="env steps", ylabel="success rate", ylim=(-0.03, 1.03), title=f"Success ({success})")
    ax_r.set(xlabel="env steps", ylabel="mean return", title="Mean evaluation return")
    steps = matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:.0f}k")
    for ax in (ax_s, ax_r):
        ax.xaxis.set_major_formatter(steps)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", default=[], metavar="NAME=RUN_DIR",
                        help="a finished run directory, named for the tables (repeatable)")
    parser.add_argument("--curve", action="append", default=[], metavar="NAME=EVAL_CSV",
                        help="an evaluation curve alone, for the plot and curve tables (repeatable)")
    parser.add_argument("--plot", type=Path, help="write the learning curves to this PNG")
    parser.add_argument("--save", type=Path, help="keep each run's curves in DIR/NAME (a few KB, for git)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="the summary says when each run's evaluation first reached this success rate")
    parser.add_argument("--title", default=PEG_TITLE, help="the plot's title (other tasks than Task A)")
    parser.add_argument("--success", default=PEG_SUCCESS, help="what success means, for the plot")
    args = parser.parse_args()
    runs: dict[str, dict] = {}
    for item in args.run:
        name, sep, path = item.partition("=")
        if not sep:
            parser.error(f"--run takes NAME=RUN_DIR, got {item!r}")
        runs[name] = load_run(Path(path))
    for item in args.curve:
        name, sep, path = item.partition("=")
        if not sep:
            parser.error(f"--curve takes NAME=EVAL_CSV, got {item!r}")
        runs[name] = load_curve(Path(path))
    if not runs:
        parser.error("give at least one --run NAME=RUN_DIR or --curve NAME=EVAL_CSV")
    if args.save is not None:
        for name, run in runs.items():
            if run["dir"] is None:
                continue
            if run["dir"].resolve() != (args.save / name).resolve():
                save_run(run, args.save / name)
    print(summary_table(runs, args.threshold))
    for name, run in runs.items():
        print()
        print(curve_table(name, run))
    if args.plot is not None:
        plot(runs, args.plot, args.title, args.success)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
