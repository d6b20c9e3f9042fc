"""The racing rule (sweeps/racing.py) against known answers: the rule's settings and their errors,
rung steps, the learning curve up to a rung, the scores, and the decisions (eliminate a design
whose interval lies below the leader's, keep close ones and give them seeds, the eta cap)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from sweeps.racing import (
    RaceRecord,
    RaceRule,
    RungRecord,
    check_rule,
    curve_score,
    curve_until,
    decide,
    leg_end,
    load_record,
    rung_steps,
)
from sweeps.trial import mark_pause, prepare

# ---------------------------------------------------------------------------------- the settings


def test_rule_appends_the_full_budget_and_defaults_max_seeds_to_min_seeds() -> None:
    rule = check_rule([0.1, 0.3], 3, None, None, "success")
    assert rule.rungs == (0.1, 0.3, 1.0) and rule.max_seeds == 3 and rule.eta is None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (([0.1, 1.5], 3, None, None, "success"), ["race.rungs", "1.5", "beyond the budget"]),
        (([0.3, 0.1], 3, None, None, "success"), ["race.rungs", "increase"]),
        (([], 3, None, None, "success"), ["race.rungs", "empty"]),
        (([0.0, 0.5], 3, None, None, "success"), ["race.rungs", "fraction"]),
        (([1.0], 3, None, None, "success"), ["race.rungs", "no rung before the end"]),
        ((["a"], 3, None, None, "success"), ["race.rungs", "fractions"]),
        (([0.1], 3, None, None, "return"), ["race.metric", "success, auc"]),
        (([0.1], 0, None, None, "success"), ["race.min_seeds", ">= 1"]),
        (([0.1], 3, 2, None, "success"), ["race.max_seeds", ">= race.min_seeds"]),
        (([0.1], 3, None, 1.0, "success"), ["race.eta", "> 1"]),
    ],
)
def test_bad_race_settings_name_the_field(args: tuple, words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        check_rule(*args)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_rung_steps_are_multiples_of_eval_every_and_the_last_is_the_budget() -> None:
    assert rung_steps((0.1, 0.3, 1.0), 20000, 2000) == [2000, 6000, 20000]
    assert rung_steps((0.1, 0.3, 1.0), 20000, 3000) == [3000, 6000, 20000]
    assert rung_steps((0.01, 1.0), 20000, 2000) == [2000, 20000]  # at least one evaluation in
    with pytest.raises(ValueError, match="rounds to 2000 steps"):
        rung_steps((0.1, 0.12, 1.0), 20000, 2000)
    with pytest.raises(ValueError, match="not before the budget"):
        rung_steps((0.9, 1.0), 2000, 2000)


# ---------------------------------------------------------------------------------- scores

CURVE = pd.DataFrame({"global_step": [0, 1010, 2020, 3030, 4040], "success_rate": [0.1, 0.2, 0.4, 0.6, 1.0]})


def test_curve_until_a_rung_uses_the_recorded_leg_end_or_the_nearest_evaluation() -> None:
    assert list(curve_until(CURVE, 2000, 1000)["global_step"]) == [0, 1010, 2020]  # nearest to 2000
    assert list(curve_until(CURVE, 2000, 1000, leg_end=1990)["global_step"]) == [0, 1010]  # a paused leg
    late = pd.DataFrame({"global_step": [0, 5000, 10000], "success_rate": [0.0, 0.5, 1.0]})
    assert list(curve_until(late, 2000, 1000)["global_step"]) == [0, 5000]  # first evaluation after training


def test_curve_scores_are_the_reports_final_success_and_auc() -> None:
    assert curve_score(CURVE, "success", 2) == pytest.approx(0.8)
    assert curve_score(CURVE.iloc[:3], "success", 3) == pytest.approx(0.7 / 3)
    steps, succ = CURVE["global_step"].to_numpy(float), CURVE["success_rate"].to_numpy(float)
    area = np.sum((succ[1:] + succ[:-1]) * np.diff(steps)) / 2 / steps[-1]
    assert curve_score(CURVE, "auc", 3) == pytest.approx(area)
    assert np.isnan(curve_score(CURVE.assign(success_rate=np.nan), "success", 3))
    assert np.isnan(curve_score(pd.DataFrame(), "auc", 3))


def test_leg_end_reads_legs_json(tmp_path: Path) -> None:
    (tmp_path / "legs.json").write_text(json.dumps({"legs": [{"pause_at": 2000, "global_step": 1987}]}))
    assert leg_end(tmp_path, 2000) == 1987 and leg_end(tmp_path, 6000) is None


# ---------------------------------------------------------------------------------- decisions

RULE = RaceRule(rungs=(0.1, 0.3, 1.0), min_seeds=3, max_seeds=3)


def _by(standings):  # noqa: ANN001, ANN202
    return {s.design: s for s in standings}


def test_a_design_whose_interval_lies_below_the_leaders_is_eliminated() -> None:
    out = _by(decide({"good": [0.8, 0.9, 0.85], "bad": [0.0, 0.1, 0.05], "close": [0.7, 0.95, 0.8]}, RULE, last=False))
    assert out["good"].decision == "leader"
    assert out["bad"].decision == "eliminated" and not out["bad"].goes_on
    assert "lies entirely below the leader's" in out["bad"].why and "(good)" in out["bad"].why
    assert out["bad"].interval.high < out["good"].interval.low
    assert out["close"].decision == "continue" and "overlaps" in out["close"].why
    assert all(s.add_seeds == 0 for s in out.values())  # max_seeds == min_seeds: no seeds added


def test_close_designs_and_the_leader_get_seeds_up_to_max_seeds() -> None:
    rule = RaceRule(min_seeds=3, max_seeds=4)
    scores = {"a": [0.8, 0.9, 0.7], "b": [0.6, 0.95, 0.75], "c": [0.0, 0.0, 0.1]}
    out = _by(decide(scores, rule, last=False, seeds={"a": 3, "b": 3, "c": 3}))
    assert out["a"].add_seeds == 1 and out["b"].add_seeds == 1 and out["c"].add_seeds == 0
    out = _by(decide(scores, rule, last=False, seeds={"a": 4, "b": 4, "c": 3}))
    assert out["a"].add_seeds == 0 and out["b"].add_seeds == 0  # at max_seeds
    clear = _by(decide({"a": [0.9, 0.9, 0.95], "c": [0.0, 0.1, 0.0]}, rule, last=False))
    assert clear["a"].add_seeds == 0  # nobody close: no seed for the leader either


def test_one_scored_seed_is_no_interval_and_eliminates_nothing() -> None:
    out = _by(decide({"good": [0.9], "bad": [0.0, 0.0, 0.0]}, RULE, last=False, seeds={"good": 3, "bad": 3}))
    assert out["bad"].decision == "continue" and "fewer than 2 scored seeds" in out["bad"].why


def test_eta_keeps_the_top_fraction_but_never_the_leader_out() -> None:
    rule = RaceRule(eta=2.0)
    scores = {f"d{i}": [0.4 + i / 100, 0.6 + i / 100, 0.5 + i / 100] for i in range(4)}  # all overlap
    out = _by(decide(scores, rule, last=False))
    assert [k for k, s in out.items() if s.goes_on] == ["d3", "d2"]
    assert out["d0"].decision == "cut" and "top 1/2" in out["d0"].why


def test_a_design_without_scores_is_out_and_the_last_rung_only_ranks() -> None:
    out = _by(decide({"a": [0.9, 0.8, 0.85], "b": []}, RULE, last=False, seeds={"a": 3, "b": 3}))
    assert out["b"].decision == "failed"
    last = decide({"a": [0.9, 0.8, 0.85], "b": [0.0, 0.1, 0.0]}, RULE, last=True)
    assert [s.decision for s in last] == ["finished", "finished"] and last[0].design == "a"


def test_decisions_are_reproducible() -> None:
    scores = {"a": [0.3, 0.5, 0.4], "b": [0.1, 0.2, 0.15]}
    one, two = decide(scores, RULE, last=False), decide(scores, RULE, last=False)
    assert [(s.design, s.interval, s.decision) for s in one] == [(s.design, s.interval, s.decision) for s in two]


def test_the_record_round_trips_through_race_json(tmp_path: Path) -> None:
    rec = RaceRecord({"rungs": [0.1, 1.0]}, {"a": {"status": "finished"}},
                     [RungRecord(0, 0.1, "a", [{"design": "a", "decision": "leader"}])], 100, 400, True)
    (tmp_path / "race.json").write_text(json.dumps(rec.to_json()))
    back = load_record(tmp_path)
    assert back == rec and back.compute_fraction == 0.25
    (tmp_path / "race.json").write_text("{cut off")
    assert load_record(tmp_path) is None


# ---------------------------------------------------------------------------------- paused trials


def _cfg(pause_at: int | None) -> object:
    return OmegaConf.create({"resume": True, "progress": "none", "pause_at": pause_at,
                             "agent": {"total_timesteps": 6000}})


def _paused_job(tmp_path: Path, paused_at: int = 2000, checkpoint: bool = True) -> Path:
    job = tmp_path / "reward=a,seed=0"
    (job / ".hydra").mkdir(parents=True)
    (job / "trial.json").write_text(json.dumps({"fingerprint": "same"}))
    (job / "summary.json").write_text(json.dumps({"status": "paused", "paused_at": paused_at, "global_step": 1990}))
    (job / "status.json").write_text(json.dumps({"status": "completed", "global_step": 1990,
                                                 "total_timesteps": paused_at}))
    if checkpoint:
        (job / "checkpoints").mkdir()
        (job / "checkpoints" / "last.pt").write_bytes(b"x")
    return job


def test_a_paused_trial_is_skipped_up_to_its_pause_and_continued_beyond_it(tmp_path: Path) -> None:
    job = _paused_job(tmp_path)
    assert prepare(job, "same", _cfg(2000))[0] == "skip"
    assert prepare(job, "same", _cfg(1000))[0] == "skip"  # already further than asked
    assert prepare(job, "same", _cfg(4000))[0] == "resume"
    assert prepare(job, "same", _cfg(None))[0] == "resume"  # the whole budget
    assert not (job / "attempts").exists()
    assert prepare(job, "changed", _cfg(4000))[0] == "fresh"  # another config: redone, files kept aside
    assert (job / "attempts" / "1" / "summary.json").is_file()


def test_a_leg_whose_summary_was_not_written_is_continued_when_asked_further(tmp_path: Path) -> None:
    job = _paused_job(tmp_path)
    (job / "summary.json").unlink()
    assert prepare(job, "same", _cfg(2000))[0] == "summarize"
    assert prepare(job, "same", _cfg(4000))[0] == "resume"


def test_a_run_that_stopped_short_of_its_budget_is_marked_paused_with_its_leg(tmp_path: Path) -> None:
    summary = {"status": "completed", "total_timesteps": 2000, "global_step": 1987}
    mark_pause(tmp_path, summary, 6000)
    assert summary["status"] == "paused" and summary["paused_at"] == 2000 and leg_end(tmp_path, 2000) == 1987
    mark_pause(tmp_path, {"status": "completed", "total_timesteps": 4000, "global_step": 3990}, 6000)
    assert leg_end(tmp_path, 2000) == 1987 and leg_end(tmp_path, 4000) == 3990
    done = {"status": "completed", "total_timesteps": 6000, "global_step": 5990}
    mark_pause(tmp_path, done, 6000)
    assert done["status"] == "completed" and "paused_at" not in done
    failed = {"status": "failed", "total_timesteps": 2000, "global_step": 100}
    mark_pause(tmp_path, failed, 6000)
    assert failed["status"] == "failed"
