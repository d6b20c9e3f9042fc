"""TD3: twin critics with clipped double-Q, delayed actor updates, target-policy smoothing.

Reading order: `TD3.update` (the losses; `_update_shared` for image observations),
`TD3.learn` (the loop). Shared run
machinery lives in `agents.runner.Run`.

Bootstrapping: the target is r + gamma * (1 - terminated) * min_i Q'_i(s', a').
Only a real termination zeroes the bootstrap; at a time-limit truncation s' is the
episode's final observation (gymnasium 1.x NEXT_STEP autoreset returns it from the
step that ended the episode) and is bootstrapped like any other state. The
autoreset call that follows is not a transition and is never stored.

Pixels (`encoder=shared`, the default): one image encoder serves actor and critics and is
trained by the critic loss only; the actor loss and the targets see its features
detached (DrQ-v2, SAC-AE). Why: with a CNN per network (`encoder=separate`, the old
path, kept as the baseline) an update ran the CNN ~6 times (two critics with gradient,
three target passes, the actor's with gradient every other update), and the CNN is
nearly all of a camera update's cost. Now it runs twice: on obs with gradient (critic
loss), and the target encoder, lerped with the other targets, on next_obs. The actor
update reuses the obs features from before the critic step. The actor module holds a
reference to the shared encoder, so it still acts on raw observation dicts and its
state_dict has the keys of an actor with its own encoder (`Policy`, best.pt, eval work
unchanged); its optimiser holds only its MLP. `augment=shift` shifts obs and next_obs
images of every sampled batch (`agents.augment`, seeded, state in the checkpoint).
Vector-only observations take the plain path whatever `encoder` says.

Speed: the critics are one `QEnsemble` (batched matmuls), target parameters are
updated with one fused `_foreach_lerp_` (buffers, i.e. BatchNorm statistics, are
copied), Adam is `LeanAdam` (the fused kernel without torch.optim's per-step
overhead), the actor loss computes no critic weight gradients, train/eval mode is
only switched when a layer depends on it, and losses are read back (`.item()`) only
when logged.
"""

from __future__ import annotations

import copy
import uuid
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.augment import make_augmenter
from agents.buffers import ReplayBatch, ReplayBuffer
from agents.checkpoint import rng_state, save_arrays_atomic, set_rng_state
from agents.compute import retain_freed_memory
from agents.config import TD3Config
from agents.demos import FADED_OUT, DemoSet, cloning_weight, load_demos, start_from_demos
from agents.errors import CheckpointError, RunWarning
from agents.networks import DeterministicActor, ObsEncoder, QEnsemble, mode_matters, obs_to_tensor
from agents.normalization import ObsNormalizer
from agents.optim import make_adam
from agents.runner import Run, assert_finite
from agents.spaces import ObsLayout

REPLAY_FILE = "replay.npz"


def build_actor(layout: ObsLayout, act_dim: int, cfg: TD3Config) -> DeterministicActor:
    return DeterministicActor(layout, act_dim, cfg)


def td3_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    next_q: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """r + gamma (1 - terminated) min_i Q'_i: `next_q` is (n_critics, B); truncation is not an input."""
    return rewards + gamma * (1.0 - terminated) * next_q.min(dim=0).values


class UpdateSums(NamedTuple):
    """Sums since the last log row (0-d tensors on the device, read when logged): the critic
    loss and Q_1's mean per critic update, the actor loss per actor update."""

    critic_loss: torch.Tensor
    actor_loss: torch.Tensor
    q_mean: torch.Tensor
    demo_loss: torch.Tensor


