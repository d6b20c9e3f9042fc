"""The study behind `envkit tune` (sweeps/tune.py): the search space, the Optuna study and its
pruner, the objective that trains a configuration's seeds rung by rung, recovery of trials a
killed or interrupted worker left behind, and the re-runs of the top configurations.

Search keys are override keys (`agent.learning_rate`) or a reward term's weight or param
(`reward.terms.<term>.weight`, `reward.terms.<term>.params.<name>`); each set of weights is
written as a reward option `conf/reward/tune_<hash>.yaml` in the sweep folder, so a
configuration always lands in the same trial folders. A trial's seeds are ordinary sweep
trials launched through the Hydra app (`launch.launch_jobs`), paused at each rung
(`pause_at`) and scored by the racing rule's functions (sweeps/racing.py); `RungPruner`
prunes a trial whose interval at a rung lies entirely below the best configuration's there.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import yaml
from optuna.trial import TrialState

from envkit.errors import ConfigError
from sweeps.racing import RaceRule, check_rule, decide, interval, rung_steps

if TYPE_CHECKING:
    from sweeps.launch import Plan
    from sweeps.race import Design, RacePlan

#: Keys a search may not set: they say how the study runs, not what a configuration is.
NOT_SEARCHABLE = ("seed", "name", "out_dir", "resume", "progress", "isolate", "launcher", "pause_at", "trials",
                  "search", "final_evals", "success_threshold")
NOT_SEARCHABLE_SECTIONS = ("budget", "race", "tune", "hydra")
SPEC_FIELDS = ("low", "high", "log", "step", "choices")
TERM_PREFIX = "reward.terms."
STUDY_NAME = "tune"
CONFIRM_SEED = 1000
"""Fresh seeds for the confirmation start here (the search uses 0..tune.seeds-1)."""
HEARTBEAT = 60
"""Seconds between a worker's heartbeats in the study; a trial without one for 3x this is retried."""


# ---------------------------------------------------------------------------------- the search space


@dataclass(frozen=True)
class Param:
    """One searched key: its range or choices, and where it goes (a config override or a reward term)."""

    key: str
    kind: str
    """float | int | choice."""
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    term: str | None = None
    """The reward term (its name, or its term function) for reward.terms.<term>.<field> keys."""
    path: tuple[str, ...] = ()
    """The term's field: ("weight",) or ("params", name)."""

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log,  # type: ignore[arg-type]
                                     step=int(self.step or 1))
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log,  # type: ignore[arg-type]
                                   step=None if self.step is None else float(self.step))

    def corners(self) -> list[Any]:
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


def term_label(term: dict[str, Any]) -> str:
    """How a search key names a reward term: its `name`, else its term function."""
    return str(term.get("name") or term["term"])


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ConfigError(f"search.{where}: {name} must be a finite number, got {value!r}.")
    return float(value)


