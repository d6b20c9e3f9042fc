"""`envkit tune` (sweeps/study.py, sweeps/tune.py) without training: the search space and its errors, and the study's logic (pruning by
the racing rule, failed and NaN trials, resuming, retrying a killed worker's trial, the re-runs on
fresh seeds, the outputs) with a fake launcher that writes each job's trial folder at once, its
learning curve a known function of the configuration. test_tune_e2e.py trains for real."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from optuna.trial import TrialState

from envkit.errors import ConfigError
from envkit.loader import load_scene
from sweeps.launch import check_trials, plan
from sweeps.study import (
    Param,
    confirm,
    design_terms_with,
    finished,
    open_study,
    optimize,
    parse_search,
    recover,
    reward_option,
    settings,
    top_trials,
)
from sweeps.tune import importances, write_outputs

HERE = Path(__file__).resolve().parent
SPARSE = [{"term": "time_penalty", "weight": -1.0}, {"term": "success_bonus", "weight": 1.0}]
CONFIG = {"agent": {"learning_rate": 3e-4, "batch_size": 2048}, "budget": {"timesteps": 1000}}


# ---------------------------------------------------------------------------------- the search space


def test_ranges_choices_and_reward_terms_parse_into_params() -> None:
    params = parse_search({
        "reward.terms.success_bonus.weight": {"low": 0.1, "high": 100, "log": True},
        "agent.learning_rate": {"low": 1e-4, "high": 1e-3, "log": True},
        "agent.batch_size": {"low": 256, "high": 4096},
        "agent.epochs": [5, 10],
    }, {**CONFIG, "agent": {**CONFIG["agent"], "epochs": 10}}, SPARSE)
    by = {p.key: p for p in params}
    assert by["reward.terms.success_bonus.weight"].term == "success_bonus"
    assert by["reward.terms.success_bonus.weight"].path == ("weight",)
    assert by["agent.learning_rate"].kind == "float" and by["agent.learning_rate"].log
    assert by["agent.batch_size"].kind == "int"  # an integer setting is searched in integers
    assert by["agent.epochs"].kind == "choice" and by["agent.epochs"].choices == (5, 10)


@pytest.mark.parametrize(
    ("search", "words"),
    [
        ({}, ["needs a `search:` mapping"]),
        ({"agent.learning_rate": {"low": 1e-3, "high": 1e-4}}, ["search.agent.learning_rate", "inverted"]),
        ({"agent.learning_rate": {"low": 1e-3, "high": 1e-3}}, ["search.agent.learning_rate", "empty"]),
        ({"reward.terms.success_bonus.weight": {"low": -1, "high": 10, "log": True}},
         ["search.reward.terms.success_bonus.weight", "log range must lie above 0", "crosses 0"]),
        ({"reward.terms.time_penalty.weight": {"low": -2, "high": -1, "log": True}}, ["lies below 0"]),
        ({"reward.terms.succes_bonus.weight": {"low": 1, "high": 2}},
         ["no term 'succes_bonus'", "time_penalty, success_bonus"]),
        ({"reward.terms.success_bonus.wieght": {"low": 1, "high": 2}}, ["reward.terms.success_bonus.weight"]),
        ({"reward.preset": {"choices": ["a"]}}, ["search.reward.preset", "reward.terms.<term>.weight"]),
        ({"agent.learning_rate": {"lo": 1, "high": 2}}, ["unknown field 'lo'"]),
        ({"agent.learning_rate": {"low": 1e-4}}, ["needs both low and high"]),
        ({"agent.learning_rate": {"low": "a", "high": 2}}, ["low must be a finite number"]),
        ({"agent.learning_rate": {"choices": []}}, ["choices is empty"]),
        ({"agent.learning_rate": {"choices": [1], "low": 1}}, ["either choices or a range"]),
        ({"agent.batch_size": {"low": 64.5, "high": 100}}, ["integer setting"]),
        ({"seed": {"low": 0, "high": 3}}, ["search.seed", "cannot be searched"]),
        ({"budget.timesteps": {"low": 1, "high": 3}}, ["search.budget.timesteps", "cannot be searched"]),
        ({"agent.learning_rate": 0.1}, ["give {low"]),
    ],
)
def test_bad_search_spaces_are_one_paragraph_naming_the_key(search: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        parse_search(search, CONFIG, SPARSE)
    text = str(err.value)
    assert all(w in text for w in words), text
    assert "\n" not in text


def test_searched_weights_replace_the_designs_and_name_its_reward_option() -> None:
    params = parse_search({"reward.terms.success_bonus.weight": {"low": 1, "high": 10}}, CONFIG, SPARSE)
    terms = design_terms_with(SPARSE, params, {"reward.terms.success_bonus.weight": 4.0})
    assert terms == [{"term": "time_penalty", "weight": -1.0}, {"term": "success_bonus", "weight": 4.0}]
    assert SPARSE[1]["weight"] == 1.0  # the base design is not touched
    assert reward_option(terms) == reward_option([dict(t) for t in terms]) != reward_option(SPARSE)
    assert reward_option(terms).startswith("tune_")


# ---------------------------------------------------------------------------------- a study with a fake launcher


def _experiment(tmp_path: Path, search: dict, trials: int = 6, **extra: object) -> list[str]:
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True, exist_ok=True)
    body = {"defaults": [{"override /reward": "reach_sparse"}], "name": "t",
            "budget": {"timesteps": 1000, "eval_every": 250, "eval_episodes": 10},
            "race": {"rungs": [0.25, 1.0]}, "search": search, "trials": trials,
            "tune": {"seeds": 3, "top_k": 2, "confirm_seeds": 3, "startup_trials": 3}, **extra}
    (conf / "experiment" / "fake.yaml").write_text("# @package _global_\n" + yaml.safe_dump(body, sort_keys=False))
    return ["experiment=fake", f"hydra.searchpath=[file://{conf}]", f"out_dir={tmp_path / 'runs'}"]


def _tuning(overrides: list[str]):  # noqa: ANN202
    the_plan = plan(overrides)
    return settings(the_plan, check_trials(the_plan), overrides)


def quality(job: list[str]) -> float:
    """The fake's plateau success of a configuration: best at learning_rate 1e-3."""
    values = dict(o.split("=", 1) for o in job)
    lr = float(values.get("agent.learning_rate", 3e-4))
    return max(0.0, 1.0 - abs(math.log10(lr) + 3.0))