class TD3:
    def __init__(self, run: Run) -> None:
        cfg: TD3Config = run.config  # type: ignore[assignment]
        self.run, self.cfg, self.device = run, cfg, run.device
        self.shared = cfg.encoder == "shared" and bool(run.layout.image_keys)
        """One image encoder for actor and critics (vector-only observations: always the plain path)."""
        if run.layout.image_keys:
            retain_freed_memory()  # CNN activations: no page faults per update (agents.compute)
        if self.shared:
            self._build_shared(run, cfg)
            # The encoder is listed once, on its own: the actor's MLP only, not the actor.
            online = [self.encoder, self.actor.mlp, self.critic]
            target = [self.encoder_target, self.actor_target.mlp, self.critic_target]
        else:
            self.encoder: ObsEncoder | None = None
            self.encoder_target: ObsEncoder | None = None
            self.actor = build_actor(run.layout, run.act_dim, cfg).to(self.device)
            self.critic = QEnsemble(run.layout, run.act_dim, cfg, cfg.n_critics).to(self.device)
            self.actor_target = copy.deepcopy(self.actor).eval().requires_grad_(False)
            self.critic_target = copy.deepcopy(self.critic).eval().requires_grad_(False)
            self.actor_opt = make_adam(list(self.actor.parameters()), cfg.learning_rate, eps=1e-8)
            self.critic_opt = make_adam(list(self.critic.parameters()), cfg.critic_learning_rate or cfg.learning_rate,
                                        eps=1e-8)
            online, target = [self.actor, self.critic], [self.actor_target, self.critic_target]
        self._switch_modes = mode_matters(self.actor, self.critic)
        self._online = [p for m in online for p in m.parameters()]
        self._target = [p for m in target for p in m.parameters()]
        # Buffers (BatchNorm running statistics) are copied, not lerped, as SB3 does: a lerp of
        # num_batches_tracked is meaningless, and lerped statistics would lag the weights they belong to.
        self._online_buffers = [b for m in online for b in m.buffers()]
        self._target_buffers = [b for m in target for b in m.buffers()]
        self.obs_norm = ObsNormalizer(run.layout, cfg.normalize_obs, cfg.clip_obs)
        self.buffer = ReplayBuffer(run.layout, run.act_dim, cfg.buffer_size, seed=run.seed)
        self.augment = make_augmenter(run.layout, cfg.augment, cfg.augment_pad, run.seed)
        self.critic_updates = 0
        self.vector_steps = 0
        self.sums = UpdateSums(*(torch.zeros((), device=self.device) for _ in UpdateSums._fields))
        self.critic_steps = 0
        """Critic updates summed in `sums` (critic_loss, q_mean) since the last log row."""
        self.actor_steps = 0
        """Actor updates summed in `sums` (actor_loss) since the last log row."""
        self.train_from = cfg.learning_starts
        """Updates start at this global step: learning_starts, or later after a resume without replay."""
        self.demos: DemoSet | None = load_demos(cfg, run, self.device) if cfg.demos else None
        self.demo_generator = torch.Generator().manual_seed(run.seed)
        self.obs_norm.frozen = self.demos is not None and run.checkpoint is not None  # as start_from_demos left it
        if run.checkpoint is not None:
            self.load_state_dict(run.checkpoint)
        run.set_policy(self.actor, self.obs_norm)

    def _build_shared(self, run: Run, cfg: TD3Config) -> None:
        """One encoder, trained by the critic loss only (DrQ-v2, SAC-AE): the critic optimiser
        owns its parameters, the actor optimiser only the actor's MLP. The actor keeps a
        reference to it so that it still acts on raw observation dicts."""
        self.encoder = ObsEncoder(run.layout, cfg).to(self.device)
        self.actor = DeterministicActor(run.layout, run.act_dim, cfg, encoder=self.encoder).to(self.device)
        self.critic = QEnsemble(run.layout, run.act_dim, cfg, cfg.n_critics, encode=False).to(self.device)
        self.encoder_target = copy.deepcopy(self.encoder).eval().requires_grad_(False)
        # deepcopy with the memo: the target actor's encoder is the target encoder, not a third copy.
        self.actor_target = copy.deepcopy(self.actor, {id(self.encoder): self.encoder_target}).eval()
        self.actor_target.requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).eval().requires_grad_(False)
        self.actor_opt = make_adam(list(self.actor.mlp.parameters()), cfg.learning_rate, eps=1e-8)
        self.critic_opt = make_adam(list(self.critic.parameters()) + list(self.encoder.parameters()),
                                    cfg.critic_learning_rate or cfg.learning_rate, eps=1e-8)

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def act_deterministic(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        if self._switch_modes:
            self.actor.eval()
        return self.actor(obs_to_tensor(self.obs_norm.normalize(obs), self.device)).cpu().numpy()

    def explore(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Uniform random actions before learning_starts, then the actor plus Gaussian noise. With
        demonstrations the cloned actor acts from the first step: its data is what the critic
        should learn first."""
        rng, cfg, n = self.run.np_rng, self.cfg, self.cfg.n_envs
        if self.run.global_step < cfg.learning_starts and self.demos is None:
            return rng.uniform(-1.0, 1.0, (n, self.run.act_dim)).astype(np.float32)
        action = self.act_deterministic(obs)
        if cfg.exploration_noise > 0:
            noise = rng.normal(0.0, cfg.exploration_noise, action.shape)
            if cfg.exploration_noise_prob < 1.0:
                noise *= (rng.random(n) < cfg.exploration_noise_prob)[:, None]
            action = np.clip(action + noise, -1.0, 1.0).astype(np.float32)
        return action

    # ------------------------------------------------------------------ update
    def sample(self) -> ReplayBatch:
        """A batch on the device, vector parts normalised, images augmented (if configured)."""
        obs, actions, rewards, next_obs, terminated = self.buffer.sample_numpy(self.cfg.batch_size)
        d = self.device
        obs_t = obs_to_tensor(self.obs_norm.normalize(obs), d)
        next_obs_t = obs_to_tensor(self.obs_norm.normalize(next_obs), d)
        if self.augment is not None:
            obs_t, next_obs_t = self.augment(obs_t), self.augment(next_obs_t)
        return ReplayBatch(
            obs=obs_t,
            actions=torch.from_numpy(actions).to(d),
            rewards=torch.from_numpy(rewards).to(d),
            next_obs=next_obs_t,
            terminated=torch.from_numpy(terminated).to(d),
        )

    def update(self, b: ReplayBatch) -> None:
        if self.shared:
            self._update_shared(b)
        else:
            self._update_separate(b)

    def _critic_loss(self, q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.cfg.critic_loss == "huber":
            return F.smooth_l1_loss(q, target.expand_as(q), reduction="none").mean(1).sum()
        return (q - target).pow(2).mean(1).sum()

    def _target_noise(self, actions: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        return (torch.randn_like(actions) * cfg.target_policy_noise).clamp_(-cfg.target_noise_clip,
                                                                           cfg.target_noise_clip)

    def _critic_step(self, critic_loss: torch.Tensor, q: torch.Tensor) -> None:
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        self.critic_updates += 1
        with torch.no_grad():
            self.sums.critic_loss.add_(critic_loss.detach())
            self.sums.q_mean.add_(q.detach()[0].mean())
        self.critic_steps += 1

    def _actor_step(self, actor_loss: Callable[[], torch.Tensor]) -> None:
        """Actor step, then the soft target update (every policy_delay critic updates).

        Before actor_learning_starts only the targets move; the loss is a callable so that a
        held actor costs no forward pass."""
        if self.run.global_step >= self.cfg.actor_learning_starts:
            loss = actor_loss()
            self.actor_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.actor_opt.step()
            self.sums.actor_loss.add_(loss.detach())
            self.actor_steps += 1
        with torch.no_grad():
            torch._foreach_lerp_(self._target, self._online, self.cfg.tau)
            if self._target_buffers:
                torch._foreach_copy_(self._target_buffers, self._online_buffers)

    def _update_separate(self, b: ReplayBatch) -> None:
        """Every network encodes the observations itself (vector observations; encoder=separate)."""
        cfg = self.cfg
        # Critic: regress every Q_i on the clipped double-Q target with target-policy smoothing.
        with torch.no_grad():
            next_actions = (self.actor_target(b.next_obs) + self._target_noise(b.actions)).clamp_(-1.0, 1.0)
            target = td3_target(b.rewards, b.terminated, self.critic_target(b.next_obs, next_actions), cfg.gamma)
        q = self.critic(b.obs, b.actions)  # (n_critics, B)
        self._critic_step(self._critic_loss(q, target), q)

        # Actor and targets, every policy_delay critic updates: maximise Q_1(s, pi(s)).
        if self.critic_updates % cfg.policy_delay == 0:
            self._actor_step(lambda: self._with_demos(self.critic(b.obs, self.actor(b.obs), only_first=True,
                                                                  detach=True)))

    def demo_coef(self) -> float:
        """The cloning loss's weight now (0 without demonstrations): decays per demo_decay_every
        (default 1000) transitions counted from actor_learning_starts (while the actor is held
        back it does not learn, so there is nothing for the weight to guide yet)."""
        if self.demos is None:
            return 0.0
        since = max(0, self.run.global_step - self.cfg.actor_learning_starts)
        return cloning_weight(self.cfg, since, default_every=1000)

    def _with_demos(self, q_pi: torch.Tensor) -> torch.Tensor:
        """-mean Q_1(s, pi(s)); with demonstrations TD3+BC's -Q / mean|Q| plus the cloning loss.

        The division keeps the Q term's gradient at the scale of the cloning term whatever the
        reward scale (sorting's +500); it stays when the cloning weight has faded, so the actor's
        gradient scale does not jump under Adam's running moments.
        """
        if self.demos is None:
            return -q_pi.mean()
        loss = -q_pi.mean() / q_pi.abs().mean().detach().clamp_min(1e-6)
        coef = self.demo_coef()
        if coef >= FADED_OUT:
            bc = self.demos.loss(self.actor, self.obs_norm, self.cfg.demo_batch_size, self.demo_generator)
            loss = loss + coef * bc
            self.sums.demo_loss.add_(bc.detach())
        return loss

    def _update_shared(self, b: ReplayBatch) -> None:
        """One encoder pass per batch on obs (with gradient: the critic loss trains the encoder)
        and one target-encoder pass on next_obs; the actor reuses the obs features, detached."""
        critic_loss, q, feats = self.shared_critic_loss(b)
        self._critic_step(critic_loss, q)
        if self.critic_updates % self.cfg.policy_delay == 0:
            self._actor_step(lambda: self.shared_actor_loss(feats))

    def shared_critic_loss(self, b: ReplayBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Critic loss, Q-values (E, B) and the encoder's obs features (with their graph)."""
        cfg = self.cfg
        with torch.no_grad():
            next_feats = self.encoder_target(b.next_obs)
            next_actions = (self.actor_target.head(next_feats) + self._target_noise(b.actions)).clamp_(-1.0, 1.0)
            next_q = self.critic_target.heads([next_feats], next_actions)
            target = td3_target(b.rewards, b.terminated, next_q, cfg.gamma)
        feats = self.encoder(b.obs)
        q = self.critic.heads([feats], b.actions)
        return self._critic_loss(q, target), q, feats

    def shared_actor_loss(self, feats: torch.Tensor) -> torch.Tensor:
        """-Q_1(s, pi(s)) on `feats` detached (computed before the critic step): neither the
        encoder nor the critic gets a gradient from it, only the actor's MLP."""
        f = feats.detach()
        return self._with_demos(self.critic.heads([f], self.actor.head(f), only_first=True, detach=True))

    def train_steps(self) -> None:
        if self._switch_modes:
            self.actor.train()
            self.critic.train()
        with self.run.flush_denormals:
            for _ in range(self.cfg.gradient_steps):
                self.update(self.sample())

    def pop_stats(self) -> dict[str, float]:
        """Means since the last call (NaN without updates), checked for NaN/inf; then reset."""
        sums = dict(zip(UpdateSums._fields, torch.stack(self.sums).tolist(), strict=True))  # one copy
        nc, na = self.critic_steps, self.actor_steps
        stats = {
            "critic_loss": sums["critic_loss"] / nc if nc else float("nan"),
            "actor_loss": sums["actor_loss"] / na if na else float("nan"),
            "q_mean": sums["q_mean"] / nc if nc else float("nan"),
            "critic_updates": self.critic_updates,
            "buffer_size": len(self.buffer),
        }
        if self.demos is not None:
            coef = self.demo_coef()
            stats.update(demo_coef=coef, demo_loss=sums["demo_loss"] / na if na and coef >= FADED_OUT else float("nan"))
        if nc:
            assert_finite("critic_loss", stats["critic_loss"], self.run.global_step)
        if na:
            assert_finite("actor_loss", stats["actor_loss"], self.run.global_step)
        for total in self.sums:
            total.zero_()
        self.critic_steps = self.actor_steps = 0
        return stats

    # -------------------------------------------------------------------- loop
    def learn(self) -> None:
        run, cfg = self.run, self.cfg
        obs = run.reset_envs()
        if self.demos is not None and run.global_step == 0:
            start_from_demos(self.actor, self.demos, self.obs_norm, cfg, self.demo_generator, run.quiet)
            with torch.no_grad():  # the targets start from the cloned actor, not the random one
                torch._foreach_copy_(self._target, self._online)
        run.logger.mark_speed(run.global_step)
        if run.global_step == 0:
            run.maybe_evaluate(self.act_deterministic, final=True)
        self.actor.train()
        self.critic.train()
        while run.global_step < cfg.total_timesteps:
            actions = self.explore(obs)
            self.vector_steps += 1
            due = self.vector_steps % cfg.train_freq == 0
            overlapped = (due and cfg.overlap_updates and run.global_step >= self.train_from
                          and len(self.buffer) > 0 and run.step_async(actions))
            if overlapped:
                self.train_steps()  # while the env subprocesses step
                next_obs, reward, terminated, truncated, valid, _ = run.step_wait()
            else:
                next_obs, reward, terminated, truncated, valid, _ = run.step_envs(actions)
            self.buffer.add(obs, actions, reward.astype(np.float32), next_obs, terminated, valid)
            if self.obs_norm.enabled:
                self.obs_norm.update({k: v[valid] for k, v in next_obs.items()})
            obs = next_obs
            if due and not overlapped and run.global_step >= self.train_from:
                self.train_steps()

            run.logger.progress(run.global_step)
            if run.log_due():
                run.logger.train_stats(run.global_step, self.pop_stats())
            run.maybe_evaluate(self.act_deterministic)
            if run.checkpoint_due():
                self.pop_stats()  # NaN check before anything is saved
                self.save(final=False)
        self.pop_stats()
        if run.logger.last_eval is None or run.logger.last_eval["global_step"] != run.global_step:
            run.maybe_evaluate(self.act_deterministic, final=True)
        self.save(final=True)

    # ------------------------------------------------------------- checkpoints
    def modules(self) -> dict[str, nn.Module]:
        return {"actor": self.actor, "critic": self.critic}

    def save(self, final: bool) -> None:
        """Write replay.npz (slow: up to GBs), then last.pt naming its id (fast). A run stopped
        between the two leaves a pair whose ids differ, which a resume detects (`_restore_replay`)."""
        self.run.check_params(self.modules())  # a diverged run writes nothing, replay included
        replay = None
        if self.cfg.save_replay_buffer:
            rid = uuid.uuid4().hex
            arrays = {**self.buffer.state_dict(), "checkpoint_id": np.array(rid)}
            save_arrays_atomic(self.run.ckpt_dir / REPLAY_FILE, arrays)
            replay = {"id": rid, "size": len(self.buffer)}
        self.run.save({**self.state_dict(), "replay": replay}, self.modules(), final=final)

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {
                "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
                "actor_target": self.actor_target.state_dict(), "critic_target": self.critic_target.state_dict(),
            },
            "optimizers": {"actor": self.actor_opt.state_dict(), "critic": self.critic_opt.state_dict()},
            "obs_normalizer": self.obs_norm.state_dict(),
            "algo_counters": {"critic_updates": self.critic_updates, "vector_steps": self.vector_steps},
            "rng": {**rng_state(self.run.np_rng, self.device), "buffer": self.buffer.rng.bit_generator.state,
                    "augment": None if self.augment is None else self.augment.state_dict(),
                    "demos": self.demo_generator.get_state()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            for name in ("actor", "critic", "actor_target", "critic_target"):
                getattr(self, name).load_state_dict(state["models"][name])
            self.actor_opt.load_state_dict(state["optimizers"]["actor"])
            self.critic_opt.load_state_dict(state["optimizers"]["critic"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(
                f"Checkpoint {state.get('path')} does not fit this TD3 config/env (network shapes differ): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        self.obs_norm.load_state_dict(state["obs_normalizer"])
        self.critic_updates = int(state["algo_counters"]["critic_updates"])
        self.vector_steps = int(state["algo_counters"]["vector_steps"])
        set_rng_state(state["rng"], self.run.np_rng, self.device)
        self.buffer.rng.bit_generator.state = state["rng"]["buffer"]
        if self.augment is not None and state["rng"].get("augment") is not None:
            self.augment.load_state_dict(state["rng"]["augment"])
        if state["rng"].get("demos") is not None:
            self.demo_generator.set_state(state["rng"]["demos"])
        self._restore_replay(state.get("replay"))

    def _restore_replay(self, expected: dict[str, Any] | None) -> None:
        """Reload the replay buffer that belongs to the checkpoint; without it, pause updates until
        fresh transitions fill it, instead of sampling full batches from a handful of rows."""
        problem = self._load_replay(expected)
        if problem is None:
            return
        refill = max(self.cfg.learning_starts, self.cfg.batch_size)
        self.train_from = max(self.train_from, self.run.global_step + refill)
        warnings.warn(f"Resuming TD3 at step {self.run.global_step} without its replay buffer: {problem}. The "
                      f"buffer starts empty, so updates pause until {refill} new transitions (max of "
                      "learning_starts and batch_size) are collected by the resumed policy.", RunWarning, stacklevel=5)

    def _load_replay(self, expected: dict[str, Any] | None) -> str | None:
        """Load replay.npz if it is the one last.pt names (`expected`); else say why not."""
        path = self.run.ckpt_dir / REPLAY_FILE
        if not self.cfg.save_replay_buffer:
            return "save_replay_buffer is false"
        if expected is None:
            return "the checkpoint was written without one (save_replay_buffer was false)"
        if not path.is_file():
            return f"{path} is missing"
        with np.load(path) as data:
            found = str(data["checkpoint_id"]) if "checkpoint_id" in data.files else None
            if found != expected["id"]:
                return (f"{path} belongs to another checkpoint than last.pt (e.g. the run was stopped between "
                        "writing the two), so it is not used")
            dropped = self.buffer.load_state_dict(dict(data))
        if dropped:
            warnings.warn(f"Resuming TD3 with buffer_size {self.cfg.buffer_size}, smaller than the "
                          f"{dropped + len(self.buffer)} saved transitions: the oldest {dropped} are dropped.",
                          RunWarning, stacklevel=5)
        return None
