"""torch compute settings of a run: applied while it trains, restored afterwards, recorded, validated."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from agents_testenvs import DenormalProbeEnv, TargetEnv

import agents
from agents import compute
from agents.compute import compute_settings, native_bf16, resolve_precision

needs_bf16 = pytest.mark.skipif(not native_bf16(), reason="oneDNN does not run fp32 matmuls in bf16 on this CPU")


def _denormal_survives() -> bool:
    return torch.tensor([1e-323], dtype=torch.float64).item() != 0.0


def _matmul_error() -> float:
    """Max error of an fp32 matmul against float64: ~1e-6 in fp32, ~1e-2 with bfloat16 inputs."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 256, generator=g), torch.randn(256, 64, generator=g)
    return ((a @ b).double() - a.double() @ b.double()).abs().max().item() / 16.0


def test_settings_apply_inside_and_are_restored_after():
    threads = torch.get_num_threads()
    assert _denormal_survives()
    with compute_settings(threads + 1, "fp32") as used:
        assert used == "fp32"
        assert torch.get_num_threads() == threads + 1
        assert _denormal_survives()  # flushed only inside the updates (FlushDenormals), never for envs
        assert _matmul_error() < 1e-4
    assert torch.get_num_threads() == threads
    assert _denormal_survives()


def test_settings_are_restored_when_the_run_raises():
    threads = torch.get_num_threads()
    with pytest.raises(RuntimeError), compute_settings(threads + 1, "fp32"):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == threads and _denormal_survives()


@needs_bf16
def test_bf16_really_changes_matmul_precision_and_only_inside():
    exact = _matmul_error()
    with compute_settings(1, "bf16") as used:
        assert used == "bf16"
        inside = _matmul_error()
    assert inside > 100 * exact  # bfloat16 inputs: 8 mantissa bits instead of 24
    assert _matmul_error() == pytest.approx(exact)


def test_auto_follows_the_cpu_and_bf16_is_refused_where_it_would_be_emulated(monkeypatch):
    monkeypatch.setattr(compute, "native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32"
    with pytest.raises(agents.ConfigError, match="AMX") as e:
        resolve_precision("bf16", "cpu")
    assert "'matmul_precision'" in str(e.value) and "'fp32'" in str(e.value)
    monkeypatch.setattr(compute, "native_bf16", lambda: True)
    assert resolve_precision("auto", "cpu") == "bf16"
    assert resolve_precision("auto", "cuda") == "fp32"
    with pytest.raises(agents.ConfigError, match="device 'cpu' only"):
        resolve_precision("bf16", "cuda")


def test_invalid_precision_is_a_config_error_with_a_suggestion():
    with pytest.raises(agents.ConfigError) as e:
        agents.train(TargetEnv, "td3", {"matmul_precision": "bf61"}, quiet=True)
    msg = str(e.value)
    assert "'matmul_precision'" in msg and "fp32, bf16, auto." in msg and "Did you mean 'bf16'?" in msg


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_a_run_records_the_precision_it_used_and_restores_threads(tmp_path, fast, algo):
    threads = torch.get_num_threads()
    cfg = dict(fast, total_timesteps=128, hidden_sizes=[16], matmul_precision="auto", torch_threads=threads + 1)
    cfg.update(batch_size=64, minibatch_size=32) if algo == "ppo" else cfg.update(learning_starts=32, batch_size=16)
    agents.train(TargetEnv, algo, cfg, run_dir=tmp_path / "run", quiet=True)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["agent"]["matmul_precision"] == "auto"
    assert saved["matmul_precision_used"] == ("bf16" if native_bf16() else "fp32")
    assert torch.get_num_threads() == threads and _denormal_survives()


@needs_bf16
@pytest.mark.slow
def test_td3_learns_pendulum_in_bf16(tmp_path):
    """The same learning bar as fp32 (test_agents_td3): > -400 mean evaluation return within 15k steps."""
    cfg = dict(total_timesteps=15_000, gamma=0.98, hidden_sizes=[64, 64], learning_starts=1000,
               eval_every=5000, eval_episodes=10, tensorboard=False, checkpoint_every=0, matmul_precision="bf16")
    res = agents.train("Pendulum-v1", "td3", cfg, run_dir=tmp_path / "run", seed=0, quiet=True)
    assert res.final_eval["mean_return"] > -400, res.final_eval


@pytest.mark.parametrize("initial", [False, True], ids=["caller-keeps-denormals", "caller-flushes"])
@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_train_leaves_denormal_flushing_as_the_caller_had_it(tmp_path, fast, algo, initial):
    cfg = dict(fast, total_timesteps=128, hidden_sizes=[16])
    cfg.update(batch_size=64, minibatch_size=32) if algo == "ppo" else cfg.update(learning_starts=32, batch_size=16)
    torch.set_flush_denormal(initial)
    try:
        assert _denormal_survives() == (not initial)
        agents.train(TargetEnv, algo, cfg, run_dir=tmp_path / "run", quiet=True)
        assert _denormal_survives() == (not initial)
        with pytest.raises(agents.ConfigError):  # a run that fails restores it too
            agents.train(TargetEnv, algo, dict(cfg, batch_size=-1), run_dir=tmp_path / "bad", quiet=True)
        assert _denormal_survives() == (not initial)
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize("vec_env", ["sync", "async"])
def test_envs_never_see_the_runs_denormal_flushing(tmp_path, fast, vec_env):
    """The env computes with numpy in this process (sync) or in forked workers (async): neither
    may run with denormals flushed because the agent's updates want it."""
    cfg = dict(fast, total_timesteps=96, learning_starts=32, batch_size=16, hidden_sizes=[8], n_envs=2,
               vec_env=vec_env)
    agents.train(DenormalProbeEnv, "td3", cfg, run_dir=tmp_path / "run", quiet=True)
    with np.load(tmp_path / "run" / "checkpoints" / "replay.npz") as d:
        seen = d["next_obs/obs"][:, 0]
    assert len(seen) == 96 and (seen == 1.0).all(), f"{int((seen == 0).sum())} env steps saw flushed denormals"


@pytest.mark.parametrize("initial", [False, True])
def test_flush_denormals_scope_restores_the_state_it_found(initial):
    torch.set_flush_denormal(initial)
    try:
        scope = compute.FlushDenormals()
        assert scope.outside == initial == compute.denormals_flushed()
        with pytest.raises(RuntimeError), scope:
            assert not _denormal_survives()
            raise RuntimeError("boom")
        assert _denormal_survives() == (not initial)
    finally:
        torch.set_flush_denormal(False)


def test_bf16_probe_leaves_the_precision_setting_as_it_was():
    mkl = torch.backends.mkldnn
    before = mkl.matmul.fp32_precision
    assert compute._bf16_takes_effect() in (True, False)
    assert mkl.matmul.fp32_precision == before
    assert _matmul_error() < 1e-4  # still exact fp32 afterwards
