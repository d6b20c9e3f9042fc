"""The report's PNG figures (matplotlib with seaborn styling, headless).

Every function takes already-computed data and one output path, so the report decides
what is plotted and this module only how.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweeps.stats import Interval, curve_band

os.environ.setdefault("MPLBACKEND", "Agg")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def _colors(designs: list[str]) -> dict[str, Any]:
    _, sns = _plt()
    palette = sns.color_palette("tab10" if len(designs) <= 10 else "husl", len(designs))
    return dict(zip(designs, palette, strict=True))


def _short(label: str, width: int = 60) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def learning_curves(curves: dict[str, list[pd.DataFrame]], path: Path, points: int = 60) -> Path | None:
    """Success rate and return of the evaluations vs timesteps, one line per design (mean over
    seeds) with a 95% bootstrap band."""
    plt, _ = _plt()
    metrics = [("success_rate", "evaluation success rate"), ("mean_return", "evaluation return")]
    have = [m for m in metrics if any(m[0] in df and df[m[0]].notna().any() for dfs in curves.values() for df in dfs)]
    if not have:
        return None
    fig, axes = plt.subplots(1, len(have), figsize=(6.5 * len(have), 4.5), squeeze=False)
    colors = _colors(list(curves))
    end = max((df["global_step"].max() for dfs in curves.values() for df in dfs if len(df)), default=0)
    grid = np.linspace(0, end, points)
    for ax, (col, title) in zip(axes[0], have, strict=True):
        for design, dfs in curves.items():
            rows = []
            for df in dfs:
                d = df.dropna(subset=[col]).sort_values("global_step") if col in df else pd.DataFrame()
                if d.empty:
                    continue
                x, y = d["global_step"].to_numpy(float), d[col].to_numpy(float)
                rows.append(np.where((grid >= x[0]) & (grid <= x[-1]), np.interp(grid, x, y), np.nan))
            if not rows:
                continue
            centre, low, high = curve_band(np.vstack(rows))
            ax.plot(grid, centre, color=colors[design], label=f"{_short(design, 45)} (n={len(rows)})")
            ax.fill_between(grid, low, high, color=colors[design], alpha=0.2, linewidth=0)
        ax.set_xlabel("timesteps")
        ax.set_title(title + " (mean, 95% CI over seeds)")
    axes[0][0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def episode_returns(episodes: dict[str, list[pd.DataFrame]], path: Path, window: int = 100) -> Path | None:
    """Per design: every training episode's return as a dot, the rolling mean over the last
    `window` episodes of each seed, and a linear trend line (the plot Task B's author used)."""
    plt, _ = _plt()
    designs = [d for d, dfs in episodes.items() if any(len(df) for df in dfs)]
    if not designs:
        return None
    cols = min(3, len(designs))
    rows = int(np.ceil(len(designs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3.8 * rows), squeeze=False)
    colors = _colors(designs)
    for ax, design in zip(axes.flat, designs, strict=False):
        xs, ys = [], []
        for df in episodes[design]:
            if df.empty:
                continue
            x, y = df["global_step"].to_numpy(float), df["return"].to_numpy(float)
            ax.scatter(x, y, s=4, alpha=0.25, color=colors[design], linewidths=0)
            ax.plot(x, pd.Series(y).rolling(window, min_periods=1).mean(), color=colors[design], lw=1.2)
            xs.append(x)
            ys.append(y)
        x, y = np.concatenate(xs), np.concatenate(ys)
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, icpt = np.polyfit(x, y, 1)
            ax.plot([x.min(), x.max()], [icpt + slope * x.min(), icpt + slope * x.max()], "k--", lw=1,
                    label=f"trend {slope * 1e4:+.3g} per 10k steps")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_title(_short(design, 50), fontsize=9)
        ax.set_xlabel("timesteps")
        ax.set_ylabel("episode return")
    for ax in list(axes.flat)[len(designs):]:
        ax.axis("off")
    fig.suptitle(f"Training episode returns: dots, rolling mean over {window} episodes per seed, trend", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reward_terms(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Each reward term's mean contribution per episode (late in training) per design, and the
    correlation of its per-episode sum with success."""
    if not rows:
        return None
    plt, sns = _plt()
    df = pd.DataFrame(rows)
    has_corr = df["corr_with_success"].notna().any()
    fig, axes = plt.subplots(1, 2 if has_corr else 1, figsize=(13 if has_corr else 7, 0.6 * df["term"].nunique()
                             * max(1, df["design"].nunique()) ** 0.5 + 2.5), squeeze=False)
    palette = {_short(k, 40): v for k, v in _colors(list(dict.fromkeys(df["design"]))).items()}
    df = df.assign(design=df["design"].map(lambda s: _short(s, 40)))
    sns.barplot(data=df, y="term", x="mean_per_episode", hue="design", ax=axes[0][0], orient="h", palette=palette)
    axes[0][0].set_title("mean weighted sum per episode (last half of training)")
    axes[0][0].axvline(0, color="k", lw=0.8)
    axes[0][0].legend(fontsize=7)
    if has_corr:
        sns.barplot(data=df, y="term", x="corr_with_success", hue="design", ax=axes[0][1], orient="h",
                    palette=palette)
        axes[0][1].set_title("correlation of the term's episode sum with success")
        axes[0][1].set_xlim(-1, 1)
        axes[0][1].axvline(0, color="k", lw=0.8)
        axes[0][1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def intervals(estimates: dict[str, dict[str, Interval]], path: Path) -> Path | None:
    """Interval estimates per design (as rliable plots them): one panel per metric."""
    plt, _ = _plt()
    metrics = [m for m in ("success IQM", "return mean", "success AUC")
               if any(np.isfinite(e[m].value) for e in estimates.values() if m in e)]
    if not metrics:
        return None
    designs = list(estimates)
    colors = _colors(designs)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 0.5 * len(designs) + 2.0), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        for i, d in enumerate(designs):
            e = estimates[d].get(m)
            if e is None or not np.isfinite(e.value):
                continue
            ax.plot([e.low, e.high], [i, i], color=colors[d], lw=6, alpha=0.5, solid_capstyle="butt")
            ax.plot([e.value], [i], "|", color="k", ms=14)
        ax.set_yticks(range(len(designs)))
        ax.set_yticklabels([_short(d, 40) for d in designs] if ax is axes[0][0] else [])
        ax.set_ylim(len(designs) - 0.5, -0.5)
        ax.set_title(m + " (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def improvement(best: str, probs: dict[str, Interval], path: Path) -> Path | None:
    """P(best design > each other design) with its 95% CI."""
    probs = {k: v for k, v in probs.items() if np.isfinite(v.value)}
    if not probs:
        return None
    plt, _ = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(probs) + 1.6))
    for i, p in enumerate(probs.values()):
        ax.plot([p.low, p.high], [i, i], color="tab:blue", lw=6, alpha=0.5, solid_capstyle="butt")
        ax.plot([p.value], [i], "|", color="k", ms=14)
    ax.axvline(0.5, color="k", ls="--", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_yticks(range(len(probs)))
    ax.set_yticklabels([_short(d, 45) for d in probs])
    ax.set_ylim(len(probs) - 0.5, -0.5)
    ax.set_title(f"P({_short(best, 40)} > other), 95% CI", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def optimisation_history(history: pd.DataFrame, metric: str, path: Path) -> Path | None:
    """`envkit tune`: each trial's value by trial number (complete as dots, pruned as crosses at their
    last rung's value, failed as marks on the axis) and the best value so far."""
    if history.empty:
        return None
    plt, _ = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    values = pd.to_numeric(history["value"], errors="coerce")
    done = history["state"] == "complete"
    ax.plot(history.loc[done, "trial"], values[done], "o", color="tab:blue", label="complete")
    pruned = history["state"] == "pruned"
    if pruned.any():
        ax.plot(history.loc[pruned, "trial"], values[pruned].fillna(0.0), "x", color="tab:orange",
                label="pruned (value at its last rung)")
    failed = history["state"] == "fail"
    if failed.any():
        ax.plot(history.loc[failed, "trial"], [0.0] * int(failed.sum()), "v", color="tab:red", label="failed")
    best = values.where(done).cummax()
    ax.step(history["trial"], best, where="post", color="k", lw=1.2, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("success IQM" if metric == "success" else "success AUC")
    ax.set_title("optimisation history")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def importances(values: dict[str, float], method: str, path: Path) -> Path | None:
    """`envkit tune`: parameter importances as horizontal bars (largest on top)."""
    if not values:
        return None
    plt, _ = _plt()
    names = list(values)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.6))
    ax.barh(range(len(names)), [values[n] for n in names], color="tab:blue", alpha=0.7)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([_short(n, 45) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("importance")
    ax.set_title(_short(f"parameter importances ({method})", 80), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
