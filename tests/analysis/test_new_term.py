"""A new reward term is one function plus one registration: the lint, the probe and the
potential understand it without any other file being edited (issue 15)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from envkit.analysis.lint import lint_scene
from envkit.analysis.probe import run_probe
from envkit.analysis.profiles import MODELS, outcome_terms
from envkit.errors import SpecError
from envkit.loader import load_scene
from rewards import REGISTRY, LintProfile, register
from rewards import potential as potential_module
from rewards import terms as terms_module


@pytest.fixture
def new_terms() -> Iterator[None]:
    """Two terms a user might add: a state function and an event count."""

    @register(
        "test_goal_closeness",
        requires=("goal",),
        state_function=True,
        profile=LintProfile.of("distance", to="goal", kernel="tanh", std_param="width", default_std=0.2),
    )
    def goal_closeness(ctx, width: float = 0.2) -> float:
        """1 - tanh(d / width): a bounded pull towards the goal."""
        return 0.0 if ctx.goal_distance is None else 1.0 - math.tanh(ctx.goal_distance / width)

    @register(
        "test_first_success",
        state_function=False,
        profile=LintProfile.of("event", outcomes={"success": 1.0}, count=1, what="first success"),
    )
    def first_success(ctx) -> float:
        return float(ctx.first_success)

    try:
        yield
    finally:
        REGISTRY.pop("test_goal_closeness")
        REGISTRY.pop("test_first_success")


def _rules(report) -> dict[str, list]:
    found: dict[str, list] = {}
    for f in report.findings:
        found.setdefault(f.rule, []).append(f)
    return found


def test_the_lint_models_a_new_term_from_its_registration(new_terms) -> None:
    design = [{"term": "success_bonus", "weight": 1.0}, {"term": "test_goal_closeness", "weight": 0.1}]
    report = lint_scene(load_scene("reach", {"reward": design}))
    profile = {p.label: p for p in report.profiles}["test_goal_closeness"]
    assert profile.kind == "dense" and profile.requires == ("goal",) and "tanh(d / 0.2)" in profile.basis
    found = _rules(report)
    assert "unanalysed-term" not in found
    assert [f.terms for f in found["non-potential-shaping"]] == [("test_goal_closeness",)]

    sort_design = [{"term": "object_in_correct_bin", "weight": 1.0}, {"term": "test_goal_closeness"}]
    sort = lint_scene(load_scene("sort-1", {"reward": sort_design}))
    cannot = [f for f in sort.findings if f.rule == "cannot-fire" and f.terms == ("test_goal_closeness",)]
    assert cannot and "the scene has no goal" in cannot[0].message


def test_the_potential_takes_a_new_state_function_and_the_lint_knows_which_are_not(new_terms) -> None:
    shaped = [
        {"term": "success_bonus", "weight": 1.0},
        {
            "term": "potential",
            "weight": 0.1,
            "params": {"phi": "test_goal_closeness", "phi_params": {"width": 0.3}},
        },
    ]
    report = lint_scene(load_scene("reach", {"reward": shaped}))
    potential = {p.label: p for p in report.profiles}["potential"]
    assert potential.kind == "potential" and potential.requires == ("goal",)  # inherited from phi
    assert "non-potential-shaping" not in _rules(report)

    events = [shaped[0], {"term": "potential", "weight": 1.0, "params": {"phi": "test_first_success"}}]
    warned = _rules(lint_scene(load_scene("reach", {"reward": events})))["non-potential-shaping"]
    assert "not on the state alone" in warned[0].message

    with pytest.raises(SpecError, match="unknown parameter 'widht'; did you mean 'width'"):
        load_scene(
            "reach",
            {
                "reward": [
                    {
                        "term": "potential",
                        "params": {"phi": "test_goal_closeness", "phi_params": {"widht": 1}},
                    }
                ]
            },
        )


def test_the_probe_runs_a_new_term_and_reads_its_kind(new_terms) -> None:
    design = [
        {"term": "test_goal_closeness", "weight": 1.0},
        {"term": "test_first_success", "weight": 1.0},
        {"term": "potential", "name": "shaped", "weight": 1.0, "params": {"phi": "test_goal_closeness"}},
    ]
    result = run_probe("reach", episodes=2, seed=0, overrides={"reward": design, "episode.max_steps": 10})
    assert result.kinds == {
        "test_goal_closeness": "dense",
        "test_first_success": "event",
        "shaped": "potential",
    }
    stats = {s.label: s for s in result.term_stats()}
    assert stats["test_goal_closeness"].flag == "every-step" and stats["test_goal_closeness"].mean > 0


def test_every_built_in_term_declares_everything_at_registration() -> None:
    """No side tables: requires, state_function and the lint profile all come from register(...)."""
    built_in = {
        n: t
        for n, t in REGISTRY.items()
        if t.__module__ in (terms_module.__name__, potential_module.__name__)
    }
    assert len(built_in) == 18
    for name, term in built_in.items():
        assert isinstance(term.state_function, bool), name
        assert isinstance(term.profile, LintProfile) and term.profile.kind in MODELS, name
    assert outcome_terms() == {
        "floor": "object_on_floor",
        "correct_bin": "object_in_correct_bin",
        "wrong_bin": "object_in_wrong_bin",
        "success": "success_bonus",
        "collision": "collision",
    }
