"""Racing replay: would a race have named the same winner as the full grid, for how much compute?

Replays the racing rule of `envkit sweep ... race=true` (sweeps/racing.py, the same code)
offline on recorded full-grid sweeps: every completed trial's eval.csv is a learning curve,
so its score at any rung can be read off it. Each replay draws seeds for every design
(without replacement when more seeds were recorded than the race starts with, else a
bootstrap resample with replacement), runs the race on those seeds' curves and the full
grid on the same seeds, and compares the winners (ranked as the report ranks: success IQM,
then AUC, then return). Compute is counted in transitions: a seed stopped at a rung costs
that rung's step, a finisher its budget; the full grid trains every drawn seed to the budget.

    python benchmarks/racing_replay.py runs/sweeps/quickstart                 # a recorded grid
    python benchmarks/racing_replay.py runs/sweeps/a runs/sweeps/b --rungs 0.1,0.3 --replays 2000
    python benchmarks/racing_replay.py --synthetic /tmp/grid                  # make a synthetic grid, replay it
    python benchmarks/racing_replay.py DIR --json replay.json                  # the numbers, machine-readable

Caveats: a bootstrap resample repeats seeds, which narrows the intervals the rule sees (the
race is then bolder than on fresh seeds); the curves of the recorded trials were trained
straight through, where a live race pauses and continues (which only adds an evaluation at
each rung).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sweeps.collect import collect  # noqa: E402
from sweeps.racing import RaceRule, check_rule, curve_score, curve_until, decide, rung_steps  # noqa: E402
from sweeps.stats import iqm  # noqa: E402


@dataclass
class Seed:
    """One recorded trial: its score at each rung and its final numbers (for ranking)."""

    scores: list[float]
    steps: list[int]
    """Each rung's step for its budget (the last is the budget)."""
    success: float
    auc: float
    ret: float


@dataclass
class Design:
    label: str
    seeds: list[Seed] = field(default_factory=list)


