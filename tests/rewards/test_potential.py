"""Potential-based shaping: gamma*phi(s') - phi(s), phi(terminal) = 0, against hand-computed values."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import envkit
from envkit.errors import SpecError
from envkit.loader import load_scene
from rewards import REGISTRY, register
from rewards.potential import Potential


@pytest.fixture
def phi_from_ctx():
    """A registered potential that reads `ctx.phi`, so a test sets phi values directly."""

    @register("test_phi")
    def test_phi(ctx, scale: float = 1.0) -> float:
        return scale * ctx.phi

    yield "test_phi"
    REGISTRY.pop("test_phi")


def _ctx(phi: float, terminated: bool = False, truncated: bool = False) -> SimpleNamespace:
    return SimpleNamespace(phi=phi, terminated=terminated, truncated=truncated)


def test_values_match_hand_computation_on_termination(phi_from_ctx: str) -> None:
    term = Potential(phi=phi_from_ctx, gamma=0.9)
    term.reset(_ctx(3.0))
    assert term(_ctx(2.0)) == pytest.approx(0.9 * 2.0 - 3.0)  # -1.2
    assert term(_ctx(1.0)) == pytest.approx(0.9 * 1.0 - 2.0)  # -1.1
    # a real termination: phi(terminal) = 0 whatever the state looks like
    assert term(_ctx(5.0, terminated=True)) == pytest.approx(0.0 - 1.0)


def test_truncation_keeps_the_real_potential(phi_from_ctx: str) -> None:
    term = Potential(phi=phi_from_ctx, gamma=0.9)
    term.reset(_ctx(3.0))
    assert term(_ctx(2.0, truncated=True)) == pytest.approx(0.9 * 2.0 - 3.0)


def test_reset_starts_a_new_episode_and_phi_params_are_passed(phi_from_ctx: str) -> None:
    term = Potential(phi=phi_from_ctx, gamma=0.5, phi_params={"scale": 2.0})
    term.reset(_ctx(1.0))
    assert term(_ctx(4.0)) == pytest.approx(0.5 * 8.0 - 2.0)
    term.reset(_ctx(0.0))
    assert term(_ctx(1.0)) == pytest.approx(0.5 * 2.0 - 0.0)


def test_discounted_sum_telescopes_to_minus_phi0(phi_from_ctx: str) -> None:
    """Ng et al.: over a terminated episode the shaping sums to -phi(s0), for any path."""
    gamma = 0.95
    rng = np.random.default_rng(0)
    for _ in range(5):
        phis = rng.normal(size=12)
        term = Potential(phi=phi_from_ctx, gamma=gamma)
        term.reset(_ctx(phis[0]))
        total = 0.0
        for t, phi in enumerate(phis[1:]):
            total += gamma**t * term(_ctx(phi, terminated=t == len(phis) - 2))
        assert total == pytest.approx(-phis[0])


def test_bad_configs_fail_with_clear_messages(phi_from_ctx: str) -> None:
    with pytest.raises(ValueError, match="gamma must be in"):
        Potential(phi=phi_from_ctx, gamma=1.5)
    with pytest.raises(ValueError, match="stateful term class"):
        Potential(phi="potential")
    with pytest.raises(ValueError, match="unknown parameter 'scal'"):
        Potential(phi=phi_from_ctx, phi_params={"scal": 1.0})


def test_scene_load_checks_phi(write_scene) -> None:
    base = load_scene("reach").model_dump(mode="json")
    base["reward"] = {"terms": [{"term": "potential", "params": {"phi": "goal_distanse"}}]}
    with pytest.raises(
        SpecError, match="phi: unknown reward term 'goal_distanse'; did you mean 'goal_distance'"
    ):
        load_scene(write_scene(base))
    base["reward"] = {"terms": [{"term": "potential", "params": {"phi": "goal_distance", "gamma": 0}}]}
    with pytest.raises(SpecError, match="gamma must be a number in"):
        load_scene(write_scene(base))


def _distance(env) -> float:
    u = env.unwrapped
    return float(np.linalg.norm(u.world.read_state().ee_position - u.goal))


def test_reach_with_phi_minus_goal_distance_on_a_real_env() -> None:
    """weight -1 x potential(goal_distance) is the potential phi = -d: F = -(gamma d' - d), F_T = d_{T-1}."""
    probe = envkit.make("envkit/reach-v0")
    try:
        probe.reset(seed=0)
        ee = probe.unwrapped.world.read_state().ee_position
    finally:
        probe.close()
    goal = (ee + np.array([0.12, 0.0, 0.0])).tolist()
    gamma = 0.9
    env = envkit.make(
        "envkit/reach-v0",
        {
            "goal.position": goal,
            "goal.range": {"x": [0, 0], "y": [0, 0], "z": [0, 0]},
            "reward": [
                {"term": "potential", "weight": -1, "params": {"phi": "goal_distance", "gamma": gamma}}
            ],
        },
    )
    try:
        env.reset(seed=0)
        d_prev = _distance(env)
        steps = 0
        for _ in range(20):
            steps += 1
            _, reward, terminated, truncated, info = env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
            d = _distance(env)
            expected = -(0.0 - d_prev) if terminated else -(gamma * d - d_prev)
            assert info["reward_terms"]["potential"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert reward == pytest.approx(expected, rel=1e-9, abs=1e-12)
            d_prev = d
            if terminated or truncated:
                break
        assert terminated and steps >= 2, "the hand reaches the goal 12 cm away in a few steps"
    finally:
        env.close()


def test_truncated_episode_does_not_zero_phi_on_a_real_env() -> None:
    gamma = 0.99
    env = envkit.make(
        "envkit/reach-v0",
        {
            "episode.max_steps": 2,
            "reward": [
                {"term": "potential", "weight": -1, "params": {"phi": "goal_distance", "gamma": gamma}}
            ],
        },
    )
    try:
        env.reset(seed=5)
        d_prev = _distance(env)
        for _ in range(2):
            _, _, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
            d = _distance(env)
            assert info["reward_terms"]["potential"] == pytest.approx(-(gamma * d - d_prev), rel=1e-9)
            d_prev = d
        assert truncated and not terminated
    finally:
        env.close()
