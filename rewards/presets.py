"""Named reward designs a scene (`reward: sort_v1`) or a sweep (`reward=sort_v2`) can select.

Each preset is a list of `{term, weight, params}` exactly as a scene would write it.
`sort_v1` and `sort_v2` reproduce Task B's published tables; note that both pay a
wrong sort (any-bin bonus with no wrong-bin penalty), which `envkit lint` flags.
`sort_fixed` is the corrected design: wrong sorts cost, a floor drop costs more than
the discounted time penalty of a failed attempt, and its dense hint (approach the
nearest object) is potential-based shaping, so it cannot change the optimal policy.
Every preset except sort_v1/sort_v2/sort_shaped_g1/sort_carry/sort_grasp/sort_grasp_carry lints clean on the scenes it is meant for
(tests/rewards/test_lint.py).
"""

from __future__ import annotations

from typing import Any

from envkit.errors import SpecError
from envkit.hints import suggest


def _sort_events(floor: float, wrong: float) -> list[dict[str, Any]]:
    """The sorting events every shaped sort design shares: -0.1 per step, +500 per correct
    sort, and its own price for a floor drop and a wrong bin."""
    return [
        {"term": "time_penalty", "weight": -0.1},
        {"term": "object_on_floor", "weight": floor},
        {"term": "object_in_correct_bin", "weight": 500.0},
        {"term": "object_in_wrong_bin", "weight": wrong},
    ]


def _potential(name: str, weight: float, phi: str, gamma: float, **phi_params: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"phi": phi, "gamma": gamma}
    if phi_params:
        params["phi_params"] = phi_params
    return {"term": "potential", "name": name, "weight": weight, "params": params}


