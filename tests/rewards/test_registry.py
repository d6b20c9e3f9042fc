"""Reward-term registration, resolution and parameter checks."""

from __future__ import annotations

import pytest

from envkit.spec import RewardSpec
from rewards import PRESETS, REGISTRY, RewardTerm, build_reward, register, resolve
from rewards.registry import check_params

CATALOGUE = (
    "time_penalty",
    "object_on_floor",
    "object_in_bin",
    "object_in_correct_bin",
    "object_in_wrong_bin",
    "distance_progress",
    "goal_distance",
    "goal_distance_tanh",
    "success_bonus",
    "collision",
    "action_l2",
    "ee_object_distance",
    "object_lifted",
    "object_height",
    "object_bin_distance",
    "object_grasped",
    "held_bin_closeness",
)


def test_builtin_catalogue_is_registered() -> None:
    for name in CATALOGUE:
        assert name in REGISTRY


def test_task_b_presets_match_the_published_tables() -> None:
    def weights(name: str) -> dict[str, float]:
        return {t["term"]: t["weight"] for t in PRESETS[name]}

    assert weights("sort_v1") == {
        "time_penalty": -1.0,
        "object_on_floor": -10.0,
        "object_in_bin": 25.0,
        "object_in_correct_bin": 100.0,
    }
    assert weights("sort_v2") == {
        "time_penalty": -1.0,
        "object_on_floor": -50.0,
        "object_in_bin": 200.0,
        "object_in_correct_bin": 500.0,
    }


def test_resolve_unknown_lists_known() -> None:
    with pytest.raises(LookupError, match="did you mean 'goal_distance'"):
        resolve("goal_distanse")


def test_check_params_reports_unknown_and_missing() -> None:
    def term(ctx, scale: float, offset: float = 0.0) -> float:
        return scale + offset

    problems = check_params("t", term, {"scal": 1.0})
    assert any("unknown parameter 'scal'; did you mean 'scale'?" in p for p in problems)
    assert any("missing required parameter 'scale'" in p for p in problems)
    assert check_params("t", term, {"scale": 2.0}) == []


def test_stateful_term_is_reset_and_weighted() -> None:
    @register("test_counter")
    class Counter(RewardTerm):
        def __init__(self, start: int = 0) -> None:
            self.start = start
            self.n = start

        def reset(self, ctx) -> None:
            self.n = self.start

        def __call__(self, ctx) -> float:
            self.n += 1
            return float(self.n)

    try:
        fn = build_reward(
            RewardSpec(terms=[{"term": "test_counter", "weight": 2.0, "params": {"start": 10}}])
        )
        fn.reset(None)
        assert fn(None) == (22.0, {"test_counter": 22.0})
        assert fn(None)[0] == 24.0
        fn.reset(None)
        assert fn(None)[0] == 22.0
    finally:
        REGISTRY.pop("test_counter")


def test_registering_a_taken_name_fails() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("time_penalty")(lambda ctx: 0.0)