def parse_search(search: dict[str, Any], config: dict[str, Any], terms: list[dict[str, Any]]) -> list[Param]:
    """The search space of an experiment's `search:` mapping, or a ConfigError naming the key and the field.

    `config` is the base trial config (for each key's type), `terms` the expanded terms of the
    base reward design (for reward.terms.<term>.<field> keys).
    """
    if not isinstance(search, dict) or not search:
        raise ConfigError("envkit tune needs a `search:` mapping of override keys to ranges, e.g. "
                          "search: {agent.learning_rate: {low: 1e-4, high: 1e-3, log: true}} in an experiment "
                          "(docs/sweeps.md, section Tuning).")
    params: list[Param] = []
    labels = [term_label(t) for t in terms]
    for key, spec in search.items():
        key = str(key)
        head = key.split(".")[0]
        if key in NOT_SEARCHABLE or head in NOT_SEARCHABLE_SECTIONS:
            raise ConfigError(f"search.{key}: '{key}' cannot be searched: it sets how the study runs (seeds come from "
                              "tune.seeds, the budget and rungs from budget.* and race.*), not a configuration.")
        if isinstance(spec, list):
            spec = {"choices": spec}
        if not isinstance(spec, dict):
            raise ConfigError(f"search.{key}: give {{low: .., high: .., log: true|false}} or {{choices: [..]}}, "
                              f"got {spec!r}.")
        unknown = [f for f in spec if f not in SPEC_FIELDS]
        if unknown:
            raise ConfigError(f"search.{key}: unknown field '{unknown[0]}'; a range has low, high, log and step, "
                              "a list of options has choices.")
        term, path = None, ()
        if key.startswith(TERM_PREFIX):
            rest = key[len(TERM_PREFIX):]
            match = next((lab for lab in sorted(labels, key=len, reverse=True) if rest.startswith(lab + ".")), None)
            if match is None:
                raise ConfigError(f"search.{key}: the reward design has no term '{rest.rsplit('.', 1)[0]}'. Its terms: "
                                  f"{', '.join(labels) or '(none)'}; write reward.terms.<term>.weight or "
                                  "reward.terms.<term>.params.<param>.")
            term, path = match, tuple(rest[len(match) + 1:].split("."))
            if path != ("weight",) and not (len(path) == 2 and path[0] == "params"):
                raise ConfigError(f"search.{key}: a term's weight (reward.terms.{match}.weight) or one of its params "
                                  f"(reward.terms.{match}.params.<param>) can be searched, not '{'.'.join(path)}'.")
        elif head == "reward" and key != "reward":
            raise ConfigError(f"search.{key}: of the reward design, the weights and params of its terms are searched "
                              "(reward.terms.<term>.weight), or the design itself (reward: {choices: [a, b]}).")
        if "choices" in spec:
            if any(f in spec for f in ("low", "high", "log", "step")):
                raise ConfigError(f"search.{key}: give either choices or a range (low, high), not both.")
            choices = spec["choices"]
            if not isinstance(choices, list) or not choices:
                raise ConfigError(f"search.{key}: choices is empty; list at least one value.")
            params.append(Param(key, "choice", choices=tuple(choices), term=term, path=path))
            continue
        if "low" not in spec or "high" not in spec:
            raise ConfigError(f"search.{key}: a range needs both low and high (got {', '.join(spec) or 'neither'}).")
        low, high = _number(spec["low"], key, "low"), _number(spec["high"], key, "high")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"search.{key}: log must be true or false, got {log!r}.")
        if low == high:
            raise ConfigError(f"search.{key}: the range is empty (low = high = {low:g}); give low < high, or fix the "
                              "value with an override instead of searching it.")
        if low > high:
            raise ConfigError(f"search.{key}: the range is inverted (low {low:g} > high {high:g}); give low < high.")
        if log and low <= 0:
            raise ConfigError(f"search.{key}: a log range must lie above 0, but low={low:g} (the range "
                              f"{'crosses' if high > 0 else 'lies below'} 0). Give low > 0, or search it on a linear "
                              "scale (log: false).")
        step = None if spec.get("step") is None else _number(spec["step"], key, "step")
        if step is not None and (step <= 0 or log):
            raise ConfigError(f"search.{key}: step must be > 0 and cannot be combined with log: true.")
        current = _current(config, key) if term is None else None
        is_int = isinstance(current, int) and not isinstance(current, bool)
        if is_int and (low != int(low) or high != int(high)):
            raise ConfigError(f"search.{key}: '{key}' is an integer setting, but the range [{low:g}, {high:g}] is not "
                              "whole numbers.")
        params.append(Param(key, "int" if is_int else "float", low, high, log, step, term=term, path=path))
    return params


