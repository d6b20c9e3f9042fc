"""Demonstrations for PPO and TD3: loading them, and the behaviour-cloning loss that uses them.

Why: on Task B, Gaussian exploration from the scene's start never finds the grasp that
sorting needs (docs/task-b.md), while a scripted controller sorts ~95% of the scenes.
Demo-augmented policy gradient (DAPG, Rajeswaran et al. 2018) starts the policy from
behaviour cloning on such demonstrations and keeps a fading cloning term in the policy
loss, so the reward can improve on the demonstrations without the agent's first noisy
updates forgetting them (TD3 adds the same term to TD3+BC's actor loss).

A demonstration file is an .npz of plain arrays (`obs`, `actions`, `episode`, `meta` as a
JSON string): it is loaded with allow_pickle=False, so it cannot run code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.envs import env_method, set_evaluation
from agents.errors import ConfigError
from agents.networks import obs_to_tensor
from agents.spaces import BOX_KEY, ActionScaler, ObsLayout

FADED_OUT = 1e-4
"""A cloning weight below this is treated as 0: the term has faded and its cost is skipped."""


def cloning_weight(cfg: Any, transitions: float, default_every: float) -> float:
    """demo_coef faded by one demo_decay factor per demo_decay_every transitions (default_every
    when it is null): the one fading rule of both agents, which differ only in what they count."""
    return cfg.demo_coef * cfg.demo_decay ** (transitions / (cfg.demo_decay_every or default_every))


def _check_layout(layout: ObsLayout) -> None:
    if layout.is_dict or layout.image_keys:
        raise ConfigError(
            "Config field 'demos' needs a state observation (one Box vector): this env's observation has "
            f"parts {', '.join(layout.shapes)}. Use a state scene (observation.mode: state) or set demos: null."
        )


def record_scripted(env_fn: Callable[[], gym.Env], episodes: int, seed: int, quiet: bool = True) -> dict[str, Any]:
    """Demonstrations from the env's own scripted controller, on a fresh copy set to evaluation.

    The protocol is one optional env method, `scripted_demos(episodes, seed, progress)`, found
    through wrappers (envkit's sorting scenes have it): the agents import no env library.
    """
    env = env_fn()
    try:
        set_evaluation(env)  # the scene's own starts, not the training aids
        method = env_method(env, "scripted_demos")
        if method is None:
            raise ConfigError(
                "Config field 'demos' = 'scripted' asks the env for its scripted demonstrations, and this env has "
                "none (envkit sorting scenes only have them). Record demonstrations into an .npz of `obs` and "
                "`actions` arrays and pass its path, or set demos: null."
            )

        def progress(done: int, total: int, ok: int) -> None:
            if not quiet and (done % 50 == 0 or done == total):
                print(f"demos: {done}/{total} scripted episodes, {ok} succeeded", flush=True)

        return dict(method(episodes, seed, progress))
    finally:
        env.close()


def stage_summary(stages: list[dict[str, Any]]) -> str:
    """'1 object 98/100, 2 objects 95/100, ...' from the meta of demonstrations recorded per stage."""
    return ", ".join(f"{s['objects']} object{'s' if s['objects'] != 1 else ''} {s['kept']}/{s['episodes']}"
                     for s in stages)


def load_demo_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config field 'demos' names {str(path)!r}, which does not exist. Write one with "
                          "`envkit demos SCENE --out FILE.npz`, or set demos: scripted to record them at the start.")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (ValueError, OSError) as exc:
        raise ConfigError(f"Demonstration file {path} cannot be read as a plain-array .npz ({exc}). Write it "
                          "again with `envkit demos`.") from None
    missing = [k for k in ("obs", "actions") if k not in data]
    if missing:
        raise ConfigError(f"Demonstration file {path} has no {' or '.join(missing)} array (it has "
                          f"{', '.join(data) or 'nothing'}). Write it with `envkit demos`.")
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    return {"obs": data["obs"], "actions": data["actions"], "meta": meta}


class DemoSet:
    """The demonstrations on the device, with the policy-scale actions and a cloning loss."""

    def __init__(self, data: dict[str, Any], layout: ObsLayout, scaler: ActionScaler, device: torch.device,
                 source: str) -> None:
        _check_layout(layout)
        obs = np.asarray(data["obs"], np.float32)
        actions = np.asarray(data["actions"], np.float32)
        (dim,) = layout.shapes[BOX_KEY]
        act_dim = scaler.low.shape[0]
        if obs.ndim != 2 or obs.shape[1] != dim or actions.shape != (obs.shape[0], act_dim) or not len(obs):
            raise ConfigError(
                f"Demonstrations {source} do not fit this env: they hold observations of shape {obs.shape} and "
                f"actions of shape {actions.shape}, the env needs (N, {dim}) and (N, {act_dim}) with N >= 1. "
                "Record them on the scene you train on."
            )
        if not (np.isfinite(obs).all() and np.isfinite(actions).all()):
            raise ConfigError(f"Demonstrations {source} contain NaN or inf values. Record them again.")
        self.meta = data.get("meta", {})
        self.source = source
        self.obs = obs
        self.actions = torch.as_tensor(np.clip(scaler.from_env(actions), -1.0, 1.0), device=device)
        self.device = device

    def __len__(self) -> int:
        return len(self.obs)

    def loss(self, actor: nn.Module, obs_norm: Any, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Squared error between the policy's action (PPO: its mean) and the demonstrated action on
        a minibatch, summed over action dimensions and averaged over the minibatch.

        The observations are kept raw and normalised per minibatch with the normaliser the policy
        acts through (frozen at the demonstrations' statistics by `start_from_demos`).
        """
        idx = torch.randint(0, len(self.obs), (min(batch_size, len(self.obs)),), generator=generator)
        obs = obs_norm.normalize({BOX_KEY: self.obs[idx.numpy()]})
        mean = actor(obs_to_tensor(obs, self.device))
        return (mean - self.actions[idx.to(self.device)]).pow(2).sum(-1).mean()


def load_demos(cfg: Any, run: Any, device: torch.device) -> DemoSet:
    """The demonstrations a config names (`demos`), checked against the run's env."""
    if cfg.demos == "scripted":
        data = record_scripted(run.env_fn, cfg.demo_episodes, cfg.demo_seed, quiet=run.quiet)
        source = f"scripted ({cfg.demo_episodes} episodes from seed {cfg.demo_seed})"
    else:
        data = load_demo_file(cfg.demos)
        source = str(cfg.demos)
    demos = DemoSet(data, run.layout, run.action_scaler, device, source)
    if not run.quiet:
        rate = demos.meta.get("success_rate")
        print(f"demos: {len(demos)} pairs from {source}" + (f", controller success {rate:.2f}" if rate is not None else ""),
              flush=True)
        if demos.meta.get("curriculum_stages"):
            print(f"demos: kept per curriculum stage: {stage_summary(demos.meta['curriculum_stages'])}", flush=True)
    return demos


def start_from_demos(actor: nn.Module, demos: DemoSet, obs_norm: Any, cfg: Any, generator: torch.Generator,
                     quiet: bool) -> None:
    """Fit the observation statistics to the demonstrations and freeze them, then clone them for
    `cfg.demo_pretrain_steps` minibatches (saying the last one's loss unless quiet).

    Frozen statistics: with running ones, the first rollouts (longer episodes, other states)
    moved the normalisation under the cloned policy, which then did something else; on sort-1
    that took the deterministic policy from 0.88 to 0 within 30k steps (docs/task-b.md).
    The cloning has its own Adam: the agent's optimiser should start from the agent's gradients.
    """
    obs_norm.update({BOX_KEY: demos.obs})
    obs_norm.frozen = True
    steps = cfg.demo_pretrain_steps
    if not steps:
        return
    opt = torch.optim.Adam(actor.parameters(), lr=cfg.demo_learning_rate)
    actor.train()
    loss = torch.zeros(())
    for _ in range(steps):
        loss = demos.loss(actor, obs_norm, cfg.demo_batch_size, generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if not quiet:
        print(f"demos: behaviour cloning, {steps} steps, final loss {float(loss.detach()):.4f}", flush=True)
