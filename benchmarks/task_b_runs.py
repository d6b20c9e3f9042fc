"""Task B (sorting): how training runs end their episodes, and where a policy fails.

    python benchmarks/task_b_runs.py --run A=RUN_DIR [--run B=RUN_DIR ...] [--chunk 100000]
        [--plot docs/img/task_b_sort1_shaping.png]
    python benchmarks/task_b_runs.py --policy CKPT [--scene sort-1] [--episodes 200]

With `--run`: reads the run directories `envkit train` writes (episodes.csv, eval.csv) and
prints, per run and per `--chunk` of environment steps, the share of training episodes that
ended with a correct sort, a wrong bin, a floor drop or the time limit (from the per-episode
term columns: a sort term that fired is non-zero), their mean length, and the deterministic
evaluation's success rate at the chunk's last evaluation; for a scene with training-aid
starts (`episode.held_start`/`reach_start`), also the success by kind of start; for a curriculum
scene, when each stage was reached and the success within each stage. With `--plot`, the correct and
wrong shares against steps, one colour per run.

With `--policy`: runs the checkpoint's deterministic policy on the scene (default: the one it
was trained on) and tabulates the outcome by the object's shape and by whether it spawned in
the lane of its own bin (its y within the bin's y range, so that pulling it straight back
sorts it correctly) or in another lane (it must be moved sideways first). This is the table
that showed run A had learnt the straight pull, not the routing (docs/task-b.md). Two more
columns say whether the policy grasps: the share of episodes in which both fingers pinched
the object at some step (`World.grasping`), and in which its bottom rose more than 2 cm
above the table.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import pandas as pd
import yaml

OUTCOMES = ("correct", "wrong", "floor", "timeout")
#: the policy table's columns: the outcomes, then how often the object was pinched and lifted
POLICY_COLUMNS = (*OUTCOMES, "grasped", "lifted")
#: an object whose bottom rose this far above its table was lifted, not pushed (metres)
LIFTED = 0.02


def episode_outcomes(episodes: pd.DataFrame) -> pd.Series:
    """correct / wrong / floor / timeout per training episode, from the term columns."""
    def col(*names: str) -> pd.Series:
        for n in names:
            if n in episodes:
                return episodes[n].fillna(0.0) != 0.0
        return pd.Series(False, index=episodes.index)

    correct = episodes["success"].fillna(0.0) > 0.5
    wrong = col("term/object_in_wrong_bin") & ~correct
    floor = col("term/object_on_floor") & ~correct & ~wrong
    out = pd.Series("timeout", index=episodes.index)
    out[floor] = "floor"
    out[wrong] = "wrong"
    out[correct] = "correct"
    return out


def chunk_label(start: int, chunk: int) -> str:
    """'0.1-0.2M' (two decimals for chunks that are not whole 100k)."""
    digits = 1 if chunk % 100_000 == 0 else 2
    return f"{start / 1e6:.{digits}f}-{(start + chunk) / 1e6:.{digits}f}M"


def run_table(episodes: pd.DataFrame, evals: pd.DataFrame, chunk: int) -> pd.DataFrame:
    episodes = episodes.assign(outcome=episode_outcomes(episodes), chunk=(episodes["global_step"] // chunk) * chunk)
    rows = []
    for start, group in episodes.groupby("chunk"):
        shares = group["outcome"].value_counts(normalize=True)
        in_chunk = evals[(evals["global_step"] >= start) & (evals["global_step"] < start + chunk)]
        rows.append({
            "steps": chunk_label(start, chunk),
            "start": start,
            "episodes": len(group),
            **{o: float(shares.get(o, 0.0)) for o in OUTCOMES},
            "mean length": float(group["length"].mean()),
            "eval success": float(in_chunk["success_rate"].iloc[-1]) if len(in_chunk) else float("nan"),
        })
    return pd.DataFrame(rows)


def print_starts(episodes: pd.DataFrame, chunk: int) -> None:
    """Training success by kind of start, for runs with training-aid starts (stat/ columns)."""
    cols = [c for c in ("stat/held_start", "stat/reach_start") if c in episodes]
    if not cols:
        return
    start = pd.Series("scene", index=episodes.index)
    for c in cols:
        start[episodes[c].fillna(0.0) > 0.5] = c.removeprefix("stat/").removesuffix("_start")
    kinds = [k for k in ("scene", "held", "reach") if (start == k).any()]
    print("\nTraining success by start (share of episodes ending in a correct sort):\n")
    print_success_by(episodes, start, kinds, [f"{k} start" for k in kinds], chunk)


def print_success_by(episodes: pd.DataFrame, key: pd.Series, values: list, headers: list[str], chunk: int) -> None:
    """A table of training success per chunk of steps (rows) and value of `key` (columns)."""
    episodes = episodes.assign(key=key, chunk=(episodes["global_step"] // chunk) * chunk)
    print("| steps | " + " | ".join(headers) + " |")
    print("|---|" + "---|" * len(values))
    for c, group in episodes.groupby("chunk"):
        rates = group.groupby("key")["success"].mean()
        cells = [f"{rates[k]:.2f} ({(group['key'] == k).sum()})" if k in rates else "-" for k in values]
        print(f"| {chunk_label(c, chunk)} | " + " | ".join(cells) + " |")


def print_stages(episodes: pd.DataFrame, chunk: int) -> None:
    """For a curriculum scene (stat/curriculum_stage): when each stage was first reached, and the
    training success per chunk within each stage (stage 0 is the first, e.g. one object)."""
    if "stat/curriculum_stage" not in episodes:
        return
    stage = episodes["stat/curriculum_stage"].fillna(0).astype(int)
    stages = sorted(stage.unique())
    first = {k: int(episodes.loc[stage == k, "global_step"].min()) for k in stages}
    print("\nCurriculum stages: first training episode in each at step "
          + ", ".join(f"stage {k}: {first[k]:,}" for k in stages) + ".")
    print("Training success per stage (episodes in brackets):\n")
    print_success_by(episodes, stage, stages, [f"stage {k}" for k in stages], chunk)


def print_runs(runs: list[tuple[str, Path]], chunk: int, plot: str | None) -> None:
    tables = {}
    for label, run_dir in runs:
        episodes = pd.read_csv(run_dir / "episodes.csv")
        t = run_table(episodes, pd.read_csv(run_dir / "eval.csv"), chunk)
        tables[label] = t
        print(f"\n### {label}: {run_dir}\n")
        print("| steps | episodes | correct | wrong bin | floor | timeout | mean length | eval success (last in chunk) |")
        print("|---|---|---|---|---|---|---|---|")
        for _, r in t.iterrows():
            print(f"| {r['steps']} | {r['episodes']} | {r['correct']:.2f} | {r['wrong']:.2f} | {r['floor']:.2f} | "
                  f"{r['timeout']:.2f} | {r['mean length']:.0f} | {r['eval success']:.2f} |")
        print_starts(episodes, chunk)
        print_stages(episodes, chunk)
    if plot:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
        for label, t in tables.items():
            t = t[t["episodes"] >= 10]  # a run's last few episodes past its budget are not a share
            x = (t["start"] + chunk / 2) / 1e6
            (line,) = axes[0].plot(x, t["correct"], marker="o", ms=3, label=f"{label} correct")
            axes[0].plot(x, t["wrong"], ls="--", color=line.get_color(), label=f"{label} wrong bin")
            axes[1].plot(x, t["floor"], marker="o", ms=3, color=line.get_color(), label=label)
        axes[0].set_title("training episodes: correct (solid) / wrong bin (dashed)")
        axes[1].set_title("training episodes: floor drops")
        for ax in axes:
            ax.set_xlabel("env steps (M)")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7, ncol=2)
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(plot, dpi=110)
        print(f"\nwrote {plot}")


def lane_of(y: float, bins: list, shapes: list[str]) -> str | None:
    for b in bins:
        if b.position[1] - b.half_extents[1] <= y <= b.position[1] + b.half_extents[1]:
            return b.accepts[0] if b.accepts else None
    return None


def policy_table(ckpt: str, scene: str | None, episodes: int, seed: int, overrides: dict | None = None) -> None:
    import envkit
    from agents.api import load_policy
    from envkit.builders import env_builder

    overrides = overrides or {}
    policy = load_policy(ckpt)
    target = scene or policy.env
    # the scene as written, aid starts included when --set asks for them (no set_evaluation here)
    env = envkit.make(target, **overrides) if scene or overrides else env_builder(target)()
    spec = env.unwrapped.spec_scene
    table: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        obj = env.unwrapped.objects[0]
        y0 = float(obj.position[1])
        where = "own lane" if lane_of(y0, spec.bins, list(spec.objects.shapes)) == obj.shape else "other lane"
        done, events, grasped, lifted = False, {}, False, False
        world, top = env.unwrapped.world, spec.table(spec.objects.spawn.table).top
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.predict(obs))
            done = terminated or truncated
            events = info.get("events", {})
            state = env.unwrapped.state
            if state.object_active[0]:
                grasped = grasped or world.grasping(0)
                lifted = lifted or float(state.object_position[0, 2]) - obj.half_extents[2] - top > LIFTED
        end = ("correct" if events.get("sorted") else "wrong" if events.get("wrong_bin")
               else "floor" if events.get("on_floor") else "timeout")
        table[(obj.shape, where)][end] += 1
        table[(obj.shape, where)]["grasped"] += int(grasped)
        table[(obj.shape, where)]["lifted"] += int(lifted)
    env.close()
    shown = target + "".join(f" {k}={v}" for k, v in overrides.items())
    print(f"{ckpt} on {shown}, {episodes} episodes (seeds {seed}..{seed + episodes - 1}), first object only\n")
    print("| shape | spawned in | episodes | correct | wrong bin | floor | timeout | grasped | lifted > 2 cm |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    def row(shape: str, where: str, c: collections.Counter[str]) -> str:
        n = sum(c[o] for o in OUTCOMES)
        return f"| {shape} | {where} | {n} | " + " | ".join(f"{c[o] / n:.2f}" for o in POLICY_COLUMNS) + " |"

    for (shape, where), c in sorted(table.items()):
        totals[where].update(c)
        print(row(shape, where, c))
    for where, c in sorted(totals.items()):
        print(row("all", where, c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=RUN_DIR")
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--policy", default=None, help="checkpoint to tabulate by shape and spawn lane")
    parser.add_argument("--scene", default=None, help="scene for --policy (default: the checkpoint's env)")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="scene override for --policy, a YAML value (e.g. episode.reach_start=1 "
        "episode.reach_height=[0.1,0.18] to score the policy from a training-aid start)",
    )
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item}: write KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    if not args.run and not args.policy:
        parser.error("give --run LABEL=RUN_DIR and/or --policy CKPT")
    runs = []
    for item in args.run:
        label, sep, path = item.partition("=")
        if not sep:
            parser.error(f"--run {item}: write LABEL=RUN_DIR")
        if not (Path(path) / "episodes.csv").is_file():
            parser.error(f"--run {item}: {path} has no episodes.csv (not an `envkit train` run directory?)")
        runs.append((label, Path(path)))
    if runs:
        print_runs(runs, args.chunk, args.plot)
    if args.policy:
        policy_table(args.policy, args.scene, args.episodes, args.seed, overrides)


if __name__ == "__main__":
    main()
