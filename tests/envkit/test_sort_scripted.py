"""Task B is solvable in envkit's physics: a scripted grasp-and-carry controller sorts sort-1.

Why this test: learning curves can only say an agent has not found a solution; this says
one exists with the scene's action space (the hand moves <= 5 cm per step, the gripper
opens and closes), its objects (every size fits between the fingers) and its events (an
object lowered onto the bin for its shape scores there). It also pins down the physics an
RL design has to live with (docs/task-b.md): pushed objects slide and spheres roll, while a
grasped object goes where the hand goes.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import envkit
from envkit.scripted import GraspAndCarry


@pytest.mark.parametrize("scene", ["sort-1"])
def test_grasp_and_carry_sorts_every_shape_into_its_bin(scene: str) -> None:
    env = envkit.make(scene)
    bot = GraspAndCarry(env.unwrapped.spec_scene, env.unwrapped.obs_layout)
    outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    lengths = []
    try:
        for ep in range(12):
            obs, _ = env.reset(seed=100 + ep)
            shape = env.unwrapped.objects[0].shape
            bot.reset()
            done, steps = False, 0
            while not done:
                obs, _, terminated, truncated, info = env.step(bot(obs))
                done, steps = terminated or truncated, steps + 1
            ev = info["events"]
            outcomes[shape]["correct" if ev["sorted"] else "wrong" if ev["wrong_bin"] else "other"] += 1
            assert info["is_success"] == bool(ev["sorted"])
            lengths.append(steps)
    finally:
        env.close()
    assert set(outcomes) == {"cube", "cylinder", "sphere"}, "the seeds should cover every shape"
    correct = sum(c["correct"] for c in outcomes.values())
    assert correct >= 11, dict(outcomes)
    assert sum(c["wrong"] for c in outcomes.values()) == 0, dict(outcomes)
    assert np.median(lengths) < 60  # a few dozen steps, far below the 750-step limit


def test_object_grasped_is_one_exactly_while_the_fingers_pinch_the_object() -> None:
    """The term behind the grasp potential, on real contacts: 0 while the hand approaches
    with the gripper open, 1 from the pinch through the carry, 0 again after the release."""
    env = envkit.make("sort-1", reward=[{"term": "object_grasped", "weight": 1.0}])
    spec = env.unwrapped.spec_scene
    by_phase: dict[str, list[float]] = collections.defaultdict(list)
    try:
        obs, _ = env.reset(seed=101)
        bot, done = GraspAndCarry(spec, env.unwrapped.obs_layout), False
        while not done:
            phase = bot.phase
            obs, _, terminated, truncated, info = env.step(bot(obs))
            by_phase[phase].append(info["reward_terms"]["object_grasped"])
            done = terminated or truncated
        assert info["events"]["sorted"] == 1
    finally:
        env.close()
    assert set(by_phase["above"]) == {0.0}
    assert set(by_phase["descend"]) == {0.0}
    assert set(by_phase["lift"]) == {1.0} and set(by_phase["carry"]) == {1.0}
    assert by_phase["close"][-1] == 1.0  # the fingers have closed on it by the end of the close phase
    # the object left play in its bin once released: nothing is held at the end
    assert by_phase["release"][-1] == 0.0


def test_held_bin_closeness_pays_only_while_held_and_grows_on_the_way_to_the_bin() -> None:
    """The carry-only shaping: 0 while the hand approaches and closes in; while the object is
    held, max_distance minus its floor-plan distance to its bin (hand-computed from the
    state), rising as the controller carries it over the bin; 0 again once it is released."""
    design = [{"term": "held_bin_closeness", "weight": 1.0, "params": {"max_distance": 0.5}}]
    env = envkit.make("sort-1", reward=design)
    spec = env.unwrapped.spec_scene
    by_phase: dict[str, list[float]] = collections.defaultdict(list)
    try:
        obs, _ = env.reset(seed=101)
        shape = env.unwrapped.objects[0].shape
        target = next(b for b in spec.bins if shape in b.accepts)
        lo, hi = np.subtract(target.position, target.half_extents)[:2], np.add(target.position, target.half_extents)[:2]
        bot, done = GraspAndCarry(spec, env.unwrapped.obs_layout), False
        while not done:
            phase = bot.phase
            obs, _, terminated, truncated, info = env.step(bot(obs))
            value = info["reward_terms"]["held_bin_closeness"]
            by_phase[phase].append(value)
            done = terminated or truncated
            if env.unwrapped.state.object_active[0] and env.unwrapped.world.grasping(0):
                xy = env.unwrapped.state.object_position[0, :2]
                assert value == pytest.approx(0.5 - float(np.linalg.norm(xy - np.clip(xy, lo, hi))), abs=1e-9)
            else:
                assert value == 0.0
        assert info["events"]["sorted"] == 1
    finally:
        env.close()
    assert set(by_phase["above"]) == {0.0} and set(by_phase["descend"]) == {0.0}
    carry = by_phase["carry"]
    assert carry[-1] > carry[0] and carry[-1] == pytest.approx(0.5, abs=0.01)  # over the bin: distance ~0
    assert by_phase["release"][-1] == 0.0
