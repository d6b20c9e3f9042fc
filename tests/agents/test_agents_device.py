"""config.device: refused when torch cannot use it, followed by every tensor of the updates,
its RNG saved; benchmarks/gpu_smoke.py (the check a maintainer runs on a GPU) runs here on the CPU."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from agents_testenvs import TargetEnv

import agents
from agents.checkpoint import rng_state, set_rng_state
from agents.compute import check_device

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_cuda_without_cuda_is_a_config_error_before_anything_is_written(tmp_path, algo):
    with pytest.raises(agents.ConfigError) as e:
        agents.train(TargetEnv, algo, {"device": "cuda"}, run_dir=tmp_path / "run", quiet=True)
    msg = str(e.value)
    assert "'device' = 'cuda'" in msg and "torch.cuda.is_available() is False" in msg and "device=cpu" in msg
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_is_a_config_error():
    with pytest.raises(agents.ConfigError, match="'device' = 'mps' cannot be used"):
        check_device("mps")


def test_a_cuda_index_beyond_the_devices_is_a_config_error():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA: the index cannot be checked (the device is refused before)")
    with pytest.raises(agents.ConfigError, match="numbered 0 to"):
        check_device(f"cuda:{torch.cuda.device_count()}")


def test_cpu_is_accepted():
    assert check_device("cpu") == torch.device("cpu")


FACTORIES = {"zeros", "ones", "empty", "full", "randperm", "arange", "tensor", "rand", "randn", "randint"}


@pytest.mark.parametrize("module", ["ppo.py", "td3.py", "buffers.py", "runner.py"])
def test_update_code_creates_tensors_on_an_explicit_device_and_reads_them_through_cpu(module):
    """No GPU here, so the rule that made the code device-correct is checked in the source: every
    torch factory call in the training code names its device (a tensor created without one is on
    the CPU and meets the networks' CUDA tensors), and `.numpy()` is only called on `.cpu()`."""
    tree = ast.parse((ROOT / "agents" / module).read_text())
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        f = node.func
        if isinstance(f.value, ast.Name) and f.value.id == "torch" and f.attr in FACTORIES:
            if not any(k.arg == "device" for k in node.keywords):
                bad.append(f"line {node.lineno}: torch.{f.attr}(...) without device=")
        if f.attr == "numpy" and not (isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Attribute)
                                      and f.value.func.attr == "cpu"):
            bad.append(f"line {node.lineno}: .numpy() not on .cpu()")
    assert not bad, bad


def test_rng_state_saves_the_accelerator_generator_only_on_that_device():
    rng = np.random.default_rng(0)
    state = rng_state(rng, "cpu")
    assert set(state) == {"torch", "numpy"}
    if torch.cuda.is_available():
        cuda = rng_state(rng, "cuda")
        assert len(cuda["torch_cuda"]) == torch.cuda.device_count()
        expected = torch.cuda.get_rng_state()
        torch.rand(3, device="cuda")
        set_rng_state(cuda, rng, "cuda")
        assert torch.equal(torch.cuda.get_rng_state(), expected)


def _load_gpu_smoke():
    spec = importlib.util.spec_from_file_location("gpu_smoke", ROOT / "benchmarks" / "gpu_smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_smoke_benchmark_runs_on_the_cpu(tmp_path, capsys):
    gpu_smoke = _load_gpu_smoke()
    assert gpu_smoke.main(["--device", "cpu", "--steps", "160", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if ln.startswith("| ppo") or ln.startswith("| td3")]
    assert len(rows) == 4 and all(ln.rstrip().endswith("| ok |") for ln in rows), out
    for run in ("ppo-mlp", "ppo-cnn", "td3-mlp", "td3-cnn"):
        assert (tmp_path / run / "checkpoints" / "final.pt").is_file()
        torch.load(tmp_path / run / "checkpoints" / "final.pt", weights_only=True)


def test_gpu_smoke_reports_an_unusable_device_in_its_rows(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert _load_gpu_smoke().main(["--device", "cuda", "--steps", "40", "--out", str(tmp_path)]) == 1
    assert "FAILED: ConfigError" in capsys.readouterr().out
