"""PPO with clipped surrogate, GAE and a Gaussian policy with learned state-independent log-std.

Reading order: `PPO.collect` (one rollout into the buffer), `PPO.update` (the
losses), `PPO.learn` (the loop). Shared run machinery (envs, logs, checkpoints,
evaluation) lives in `agents.runner.Run`.

Action bounds: the policy acts in [-1, 1]. A sample a ~ N(mu, sigma) is clipped to
[-1, 1] and rescaled to the env's bounds only on its way to the env; the buffer
keeps the unclipped sample and its exact log-probability, so the importance ratio
is that of the distribution actually optimised (SB3's and CleanRL's choice; no
tanh-squash correction is needed).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from agents.augment import make_augmenter
from agents.buffers import RolloutBuffer
from agents.checkpoint import rng_state, set_rng_state
from agents.compute import retain_freed_memory
from agents.config import PPOConfig
from agents.demos import FADED_OUT, DemoSet, cloning_weight, load_demos, start_from_demos
from agents.errors import CheckpointError
from agents.networks import GaussianActor, ValueCritic, obs_to_tensor
from agents.normalization import ObsNormalizer, RewardScaler
from agents.optim import make_adam
from agents.runner import Run, assert_finite
from agents.spaces import ObsLayout

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Sum over action dimensions of log N(a; mean, exp(log_std))."""
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - LOG_SQRT_2PI).sum(-1)


