"""`envkit sweep ... race=true`: race the designs of a sweep instead of training the full grid.

Every design's seeds train to the first rung (a fraction of the budget, `race.rungs`),
then the racing rule (sweeps/racing.py) decides which designs can still be best; only
those continue, from their checkpoints (`pause_at`: no transition is trained twice), to
the next rung, and so on until the survivors finish their budget. A design close to the
leader gets more seeds, up to `race.max_seeds`.

Each rung is one launch of the Hydra app with exactly the trials that still have to
train (`launch.launch_jobs`), so the configured launcher (local joblib workers, Ray) runs
them as it runs any sweep, and the trials are ordinary sweep trials in ordinary folders:
a crash of one is reported as failed while the others go on, Ctrl-C keeps everything
finished, and rerunning the same command continues the race. The decisions are not
state to lose: they are recomputed from the trials' learning curves at every run (with
a seeded bootstrap, so they come out the same), and written to `race.json` after every
rung, which the report shows as each design's rung history.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envkit.errors import ConfigError
from sweeps.collect import is_design_key
from sweeps.files import read_csv, read_json
from sweeps.racing import (
    RECORD_FILE,
    RaceRecord,
    RaceRule,
    RungRecord,
    Standing,
    check_rule,
    curve_score,
    curve_until,
    decide,
    leg_end,
    rung_steps,
    standing_data,
)

if TYPE_CHECKING:  # launch.py imports this module to dispatch a race: no import back at run time
    from sweeps.launch import Plan

Launch = Callable[[list[str], list[list[str]]], int]
"""launch.launch_jobs: run exactly these jobs through the Hydra app composed from these overrides."""

#: Command-line shorthands for the race switch (`race=true` is `race.enabled=true`).
SWITCH = {"race=true": "race.enabled=true", "race=True": "race.enabled=true", "race=false": "race.enabled=false",
          "race=False": "race.enabled=false"}


def expand_switch(overrides: list[str]) -> list[str]:
    """`race=true` -> `race.enabled=true` (race is a section of the trial config, not a flag)."""
    return [SWITCH.get(o, o) for o in overrides]


@dataclass
class Design:
    """One design of the race: the overrides its trials share, its seeds and its fate."""

    label: str
    overrides: list[str]
    """The trial overrides without the seed (and without Hydra's own)."""
    grid_seeds: list[int]
    """The seeds it starts with (the sweep's, topped up to min_seeds): the full grid it is compared with
    trains these at the whole budget."""
    seeds: list[int]
    """The seeds it races with (the planned ones, topped up to min_seeds, plus seeds added at close rungs)."""
    budget: int
    eval_every: int
    final_evals: int
    steps: list[int]
    """Each rung's step for this design's budget."""
    status: str = "racing"
    out_at: int | None = None

    def job(self, seed: int, rung: int) -> list[str]:
        last = rung == len(self.steps) - 1
        return [*self.overrides, f"seed={seed}", *([] if last else [f"pause_at={self.steps[rung]}"])]


@dataclass
class RacePlan:
    rule: RaceRule
    designs: list[Design]
    plan: Plan
    labels_keys: list[str] = field(default_factory=list)


def _key(o: str) -> str:
    return o.split("=", 1)[0].lstrip("+~")


def _seed(overrides: list[str], config: dict[str, Any]) -> int:
    for o in overrides:
        if _key(o) == "seed":
            return int(o.split("=", 1)[1])
    return int(config.get("seed", 0))


def _label_keys(groups: list[list[str]]) -> list[str]:
    """The keys whose values differ between the designs, ordered as the report orders them."""
    values: dict[str, set[str]] = {}
    for g in groups:
        for o in g:
            values.setdefault(_key(o), set()).add(o.split("=", 1)[1] if "=" in o else "")
    varying = [k for k, v in values.items() if len(v) > 1 or any(k not in {_key(o) for o in g} for g in groups)]
    order = {"scene": 0, "scene_file": 0, "reward": 1, "agent": 2}
    return sorted(varying, key=lambda k: (order.get(k.split(".")[0], 3), k))


def plan_race(the_plan: Plan, configs: list[dict[str, Any]], overrides: list[str]) -> RacePlan:
    """The designs, seeds and rung steps of a race, or a ConfigError naming the field that is wrong
    (before anything trains)."""
    race = dict(the_plan.config.get("race") or {})
    swept = [o for o in overrides if _key(o).split(".")[0] in ("race", "pause_at") and "," in o.split("=", 1)[-1]
             and not o.split("=", 1)[-1].startswith("[")]
    if swept:
        raise ConfigError(f"{swept[0]}: race settings cannot be swept; race one setting at a time.")
    if any(_key(o) == "pause_at" for o in overrides):
        raise ConfigError("pause_at is set by the race for each rung; drop it from the command line.")
    try:
        rule = check_rule(race.get("rungs") or [], race.get("min_seeds"), race.get("max_seeds"), race.get("eta"),
                          race.get("metric"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for trial, config in zip(the_plan.trials, configs, strict=True):
        rest = tuple(o for o in trial if not o.startswith("hydra.") and _key(o) not in ("seed", "pause_at"))
        groups.setdefault(rest, []).append((_seed(trial, config), config))
    if len(groups) < 2:
        only = " ".join(o for o in next(iter(groups)) if _key(o).split(".")[0] not in ("race", "launcher")) \
            if groups else ""
        raise ConfigError(
            f"race=true needs at least 2 designs to race, but the sweep has {len(groups)} ({only or 'the defaults'}). "
            "Sweep the designs to compare, e.g. reward=reach_dense,reach_sparse agent.batch_size=512,2048; the seeds "
            "are the race's own (race.min_seeds, race.max_seeds).")
    keys = _label_keys([list(g) for g in groups])
    designs: list[Design] = []
    for rest, members in groups.items():
        config = members[0][1]
        label = " ".join(o for k in keys for o in rest if _key(o) == k) or "defaults"
        agent, budget = config["agent"], config["budget"]
        where = f"design {label}"
        if int(budget["eval_episodes"]) <= 0:
            raise ConfigError(f"{where}: budget.eval_episodes={budget['eval_episodes']}, but a race compares the "
                              "designs' learning curves: set budget.eval_episodes >= 1.")
        if agent.get("anneal_lr"):
            raise ConfigError(f"{where}: agent.anneal_lr=true decays the learning rate over the budget the agent is "
                              "given, and a race gives it one rung at a time (the rate would reach zero at every "
                              "rung). Race with agent.anneal_lr=false.")
        total = int(agent["total_timesteps"])
        try:
            steps = rung_steps(rule.rungs, total, int(agent.get("eval_every") or budget["eval_every"]))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        seeds = sorted({s for s, _ in members})
        n = 0
        while len(seeds) < rule.min_seeds:
            if n not in seeds:
                seeds.append(n)
            n += 1
        designs.append(Design(label, list(rest), list(seeds), seeds, total, int(agent.get("eval_every") or 0),
                              int(config.get("final_evals", 3)), steps))
    return RacePlan(rule, designs, the_plan, keys)


# ---------------------------------------------------------------------------------- scores


def trial_state(rp: RacePlan, d: Design, seed: int, rung: int) -> tuple[Path, dict[str, Any] | None, bool]:
    """A trial's folder, its summary and whether it has reached the rung."""
    path = rp.plan.trial_dir(d.job(seed, rung))
    summary = read_json(path / "summary.json")
    status = (summary or {}).get("status")
    step = d.steps[rung]
    reached = status == "completed" or (status == "paused" and int(summary.get("paused_at") or 0) >= step)  # type: ignore[union-attr]
    return path, summary, reached


def trial_score(rp: RacePlan, d: Design, seed: int, rung: int) -> float | None:
    """The trial's score at the rung (None when it has none: failed, not there, no success rate)."""
    path, _, reached = trial_state(rp, d, seed, rung)
    if not reached:
        return None
    evals = read_csv(path / "eval.csv")
    last = rung == len(d.steps) - 1
    curve = evals if last else curve_until(evals, d.steps[rung], d.eval_every, leg_end(path, d.steps[rung]))
    score = curve_score(curve, rp.rule.metric, d.final_evals)
    return score if math.isfinite(score) else None


def trained_steps(rp: RacePlan, d: Design, seed: int) -> tuple[int, bool]:
    """Transitions the trial has trained (its summary's, else its status.json's) and whether it completed."""
    path = rp.plan.trial_dir(d.job(seed, 0))
    summary = read_json(path / "summary.json") or {}
    status = read_json(path / "status.json") or {}
    steps = int(summary.get("global_step") or status.get("global_step") or 0)
    return steps, summary.get("status") == "completed"


def compute(rp: RacePlan) -> tuple[int, int]:
    """(transitions the race trained, transitions the full grid would train). The grid's trials are
    counted at the steps the race's finished trials actually reached (PPO ends a little short of
    its budget), so both sides are in the same units."""
    race_steps, finished = 0, []
    per_design: dict[str, list[int]] = {}
    for d in rp.designs:
        for s in d.seeds:
            steps, done = trained_steps(rp, d, s)
            race_steps += steps
            if done:
                per_design.setdefault(d.label, []).append(steps)
                finished.append(steps / d.budget)
    ratio = sum(finished) / len(finished) if finished else 1.0
    grid = 0
    for d in rp.designs:
        full = per_design.get(d.label)
        grid += len(d.grid_seeds) * (sum(full) / len(full) if full else ratio * d.budget)
    return race_steps, int(round(grid))


# ---------------------------------------------------------------------------------- the race


def write_record(rp: RacePlan, rungs: list[RungRecord], finished: bool) -> RaceRecord:
    race_steps, grid_steps = compute(rp)
    rule = {"rungs": list(rp.rule.rungs), "min_seeds": rp.rule.min_seeds, "max_seeds": rp.rule.max_seeds,
            "eta": rp.rule.eta, "metric": rp.rule.metric}
    designs = {d.label: {"overrides": [o for o in d.overrides if is_design_key(_key(o))], "seeds": d.seeds, "grid_seeds": d.grid_seeds, "status": d.status,
                         "out_at": d.out_at, "rung_steps": d.steps, "budget": d.budget} for d in rp.designs}
    record = RaceRecord(rule, designs, rungs, race_steps, grid_steps, finished)
    from agents.logger import write_json_atomic

    rp.plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(rp.plan.sweep_dir / RECORD_FILE, record.to_json())
    return record


def _say(text: str) -> None:
    print(f"envkit sweep: {text}", flush=True)


def _rung_lines(k: int, rp: RacePlan, standings: list[Standing]) -> list[str]:
    out = [f"race rung {k + 1}/{len(rp.rule.rungs)} ({rp.rule.rungs[k]:g} of the budget):"]
    for s in standings:
        extra = f" (+{s.add_seeds} seed)" if s.add_seeds else ""
        out.append(f"  {s.decision:10} {s.design}: {s.why}{extra}")
    return out


def list_race(rp: RacePlan) -> None:
    """The race's designs, seeds and rung steps, as `--dry-run` shows them and a race starts with."""
    _say(f"race rungs {', '.join(f'{r:g}' for r in rp.rule.rungs)} of the budget, "
         f"metric {rp.rule.metric}, {rp.rule.min_seeds}..{rp.rule.max_seeds} seeds"
         + (f", top 1/{rp.rule.eta:g} per rung" if rp.rule.eta else ""))
    for d in rp.designs:
        _say(f"  {d.label}: seeds {','.join(map(str, d.seeds))}, rungs at "
             + ", ".join(f"{s:,}" for s in d.steps) + " steps")


def run_race(rp: RacePlan, overrides: list[str], launch: Launch) -> int:
    """Race the designs, launching each rung's trials with `launch`; the first non-zero exit code of a
    launch (0 when every launch succeeded)."""
    from sweeps.trial import LABEL_KEYS_ENV

    os.environ[LABEL_KEYS_ENV] = ",".join([*rp.labels_keys, "seed"])
    code = 0
    rungs: list[RungRecord] = []
    n = len(rp.rule.rungs)
    try:
        for k in range(n):
            racing = [d for d in rp.designs if d.status == "racing"]
            todo = [d.job(s, k) for d in racing for s in d.seeds if not trial_state(rp, d, s, k)[2]]
            done = sum(len(d.seeds) for d in racing) - len(todo)
            _say(f"race rung {k + 1}/{n} ({rp.rule.rungs[k]:g} of the budget): {len(racing)} designs, "
                 f"{len(todo)} trial{'s' if len(todo) != 1 else ''} to train"
                 + (f" ({done} already there)" if done else ""))
            launched = launch(overrides, todo)
            code = code or launched
            scores = {d.label: [x for s in d.seeds if (x := trial_score(rp, d, s, k)) is not None] for d in racing}
            missing = [d for d in racing for s in d.seeds if not trial_state(rp, d, s, k)[2]
                       and (read_json(rp.plan.trial_dir(d.job(s, k)) / "summary.json") or {}).get("status") != "failed"]
            if missing:  # a launch that stopped early (Hydra error): do not decide on partial evidence
                write_record(rp, rungs, False)
                _say(f"race stopped at rung {k + 1}: {len(missing)} trial(s) did not reach it. Rerun the same "
                     "command to continue the race.")
                return code or 1
            standings = decide(scores, rp.rule, last=k == n - 1, seeds={d.label: len(d.seeds) for d in racing},
                               entered=len(racing))
            by_label = {d.label: d for d in racing}
            for s in standings:
                d = by_label[s.design]
                if not s.goes_on and s.decision != "finished":
                    d.status, d.out_at = s.decision, k
                elif s.decision == "finished":
                    d.status = "finished"
                for _ in range(s.add_seeds):
                    nxt = 0
                    while nxt in d.seeds:
                        nxt += 1
                    d.seeds.append(nxt)
            leader = next((s.design for s in standings if s.decision in ("leader", "finished")), None)
            rungs.append(RungRecord(k, rp.rule.rungs[k], leader, [standing_data(s) for s in standings]))
            record = write_record(rp, rungs, k == n - 1)
            for line in _rung_lines(k, rp, standings):
                _say(line)
            if not any(d.status == "racing" for d in rp.designs) and k < n - 1:
                _say("race: no design has a score to go on with (every trial failed, or no trial reports a success "
                     "rate: race.metric needs one).")
                return code or 1
    finally:
        os.environ.pop(LABEL_KEYS_ENV, None)
    frac = record.compute_fraction
    _say(f"race: trained {record.race_steps:,} transitions; the full grid ({sum(len(d.grid_seeds) for d in rp.designs)} "
         f"trials) would train {record.grid_steps:,}: {frac:.0%} of its compute"
         + (f" ({1 / frac:.1f}x less)." if frac > 0 else "."))
    return code