class FakeLaunch:
    """Writes each job's trial folder as a trial would (paused at pause_at, or complete), instantly. A
    success bonus above `fail_above` 'crashes' the trial; a bonus of exactly 42 gives no success rate (NaN)."""

    def __init__(self, fail_above: float | None = None) -> None:
        self.fail_above = fail_above
        self.jobs: list[list[str]] = []
        self.plans: dict[str, object] = {}

    def folder(self, overrides: list[str], job: list[str]) -> Path:
        where = [*overrides, *[o for o in job if o.startswith(("out_dir=", "name="))]]
        key = json.dumps(where)
        if key not in self.plans:
            self.plans[key] = plan(where)
        return self.plans[key].trial_dir(job)  # type: ignore[attr-defined]

    def __call__(self, overrides: list[str], jobs: list[list[str]]) -> int:
        from sweeps.summary import summarize, write_summary
        from sweeps.trial import mark_pause

        for job in jobs:
            self.jobs.append(job)
            values = dict(o.split("=", 1) for o in job)
            folder = self.folder(overrides, job)
            folder.mkdir(parents=True, exist_ok=True)
            seed = int(values["seed"])
            stop = int(values.get("pause_at", 1000))
            rng = np.random.default_rng(seed + 100 * len(self.jobs))
            weight = _weight(folder.parent.parent / "conf", values.get("reward"))
            p = quality(job)
            steps = np.arange(0, stop + 1, 250)
            succ = np.clip(p * steps / 1000 + rng.normal(0, 0.02, len(steps)), 0, 1)
            if weight == 42.0:
                succ = np.full(len(steps), np.nan)
            pd.DataFrame({"global_step": steps, "mean_return": succ, "success_rate": succ}).to_csv(
                folder / "eval.csv", index=False)
            error = "boom: the reward crashed" if self.fail_above is not None and weight > self.fail_above else None
            (folder / "status.json").write_text(json.dumps({
                "status": "failed" if error else "completed", "global_step": int(stop), "total_timesteps": int(stop)}))
            info = {"label": folder.name, "fingerprint": "f", "overrides": job, "choices": {},
                    "config": {"seed": seed, "agent": {"total_timesteps": 1000}, "final_evals": 3,
                               "success_threshold": 0.8}}
            (folder / "trial.json").write_text(json.dumps(info))
            summary = summarize(folder, info, error=error, wall_time=0.1)
            mark_pause(folder, summary, 1000)
            write_summary(folder, summary)
        return 0


