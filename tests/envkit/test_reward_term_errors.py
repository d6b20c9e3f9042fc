"""A reward term that returns NaN/inf or raises is an error naming the term and the step (issue 13, section 2)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import envkit
from envkit import errors
from envkit.errors import EnvkitError

TERMS = "envkit_faulty_terms"


@pytest.fixture(autouse=True)
def _faulty_terms_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def _env(*terms: dict[str, Any]) -> Any:
    return envkit.make("reach", {"reward": [{"term": "time_penalty", "weight": -1.0}, *terms]})


def _step_until_error(env: Any, steps: int) -> pytest.ExceptionInfo:
    env.reset(seed=0)
    with pytest.raises(errors.RewardTermError) as info:
        for _ in range(steps):
            env.step(np.zeros(env.action_space.shape))
    return info


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_term_value_names_term_and_step(value: str) -> None:
    env = _env({"term": f"{TERMS}:value_at", "params": {"value": value, "at_step": 3}})
    try:
        env.reset(seed=0)
        for _ in range(2):
            _, reward, *_ = env.step(np.zeros(env.action_space.shape))
            assert reward == -1.0
        with pytest.raises(errors.RewardTermError) as info:
            env.step(np.zeros(env.action_space.shape))
    finally:
        env.close()
    msg = str(info.value)
    assert isinstance(info.value, EnvkitError) and isinstance(info.value, RuntimeError)
    assert "scene 'reach'" in msg and f"'{TERMS}:value_at'" in msg and "step 3" in msg
    assert value.lstrip("-") in msg and "time_penalty" not in msg
    assert "\n" not in msg


def test_non_finite_value_names_the_label_the_user_gave() -> None:
    env = _env({"term": f"{TERMS}:value_at", "name": "bonus", "weight": 2.0, "params": {"value": "inf"}})
    try:
        info = _step_until_error(env, 1)
    finally:
        env.close()
    msg = str(info.value)
    assert f"'{TERMS}:value_at'" in msg and "'bonus'" in msg and "step 1" in msg and "weight 2" in msg


def test_finite_terms_whose_sum_overflows_are_named_together() -> None:
    big = {"term": f"{TERMS}:value_at", "params": {"value": "1e308", "at_step": 1}}
    env = _env({**big, "name": "big_a"}, {**big, "name": "big_b"})
    try:
        info = _step_until_error(env, 1)
    finally:
        env.close()
    msg = str(info.value)
    assert "'big_a'" in msg and "'big_b'" in msg and "overflow" in msg and "step 1" in msg


def test_raising_term_is_named_with_the_original_chained() -> None:
    env = _env({"term": f"{TERMS}:raises_at", "params": {"at_step": 2}})
    try:
        info = _step_until_error(env, 5)
    finally:
        env.close()
    msg = str(info.value)
    assert f"'{TERMS}:raises_at'" in msg and "step 2" in msg and "ZeroDivisionError" in msg
    assert f"{TERMS}.py:" in msg and "in raises_at" in msg, "the CLI shows no traceback: say where it raised"
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_term_returning_none_is_named() -> None:
    env = _env({"term": f"{TERMS}:returns_none"})
    try:
        info = _step_until_error(env, 1)
    finally:
        env.close()
    assert f"'{TERMS}:returns_none'" in str(info.value) and "step 1" in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)


def test_stateful_term_raising_at_reset_is_named() -> None:
    env = _env({"term": f"{TERMS}:FailsOnReset"})
    try:
        with pytest.raises(errors.RewardTermError) as info:
            env.reset(seed=0)
    finally:
        env.close()
    msg = str(info.value)
    assert f"'{TERMS}:FailsOnReset'" in msg and "reset" in msg and "KeyError" in msg
    assert isinstance(info.value.__cause__, KeyError)


def test_finite_rewards_are_untouched() -> None:
    env = _env({"term": f"{TERMS}:value_at", "params": {"value": "2.5", "at_step": 1}})
    try:
        env.reset(seed=0)
        _, reward, _, _, info = env.step(np.zeros(env.action_space.shape))
    finally:
        env.close()
    assert reward == 1.5 and math.isfinite(reward)
    assert info["reward_terms"] == {"time_penalty": -1.0, f"{TERMS}.value_at": 2.5}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"scale": "2"}, ["'scale' is '2'", "declares float", "valid number"]),
        ({"steps": 2.5}, ["'steps' is 2.5", "declares int"]),
        ({"steps": True}, ["'steps' is True", "declares int"]),
        ({"mode": "c"}, ["'mode' is 'c'", "'a' or 'b'"]),
        ({"span": [0.0, "x"]}, ["'span'", "valid number"]),
        ({"flag": "yes"}, ["'flag' is 'yes'", "declares bool"]),
    ],
)
def test_wrong_typed_params_of_a_user_term_fail_at_load_from_its_hints(params: dict[str, Any], words: list[str]) -> None:
    """A term's type hints are its declaration: a wrong type used to surface only at the first step."""
    with pytest.raises(errors.SpecError) as info:
        envkit.load_scene("reach", {"reward": [{"term": f"{TERMS}:typed", "weight": 1.0, "params": params}]})
    text = str(info.value)
    assert "reward[0].params" in text and f"'{TERMS}:typed'" in text
    for w in words:
        assert w in text, text


def test_well_typed_params_load_ints_for_floats_and_lists_for_tuples() -> None:
    env = _env({"term": f"{TERMS}:typed", "weight": 1.0,
                "params": {"scale": 2, "steps": 4, "mode": "b", "span": [0, 0.5], "flag": True}},
               {"term": f"{TERMS}:TypedState", "weight": 1.0, "params": {"horizon": 5}})
    env.reset(seed=0)
    _, reward, *_ = env.step(np.zeros(env.action_space.shape))
    assert reward == pytest.approx(-1.0 + 8.0 + 5.0)
    env.close()
    with pytest.raises(errors.SpecError, match="'horizon' is 2.5"):
        envkit.load_scene("reach", {"reward": [{"term": f"{TERMS}:TypedState", "weight": 1.0,
                                                 "params": {"horizon": 2.5}}]})