PRESETS: dict[str, list[dict[str, Any]]] = {
    # Task B, design v1: -1 per step, -10 floor, +25 any bin, +100 correct bin
    "sort_v1": [
        {"term": "time_penalty", "weight": -1.0},
        {"term": "object_on_floor", "weight": -10.0},
        {"term": "object_in_bin", "weight": 25.0},
        {"term": "object_in_correct_bin", "weight": 100.0},
    ],
    # Task B, design v2 (amplified): -1 per step, -50 floor, +200 any bin, +500 correct bin
    "sort_v2": [
        {"term": "time_penalty", "weight": -1.0},
        {"term": "object_on_floor", "weight": -50.0},
        {"term": "object_in_bin", "weight": 200.0},
        {"term": "object_in_correct_bin", "weight": 500.0},
    ],
    # v2 without paying for wrong sorts, plus potential-based shaping towards the nearest
    # object (phi = -50 x distance: up to +2.5 per 5 cm step of approach; a weight of
    # -50 keeps it within 100x of the sort bonus, so `envkit lint` does not call it noise)
    "sort_fixed": [
        *_sort_events(floor=-50.0, wrong=-100.0),
        _potential("approach_object", -50.0, "ee_object_distance", 0.99),
    ],
    # sort_fixed + potential-based shaping that moves the object towards the bin accepting
    # its shape (phi = -500 x the object's distance to that bin: ~+110 for a typical route;
    # the hand's approach alone cannot say where the object should go). phi is 0 in a
    # terminal state, so any ending cashes in ~+110 against running out of time: floor drops
    # and wrong bins cost 200 here, not 50 and 100, or ending on purpose pays (a measured
    # trap, docs/task-b.md; `envkit lint` reports it as early-exit-trap)
    "sort_shaped": [
        *_sort_events(floor=-200.0, wrong=-200.0),
        _potential("approach_object", -50.0, "ee_object_distance", 0.99),
        _potential("object_to_bin", -500.0, "object_bin_distance", 0.99),
    ],
    # run A of docs/task-b.md, the design with the most measured sorting so far: sort_fixed's
    # events (floor -50, wrong bin -100) and both potentials with gamma 1. Its terminal
    # cash-in (~+110) makes a wrong sort or a floor drop pay more than timing out, which
    # `envkit lint` reports (early-exit-trap, warnings); measured, the agent still prefers
    # correct sorts (+500), but a wrong sort costs it almost nothing while it learns to route
    "sort_shaped_g1": [
        *_sort_events(floor=-50.0, wrong=-100.0),
        _potential("approach_object", -50.0, "ee_object_distance", 1.0),
        _potential("object_to_bin", -500.0, "object_bin_distance", 1.0),
    ],
    # sort_shaped_g1 with the object's distance to its bin measured over the floor plan only
    # (a lifted object is not further from its bin) and a potential on the object's height
    # (lifting pays, putting down takes it back): a scripted grasp-and-carry sorts 100% of
    # sort-1 while pushing loses most objects off the table (docs/task-b.md)
    "sort_carry": [
        *_sort_events(floor=-50.0, wrong=-100.0),
        _potential("approach_object", -50.0, "ee_object_distance", 1.0),
        _potential("object_to_bin", -500.0, "object_bin_distance", 1.0, horizontal_only=True),
        _potential("lift", 200.0, "object_height", 1.0, max_height=0.06),
    ],
    # sort_carry plus a potential on the pinch (`object_grasped`: both fingers touch the
    # object): +50 once per grasp, -50 back on release. sort_carry's PPO never lifted in 800k
    # steps because nothing paid before the lift, and a lift needs a pinch first; this pays
    # for the pinch itself without paying for holding (docs/task-b.md)
    "sort_grasp": [
        *_sort_events(floor=-50.0, wrong=-100.0),
        _potential("approach_object", -50.0, "ee_object_distance", 1.0),
        _potential("grasp", 50.0, "object_grasped", 1.0),
        _potential("object_to_bin", -500.0, "object_bin_distance", 1.0, horizontal_only=True),
        _potential("lift", 200.0, "object_height", 1.0, max_height=0.06),
    ],
    # sort_grasp with the object-to-bin shaping paid for carrying only: `held_bin_closeness`
    # (0 unless pinched; 0.5 m minus the distance to the bin while held) replaces
    # object_bin_distance, so a push earns no shaping. Pushing is where PPO settles with
    # sort_carry and sort_grasp, held and reach starts included (docs/task-b.md)
    "sort_grasp_carry": [
        *_sort_events(floor=-50.0, wrong=-100.0),
        _potential("approach_object", -50.0, "ee_object_distance", 1.0),
        _potential("grasp", 50.0, "object_grasped", 1.0),
        _potential("lift", 200.0, "object_height", 1.0, max_height=0.06),
        _potential("carry", 500.0, "held_bin_closeness", 1.0, max_distance=0.5),
    ],
    # panda-gym's dense reward: minus the distance to the goal
    "reach_dense": [{"term": "goal_distance", "weight": -1.0}],
    "push_dense": [{"term": "goal_distance", "weight": -1.0}],
    # panda-gym's sparse reward on a scene that ends on success: -1 per step until the goal
    # is reached, 0 on the success step (the contrast to reach_dense in the quick-start sweep)
    "reach_sparse": [
        {"term": "time_penalty", "weight": -1.0},
        {"term": "success_bonus", "weight": 1.0},
    ],
    # Task A: normalised distance progress + success bonus (1.0 as in the published code)
    "peg_progress": [
        {"term": "distance_progress", "weight": 1.0},
        {"term": "success_bonus", "weight": 1.0},
    ],
    # Task A as its article states it: the same progress term, success bonus 0.01
    "peg_progress_article": [
        {"term": "distance_progress", "weight": 1.0},
        {"term": "success_bonus", "weight": 0.01},
    ],
}


def get_preset(name: str) -> list[dict[str, Any]]:
    """The term list of a preset (a copy), or a clear error listing the presets."""
    if name not in PRESETS:
        raise SpecError(
            f"unknown reward preset '{name}'{suggest(name, sorted(PRESETS))} Presets: {', '.join(sorted(PRESETS))}"
        )
    return [dict(t, params=dict(t.get("params", {}))) for t in PRESETS[name]]