def _weight(conf: Path, option: str | None) -> float:
    if not option:
        return 0.0
    data = yaml.safe_load((conf / "reward" / f"{option}.yaml").read_text())
    return float(next(t["weight"] for t in data["terms"] if t["term"] == "success_bonus"))


LR = {"agent.learning_rate": {"low": 1e-5, "high": 1e-1, "log": True}}


def test_a_study_prunes_by_the_racing_rule_and_records_every_trial(tmp_path: Path) -> None:
    t = _tuning(_experiment(tmp_path, LR, trials=8))
    launch = FakeLaunch()
    study = optimize(t, launch)
    states = [x.state for x in study.trials]
    assert finished(study) == 8 and len(states) == 8
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    for x in study.trials:
        assert len(x.user_attrs["rung0"]) == 3  # every trial scored its 3 seeds at the first rung
        if x.state == TrialState.PRUNED:
            assert "pruned at rung 1" in x.user_attrs["ended"] and "lies entirely below" in x.user_attrs["ended"]
            assert "rung1" not in x.user_attrs  # and trained no further
        else:
            assert x.value == pytest.approx(np.mean(x.user_attrs["rung1"]), abs=0.05)
    pruned = [j for j in launch.jobs if "pause_at=250" in j]
    assert len(pruned) == 8 * 3  # every trial's seeds went to the first rung, ...
    assert len(launch.jobs) - len(pruned) == 3 * sum(s == TrialState.COMPLETE for s in states)  # ... survivors on
    best = max((x for x in study.trials if x.state == TrialState.COMPLETE), key=lambda x: x.value)
    assert abs(math.log10(best.params["agent.learning_rate"]) + 3) < 1.0

    again = optimize(t, launch)  # the study is complete: nothing runs
    assert len(again.trials) == 8 and len(launch.jobs) == len(pruned) + 3 * sum(s == TrialState.COMPLETE for s in states)


def test_failed_and_nan_trials_are_marked_failed_and_the_search_goes_on(tmp_path: Path) -> None:
    search = {"reward.terms.success_bonus.weight": {"choices": [1.0, 42.0, 99.0]}, **LR}
    t = _tuning(_experiment(tmp_path, search, trials=9))
    study = optimize(t, FakeLaunch(fail_above=50.0))
    by_weight = {}
    for x in study.trials:
        by_weight.setdefault(x.params["reward.terms.success_bonus.weight"], set()).add(x.state)
    assert by_weight.get(99.0, {TrialState.FAIL}) == {TrialState.FAIL}  # the crashing reward
    assert by_weight.get(42.0, {TrialState.FAIL}) == {TrialState.FAIL}  # no success rate: NaN
    assert 99.0 in by_weight or 42.0 in by_weight
    assert any(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in by_weight.get(1.0, set()))
    assert finished(study) == 9
    failed = [x for x in study.trials if x.state == TrialState.FAIL]
    assert all("no seed has a score" in x.user_attrs.get("ended", "") for x in failed)