def _current(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def base_terms(config: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(label, expanded terms) of a config's reward design: its preset and terms, else the scene's own."""
    from envkit.analysis.ablation import design_terms

    reward = config.get("reward") or {}
    if reward.get("preset") is None and reward.get("terms") is None:
        source = config.get("scene_file") or config["scene"]["id"]
        return design_terms(source)
    terms: list[dict[str, Any]] = []
    if reward.get("preset") is not None:
        terms += design_terms(str(reward["preset"]))[1]
    terms += [dict(t) for t in reward.get("terms") or []]
    return str(reward.get("name") or "custom"), terms


def design_terms_with(terms: list[dict[str, Any]], params: list[Param], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The base terms with the searched weights and params set."""
    out = [dict(t, params=dict(t.get("params") or {})) for t in terms]
    for p in params:
        if p.term is None:
            continue
        for t in out:
            if term_label(t) == p.term:
                if p.path == ("weight",):
                    t["weight"] = float(values[p.key])
                else:
                    t["params"][p.path[1]] = values[p.key]
    return [{k: v for k, v in t.items() if not (k == "params" and not v)} for t in out]


def reward_option(terms: list[dict[str, Any]]) -> str:
    """The reward option name of a set of terms: the same weights, the same name (and trial folders)."""
    digest = hashlib.sha1(json.dumps(terms, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"tune_{digest}"


def fmt_value(v: Any) -> str:
    """A sampled value as an override (floats to 6 significant digits: readable folder names)."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    """Sampled values as trained: floats to the 6 significant digits their overrides carry."""
    return {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in values.items()}


# ---------------------------------------------------------------------------------- the study


@dataclass
class Tuning:
    """Everything a tune run needs, checked before anything trains."""

    plan: Plan
    overrides: list[str]
    """The command line (without seed): the base of every job's config."""
    params: list[Param]
    rule: RaceRule
    trials: int
    seeds: list[int]
    top_k: int
    confirm_seeds: list[int]
    sampler_seed: int
    startup_trials: int
    terms: list[dict[str, Any]]
    reward_label: str
    budget: int
    steps: list[int]
    eval_every: int
    final_evals: int
    gamma: float
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.plan.sweep_dir

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{(self.root / 'study.db').resolve()}"

    def job_overrides(self, folder: str) -> list[str]:
        """The base overrides with the trials' folder set and the generated reward options on the search path."""
        out = [o for o in self.overrides if not o.startswith(("out_dir=", "name=", "hydra.searchpath="))]
        paths = [f"file://{self.conf.resolve()}"]
        for o in self.overrides:
            if o.startswith("hydra.searchpath="):
                paths = [p.strip() for p in o.split("=", 1)[1].strip("[]").split(",") if p.strip()] + paths
        return [*out, f"out_dir={self.root}", f"name={folder}", f"hydra.searchpath=[{','.join(paths)}]"]


def settings(the_plan: Plan, configs: list[dict[str, Any]], overrides: list[str]) -> Tuning:
    """Check the search space, the tune settings and the rungs (ConfigError naming the field)."""
    if any(o.split("=", 1)[0].lstrip("+~") == "seed" for o in overrides):
        raise ConfigError("envkit tune chooses the seeds itself: tune.seeds=N seeds per trial (0..N-1) and "
                          "tune.confirm_seeds fresh ones for the re-runs; drop seed=... .")
    if len(the_plan.trials) != 1:
        from sweeps.launch import varying_keys

        raise ConfigError(f"envkit tune runs the configurations its sampler picks, but the command line (or the "
                          f"experiment) sweeps {', '.join(varying_keys(the_plan)) or 'a grid'} ({len(the_plan.trials)} "
                          "trials). Give those keys one value, or search them in `search:`.")
    config = configs[0]
    tune = dict(the_plan.config.get("tune") or {})
    for name, least in (("seeds", 1), ("top_k", 1), ("confirm_seeds", 1), ("startup_trials", 0)):
        value = tune.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ConfigError(f"tune.{name} must be an integer >= {least}, got {value!r}.")
    trials = the_plan.config.get("trials")
    if not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"trials must be an integer >= 1 (Optuna trials the study runs), got {trials!r}.")
    race = dict(the_plan.config.get("race") or {})
    if race.get("metric") not in ("success", "auc"):
        raise ConfigError(f"race.metric must be one of success, auc (what tune maximises), got {race.get('metric')!r}.")
    try:
        rule = check_rule(race.get("rungs") or [1.0], tune["seeds"], tune["seeds"], None, race.get("metric"))
    except ValueError as exc:
        if "no rung before the end" not in str(exc):
            raise ConfigError(str(exc)) from None
        rule = RaceRule((1.0,), tune["seeds"], tune["seeds"], None, str(race.get("metric")))
    agent, budget = config["agent"], config["budget"]
    if agent.get("anneal_lr") and len(rule.rungs) > 1:
        raise ConfigError("agent.anneal_lr=true decays the learning rate over the budget the agent is given, and "
                          "tune trains one rung at a time: set agent.anneal_lr=false, or race.rungs=[1.0] (no pruning).")
    if int(budget["eval_episodes"]) <= 0:
        raise ConfigError("budget.eval_episodes must be >= 1: tune scores configurations on their learning curves.")
    total, every = int(agent["total_timesteps"]), int(agent.get("eval_every") or budget["eval_every"])
    try:
        steps = rung_steps(rule.rungs, total, every) if len(rule.rungs) > 1 else [total]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    label, terms = base_terms(config)
    params = parse_search(the_plan.config.get("search") or {}, config, terms)
    if any(p.key == "reward" for p in params) and any(p.term for p in params):
        raise ConfigError("search: reward (the design) and reward.terms.* (its weights) cannot be searched together: "
                          "the weights belong to one design.")
    return Tuning(the_plan, list(overrides), params, rule, trials,
                  list(range(tune["seeds"])), tune["top_k"], [CONFIRM_SEED + i for i in range(tune["confirm_seeds"])],
                  int(tune.get("seed") or 0), tune["startup_trials"], terms, label, total, steps, every,
                  int(config.get("final_evals", 3)), float(agent.get("gamma", 0.99)))


def design_overrides(t: Tuning, values: dict[str, Any], conf: Path | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """A configuration's trial overrides (writing its reward option into `conf`, default the sweep's conf/,
    when weights are searched) and its terms."""
    out = [o for o in t.overrides if not o.startswith(("hydra.", "out_dir=", "name="))]
    keys = {p.key for p in t.params if p.term is None}
    out = [o for o in out if o.split("=", 1)[0].lstrip("+~") not in keys]
    terms = t.terms
    if any(p.term for p in t.params):
        terms = design_terms_with(t.terms, t.params, values)
        name = reward_option(terms)
        path = (conf or t.conf) / "reward" / f"{name}.yaml"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"# Generated by envkit tune: {t.reward_label} with "
                           + ", ".join(f"{p.key.removeprefix(TERM_PREFIX)}={fmt_value(values[p.key])}"
                                       for p in t.params if p.term) + "\n"
                           + yaml.safe_dump({"name": name, "terms": terms}, sort_keys=False, default_flow_style=None))
            os.replace(tmp, path)
        out = [o for o in out if o.split("=", 1)[0].lstrip("+~") != "reward"] + [f"reward={name}"]
    out += [f"{p.key}={fmt_value(values[p.key])}" for p in t.params if p.term is None]
    return out, terms


def check_corners(t: Tuning) -> None:
    """Compose and validate the configurations at the ends of every range (and every choice), so a
    bad key or value fails now, not in the first trial."""
    import shutil
    import tempfile

    from sweeps.launch import Plan, check_trials, explain, hydra_context

    lows = {p.key: p.corners()[0] for p in t.params}
    corners = [lows] + [{**lows, p.key: c} for p in t.params for c in p.corners()[1:]]
    conf = Path(tempfile.mkdtemp(prefix="envkit-tune-"))  # the corners' reward options are not kept
    jobs = []
    for values in corners:
        values = {k: (int(v) if next(p for p in t.params if p.key == k).kind == "int" else v) for k, v in values.items()}
        overrides = design_overrides(t, values, conf)[0]
        paths = t.job_overrides("x")[-1].split("=", 1)[1].strip("[]").split(",")[:-1] + [f"file://{conf}"]
        jobs.append(overrides + [f"hydra.searchpath=[{','.join(paths)}]"])
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        try:
            check_trials(Plan(t.root, jobs))
        except (HydraException, OmegaConfBaseException) as exc:
            with hydra_context():  # the did-you-mean composes the config
                message = explain(exc)
            raise ConfigError(message) from None
    except ConfigError as exc:
        text = str(exc)
        for p in t.params:
            if p.term is None and p.key in text:
                raise ConfigError(f"search.{p.key}: {text}") from None
        raise ConfigError(f"the search space gives a configuration that does not load: {text}") from None
    finally:
        shutil.rmtree(conf, ignore_errors=True)


@contextlib.contextmanager
def _creation_lock(t: Tuning) -> Iterator[None]:
    """Serialise making the SQLite schema and the study across worker processes.

    Two workers starting together on a new study.db both run Optuna's schema set-up, and
    the second fails inserting the schema version (measured: a test with two workers).
    An advisory lock on a file beside the database makes the second wait instead.
    """
    import fcntl

    lock = t.root / ".study.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _create_or_load(storage: Any, t: Tuning, create: bool) -> optuna.Study:
    if create:
        return optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="maximize",
                                   load_if_exists=True, pruner=RungPruner(t.rule))
    return optuna.load_study(storage=storage, study_name=STUDY_NAME, pruner=RungPruner(t.rule))


def open_study(t: Tuning, create: bool = True) -> optuna.Study:
    """The study in the sweep folder (made on first use), with heartbeats so a killed worker's trial is
    retried; a study made with another search space is refused."""
    from optuna.storages import RDBStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    (t.conf / "reward").mkdir(parents=True, exist_ok=True)  # on the jobs' search path from the start
    with _creation_lock(t), quiet_optuna():
        storage = RDBStorage(t.storage_url, heartbeat_interval=HEARTBEAT, grace_period=3 * HEARTBEAT,
                             heartbeat_stale_trial_callback=_retry())
        study = _create_or_load(storage, t, create)
    space = {p.key: {"kind": p.kind, "low": p.low, "high": p.high, "log": p.log, "step": p.step,
                     "choices": list(p.choices)} for p in t.params}
    frame = {"space": space, "base": [o for o in design_overrides_base(t)], "rungs": list(t.rule.rungs),
             "metric": t.rule.metric, "seeds": t.seeds}
    before = study.user_attrs.get("frame")
    if before is None:
        study.set_user_attr("frame", frame)
    elif json.loads(json.dumps(before)) != json.loads(json.dumps(frame)):
        changed = [k for k in frame if before.get(k) != frame[k]]
        raise ConfigError(f"{t.root / 'study.db'} holds a study made with another {' and '.join(changed)} "
                          f"({json.dumps({k: before.get(k) for k in changed})}). Tune into another folder (name=...), "
                          "or delete study.db to start this one over.")
    return study


def design_overrides_base(t: Tuning) -> list[str]:
    return sorted(o for o in t.overrides if not o.startswith(("hydra.", "out_dir=", "name=", "tune.", "trials=")))


class RungPruner(optuna.pruners.BasePruner):
    """Optuna pruner applying the racing rule at each rung: a trial whose interval at the rung lies
    entirely below the best configuration's at that rung is pruned (sweeps/racing.py). The objective
    stores each trial's seed scores at rung k as the user attribute `rung<k>` before reporting it."""

    def __init__(self, rule: RaceRule) -> None:
        self.rule = rule

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or f"rung{step}" not in trial.user_attrs:
            return False
        return rung_decision(study, trial.number, trial.user_attrs[f"rung{step}"], step, self.rule)[0] == "eliminated"


def rung_decision(study: optuna.Study, number: int, mine: list[float], step: int, rule: RaceRule) -> tuple[str, str]:
    """(decision, why) of the racing rule for trial `number`, with scores `mine` at rung `step`, against
    every other trial that reached the rung."""
    key = f"rung{step}"
    scores = {f"#{number}": list(mine)}
    for other in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)):
        if other.number != number and key in other.user_attrs:
            scores[f"#{other.number}"] = list(other.user_attrs[key])
    me = next(s for s in decide(scores, rule, last=False) if s.design == f"#{number}")
    return me.decision, me.why


