"""Checkpoints are data, never code: weights-only loading, old formats, missing keys, env strings."""

from __future__ import annotations

import builtins
import os
import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch
from agents_testenvs import TargetEnv

import agents
from agents.checkpoint import FORMAT, VERSION, load_checkpoint
from envkit.cli import main

PPO_TINY = dict(tensorboard=False, eval_every=0, eval_episodes=1, checkpoint_every=0, total_timesteps=64,
                batch_size=64, minibatch_size=32, epochs=1, hidden_sizes=[8])


class _System:
    """Unpickling this calls os.system: what a malicious .pt does."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Exec:
    """Unpickling this calls builtins.exec."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _evil_files(tmp_path):
    marker = tmp_path / "marker"
    torch_file = tmp_path / "evil_torch.pt"
    torch.save({"format": FORMAT, "version": VERSION, "algo": _System(marker)}, torch_file)
    raw = tmp_path / "evil_raw.pt"
    raw.write_bytes(pickle.dumps({"format": FORMAT, "version": VERSION, "algo": _Exec(marker)}))
    return marker, [torch_file, raw]


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the raw pickle's protocol
def test_a_malicious_checkpoint_runs_no_code_in_any_entry_point(tmp_path, capsys):
    marker, files = _evil_files(tmp_path)
    for evil in files:
        for load in (load_checkpoint, agents.load_policy, lambda p: agents.evaluate(p, env=TargetEnv, episodes=1)):
            with pytest.raises(agents.CheckpointError) as e:
                load(evil)
            msg = str(e.value)
            assert str(evil) in msg and "not a plain-data checkpoint" in msg and "could run code" in msg
            assert "\n" not in msg
        assert main(["eval", str(evil), "--episodes", "1"]) == 1
        err = capsys.readouterr().err
        assert "could run code" in err and "Traceback" not in err
        # resume: the run's last.pt is the malicious file
        run = tmp_path / f"run-{evil.stem}"
        (run / "checkpoints").mkdir(parents=True)
        (run / "checkpoints" / "last.pt").write_bytes(evil.read_bytes())
        with pytest.raises(agents.CheckpointError, match="could run code"):
            agents.train(TargetEnv, "ppo", PPO_TINY, run_dir=run, quiet=True, resume=True)
        # sweeps report best.pt and probe plays a checkpoint: both go through load_policy
        best = run / "checkpoints" / "best.pt"
        best.write_bytes(evil.read_bytes())
        with pytest.raises(agents.CheckpointError, match="could run code"):
            agents.load_policy(best)
    assert not marker.exists()


def test_the_refusal_names_the_object_the_file_asked_for(tmp_path):
    _, (evil, _) = _evil_files(tmp_path)
    with pytest.raises(agents.CheckpointError, match="system"):
        load_checkpoint(evil)


def test_probe_refuses_a_malicious_checkpoint(tmp_path, capsys):
    marker, (evil, _) = _evil_files(tmp_path)
    assert main(["probe", "envkit/reach-v0", "-n", "1", "--checkpoint", str(evil), "--out", "none", "-q"]) == 1
    assert "could run code" in capsys.readouterr().err
    assert not marker.exists()