def ppo_losses(
    mean: torch.Tensor,
    log_std: torch.Tensor,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip_coef: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clipped surrogate loss (to minimise), approximate KL, clip fraction and entropy.

    The min of the unclipped and clipped objectives makes the loss a pessimistic
    bound: once the ratio has moved by more than clip_coef in the advantage's
    direction, the gradient through that sample is zero.
    """
    new_log_probs = gaussian_log_prob(actions, mean, log_std)
    log_ratio = new_log_probs - old_log_probs
    ratio = torch.exp(log_ratio)
    pg_loss = torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()  # Schulman's low-variance k3 estimator
        clip_frac = ((ratio - 1.0).abs() > clip_coef).float().mean()
    entropy = (log_std + 0.5 + LOG_SQRT_2PI).sum()  # state-independent std: same entropy everywhere
    return pg_loss, approx_kl, clip_frac, entropy


class UpdateStats(NamedTuple):
    """What an update logs, one 0-d tensor per minibatch each; averaged over the minibatches."""

    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


class PPOPolicyHead(nn.Module):
    """Deterministic PPO action (the mean, clipped to [-1, 1]) for evaluation and export."""

    def __init__(self, actor: GaussianActor) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.actor(obs).clamp(-1.0, 1.0)


def build_actor(layout: ObsLayout, act_dim: int, cfg: PPOConfig) -> GaussianActor:
    return GaussianActor(layout, act_dim, cfg, cfg.init_log_std, cfg.ortho_init)


class PPO:
    def __init__(self, run: Run) -> None:
        cfg: PPOConfig = run.config  # type: ignore[assignment]
        self.run, self.cfg, self.device = run, cfg, run.device
        if run.layout.image_keys:
            retain_freed_memory()  # CNN activations: no page faults per update (agents.compute)
        self.actor = build_actor(run.layout, run.act_dim, cfg).to(self.device)
        self.critic = ValueCritic(run.layout, cfg, cfg.ortho_init).to(self.device)
        self.params = list(self.actor.parameters()) + list(self.critic.parameters())
        self.optimizer = make_adam(self.params, cfg.learning_rate, eps=1e-5)
        self.obs_norm = ObsNormalizer(run.layout, cfg.normalize_obs, cfg.clip_obs)
        self.reward_scaler = RewardScaler(cfg.n_envs, cfg.gamma, cfg.clip_reward) if cfg.normalize_reward else None
        self.n_steps = cfg.batch_size // cfg.n_envs
        self.buffer = RolloutBuffer(run.layout, run.act_dim, self.n_steps, cfg.n_envs, self.device)
        self.augment = make_augmenter(run.layout, cfg.augment, cfg.augment_pad, run.seed)
        """Shifts the minibatches' images (augment=shift); the rollout itself sees raw frames."""
        self.updates = 0
        self.demos: DemoSet | None = load_demos(cfg, run, self.device) if cfg.demos else None
        self.demo_generator = torch.Generator().manual_seed(run.seed)
        self.obs_norm.frozen = self.demos is not None and run.checkpoint is not None  # as start_from_demos left it
        if run.checkpoint is not None:
            self.load_state_dict(run.checkpoint)
        run.set_policy(self.actor, self.obs_norm)

    def demo_coef(self) -> float:
        """The cloning loss's weight at this update (0 without demonstrations): one demo_decay factor
        per earlier update, or per demo_decay_every transitions the earlier updates consumed."""
        if self.demos is None:
            return 0.0
        return cloning_weight(self.cfg, self.updates * self.cfg.batch_size, default_every=self.cfg.batch_size)

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def act_deterministic(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Mean action in [-1, 1] for raw (unnormalised) observations; used by evaluation."""
        self.actor.eval()
        o = obs_to_tensor(self.obs_norm.normalize(obs), self.device)
        return self.actor(o).clamp(-1.0, 1.0).cpu().numpy()

    # -------------------------------------------------------------- collection
    @torch.no_grad()
    def collect(self, obs_n: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Fill the buffer with n_steps vector steps from normalised obs `obs_n`; return the next obs."""
        run, buf = self.run, self.buffer
        self.actor.eval()
        self.critic.eval()
        buf.reset()
        log_std = self.actor.log_std
        std = torch.exp(log_std)
        for _ in range(self.n_steps):
            buf.add_obs(obs_n)
            o = obs_to_tensor(obs_n, self.device)
            mean = self.actor(o)
            action = mean + std * torch.randn_like(mean)
            log_prob = gaussian_log_prob(action, mean, log_std)
            value = self.critic(o)
            action_np = action.cpu().numpy()
            next_obs, reward, terminated, truncated, valid, _ = run.step_envs(action_np)
            if self.reward_scaler is not None:
                reward = self.reward_scaler(reward, terminated | truncated, valid)
            buf.add_step(action_np, log_prob.cpu().numpy(), value.cpu().numpy(), reward, terminated, truncated, valid)
            self.obs_norm.update(next_obs)
            obs_n = self.obs_norm.normalize(next_obs)
            run.logger.progress(run.global_step)
        last_values = self.critic(obs_to_tensor(obs_n, self.device)).cpu().numpy()
        buf.compute_returns_and_advantages(last_values, self.cfg.gamma, self.cfg.gae_lambda)
        return obs_n

    # ------------------------------------------------------------------ update
    def update(self) -> dict[str, float]:
        cfg = self.cfg
        if cfg.anneal_lr:
            frac = max(1.0 - self.updates / -(-cfg.total_timesteps // cfg.batch_size), 0.0)
            for g in self.optimizer.param_groups:
                g["lr"] = frac * cfg.learning_rate
        self.actor.train()
        self.critic.train()
        b = self.buffer.flat_valid()
        n = b.actions.shape[0]
        # Running sums of UpdateStats in its field order, on the device: one stack and one add per
        # minibatch, read once per update (by field name, below).
        sums = torch.zeros(len(UpdateStats._fields), device=self.device)
        demo_coef = self.demo_coef()
        demo_coef = demo_coef if demo_coef >= FADED_OUT else 0.0
        demo_sum = torch.zeros((), device=self.device)
        n_minibatches = 0
        epochs_done = 0
        for _ in range(cfg.epochs if n else 0):  # a rollout of autoreset calls only holds nothing to learn
            # The CPU generator (saved in checkpoints on every device): the same permutations everywhere.
            perm = torch.randperm(n, device="cpu").to(self.device)
            epoch_kl = torch.zeros((), device=self.device)
            epoch_mb = 0
            for start in range(0, n, cfg.minibatch_size):
                idx = perm[start:start + cfg.minibatch_size]
                if idx.numel() < 2 and n >= 2:
                    continue  # a trailing 1-sample minibatch would have no advantage std
                obs = {k: v[idx] for k, v in b.obs.items()}
                if self.augment is not None:
                    obs = self.augment(obs)
                adv = b.advantages[idx]
                if cfg.normalize_advantages and idx.numel() >= 2:  # one transition: no std (SB3's rule)
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)

                mean = self.actor(obs)
                pg_loss, approx_kl, clip_frac, entropy = ppo_losses(
                    mean, self.actor.log_std, b.actions[idx], b.log_probs[idx], adv, cfg.clip_coef)

                values = self.critic(obs)
                if cfg.value_clip is not None:
                    old_v = b.values[idx]
                    v_clipped = old_v + torch.clamp(values - old_v, -cfg.value_clip, cfg.value_clip)
                    v_loss = 0.5 * torch.max((values - b.returns[idx]) ** 2, (v_clipped - b.returns[idx]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((values - b.returns[idx]) ** 2).mean()

                loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
                if demo_coef > 0:
                    demo_loss = self.demos.loss(self.actor, self.obs_norm, cfg.demo_batch_size, self.demo_generator)
                    loss = loss + demo_coef * demo_loss
                    demo_sum += demo_loss.detach()
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm, foreach=True)
                self.optimizer.step()

                with torch.no_grad():
                    sums += torch.stack(UpdateStats(policy_loss=pg_loss.detach(), value_loss=v_loss.detach(),
                                                    entropy=entropy.detach(), approx_kl=approx_kl,
                                                    clip_fraction=clip_frac))
                    epoch_kl += approx_kl
                n_minibatches += 1
                epoch_mb += 1
            epochs_done += 1
            if cfg.target_kl is not None and epoch_mb and float(epoch_kl) / epoch_mb > cfg.target_kl:
                break
        self.updates += 1
        # Means over the minibatches; NaN when nothing was trained.
        means = (sums / n_minibatches).tolist() if n_minibatches else [float("nan")] * len(sums)
        stats: dict[str, Any] = dict(zip(UpdateStats._fields, means, strict=True))
        if n_minibatches:
            for k in ("policy_loss", "value_loss"):
                assert_finite(k, stats[k], self.run.global_step)
        ret, val = b.returns.cpu().numpy(), b.values.cpu().numpy()
        var_ret = float(np.var(ret)) if n else 0.0
        stats.update(
            explained_variance=float("nan") if var_ret == 0 else 1.0 - float(np.var(ret - val)) / var_ret,
            std=float(torch.exp(self.actor.log_std.detach()).mean()),
            learning_rate=self.optimizer.param_groups[0]["lr"],
            epochs=epochs_done, batch_transitions=n, updates=self.updates,
        )
        if self.demos is not None:
            stats.update(demo_coef=demo_coef,
                         demo_loss=float(demo_sum) / n_minibatches if demo_coef and n_minibatches else float("nan"))
        return stats

    # -------------------------------------------------------------------- loop
    def learn(self) -> None:
        run, cfg = self.run, self.cfg
        obs = run.reset_envs()
        self.obs_norm.update(obs)
        obs_n = self.obs_norm.normalize(obs)
        if self.demos is not None and run.global_step == 0 and self.updates == 0:
            start_from_demos(self.actor, self.demos, self.obs_norm, cfg, self.demo_generator, run.quiet)
            obs_n = self.obs_norm.normalize(obs)  # with the demonstrations' statistics
        run.logger.mark_speed(run.global_step)
        if run.global_step == 0:
            run.maybe_evaluate(self.act_deterministic, final=True)  # the untrained baseline
        # The budget is counted in rollouts, as SB3 does: ceil(total / batch_size) of them. The
        # autoreset calls inside a rollout are masked, so global_step (real transitions)
        # ends slightly below total_timesteps rather than one whole batch above it.
        n_rollouts = -(-cfg.total_timesteps // cfg.batch_size)
        while self.updates < n_rollouts:
            obs_n = self.collect(obs_n)
            with run.flush_denormals:
                stats = self.update()
            if run.log_due(force=self.updates == n_rollouts):
                run.logger.train_stats(run.global_step, stats)
            run.maybe_evaluate(self.act_deterministic)
            if run.checkpoint_due():
                run.save(self.state_dict(), self.modules())
        if run.logger.last_eval is None or run.logger.last_eval["global_step"] != run.global_step:
            run.maybe_evaluate(self.act_deterministic, final=True)
        run.save(self.state_dict(), self.modules(), final=True)

    # ------------------------------------------------------------- checkpoints
    def modules(self) -> dict[str, nn.Module]:
        return {"actor": self.actor, "critic": self.critic}

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {"actor": self.actor.state_dict(), "critic": self.critic.state_dict()},
            "optimizers": {"optimizer": self.optimizer.state_dict()},
            "obs_normalizer": self.obs_norm.state_dict(),
            "reward_scaler": None if self.reward_scaler is None else self.reward_scaler.state_dict(),
            "algo_counters": {"updates": self.updates},
            "rng": {**rng_state(self.run.np_rng, self.device),
                    "augment": None if self.augment is None else self.augment.state_dict(),
                    "demos": self.demo_generator.get_state()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.actor.load_state_dict(state["models"]["actor"])
            self.critic.load_state_dict(state["models"]["critic"])
            self.optimizer.load_state_dict(state["optimizers"]["optimizer"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(
                f"Checkpoint {state.get('path')} does not fit this PPO config/env (network shapes differ): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        self.obs_norm.load_state_dict(state["obs_normalizer"])
        if self.reward_scaler is not None and state.get("reward_scaler"):
            self.reward_scaler.load_state_dict(state["reward_scaler"])
        self.updates = int(state["algo_counters"]["updates"])
        set_rng_state(state["rng"], self.run.np_rng, self.device)
        if self.augment is not None and state["rng"].get("augment") is not None:
            self.augment.load_state_dict(state["rng"]["augment"])
        if state["rng"].get("demos") is not None:
            self.demo_generator.set_state(state["rng"]["demos"])