def test_a_killed_workers_trial_is_retried_with_the_same_configuration(tmp_path: Path) -> None:
    t = _tuning(_experiment(tmp_path, LR, trials=3))
    launch = FakeLaunch()
    study = optimize(t, launch)
    complete = {x.number: (x.value, x.params) for x in study.trials if x.state == TrialState.COMPLETE}
    # a worker that died mid-trial: its trial stays RUNNING in the study, its process is gone
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    with pytest.warns(UserWarning, match="Heartbeat"):  # (asked outside optimize, as no worker would)
        ghost = study.ask({"agent.learning_rate": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)})
    ghost.set_user_attr("worker", f"{socket.gethostname()}:{gone}")
    _age(t, ghost.number)
    assert recover(open_study(t)) == [ghost.number]
    study = open_study(t)
    assert study.trials[ghost.number].state == TrialState.FAIL
    assert study.trials[ghost.number].user_attrs["ended"] == "worker killed"
    waiting = [x for x in study.trials if x.state == TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].params == ghost.params
    assert recover(study) == []  # retried once, not at every start
    t.trials = 4
    study = optimize(t, launch)
    assert {x.number: (x.value, x.params) for x in study.trials if x.number in complete} == complete
    assert study.trials[waiting[0].number].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert finished(study) == 4  # the killed trial does not count, its retry does


def _age(t, number: int) -> None:  # noqa: ANN001
    """Make a trial look started a minute ago (recover() leaves trials a live worker just took alone)."""
    import sqlite3

    db = sqlite3.connect(str(t.root / "study.db"))
    db.execute("UPDATE trials SET datetime_start = datetime('now', '-60 seconds') WHERE number = ?", (number,))
    db.commit()
    db.close()


