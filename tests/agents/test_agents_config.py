"""Config validation: unknown keys, bad values, coercion of CLI strings, docstrings."""

from __future__ import annotations

import dataclasses

import pytest

import agents
from agents.config import PPOConfig, TD3Config, apply_overrides, field_docs, make_config


@pytest.mark.parametrize("cls", [PPOConfig, TD3Config])
def test_every_field_is_documented_and_simply_typed(cls):
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        assert docs.get(f.name), f"{cls.__name__}.{f.name} has no docstring"
    make_config("ppo" if cls is PPOConfig else "td3")  # defaults are valid


def test_unknown_key_lists_valid_names_with_did_you_mean():
    with pytest.raises(agents.ConfigError) as e:
        make_config("ppo", {"batchsize": 5000})
    msg = str(e.value)
    assert "'batch_size'" in msg and "Did you mean" in msg and "minibatch_size" in msg and "\n" not in msg
    with pytest.raises(agents.ConfigError, match="Did you mean 'learning_rate'"):
        make_config("td3", {"lr": 1e-3})


@pytest.mark.parametrize(
    ("algo", "overrides", "field"),
    [
        ("ppo", {"batch_size": 32, "minibatch_size": 64}, "minibatch_size"),
        ("ppo", {"minibatch_size": 1}, "minibatch_size"),
        ("ppo", {"learning_rate": -1.0}, "learning_rate"),
        ("ppo", {"batch_size": 1000, "n_envs": 3}, "batch_size"),
        ("ppo", {"gamma": 1.5}, "gamma"),
        ("ppo", {"activation": "relux"}, "activation"),
        ("ppo", {"hidden_sizes": []}, "hidden_sizes"),
        ("ppo", {"epochs": 2.5}, "epochs"),
        ("ppo", {"learning_rate": float("nan")}, "learning_rate"),
        ("td3", {"buffer_size": 10, "batch_size": 256}, "buffer_size"),
        ("td3", {"n_critics": 1}, "n_critics"),
        ("td3", {"tau": 0.0}, "tau"),
        ("td3", {"critic_loss": "l1"}, "critic_loss"),
        ("td3", {"cnn_channels": [8, 8], "cnn_strides": [2, 2, 2]}, "cnn_strides"),
        ("td3", {"vec_env": "threads"}, "vec_env"),
        ("td3", {"encoder": "foo"}, "encoder"),
        ("td3", {"augment": "crop"}, "augment"),
        ("ppo", {"augment": "shfit"}, "augment"),
        ("td3", {"augment_pad": -1}, "augment_pad"),
    ],
)
def test_invalid_values_name_the_field_and_range(algo, overrides, field):
    with pytest.raises(agents.ConfigError, match=f"'{field}'"):
        make_config(algo, overrides)


def test_pixel_options_say_what_is_allowed():
    with pytest.raises(agents.ConfigError, match="'encoder' = 'foo' is invalid: it must be one of shared, separate"):
        make_config("td3", {"encoder": "foo"})
    with pytest.raises(agents.ConfigError, match="Did you mean 'shift'"):
        make_config("ppo", {"augment": "shfit"})
    with pytest.raises(agents.ConfigError, match="'augment_pad' = -1 is invalid: it must be >= 0"):
        make_config("td3", {"augment_pad": -1})
    with pytest.raises(agents.ConfigError, match="Unknown PPOConfig hyperparameter 'encoder'"):
        make_config("ppo", {"encoder": "shared"})  # PPO has one encoder per network, no option


def test_strings_from_the_cli_are_parsed_by_field_type():
    cfg = make_config("ppo", {"batch_size": "5000", "n_envs": "4", "hidden_sizes": "[32, 32]", "target_kl": "null",
                              "anneal_lr": "true", "learning_rate": "1e-3"})
    assert (cfg.batch_size, cfg.hidden_sizes, cfg.target_kl, cfg.anneal_lr, cfg.learning_rate) == (
        5000, [32, 32], None, True, 1e-3)
    with pytest.raises(agents.ConfigError, match="expects an integer"):
        make_config("ppo", {"batch_size": "lots"})


def test_override_dict_on_an_existing_config_is_validated_copy():
    base = PPOConfig(batch_size=4096)
    new = apply_overrides(base, {"minibatch_size": 128})
    assert (new.batch_size, new.minibatch_size, base.minibatch_size) == (4096, 128, 64)


def test_train_checks_config_before_building_envs(tmp_path):
    def boom():
        raise AssertionError("env must not be built")

    with pytest.raises(agents.ConfigError):
        agents.train(boom, "ppo", {"minibatch_size": 0}, run_dir=tmp_path / "r")
    with pytest.raises(agents.ConfigError, match="Unknown algorithm"):
        agents.train(boom, "sac", None, run_dir=tmp_path / "r")
    with pytest.raises(agents.ConfigError, match="needs a TD3Config"):
        agents.train(boom, "td3", PPOConfig(), run_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_unsupported_spaces_are_config_errors(tmp_path):
    import gymnasium as gym

    with pytest.raises(agents.ConfigError, match="1-D continuous Box"):
        agents.train("CartPole-v1", "ppo", {"total_timesteps": 64}, run_dir=tmp_path / "r", quiet=True)
    del gym


def test_ppo_minibatch_of_one_is_refused_with_the_reason():
    with pytest.raises(agents.ConfigError) as e:
        make_config("ppo", {"minibatch_size": 1})
    assert "'minibatch_size' = 1" in str(e.value) and ">= 2" in str(e.value) and "advantage" in str(e.value)
