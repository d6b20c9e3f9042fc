"""`envkit lint`: every rule fires on a crafted bad design and stays silent on the bundled good ones."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import envkit
from envkit.analysis.lint import lint_scene
from envkit.cli import main
from envkit.loader import load_scene
from envkit.robot import NEUTRAL_EE_OFFSET
from rewards import REGISTRY, register

SORT_SCENES = ("sort-1", "sort-1-blocker", "sort-2", "sort-5-blocker")

#: Task A (peg-in-hole) as far as the lint is concerned: a goal, 5 mm steps, 100-step
#: limit, terminations on collisions and on straying 0.8 m from the goal.
TASK_A_LIKE: dict[str, Any] = {
    "name": "peg-like",
    "robot": {"control": "ee", "gripper": False, "ee_step": 0.005},
    "tables": [{"name": "table", "size": [1.1, 0.7], "center": [-0.3, 0.0], "top": 0.0}],
    "obstacles": [{"name": "fixture", "position": [0.0, 0.0, 0.02], "half_extents": [0.04, 0.04, 0.02]}],
    "goal": {"position": [0.0, 0.0, 0.05], "range": {"x": [-0.1, 0.1], "y": [-0.1, 0.1]}, "threshold": 0.01},
    "episode": {
        "max_steps": 100,
        "terminate_on": {
            "success": True,
            "all_objects_removed": False,
            "goal_distance_above": 0.8,
            "collisions": [["robot", "table"], ["robot", "fixture"]],
        },
    },
    "reward": "peg_progress",
}


def lint(scene: Any, reward: Any = None, gamma: float = 0.99, **overrides: Any):
    ov = dict(overrides)
    if reward is not None:
        ov["reward"] = reward
    return lint_scene(load_scene(scene, ov), gamma=gamma)


def rules(report, severity: str | None = None) -> list[str]:
    return [f.rule for f in report.findings if severity is None or f.severity == severity]


def the(report, rule: str):
    found = [f for f in report.findings if f.rule == rule]
    assert len(found) == 1, f"expected one {rule}, got {report.findings}"
    return found[0]


# --------------------------------------------------------------------------- good designs are clean


GOOD = [(s, "sort_fixed") for s in SORT_SCENES] + [("reach", "reach_dense"), ("reach", "reach_sparse"), ("push", "push_dense")]


@pytest.mark.parametrize(("scene", "preset"), GOOD)
def test_bundled_good_designs_lint_clean(scene: str, preset: str) -> None:
    report = lint(scene, preset)
    assert report.findings == [], report.findings


def test_task_a_progress_reward_lints_clean() -> None:
    assert lint(TASK_A_LIKE).findings == []


@pytest.mark.parametrize("scene", ["reach", "push"])
def test_bundled_scene_defaults_that_are_not_task_b_reproductions_lint_clean(scene: str) -> None:
    assert lint(scene).clean


# --------------------------------------------------------------------------- wrong outcome pays


@pytest.mark.parametrize("scene", SORT_SCENES)
@pytest.mark.parametrize("preset", ["sort_v1", "sort_v2"])
def test_task_b_tables_are_flagged_for_paying_wrong_sorts(scene: str, preset: str) -> None:
    report = lint(scene, preset)
    finding = the(report, "wrong-outcome-pays")
    assert finding.severity == "error" and finding.terms == ("object_in_bin",)
    pay = 25 if preset == "sort_v1" else 200
    assert f"A wrong sort pays +{pay} per object" in finding.message
    assert "object_in_wrong_bin" in finding.fix


def test_a_wrong_bin_penalty_smaller_than_the_any_bin_bonus_still_pays() -> None:
    design = [
        {"term": "object_in_bin", "weight": 25},
        {"term": "object_in_correct_bin", "weight": 100},
        {"term": "object_in_wrong_bin", "weight": -10},
    ]
    finding = the(lint("sort-1", design), "wrong-outcome-pays")
    assert "+15 per object" in finding.message and set(finding.terms) == {
        "object_in_bin",
        "object_in_wrong_bin",
    }
    design[2]["weight"] = -30
    assert "wrong-outcome-pays" not in rules(lint("sort-1", design))


def test_any_bin_bonus_is_fine_when_every_bin_accepts_every_spawned_shape() -> None:
    """Reasoning from the scene: cubes only, and the cube bin is the only one... no wrong sort exists."""
    report = lint(
        "sort-1",
        [{"term": "object_in_bin", "weight": 25}, {"term": "object_in_wrong_bin", "weight": -50}],
        **{
            "objects.shapes": ["cube"],
            "bins": [
                {
                    "name": "b",
                    "position": [-0.25, 0.0, 0.01],
                    "half_extents": [0.05, 0.1, 0.01],
                    "accepts": ["cube"],
                }
            ],
        },
    )
    assert "wrong-outcome-pays" not in rules(report)
    dead = the(report, "cannot-fire")
    assert dead.terms == ("object_in_wrong_bin",) and "every bin accepts every shape" in dead.message


def test_paying_for_the_floor_or_punishing_success_is_an_error() -> None:
    report = lint(
        "sort-1", [{"term": "object_on_floor", "weight": 5}, {"term": "object_in_correct_bin", "weight": 1}]
    )
    assert "Knocking an object to the floor pays +5" in the(report, "wrong-outcome-pays").message
    report = lint("reach", [{"term": "success_bonus", "weight": -1}])
    assert "Success is punished" in the(report, "wrong-outcome-pays").message


# --------------------------------------------------------------------------- early exit


def _v1_without_wrong_sorts(floor: float = -10, correct: float = 100) -> list[dict[str, Any]]:
    return [
        {"term": "time_penalty", "weight": -1},
        {"term": "object_on_floor", "weight": floor},
        {"term": "object_in_correct_bin", "weight": correct},
        {"term": "object_in_wrong_bin", "weight": -correct},
    ]


def test_knocking_objects_off_beats_a_failed_attempt_under_task_b_time_penalty() -> None:
    report = lint("sort-1", _v1_without_wrong_sorts())
    f = the(report, "early-exit-trap")
    assert f.severity == "warning" and set(f.terms) == {"object_on_floor", "time_penalty"}
    assert (
        "Route 'floor'" in f.message
        and "750-step limit" in f.message
        and "succeeds in more than" in f.message
    )
    values = {s.name: s.value for s in report.scenarios}
    assert values["exit:floor"] > values["timeout"]
    # hand check of the timeout: 750 steps of -1 discounted at 0.99
    assert values["timeout"] == pytest.approx(-(1 - 0.99**750) / 0.01)


def test_early_exit_is_an_error_when_it_beats_even_success() -> None:
    """Five objects: knocking them off (~39 steps) is faster than sorting them (~73) and costs less."""
    report = lint("sort-5-blocker", _v1_without_wrong_sorts(floor=-1, correct=2))
    floor = [f for f in report.findings if f.rule == "early-exit-trap" and "Route 'floor'" in f.message]
    assert len(floor) == 1 and floor[0].severity == "error"
    assert "optimal policy is to end the episode" in floor[0].message


def test_early_exit_depends_on_gamma_horizon_and_penalty() -> None:
    design = _v1_without_wrong_sorts()
    assert "early-exit-trap" in rules(lint("sort-1", design, gamma=0.99))
    assert "early-exit-trap" not in rules(lint("sort-1", design, gamma=0.8))  # short horizon: time is cheap
    assert "early-exit-trap" not in rules(lint("sort-1", design, **{"episode.max_steps": 20}))
    assert "early-exit-trap" not in rules(lint("sort-1", _v1_without_wrong_sorts(floor=-150)))
    # the floor only ends the episode because removed objects terminate it
    assert "early-exit-trap" not in rules(
        lint("sort-1", design, **{"episode.terminate_on.all_objects_removed": False})
    )


def test_a_terminating_collision_without_a_penalty_is_an_exit() -> None:
    design = [
        {"term": "distance_progress"},
        {"term": "success_bonus", "weight": 1},
        {"term": "time_penalty", "weight": -0.1},
    ]
    report = lint(TASK_A_LIKE, design)
    exits = [f for f in report.findings if f.rule == "early-exit-trap"]
    assert {f.message.split("Route '")[1].split("'")[0] for f in exits} == {
        "collision:robot-table",
        "collision:robot-fixture",
    }
    assert "{term: collision, weight:" in exits[0].fix


# --------------------------------------------------------------------------- loitering


def test_positive_dense_reward_with_termination_on_success_is_a_loitering_trap() -> None:
    report = lint("reach", [{"term": "goal_distance_tanh", "weight": 1, "params": {"std": 0.1}}])
    f = the(report, "loitering-trap")
    assert f.severity == "error" and f.terms == ("goal_distance_tanh",) and "stalls just short" in f.message


def test_the_same_term_without_termination_on_success_is_no_trap() -> None:
    report = lint(
        "reach",
        [{"term": "goal_distance_tanh", "weight": 1}],
        **{"episode.terminate_on.success": False},
    )
    assert "loitering-trap" not in rules(report)


def test_holding_objects_up_forever_beats_sorting() -> None:
    design = _v1_without_wrong_sorts(floor=-200) + [{"term": "object_lifted", "weight": 2}]
    f = the(lint("sort-1", design), "loitering-trap")
    assert "object_lifted" in f.terms


def test_paying_for_a_pinch_every_step_is_a_trap_and_as_a_potential_it_is_not() -> None:
    design = _v1_without_wrong_sorts(floor=-200) + [{"term": "object_grasped", "weight": 2}]
    f = the(lint("sort-1", design), "loitering-trap")
    assert "object_grasped" in f.terms
    shaped = _v1_without_wrong_sorts(floor=-200) + [
        {"term": "potential", "name": "grasp", "weight": 2, "params": {"phi": "object_grasped", "gamma": 1.0}}
    ]
    assert "loitering-trap" not in rules(lint("sort-1", shaped))


def test_small_per_step_bonus_is_a_warning_for_bootstrapping_agents() -> None:
    design = [{"term": "time_penalty", "weight": 0.02}, {"term": "success_bonus", "weight": 1.0}]
    f = the(lint("reach", design), "loitering-trap")
    assert f.severity == "warning" and "bootstraps" in f.message


# --------------------------------------------------------------------------- scale dominance


def test_a_term_100x_smaller_than_another_is_flagged() -> None:
    design = [{"term": "success_bonus", "weight": 1000}, {"term": "action_l2", "weight": -0.001}]
    f = the(lint("reach", design), "scale-dominance")
    assert f.terms == ("action_l2", "success_bonus") and f.severity == "warning"
    design[1]["weight"] = -0.5
    assert "scale-dominance" not in rules(lint("reach", design))


# --------------------------------------------------------------------------- cannot fire


@pytest.mark.parametrize(
    ("scene", "term", "why"),
    [
        ("reach", "object_in_correct_bin", "the scene has no bins"),
        ("reach", "object_on_floor", "the scene has no objects"),
        ("sort-1", "goal_distance", "the scene has no goal"),
        ("reach", "collision", "lists no body pairs"),
        ("push", "object_grasped", "the robot has no gripper"),
    ],
)
def test_terms_that_cannot_fire_in_the_scene(scene: str, term: str, why: str) -> None:
    report = lint(scene, [{"term": "success_bonus", "weight": 1}, {"term": term, "weight": -1}])
    f = the(report, "cannot-fire")
    assert f.terms == (term,) and why in f.message


def test_success_bonus_without_a_success_condition_cannot_fire() -> None:
    report = lint("sort-1", [{"term": "success_bonus", "weight": 1}], **{"episode.success": "none"})
    assert "no success condition" in the(report, "cannot-fire").message


def test_potential_inherits_what_phi_requires() -> None:
    design = _v1_without_wrong_sorts(floor=-200) + [
        {"term": "potential", "weight": -1, "params": {"phi": "goal_distance"}}
    ]
    assert the(lint("sort-1", design), "cannot-fire").terms == ("potential",)


# --------------------------------------------------------------------------- shaping


def test_dense_hint_next_to_a_sparse_task_reward_is_not_potential_based() -> None:
    design = _v1_without_wrong_sorts(floor=-200) + [{"term": "ee_object_distance", "weight": -1}]
    f = the(lint("sort-1", design), "non-potential-shaping")
    assert f.terms == ("ee_object_distance",)
    assert "{term: potential, weight: -1, params: {phi: ee_object_distance, gamma: 0.99}}" in f.fix


def test_dense_distance_alone_is_the_objective_not_shaping() -> None:
    assert "non-potential-shaping" not in rules(lint("reach", "reach_dense"))


def test_potential_with_a_different_gamma_than_the_agent() -> None:
    f = the(lint("sort-1", "sort_fixed", gamma=0.95), "non-potential-shaping")
    assert f.terms == ("approach_object",) and "0.99" in f.message and "0.95" in f.message


def test_potential_over_an_event_term_is_not_a_state_potential() -> None:
    design = _v1_without_wrong_sorts(floor=-200) + [
        {"term": "potential", "weight": 1, "params": {"phi": "object_in_bin"}}
    ]
    assert "not on the state alone" in the(lint("sort-1", design), "non-potential-shaping").message


# --------------------------------------------------------------------------- user terms, facts, CLI


def test_user_terms_are_reported_as_not_analysed() -> None:
    @register("test_user_term")
    def test_user_term(ctx) -> float:
        return 0.0

    try:
        report = lint("reach", [{"term": "goal_distance", "weight": -1}, {"term": "test_user_term"}])
        f = the(report, "unanalysed-term")
        assert f.severity == "info" and report.clean
    finally:
        REGISTRY.pop("test_user_term")


def test_neutral_hand_position_matches_a_real_reset() -> None:
    env = envkit.make("envkit/reach-v0", {"robot.base_position": [-0.5, 0.1, 0.0]})
    try:
        env.reset(seed=0)
        ee = env.unwrapped.world.read_state().ee_position
    finally:
        env.close()
    np.testing.assert_allclose(ee, np.array([-0.5, 0.1, 0.0]) + NEUTRAL_EE_OFFSET, atol=2e-3)


def test_cli_exit_codes_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "sort-1", "--set", "reward=sort_v1"]) == 1
    out = capsys.readouterr().out
    assert "ERROR [wrong-outcome-pays] terms: object_in_bin" in out and "Fix:" in out
    assert main(["lint", "reach", "push", "sort-2", "--set", "reward=sort_fixed"]) == 0  # warnings only
    assert "[cannot-fire] terms: approach_object" in capsys.readouterr().out
    assert main(["lint", "sort-2", "--set", "reward=sort_fixed", "-v"]) == 0
    out = capsys.readouterr().out
    assert "clean" in out and "estimated discounted returns" in out and "exit:floor" in out
    assert main(["lint", "sort-1", "--set", "reward=sort_fixed", "--gamma", "0.95", "--strict"]) == 2
    assert main(["lint", "sort-1"]) == 0, "bundled scenes default to a design that lints clean"


def test_cli_json_and_bad_gamma(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "sort-1", "--json", "--set", "reward=sort_v2"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["scene"] == "sort-1" and data[0]["findings"][0]["rule"] == "wrong-outcome-pays"
    assert main(["lint", "sort-1", "--gamma", "1.5"]) == 1
    assert "--gamma must be in (0, 1]" in capsys.readouterr().err


def test_early_exit_fix_names_an_episode_length_that_removes_the_trap(cash_in_design: list[dict]) -> None:
    """The fix used to say "shorten episode.max_steps" even where no length helps; now it names the
    longest length that removes the trap, and says when none does (a potential's terminal cash-in)."""
    import re

    f = the(lint("sort-1", _v1_without_wrong_sorts()), "early-exit-trap")
    m = int(re.search(r"shorten episode.max_steps to at most (\d+) \(now 750\)", f.fix).group(1))
    design = _v1_without_wrong_sorts()
    assert "early-exit-trap" not in rules(lint("sort-1", design, **{"episode.max_steps": m}))
    assert "early-exit-trap" in rules(lint("sort-1", design, **{"episode.max_steps": m + 10}))

    f = the(lint("sort-1", cash_in_design), "early-exit-trap")
    assert "does not help here" in f.fix and "'object_to_bin'" in f.fix and "at most" not in f.fix