def _f(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return x if math.isfinite(x) else float("nan")


def load_designs(dirs: list[str], rule: RaceRule) -> list[Design]:
    """The completed trials of the sweep folders, grouped into designs, each with its rung scores."""
    swept = collect(dirs)
    designs: dict[str, Design] = {}
    for t in swept.trials:
        if t.status != "completed":
            continue
        cfg = t.info.get("config", {})
        budget = int((cfg.get("agent") or {}).get("total_timesteps") or (cfg.get("budget") or {}).get("timesteps")
                     or t.summary.get("total_timesteps") or 0)
        every = int((cfg.get("agent") or {}).get("eval_every") or (cfg.get("budget") or {}).get("eval_every") or 0)
        final_evals = int(cfg.get("final_evals", 3))
        if budget <= 0:
            continue
        steps = rung_steps(rule.rungs, budget, every)
        evals = t.evals
        scores = [curve_score(curve_until(evals, s, every), rule.metric, final_evals) for s in steps[:-1]]
        scores.append(curve_score(evals, rule.metric, final_evals))
        designs.setdefault(t.design_label, Design(t.design_label)).seeds.append(
            Seed(scores, steps, _f(t.summary.get("final_success")), _f(t.summary.get("auc_success")),
                 _f(t.summary.get("final_return"))))
    return list(designs.values())


def _rank_key(metric: str, seeds: list[Seed]) -> tuple[float, ...]:
    """The report's ranking (success IQM, then mean AUC, then mean return), best first; race.metric=auc
    puts the AUC first."""
    def m(xs: list[float], fn) -> float:  # noqa: ANN001
        x = [v for v in xs if math.isfinite(v)]
        return fn(x) if x else -math.inf

    success = m([s.success for s in seeds], iqm)
    auc = m([s.auc for s in seeds], np.mean)
    ret = m([s.ret for s in seeds], np.mean)
    return (-auc, -success, -ret) if metric == "auc" else (-success, -auc, -ret)


def winner(chosen: dict[str, list[Seed]], metric: str) -> str:
    return min(chosen, key=lambda d: (*_rank_key(metric, chosen[d]), d))


def draw(n: int, k: int, rng: np.random.Generator, mode: str) -> list[int]:
    if mode == "none":
        return list(range(n))
    if mode == "subsample" or (mode == "auto" and n > k):
        return [int(i) for i in rng.choice(n, size=min(k, n), replace=False)]
    return [int(i) for i in rng.integers(0, n, size=k if mode == "bootstrap" else n)]


def replay_once(designs: list[Design], rule: RaceRule, rng: np.random.Generator, mode: str) -> dict[str, Any]:
    """One race and one full grid on the same drawn seeds."""
    picked = {d.label: draw(len(d.seeds), rule.min_seeds, rng, mode) for d in designs}
    by = {d.label: d for d in designs}
    seeds = {k: list(v) for k, v in picked.items()}
    alive = list(picked)
    out_at: dict[str, int] = {}
    n = len(rule.rungs)
    for k in range(n):
        scores = {d: [by[d].seeds[i].scores[k] for i in seeds[d]] for d in alive}
        standings = decide(scores, rule, last=k == n - 1, seeds={d: len(seeds[d]) for d in alive},
                           entered=len(alive))
        for s in standings:
            if not s.goes_on and s.decision != "finished":
                out_at[s.design] = k
            for _ in range(s.add_seeds):
                unused = [i for i in range(len(by[s.design].seeds)) if i not in seeds[s.design]]
                seeds[s.design].append(int(rng.choice(unused)) if unused
                                       else int(rng.integers(0, len(by[s.design].seeds))))
        alive = [d for d in alive if d not in out_at]
    race_steps = sum(by[d].seeds[i].steps[out_at.get(d, n - 1)] for d in seeds for i in seeds[d])
    grid_steps = sum(by[d].seeds[i].steps[-1] for d in picked for i in picked[d])
    finishers = {d: [by[d].seeds[i] for i in seeds[d]] for d in alive}
    grid = {d: [by[d].seeds[i] for i in picked[d]] for d in picked}
    return {"race_winner": winner(finishers, rule.metric) if finishers else None,
            "grid_winner": winner(grid, rule.metric), "fraction": race_steps / grid_steps,
            "out_at": out_at, "finishers": len(finishers)}


def replay(designs: list[Design], rule: RaceRule, replays: int, seed: int, mode: str) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    everyone = {d.label: d.seeds for d in designs}
    reference = winner(everyone, rule.metric)
    runs = [replay_once(designs, rule, rng, mode) for _ in range(replays)]
    frac = np.array([r["fraction"] for r in runs])
    same = np.array([r["race_winner"] == r["grid_winner"] for r in runs])
    same_ref = np.array([r["race_winner"] == reference for r in runs])
    grid_ref = np.array([r["grid_winner"] == reference for r in runs])
    both = same & (frac <= 1 / 3)
    per_design = {}
    for d in designs:
        outs = [r["out_at"][d.label] for r in runs if d.label in r["out_at"]]
        per_design[d.label] = {
            "recorded_seeds": len(d.seeds),
            "final_success_iqm_all_seeds": iqm([s.success for s in d.seeds if math.isfinite(s.success)]),
            "eliminated_share": len(outs) / replays,
            "out_at_rung": {str(k + 1): outs.count(k) / replays for k in sorted(set(outs))},
        }
    return {
        "rule": {"rungs": list(rule.rungs), "min_seeds": rule.min_seeds, "max_seeds": rule.max_seeds, "eta": rule.eta,
                 "metric": rule.metric},
        "replays": replays, "resample": mode, "reference_winner": reference,
        "same_winner_as_grid": float(same.mean()), "same_winner_as_all_seeds": float(same_ref.mean()),
        "grid_names_all_seeds_winner": float(grid_ref.mean()),
        "compute_fraction_mean": float(frac.mean()), "compute_fraction_median": float(np.median(frac)),
        "compute_fraction_p5_p95": [float(np.quantile(frac, 0.05)), float(np.quantile(frac, 0.95))],
        "speedup_mean": float(1 / frac.mean()),
        "same_winner_and_3x": float(both.mean()),
        "mean_finishers": float(np.mean([r["finishers"] for r in runs])),
        "designs": per_design,
    }


# ---------------------------------------------------------------------------------- synthetic grids

SYNTHETIC = {  # design: (plateau success, steps to ~63% of it as a fraction of the budget)
    "best": (0.9, 0.15), "close": (0.8, 0.2), "slow": (0.6, 0.45), "zero": (0.08, 1e9),
}


def write_synthetic(out: Path, seeds: int = 5, budget: int = 100_000, eval_every: int = 5_000, episodes: int = 20,
                    designs: dict[str, tuple[float, float]] | None = None, seed: int = 0) -> Path:
    """A recorded full grid of made-up learning curves, written as real trials write them
    (trial.json, eval.csv, status.json, summary.json), into `out`: success p(t) = plateau *
    (1 - exp(-t / tau)), tau varying 30% between seeds, each evaluation a binomial draw of
    `episodes` episodes."""
    from sweeps.summary import summarize, write_summary

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    for name, (plateau, tau) in (designs or SYNTHETIC).items():
        for s in range(seeds):
            overrides = [f"reward={name}", f"seed={s}"]
            job = out / ",".join(sorted(overrides))
            job.mkdir(parents=True, exist_ok=True)
            steps = np.arange(0, budget + 1, eval_every)
            t = tau * budget * float(rng.uniform(0.7, 1.3))
            p = plateau * (1 - np.exp(-steps / t))
            succ = rng.binomial(episodes, np.clip(p, 0, 1)) / episodes
            pd.DataFrame({"global_step": steps, "episodes": episodes, "mean_return": succ * 10 - 5, "std_return": 1.0,
                          "success_rate": succ, "mean_length": 50, "wall_time": steps / 500}).to_csv(
                job / "eval.csv", index=False)
            (job / "status.json").write_text(json.dumps({"status": "completed", "error": None, "global_step": budget,
                                                         "total_timesteps": budget, "wall_time": budget / 500}))
            config = {"seed": s, "success_threshold": 0.8, "final_evals": 3, "reward": {"name": name},
                      "scene": {"id": "reach"},
                      "budget": {"timesteps": budget, "eval_every": eval_every, "eval_episodes": episodes},
                      "agent": {"algo": "ppo", "total_timesteps": budget, "eval_every": eval_every}}
            info = {"label": job.name, "fingerprint": "synthetic", "overrides": overrides,
                    "choices": {"reward": name}, "config": config}
            (job / "trial.json").write_text(json.dumps(info))
            write_summary(job, summarize(job, info, wall_time=budget / 500))
    return out


# ---------------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", metavar="SWEEP_DIR", help="recorded full-grid sweep folders (merged)")
    ap.add_argument("--synthetic", metavar="OUT", help="write a synthetic grid into OUT and replay it")
    ap.add_argument("--synthetic-seeds", type=int, default=5, help="seeds per design of the synthetic grid")
    ap.add_argument("--rungs", default="0.1,0.3,1.0", help="race.rungs as fractions (default 0.1,0.3,1.0)")
    ap.add_argument("--seeds", type=int, default=3, help="race.min_seeds: seeds each design starts with (default 3)")
    ap.add_argument("--max-seeds", type=int, default=None, help="race.max_seeds (default: --seeds)")
    ap.add_argument("--eta", type=float, default=None, help="race.eta (default: none)")
    ap.add_argument("--metric", default="success", choices=["success", "auc"])
    ap.add_argument("--replays", type=int, default=1000)
    ap.add_argument("--resample", default="auto", choices=["auto", "subsample", "bootstrap", "none"],
                    help="auto: without replacement when more seeds were recorded than --seeds, else a bootstrap; "
                         "none: every recorded seed, once (one replay is enough)")
    ap.add_argument("--reps", type=int, default=1000, help="bootstrap resamples per interval (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    try:
        rule = check_rule([float(x) for x in args.rungs.split(",") if x.strip()], args.seeds, args.max_seeds,
                          args.eta, args.metric)
    except ValueError as exc:
        ap.error(str(exc))
    rule = RaceRule(rule.rungs, rule.min_seeds, rule.max_seeds, rule.eta, rule.metric, reps=args.reps)
    dirs = list(args.dirs)
    if args.synthetic:
        dirs.append(str(write_synthetic(Path(args.synthetic), seeds=args.synthetic_seeds, seed=args.seed)))
    if not dirs:
        ap.error("give recorded sweep folders, or --synthetic OUT")
    designs = [d for d in load_designs(dirs, rule) if len(d.seeds) >= 2]
    if len(designs) < 2:
        ap.error("the folders hold fewer than 2 designs with at least 2 completed seeds: nothing to race")
    res = replay(designs, rule, args.replays, args.seed, args.resample)
    res["sweeps"] = dirs
    boot = [d.label for d in designs if args.resample == "bootstrap" or
            (args.resample == "auto" and len(d.seeds) <= rule.min_seeds)]
    if args.resample == "none":
        boot = []
    res["bootstrapped_designs"] = boot
    print(f"racing replay of {', '.join(dirs)}: {len(designs)} designs, "
          f"{sum(len(d.seeds) for d in designs)} recorded trials, {args.replays} replays ({res['resample']} seeds)")
    print(f"rule: rungs {', '.join(f'{r:g}' for r in rule.rungs)}, {rule.min_seeds}..{rule.max_seeds} seeds, "
          f"metric {rule.metric}" + (f", eta {rule.eta:g}" if rule.eta else ""))
    print(f"full-grid winner on all recorded seeds: {res['reference_winner']}")
    print(f"same winner as the full grid on the same seeds: {res['same_winner_as_grid']:.1%}")
    print(f"same winner as the full grid on all recorded seeds: {res['same_winner_as_all_seeds']:.1%} "
          f"(the full grid itself, on the drawn seeds: {res['grid_names_all_seeds_winner']:.1%})")
    lo, hi = res["compute_fraction_p5_p95"]
    print(f"compute: {res['compute_fraction_mean']:.1%} of the full grid on average ({res['speedup_mean']:.2f}x less; "
          f"median {res['compute_fraction_median']:.1%}, 5-95% {lo:.1%}-{hi:.1%})")
    print(f"replays with the same winner and >= 3x less compute: {res['same_winner_and_3x']:.1%}")
    for label, d in res["designs"].items():
        where = ", ".join(f"rung {k}: {v:.0%}" for k, v in d["out_at_rung"].items())
        print(f"  {label}: {d['recorded_seeds']} seeds, final success IQM {d['final_success_iqm_all_seeds']:.2f}, "
              f"eliminated in {d['eliminated_share']:.0%} of replays" + (f" ({where})" if where else ""))
    if boot:
        print(f"note: {len(boot)} design(s) had no more recorded seeds than the race starts with, so their seeds were "
              "drawn with replacement: repeated seeds narrow the intervals, which overstates eliminations (and the "
              "compute saved). Record more seeds than --seeds for a replay closer to fresh seeds.")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
