"""LeanAdam: the same numbers and state_dict as torch's fused Adam, through every path."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from agents.optim import LeanAdam, make_adam


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 2))


def _train(net: nn.Module, opt: torch.optim.Optimizer, steps: int, seed: int = 0, lr_at: dict | None = None) -> None:
    g = torch.Generator().manual_seed(seed)
    for i in range(steps):
        if lr_at and i in lr_at:
            opt.param_groups[0]["lr"] = lr_at[i]
        x = torch.randn(16, 5, generator=g)
        loss = net(x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_bit_identical_to_torch_fused_adam_including_lr_changes():
    ref, lean = _net(0), _net(0)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-2, eps=1e-8, fused=True)
    lean_opt = LeanAdam(lean.parameters(), lr=1e-2, eps=1e-8)
    _train(ref, ref_opt, 30, lr_at={10: 3e-3, 20: 0.0})
    _train(lean, lean_opt, 30, lr_at={10: 3e-3, 20: 0.0})
    assert lean_opt._cache is not None  # the fast path was really taken
    assert _same(ref, lean)
    assert not _same(ref, _net(0))  # and training moved the weights


def test_state_dict_is_interchangeable_with_torch_adam():
    a, b = _net(1), _net(1)
    lean = LeanAdam(a.parameters(), lr=1e-2, eps=1e-8)
    _train(a, lean, 5)
    torch_opt = torch.optim.Adam(b.parameters(), lr=1e-2, eps=1e-8, fused=True)
    b.load_state_dict(a.state_dict())
    torch_opt.load_state_dict(copy.deepcopy(lean.state_dict()))  # as a checkpoint round trip
    _train(a, lean, 5, seed=1)
    _train(b, torch_opt, 5, seed=1)
    assert _same(a, b)
    # ... and back: LeanAdam must use the loaded state tensors, not its cached old ones.
    c = _net(2)
    c.load_state_dict(b.state_dict())
    lean2 = LeanAdam(c.parameters(), lr=1e-2, eps=1e-8)
    _train(c, lean2, 1, seed=9)  # builds a cache on fresh state
    c.load_state_dict(b.state_dict())
    lean2.load_state_dict(copy.deepcopy(torch_opt.state_dict()))
    _train(b, torch_opt, 3, seed=2)
    _train(c, lean2, 3, seed=2)
    assert _same(b, c)


def test_a_parameter_without_gradient_falls_back_to_torch():
    torch.manual_seed(0)
    used, unused = nn.Linear(3, 1), nn.Linear(3, 1)
    opt = make_adam(list(used.parameters()) + list(unused.parameters()), lr=1e-2, eps=1e-8)
    before_unused = [p.clone() for p in unused.parameters()]
    before_used = used.weight.clone()
    for _ in range(3):
        opt.zero_grad()
        used(torch.ones(2, 3)).sum().backward()
        opt.step()
    assert all(torch.equal(p, q) for p, q in zip(before_unused, unused.parameters(), strict=True))  # skipped
    assert not torch.equal(used.weight, before_used)


def test_zero_grad_sets_gradients_to_none():
    net = _net(0)
    opt = LeanAdam(net.parameters(), lr=1e-3, eps=1e-8)
    net(torch.ones(1, 5)).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(torch.ones(1, 5)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())


def test_closure_goes_through_torch():
    net = _net(0)
    opt = LeanAdam(net.parameters(), lr=1e-3, eps=1e-8)

    def closure():
        opt.zero_grad()
        loss = net(torch.ones(1, 5)).sum()
        loss.backward()
        return loss

    assert isinstance(opt.step(closure), torch.Tensor)
    with pytest.raises(TypeError):
        LeanAdam(net.parameters())  # lr and eps are required: the agents always pass them