def test_checkpoints_load_with_weights_only_and_hold_plain_data(tmp_path):
    cfg = dict(PPO_TINY, normalize_reward=True)
    res = agents.train(lambda: TargetEnv(image=True), "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    for name in ("final.pt", "last.pt"):
        data = torch.load(tmp_path / "run" / "checkpoints" / name, weights_only=True)  # raises on any object
        assert data["version"] == VERSION == 2
        assert data["observation_space"]["type"] == "Dict"
    policy = agents.load_policy(res.checkpoint)
    assert policy.observation_space == TargetEnv(image=True).observation_space
    assert policy.action_space == TargetEnv().action_space


def test_an_old_format_checkpoint_is_refused_with_a_clear_message(tmp_path, capsys):
    old = tmp_path / "old.pt"
    torch.save({"format": FORMAT, "version": 1, "algo": "ppo", "observation_space": gym.spaces.Box(-1, 1, (2,)),
                "obs_normalizer": {"mean": np.zeros(2)}}, old)
    with pytest.raises(agents.CheckpointError) as e:
        agents.load_policy(old)
    msg = str(e.value)
    assert str(old) in msg and "older envkit" in msg and "cannot be loaded safely" in msg and "Retrain" in msg
    assert main(["eval", str(old)]) == 1
    assert "older envkit" in capsys.readouterr().err


def test_a_checkpoint_with_missing_keys_lists_them(tmp_path, capsys):
    partial = tmp_path / "partial.pt"
    torch.save({"format": FORMAT, "version": VERSION, "config": {}, "models": {}}, partial)
    with pytest.raises(agents.CheckpointError) as e:
        agents.load_policy(partial)
    msg = str(e.value)
    assert str(partial) in msg and "'algo'" in msg and "'models.actor'" in msg and "'config'" not in msg
    assert main(["eval", str(partial)]) == 1
    assert "'algo'" in capsys.readouterr().err


def test_resume_from_a_policy_only_checkpoint_lists_what_resuming_needs(tmp_path):
    cfg = dict(PPO_TINY, eval_every=32)
    agents.train(TargetEnv, "ppo", cfg, run_dir=tmp_path / "run", quiet=True)
    ck = tmp_path / "run" / "checkpoints"
    (ck / "last.pt").write_bytes((ck / "best.pt").read_bytes())
    with pytest.raises(agents.CheckpointError) as e:
        agents.train(TargetEnv, "ppo", {}, run_dir=tmp_path / "run", quiet=True, resume=True)
    assert "'optimizers.optimizer'" in str(e.value) and "resum" in str(e.value)


def _checkpoint_with_env(tmp_path, env: str):
    res = agents.train(TargetEnv, "ppo", PPO_TINY, run_dir=tmp_path / "run", quiet=True)
    data = load_checkpoint(res.checkpoint)
    data.pop("path")
    data["env"] = env
    torch.save(data, res.checkpoint)
    return res.checkpoint


def test_a_module_env_string_from_a_checkpoint_is_never_imported(tmp_path, monkeypatch, capsys):
    marker = tmp_path / "imported"
    (tmp_path / "evil_env_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\nEnv = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ckpt = _checkpoint_with_env(tmp_path, "evil_env_mod:Env")
    with pytest.raises(agents.CheckpointError) as e:
        agents.evaluate(ckpt, episodes=1)
    msg = str(e.value)
    assert "'evil_env_mod:Env'" in msg and "--env" in msg and "env=" in msg and str(ckpt) in msg
    assert main(["eval", str(ckpt), "--episodes", "1"]) == 1
    assert "--env" in capsys.readouterr().err
    assert not marker.exists()


def test_a_module_env_string_runs_when_the_user_passes_it(tmp_path, capsys):
    ckpt = _checkpoint_with_env(tmp_path, "agents_testenvs:TargetEnv")
    assert agents.evaluate(ckpt, env="agents_testenvs:TargetEnv", episodes=1)["episodes"] == 1
    assert main(["eval", str(ckpt), "--episodes", "1", "--env", "agents_testenvs:TargetEnv"]) == 0
    assert "episodes:   1" in capsys.readouterr().out


def test_registered_env_ids_from_a_checkpoint_still_evaluate(tmp_path):
    res = agents.train("Pendulum-v1", "ppo", PPO_TINY, run_dir=tmp_path / "run", quiet=True)
    assert agents.evaluate(res.checkpoint, episodes=1)["episodes"] == 1


def test_a_trusted_old_checkpoint_converts_once_and_then_loads(tmp_path):
    from agents.checkpoint import convert_checkpoint, decode_space

    res = agents.train(lambda: TargetEnv(image=True), "ppo", PPO_TINY, run_dir=tmp_path / "run", quiet=True)
    data = load_checkpoint(res.checkpoint)
    path = data.pop("path")
    # what format 1 held: gymnasium spaces and numpy arrays, pickled in full
    data.update(version=1, observation_space=decode_space(data["observation_space"], path),
                action_space=decode_space(data["action_space"], path))
    data["obs_normalizer"]["stats"]["state"]["mean"] = np.zeros(2)
    old = tmp_path / "old.pt"
    torch.save(data, old)
    with pytest.raises(agents.CheckpointError, match="older envkit"):
        agents.load_policy(old)
    new = convert_checkpoint(old, tmp_path / "new.pt")
    torch.load(new, weights_only=True)
    policy = agents.load_policy(new)
    assert policy.observation_space == TargetEnv(image=True).observation_space
    assert agents.evaluate(policy, env=lambda: TargetEnv(image=True), episodes=1)["episodes"] == 1


def test_convert_command_errors_are_one_paragraph(tmp_path, capsys):
    """`python -m agents.checkpoint convert` printed a traceback for a missing or unreadable file."""
    from agents.checkpoint import _main

    assert _main(["convert", str(tmp_path / "missing.pt"), str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err
    assert "missing.pt does not exist" in err and "Traceback" not in err
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint\n")
    assert _main(["convert", str(junk), str(tmp_path / "out.pt")]) == 2
    assert "could not be read as a torch checkpoint" in capsys.readouterr().err
    assert _main(["convert", str(junk), str(junk)]) == 2
    assert "onto itself" in capsys.readouterr().err and junk.read_text() == "not a checkpoint\n"
    assert not (tmp_path / "out.pt").exists()