# ---------------------------------------------------------------------------------- running trials


def folder_plan(t: Tuning, folder: str) -> RacePlan:
    from sweeps.launch import plan
    from sweeps.race import RacePlan

    return RacePlan(t.rule, [], plan(t.job_overrides(folder)))


def design_of(t: Tuning, label: str, overrides: list[str], seeds: list[int], steps: list[int], folder: str) -> Design:
    """A configuration as the race driver's Design: its jobs land in `<sweep folder>/<folder>/`."""
    from sweeps.race import Design

    where = [f"out_dir={t.root}", f"name={folder}"]
    return Design(label, [*overrides, *where], list(seeds), list(seeds), t.budget, t.eval_every, t.final_evals, steps)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's worker: its heartbeat says whether it lives
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


def recover(study: optuna.Study) -> list[int]:
    """Retry the trials a worker of this machine left behind (killed: still RUNNING, its process gone;
    interrupted by Ctrl-C: FAIL with ended=interrupted), once each, with the same configuration, so
    their seeds continue from their checkpoints. Returns the numbers retried."""
    trials = study.get_trials(deepcopy=False)
    retried = {n for x in trials for n in x.system_attrs.get("retry_history", [])}
    out = []
    for x in trials:
        if x.number in retried:
            continue
        started = x.datetime_start.timestamp() if x.datetime_start else 0.0
        dead = (x.state == TrialState.RUNNING and time.time() - started > 10  # (not one a live worker just took)
                and not worker_alive(str(x.user_attrs.get("worker", ""))))
        interrupted = x.state == TrialState.FAIL and x.user_attrs.get("ended") == "interrupted"
        if not (dead or interrupted):
            continue
        if dead:
            try:
                study._storage.set_trial_user_attr(x._trial_id, "ended", "worker killed")
                study._storage.set_trial_state_values(x._trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker failed it first (and retried it)
        _retry()(study, study._storage.get_trial(x._trial_id))
        out.append(x.number)
    return out


def _retry():  # noqa: ANN202
    """Optuna's callback that re-enqueues a failed trial with the same parameters (at most twice)."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    with quiet_optuna():
        return RetryHeartbeatStaleTrialCallback(max_retry=2)


def finished(study: optuna.Study) -> int:
    """Trials that count towards `trials:`: complete, pruned, and failed ones that are not being retried."""
    trials = study.get_trials(deepcopy=False)
    retried = {n for x in trials for n in x.system_attrs.get("retry_history", [])}
    return sum(x.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or (x.state == TrialState.FAIL and x.number not in retried) for x in trials)


def objective(t: Tuning, launch) -> Any:  # noqa: ANN001 - launch: launch.launch_jobs
    """The Optuna objective: train a configuration's seeds rung by rung, pruned by the racing rule."""
    from sweeps.race import trial_score, trial_state

    rp = folder_plan(t, "search")

    def run(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", _worker_id())
        values = rounded({p.key: p.suggest(trial) for p in t.params})
        overrides, _ = design_overrides(t, values)
        trial.set_user_attr("design", overrides)
        d = design_of(t, f"#{trial.number}", overrides, t.seeds, t.steps, "search")
        last = len(t.steps) - 1
        try:
            for k in range(len(t.steps)):
                todo = [d.job(s, k) for s in d.seeds if not trial_state(rp, d, s, k)[2]]
                launch(t.job_overrides("search"), todo)
                scores = [x for s in d.seeds if (x := trial_score(rp, d, s, k)) is not None]
                trial.set_user_attr(f"rung{k}", scores)
                trial.set_user_attr("steps", _steps(rp, d))
                trial.set_user_attr("folders", [str(rp.plan.trial_dir(d.job(s, 0))) for s in d.seeds])
                if not scores:
                    trial.set_user_attr("ended", "no seed has a score (failed trials, or no success rate)")
                    return float("nan")
                est = interval(scores, t.rule.metric, t.rule.reps, t.rule.seed)
                if k == last:
                    trial.set_user_attr("interval", [est.value, est.low, est.high])
                    trial.set_user_attr("ended", "complete")
                    return est.value
                trial.report(est.value, k)
                if trial.should_prune():
                    why = rung_decision(trial.study, trial.number, scores, k, t.rule)[1]
                    trial.set_user_attr("ended", f"pruned at rung {k + 1} ({t.rule.rungs[k]:g}): {why}")
                    raise optuna.TrialPruned(why)
        except KeyboardInterrupt:
            trial.set_user_attr("ended", "interrupted")
            raise
        return float("nan")  # pragma: no cover - the loop returns

    return run


def _steps(rp: RacePlan, d: Design) -> int:
    from sweeps.race import trained_steps

    return sum(trained_steps(rp, d, s)[0] for s in d.seeds)


def optimize(t: Tuning, launch) -> optuna.Study:  # noqa: ANN001
    """Run trials until the study has `trials` of them (with every worker sharing the study)."""
    from optuna.samplers import TPESampler

    study = open_study(t)
    retried = recover(study)
    if retried:
        say(f"retrying trial(s) {', '.join(f'#{n}' for n in retried)} left behind by a killed or interrupted worker")
    done = finished(study)
    if done >= t.trials:
        return study
    # offset by the trials the study has, so a resumed study does not propose its first configurations again
    study.sampler = TPESampler(seed=t.sampler_seed + len(study.trials), n_startup_trials=t.startup_trials)
    say(f"study {t.root / 'study.db'}: {done} of {t.trials} trials done")

    def stop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        n = finished(study)
        value = f"{trial.value:.3f}" if trial.value is not None else "-"
        say(f"trial #{trial.number} {trial.state.name.lower()}: {value} "
             f"({trial.user_attrs.get('ended', '')}); {n} of {t.trials} done")
        if n >= t.trials:
            study.stop()

    with quiet_optuna():
        study.optimize(objective(t, launch), callbacks=[stop], catch=(Exception,), gc_after_trial=False)
    return study


@contextlib.contextmanager
def quiet_optuna():  # noqa: ANN202
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def say(text: str) -> None:
    print(f"envkit tune: {text}", flush=True)


# ---------------------------------------------------------------------------------- after the study


def top_trials(study: optuna.Study, k: int) -> list[optuna.trial.FrozenTrial]:
    """The k best complete trials, one per configuration (a retried configuration counts once)."""
    done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                  key=lambda x: (-(x.value if x.value is not None and math.isfinite(x.value) else -math.inf), x.number))
    out, seen = [], set()
    for x in done:
        key = json.dumps(x.user_attrs.get("design"), sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out[:k]


@contextlib.contextmanager
def confirm_lock(root: Path):  # noqa: ANN201
    """One worker at a time re-runs the top configurations (a lock file whose owner is alive)."""
    lock = root / "confirm.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            owner = lock.read_text().strip() if lock.is_file() else ""
            if owner and worker_alive(owner):
                yield False
                return
            lock.unlink(missing_ok=True)
    else:  # pragma: no cover - lost a race for the lock twice
        yield False
        return
    os.write(fd, _worker_id().encode())
    os.close(fd)
    try:
        yield True
    finally:
        lock.unlink(missing_ok=True)


def confirm(t: Tuning, study: optuna.Study, launch) -> tuple[list[optuna.trial.FrozenTrial], int]:  # noqa: ANN001
    """Re-run the top-k configurations on fresh seeds at the full budget (confirm/); Hydra's exit code."""
    from sweeps.race import trial_state

    top = top_trials(study, t.top_k)
    rp = folder_plan(t, "confirm")
    jobs = []
    for x in top:
        d = design_of(t, f"#{x.number}", list(x.user_attrs["design"]), t.confirm_seeds, [t.budget], "confirm")
        jobs += [d.job(s, 0) for s in d.seeds if not trial_state(rp, d, s, 0)[2]]
    if top:
        say(f"re-running the top {len(top)} configuration(s) ({', '.join(f'#{x.number}' for x in top)}) on "
             f"{len(t.confirm_seeds)} fresh seeds each: {len(jobs)} trial(s) to train")
    return top, launch(t.job_overrides("confirm"), jobs)