def test_another_search_space_is_refused_on_the_same_study(tmp_path: Path) -> None:
    t = _tuning(_experiment(tmp_path, LR, trials=2))
    optimize(t, FakeLaunch())
    other = _tuning(_experiment(tmp_path, {"agent.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}, trials=2))
    with pytest.raises(ConfigError, match="another space"):
        open_study(other)


def test_the_top_configurations_are_rerun_on_fresh_seeds_and_reported(tmp_path: Path) -> None:
    from sweeps.collect import collect
    from sweeps.judge import judge
    from sweeps.render import write_report

    t = _tuning(_experiment(tmp_path, {"reward.terms.success_bonus.weight": {"low": 0.5, "high": 5.0}, **LR},
                            trials=6))
    launch = FakeLaunch()
    study = optimize(t, launch)
    top, code = confirm(t, study, launch)
    assert code == 0 and 1 <= len(top) <= 2 and top == top_trials(study, 2)
    fresh = [j for j in launch.jobs if any(o.startswith("name=confirm") for o in j)]
    assert sorted({int(dict(o.split("=", 1) for o in j)["seed"]) for j in fresh}) == [1000, 1001, 1002]
    assert all(not any(o.startswith("pause_at") for o in j) for j in fresh)  # the whole budget
    rep = judge(collect([t.root / "confirm"]))
    write_report(rep, t.root / "confirm" / "report", make_plots=False)
    files = write_outputs(t, study, top, rep)
    for k in ("history", "history_plot", "importances", "best_reward", "json", "markdown"):
        assert files[k].is_file(), k
    data = json.loads(files["json"].read_text())
    assert data["best"]["trial"] in [x.number for x in top] and data["best"]["confirmed"] is not None
    assert all(r["confirmed_seeds"] == 3 for r in data["top"])
    history = pd.read_csv(files["history"])
    assert len(history) == 6 and set(history["state"]) <= {"complete", "pruned", "fail"}
    reward = yaml.safe_load(files["best_reward"].read_text())["reward"]
    best = next(x for x in top if x.number == data["best"]["trial"])
    assert reward["terms"][1]["weight"] == pytest.approx(best.params["reward.terms.success_bonus.weight"], rel=1e-5)
    option = next(o.split("=", 1)[1] for o in best.user_attrs["design"] if o.startswith("reward="))
    trained = yaml.safe_load((t.root / "conf" / "reward" / f"{option}.yaml").read_text())
    assert trained["terms"] == reward["terms"]  # exactly the weights the trials trained with
    scene = load_scene("reach", {"reward": reward})  # drops into a scene
    assert scene.reward is not None
    md = files["markdown"].read_text()
    assert "winner's curse" in md and "Parameter importances" in md


def test_importances_use_optunas_evaluator_or_the_documented_fallback() -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    rng = np.random.default_rng(0)
    for _ in range(12):
        x = study.ask({"a": optuna.distributions.FloatDistribution(0, 1),
                       "b": optuna.distributions.FloatDistribution(0, 1)})
        study.tell(x, x.params["a"] * 3 + 0.01 * rng.normal())
    imp, how = importances(study)
    assert set(imp) == {"a", "b"} and imp["a"] > imp["b"] and ("PED-ANOVA" in how or "Spearman" in how)
    for _ in range(40):
        x = study.ask({"a": optuna.distributions.FloatDistribution(0, 1),
                       "b": optuna.distributions.FloatDistribution(0, 1)})
        study.tell(x, x.params["a"] * 3 + 0.01 * rng.normal())
    imp, how = importances(study)
    assert imp["a"] > imp["b"] and "PED-ANOVA" in how  # enough trials: Optuna's own evaluator
    tiny = optuna.create_study(direction="maximize")
    assert importances(tiny) == ({}, "too few complete trials (< 3) for importances")


def test_param_suggest_matches_its_kind() -> None:
    study = optuna.create_study()
    trial = study.ask()
    assert isinstance(Param("a", "int", 1, 9).suggest(trial), int)
    assert 1e-4 <= Param("b", "float", 1e-4, 1e-2, log=True).suggest(trial) <= 1e-2
    assert Param("c", "choice", choices=("x", "y")).suggest(trial) in ("x", "y")


@pytest.mark.parametrize(
    ("search", "extra", "words"),
    [
        ({"agent.learnig_rate": {"low": 1e-4, "high": 1e-3}}, [], ["search.agent.learnig_rate",
                                                                 "Did you mean 'agent.learning_rate'"]),
        ({"agent.minibatch_size": {"low": 0, "high": 64}}, [], ["search.agent.minibatch_size", "minibatch_size"]),
        (LR, ["seed=0,1"], ["chooses the seeds itself"]),
        (LR, ["agent.batch_size=512,1024"], ["sweeps agent.batch_size", "search them in `search:`"]),
        (LR, ["race.rungs=[0.5,2.0]"], ["race.rungs", "beyond the budget"]),
        (LR, ["race.metric=return"], ["race.metric"]),
        (LR, ["tune.seeds=0"], ["tune.seeds must be an integer >= 1"]),
        (LR, ["trials=0"], ["trials must be an integer >= 1"]),
    ],
)
def test_bad_input_fails_before_anything_trains_or_a_study_is_made(tmp_path: Path, search: dict, extra: list[str],
                                                                   words: list[str]) -> None:
    from sweeps.tune import tune

    with pytest.raises(ConfigError) as err:
        tune([*_experiment(tmp_path, search), *extra])
    assert all(w in str(err.value) for w in words), str(err.value)
    assert not (tmp_path / "runs").exists()  # no study, no trial folder


def share_the_study(tmp: str) -> None:
    """One worker of test_two_workers_share_one_study (run in its own process)."""
    t = _tuning(_experiment(Path(tmp), LR, trials=6))
    optimize(t, FakeLaunch())


def test_two_workers_share_one_study(tmp_path: Path) -> None:
    _experiment(tmp_path, LR, trials=6)
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); from test_tune import share_the_study; " \
           f"share_the_study({str(tmp_path)!r})"
    workers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    outs = [w.communicate(timeout=600)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outs
    assert all("trial #" in out for out in outs), outs  # both took trials from the study
    study = optuna.load_study(study_name="tune", storage=f"sqlite:///{tmp_path / 'runs' / 't' / 'study.db'}")
    numbers = [x.number for x in study.trials]
    assert len(numbers) == len(set(numbers)) and 6 <= finished(study) <= 7  # each stops once 6 are done
    assert all(x.state in (TrialState.COMPLETE, TrialState.PRUNED) for x in study.trials)
