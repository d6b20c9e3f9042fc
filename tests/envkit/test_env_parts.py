"""The parts SceneEnv is assembled from, each on its own: sampling, events, episode rules.

No simulator: a tiny fake world answers contacts, so each rule is checked by hand.
The same rules on real pybullet are in test_env.py, test_bin_seam.py and test_peg.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from envkit.events import EventDetector
from envkit.fixtures import goal_point
from envkit.loader import load_scene
from envkit.sampling import PlacementError, sample_goal, sample_objects
from envkit.state import WorldState
from envkit.termination import EpisodeRules


class FakeWorld:
    """Answers the contact queries of the events and the rules from fixed sets."""

    def __init__(
        self, contacts: dict[int, set[str]] | None = None, touching: set[tuple[str, str]] | None = None
    ) -> None:
        self.contacts = contacts or {}
        self.pairs = touching or set()
        self.removed: list[int] = []

    def object_contacts(self, index: int) -> set[str]:
        return set(self.contacts.get(index, set()))

    def touching(self, a: str, b: str) -> bool:
        return (a, b) in self.pairs or (b, a) in self.pairs

    def remove_object(self, index: int) -> None:
        self.removed.append(index)


def _state(positions: list[list[float]], tool_tip: list[float] | None = None) -> WorldState:
    n = len(positions)
    return WorldState(
        ee_position=np.zeros(3),
        ee_orientation=np.array([0.0, 0.0, 0.0, 1.0]),
        ee_velocity=np.zeros(3),
        ee_angular_velocity=np.zeros(3),
        fingers_width=0.0,
        object_position=np.array(positions, dtype=float).reshape(n, 3),
        object_orientation=np.tile([0.0, 0.0, 0.0, 1.0], (n, 1)),
        object_velocity=np.zeros((n, 3)),
        object_angular_velocity=np.zeros((n, 3)),
        object_active=np.ones(n, dtype=bool),
        tool_tip=None if tool_tip is None else np.array(tool_tip, dtype=float),
    )


def test_sampling_is_a_function_of_the_seed() -> None:
    spec = load_scene("sort-5-blocker")
    a = sample_objects(spec, np.random.default_rng(3))
    b = sample_objects(spec, np.random.default_rng(3))
    assert [o.shape for o in a] == [o.shape for o in b] and len(a) == spec.objects.n
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.position, y.position)
        np.testing.assert_array_equal(x.half_extents, y.half_extents)


def test_sampling_that_cannot_place_names_the_setting() -> None:
    spec = load_scene("sort-2")
    spec.objects.spawn.x = spec.objects.spawn.y = (0.0, 0.0)  # past the loader's area check: one spot for two
    with pytest.raises(PlacementError, match=r"objects.spawn.max_tries"):
        sample_objects(spec, np.random.default_rng(0))


def test_a_fixture_goal_follows_the_fixture() -> None:
    spec = load_scene("peg_in_hole_state")
    base = np.array([0.05, -0.02, 0.0])
    goal = sample_goal(spec, np.random.default_rng(0), {"block": base})
    np.testing.assert_allclose(goal, goal_point(spec.fixture("block"), base) + np.array(spec.goal.offset))


def test_bin_event_fires_once_removes_and_counts() -> None:
    spec = load_scene("sort-2", {"objects.items": [{"shape": "cube"}, {"shape": "sphere"}]})
    events = EventDetector(spec)
    objects = sample_objects(spec, np.random.default_rng(0))
    events.reset(objects)
    world = FakeWorld({0: {"bin_cube"}, 1: {"bin_cube"}})
    state = _state([[-0.25, 0.2, 0.03], [-0.25, 0.25, 0.03]])
    step = events.detect(state, world)
    assert [(e.object, spec.bins[e.bin].name, e.correct) for e in step.in_bin] == [
        (0, "bin_cube", True),
        (1, "bin_cube", False),
    ]
    assert world.removed == [0, 1] and not state.object_active.any()
    assert events.counts == {"sorted": 1, "wrong_bin": 1, "on_floor": 0, "removed": 2}
    again = events.detect(_state([[-0.25, 0.2, 0.03], [-0.25, 0.25, 0.03]]), world)
    assert again.in_bin == []  # each object scores once per episode


def test_scoring_bin_on_a_seam_is_decided_by_the_centre_not_the_contact_order() -> None:
    spec = load_scene("sort-2")
    events = EventDetector(spec)
    index = {b.name: i for i, b in enumerate(spec.bins)}
    on_sphere_side = np.array([-0.25, 0.09, 0.03])  # bins meet at y = 0.1
    for touched in ({"bin_sphere", "bin_cube"}, {"bin_cube", "bin_sphere"}):
        assert events.scoring_bin(on_sphere_side, touched) == index["bin_sphere"]
    assert events.scoring_bin(np.array([-0.25, 0.11, 0.03]), {"bin_sphere", "bin_cube"}) == index["bin_cube"]
    assert events.scoring_bin(on_sphere_side, {"floor"}) is None


def test_floor_event_when_far_from_every_bin() -> None:
    spec = load_scene("sort-1")
    events = EventDetector(spec)
    events.reset(sample_objects(spec, np.random.default_rng(0)))
    world = FakeWorld({0: {"floor"}})
    step = events.detect(_state([[0.5, 0.5, spec.floor.height + 0.01]]), world)
    assert step.on_floor == [0] and events.counts["on_floor"] == 1 and world.removed == [0]
    high = FakeWorld({0: {"floor"}})
    events.reset(sample_objects(spec, np.random.default_rng(0)))
    assert events.detect(_state([[0.5, 0.5, 0.3]]), high).on_floor == []  # too high to touch: not asked


def test_peg_insertion_rule_forgives_contact_only_with_the_tip_in_the_hole() -> None:
    spec = load_scene("peg_in_hole_state")
    rules = EpisodeRules(spec)
    base = np.array([0.0, 0.0, 0.0])
    top = spec.fixture("block").size[2]
    touching = FakeWorld(touching={("peg", "block")})
    in_hole = _state([], tool_tip=[0.0, 0.0, top - 0.01])
    beside = _state([], tool_tip=[0.05, 0.0, top - 0.01])
    assert not rules.collision(in_hole, touching, {"block": base})
    assert rules.collision(beside, touching, {"block": base})
    strict = EpisodeRules(
        load_scene("peg_in_hole_state", {"episode.terminate_on.insertion_contact": "collision"})
    )
    assert strict.collision(in_hole, touching, {"block": base})


def test_success_and_termination_rules() -> None:
    spec = load_scene("reach", {"episode.terminate_on.goal_distance_above": 0.5})
    rules = EpisodeRules(spec)
    state = _state([])
    achieved, d = rules.goal_distance(state, np.array([0.0, 0.0, 0.1]))
    np.testing.assert_array_equal(achieved, state.ee_position)
    assert d == pytest.approx(0.1)
    assert rules.is_success(spec.goal.threshold / 2, 0) and not rules.is_success(d, 0)
    assert rules.terminated(state, success=False, goal_distance=0.6, collision=False)
    assert not rules.terminated(state, success=False, goal_distance=0.4, collision=False)
    assert rules.terminated(state, success=False, goal_distance=0.4, collision=True)
