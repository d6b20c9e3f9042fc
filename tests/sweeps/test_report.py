"""The report on fabricated sweeps with known answers: grouping, ranking, intervals, verdict,
warnings, reward analytics and the files it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweeps_fakes import episodes_frame, fake_trial

from envkit.cli import main as cli
from envkit.errors import ConfigError
from sweeps.judge import build_report
from sweeps.render import comparison_rows, write_report
from sweeps.stats import iqm
from sweeps.summary import curve_metrics

GOOD = [[0.2, 0.7, 0.9, 1.0], [0.1, 0.8, 1.0, 0.9], [0.3, 0.9, 0.9, 1.0]]
BAD = [[0.0, 0.1, 0.0, 0.1], [0.0, 0.0, 0.2, 0.1], [0.1, 0.0, 0.1, 0.0]]


def test_curve_metrics_hand_computed() -> None:
    evals = pd.DataFrame({"global_step": [1000, 2000, 3000], "mean_return": [-3.0, -2.0, -1.0],
                          "success_rate": [0.0, 0.5, 1.0]})
    m = curve_metrics(evals, threshold=0.8, final_evals=2)
    assert m["final_success"] == pytest.approx(0.75) and m["last_success"] == 1.0
    assert m["final_return"] == pytest.approx(-1.5)
    assert m["auc_success"] == pytest.approx((0.25 * 1000 + 0.75 * 1000) / 2000)
    assert m["steps_to_threshold"] == 3000
    never = curve_metrics(evals.assign(success_rate=[0.0, 0.1, 0.2]), threshold=0.8, final_evals=2)
    assert never["steps_to_threshold"] is None
    no_success = curve_metrics(evals.assign(success_rate=np.nan), 0.8, 2)
    assert no_success["final_success"] is None and no_success["final_return"] == pytest.approx(-1.5)
    assert curve_metrics(pd.DataFrame(), 0.8, 2)["n_evals"] == 0


def _two_designs(root: Path, a: list[list[float]], b: list[list[float]]) -> None:
    for seed, (ca, cb) in enumerate(zip(a, b, strict=True)):
        fake_trial(root, {"reward": "good"}, seed, ca, [c * 10 for c in ca])
        fake_trial(root, {"reward": "bad"}, seed, cb, [c * 10 for c in cb])


def test_a_clear_winner_is_named_with_its_margin(tmp_path: Path) -> None:
    _two_designs(tmp_path, GOOD, BAD)
    rep = build_report([tmp_path], reps=1000)
    assert rep.keys == ["reward"] and [d.label for d in rep.designs] == ["reward=good", "reward=bad"]
    best = rep.designs[0]
    finals = [np.mean(c[-2:]) for c in GOOD]  # final_evals=2 in the fakes
    assert best.success.value == pytest.approx(iqm(finals)) and best.seeds == 3
    assert best.reached == 3 and best.steps_to_threshold == 2000.0
    p = rep.improvement["reward=bad"]
    assert (p.value, p.low, p.high) == (1.0, 1.0, 1.0)
    assert rep.verdict.startswith("reward=good") and "learns best" in rep.verdict
    assert "non-overlapping" in rep.verdict and "every other design" in rep.verdict
    assert rep.warnings == []


def test_overlapping_designs_give_no_clear_winner(tmp_path: Path) -> None:
    _two_designs(tmp_path, GOOD, [[0.2, 0.8, 1.0, 0.8], [0.1, 0.7, 0.8, 1.0], [0.2, 0.9, 1.0, 0.9]])
    rep = build_report([tmp_path], reps=1000)
    assert rep.verdict.startswith("No clear winner")
    assert 0.0 < rep.improvement[rep.designs[1].label].value < 1.0


def test_no_probability_of_improvement_against_a_single_seed(tmp_path: Path) -> None:
    # one seed of "lucky" at the top: its interval is a point, and so would be P(lucky > other)
    fake_trial(tmp_path, {"reward": "lucky"}, 0, [0.9, 1.0, 1.0], [9.0, 10.0, 10.0])
    for seed, curve in enumerate(GOOD):
        fake_trial(tmp_path, {"reward": "good"}, seed, curve, [c * 10 for c in curve])
        fake_trial(tmp_path, {"reward": "bad"}, seed, BAD[seed], [c * 10 for c in BAD[seed]])
    rep = build_report([tmp_path], reps=500)
    assert [d.label for d in rep.designs][0] == "reward=lucky" and rep.designs[0].seeds == 1
    assert rep.improvement == {}
    assert "P(" not in rep.verdict and any("fewer than 3" in w for w in rep.warnings)
    rows = {r["reward"]: r for r in comparison_rows(rep)}
    assert rows["lucky"]["P(best > this)"] == "best" and rows["good"]["P(best > this)"] == "-"
    assert rows["bad"]["P(best > this)"] == "-"


def test_designs_rank_by_success_not_by_return(tmp_path: Path) -> None:
    for seed in range(3):  # "loud" pays 100x more per episode but rarely succeeds
        fake_trial(tmp_path, {"reward": "loud"}, seed, [0.1, 0.1], [900.0, 1000.0])
        fake_trial(tmp_path, {"reward": "quiet"}, seed, [0.8, 0.9], [8.0, 9.0])
    rep = build_report([tmp_path], reps=500)
    assert rep.metric == "success" and rep.designs[0].label == "reward=quiet"


def test_without_success_designs_rank_by_return_and_say_so(tmp_path: Path) -> None:
    for seed in range(3):
        fake_trial(tmp_path, {"reward": "a"}, seed, None, [-300.0, -200.0 + seed])
        fake_trial(tmp_path, {"reward": "b"}, seed, None, [-900.0, -800.0 + seed])
    rep = build_report([tmp_path], reps=500)
    assert rep.metric == "return" and rep.designs[0].label == "reward=a"
    assert "ranked by return" in rep.verdict


def test_design_keys_are_what_varies_seeds_excluded(tmp_path: Path) -> None:
    for r in ("v1", "v2"):
        for b in (5000, 50000):
            for seed in range(2):
                fake_trial(tmp_path, {"reward": r, "agent.batch_size": b, "budget.timesteps": 100}, seed,
                           [0.5, 0.5], [1.0, 1.0])
    rep = build_report([tmp_path], reps=200)
    assert rep.keys == ["reward", "agent.batch_size"]
    assert sorted(d.label for d in rep.designs) == sorted(
        f"reward={r} agent.batch_size={b}" for r in ("v1", "v2") for b in (5000, 50000))
    assert all(d.seeds == 2 for d in rep.designs)
    assert any("fewer than 3 completed seeds" in w for w in rep.warnings)


def test_failed_and_killed_trials_are_reported_and_left_out(tmp_path: Path) -> None:
    _two_designs(tmp_path, GOOD, BAD)
    fake_trial(tmp_path, {"reward": "good"}, 7, [0.0], [0.0], status="failed",
               error="Training diverged: value_loss became nan at step 1000.")
    fake_trial(tmp_path, {"reward": "bad"}, 8, [0.0], [0.0], status="running", write_summary_file=False)
    rep = build_report([tmp_path], reps=500)
    good = next(d for d in rep.designs if d.label == "reward=good")
    bad = next(d for d in rep.designs if d.label == "reward=bad")
    assert (good.seeds, good.failed, bad.seeds, bad.incomplete) == (3, 1, 3, 1)
    text = " ".join(rep.warnings)
    assert "1 trial(s) failed" in text and "value_loss became nan" in text
    assert "1 trial(s) have no summary" in text and "seed=8" in text
    assert rep.verdict.startswith("reward=good")  # the finished trials still give a verdict
    from sweeps.render import comparison_rows

    # the table counts a still-running trial as left out of the estimates, not as failed
    assert {r["reward"]: r["left out"] for r in comparison_rows(rep)} == {"good": 1, "bad": 1}


def test_reward_gaming_is_flagged(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for seed in range(3):
        gamed = episodes_frame(200, 0.05, lambda i, s: i * 1.0 + rng.normal(0, 5, len(i)), rng)
        honest = episodes_frame(200, np.linspace(0.0, 0.9, 200), lambda i, s: 100 * s + rng.normal(0, 5, len(i)), rng)
        fake_trial(tmp_path, {"reward": "gamed"}, seed, [0.0, 0.05], [10.0, 190.0], episodes=gamed)
        fake_trial(tmp_path, {"reward": "honest"}, seed, [0.3, 0.9], [30.0, 90.0], episodes=honest)
    rep = build_report([tmp_path], reps=500)
    gamed = next(d for d in rep.designs if d.label == "reward=gamed")
    honest = next(d for d in rep.designs if d.label == "reward=honest")
    assert len(gamed.gamed) == 3 and honest.gamed == []
    assert any(w.startswith("Possible reward gaming in reward=gamed") for w in rep.warnings)
    corr = {c.design: c for c in rep.correlations}
    assert corr["reward=honest"].r_episodes > 0.9
    assert abs(corr["reward=gamed"].r_episodes) < 0.3


def test_term_contributions_show_which_term_follows_success(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    terms = {"bonus": lambda i, s: 500.0 * s, "time": lambda i, s: np.full(len(i), -50.0),
             "noise": lambda i, s: rng.normal(0, 1, len(i))}
    for seed in range(3):
        eps = episodes_frame(300, np.linspace(0.1, 0.9, 300), lambda i, s: 500 * s - 50, rng, terms)
        fake_trial(tmp_path, {"reward": "r"}, seed, [0.2, 0.8], [1.0, 2.0], episodes=eps)
    rep = build_report([tmp_path], reps=200)
    rows = {r.term: r for r in rep.terms}
    assert rows["bonus"].corr_with_success == pytest.approx(1.0)
    assert rows["time"].corr_with_success is None  # constant: no correlation to speak of
    assert abs(rows["noise"].corr_with_success) < 0.2
    assert rows["time"].mean_per_episode == pytest.approx(-50.0) and rows["time"].fires == 1.0
    late_success = np.mean([0.5 + 0.4 * x for x in np.linspace(0, 1, 150)])  # roughly, the last half
    assert rows["bonus"].mean_per_episode == pytest.approx(500 * late_success, rel=0.1)
    assert sum(r.share for r in rep.terms) == pytest.approx(1.0)


def test_report_files_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(2)
    for seed, (ca, cb) in enumerate(zip(GOOD, BAD, strict=True)):
        for name, c in (("good", ca), ("bad", cb)):
            eps = episodes_frame(120, np.mean(c), lambda i, s: 10 * s, rng, {"bonus": lambda i, s: 10 * s})
            fake_trial(tmp_path / "sweep", {"reward": name}, seed, c, [x * 10 for x in c], episodes=eps)
    out = tmp_path / "out"
    assert cli(["report", str(tmp_path / "sweep"), "--out", str(out), "--reps", "500"]) == 0
    printed = capsys.readouterr().out
    assert "Verdict:" in printed and "reward=good" in printed and "comparison.md" in printed
    for name in ("comparison.md", "comparison.csv", "comparison.html", "trials.csv", "terms.csv", "report.json"):
        assert (out / name).stat().st_size > 0, name
    for png in ("learning_curves", "episode_returns", "reward_terms", "intervals", "improvement"):
        data = (out / "plots" / f"{png}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, png
    table = pd.read_csv(out / "comparison.csv")
    assert table["design"].tolist() == ["reward=good", "reward=bad"]
    assert table.loc[0, "success_low"] <= table.loc[0, "success_iqm"] <= table.loc[0, "success_high"]
    md = (out / "comparison.md").read_text()
    assert "## Verdict" in md and "| rank | reward |" in md and "Which term drives learning" in md
    assert len(pd.read_csv(out / "trials.csv")) == 6


def test_bad_sweep_folders_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="no such sweep directory"):
        build_report([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="no trials found"):
        build_report([tmp_path])
    assert cli(["report", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "no such sweep directory" in err and "Traceback" not in err
    assert cli(["report", str(tmp_path), "--reps", "5"]) == 1
    assert "--reps" in capsys.readouterr().err


def test_a_partial_report_works_with_no_completed_trial(tmp_path: Path) -> None:
    fake_trial(tmp_path, {"reward": "a"}, 0, [0.1], [1.0], status="running", write_summary_file=False)
    rep = build_report([tmp_path], reps=200)
    write_report(rep, tmp_path / "report")
    assert rep.verdict.startswith("No trial has completed yet")
    assert (tmp_path / "report" / "comparison.md").is_file()


def test_task_key_pools_designs_over_tasks_with_stratified_intervals(tmp_path: Path) -> None:
    # reward=a solves scene "easy" every time and scene "hard" never; resampling within each
    # scene keeps its pooled IQM exact, so its interval is a point
    for seed in range(3):
        fake_trial(tmp_path, {"scene": "easy", "reward": "a"}, seed, [1.0, 1.0], [1.0, 1.0])
        fake_trial(tmp_path, {"scene": "hard", "reward": "a"}, seed, [0.0, 0.0], [0.0, 0.0])
        fake_trial(tmp_path, {"scene": "easy", "reward": "b"}, seed, [0.1 * seed] * 2, [0.0, 0.0])
        fake_trial(tmp_path, {"scene": "hard", "reward": "b"}, seed, [0.0, 0.0], [0.0, 0.0])
    per_scene = build_report([tmp_path], reps=300)
    assert per_scene.keys == ["scene", "reward"] and len(per_scene.designs) == 4
    pooled = build_report([tmp_path], reps=300, task_key="scene")
    assert pooled.keys == ["reward"] and [d.label for d in pooled.designs] == ["reward=a", "reward=b"]
    a = pooled.designs[0]
    assert a.seeds == 6 and (a.success.value, a.success.low, a.success.high) == (0.5, 0.5, 0.5)
