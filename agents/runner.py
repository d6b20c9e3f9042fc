"""What every training run does around the algorithm (SB3's BaseAlgorithm, without the inheritance).

`Run` owns the environments, the run directory, the logger, episode bookkeeping,
evaluation, checkpoint scheduling and failure handling. The algorithm modules
(`ppo.py`, `td3.py`) own only collection and the update, so each reads top to
bottom in one file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium.vector import AsyncVectorEnv

from agents.checkpoint import encode_space, load_checkpoint, save_checkpoint
from agents.compute import FlushDenormals, check_device
from agents.config import CommonConfig, validate_config
from agents.envs import (
    EnvSpec,
    describe_env,
    info_stats,
    info_terms,
    info_value,
    make_env_fn,
    make_vec_env,
    restore_training_states,
    set_evaluation,
    training_states,
)
from agents.errors import CheckpointError, ConfigError, EnvFailedError, TrainingDivergedError, is_user_error
from agents.logger import RunLogger
from agents.spaces import ActionScaler, as_dict, check_action_space, obs_layout

EVAL_SEED_OFFSET = 1_000_003


def default_run_dir(algo: str, env: EnvSpec) -> Path:
    """runs/<algo>-<env>-<time>; a scene path contributes its file stem."""
    text = describe_env(env)
    if text.endswith((".yaml", ".yml")):
        text = Path(text).stem
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text)
    return Path("runs") / f"{algo}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def assert_finite(name: str, value: float | torch.Tensor, global_step: int) -> None:
    v = float(value)
    if not np.isfinite(v):
        raise TrainingDivergedError(
            f"Training diverged: {name} became {v} at step {global_step}. The run is marked failed "
            "and the last good checkpoint is kept. Typical causes: a learning rate too high, rewards "
            "of huge magnitude (try normalize_reward or rescale the reward terms), or NaN/inf "
            "in the environment's observations or rewards."
        )


def params_finite(modules: dict[str, torch.nn.Module]) -> str | None:
    """Name of the first module whose parameters are not all finite, else None."""
    for name, m in modules.items():
        for p in m.parameters():
            if not torch.isfinite(p).all():
                return name
    return None


class Every:
    """Something a run does every `interval` transitions (log, evaluate, checkpoint): due once
    `global_step` reaches the next multiple of `interval`; an interval <= 0 is never due."""

    NEVER = 1 << 62

    def __init__(self, interval: int, global_step: int) -> None:
        self.interval = int(interval)
        self.next = self._after(global_step)
        """The step at which it is next due."""

    def _after(self, global_step: int) -> int:
        if self.interval <= 0:
            return self.NEVER
        return (global_step // self.interval + 1) * self.interval

    def due(self, global_step: int) -> bool:
        return global_step >= self.next

    def take(self, global_step: int, force: bool = False) -> bool:
        """True if due (or `force`d, e.g. at the end of training); then the next one is
        scheduled at the first multiple of the interval after `global_step`."""
        if not (force or global_step >= self.next):
            return False
        self.next = self._after(global_step)
        return True


class Run:
    """Shared machinery of one training run (environments, logs, checkpoints, evaluation)."""

    def __init__(
        self,
        algo: str,
        env: EnvSpec,
        config: CommonConfig,
        run_dir: str | os.PathLike | None,
        seed: int,
        quiet: bool,
        resume: bool,
        progress: str | None = None,
        label: str | None = None,
    ) -> None:
        validate_config(config)
        self.device = check_device(config.device)  # before any file is written or env built
        self.algo, self.env_spec, self.config, self.seed, self.quiet = algo, env, config, int(seed), quiet
        self.progress = "none" if quiet else (progress or "bar")
        self.label = label
        self.run_dir = Path(run_dir) if run_dir is not None else default_run_dir(algo, env)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.checkpoint: dict[str, Any] | None = None
        if resume:
            last = self.ckpt_dir / "last.pt"
            if not last.is_file():
                raise CheckpointError(f"Cannot resume: {last} does not exist (no checkpoint was written in "
                                      f"{self.run_dir}). Start a new run instead.")
            self.checkpoint = load_checkpoint(last, resume_algo=algo)
        elif (self.run_dir / "status.json").exists():
            raise ConfigError(f"Run directory {self.run_dir} already holds a run (status.json exists). "
                              "Pass resume=True (CLI: --resume) to continue it, or choose another run directory.")
        self.run_dir.mkdir(parents=True, exist_ok=True)

        # Entered by the algorithms around their updates only (see agents.compute).
        self.flush_denormals = FlushDenormals()
        self.np_rng = np.random.default_rng(seed)
        torch.manual_seed(seed)

        self.env_fn: Callable[[], gym.Env] = make_env_fn(env)
        self.envs = make_vec_env(self.env_fn, config.n_envs, config.vec_env)
        if self.checkpoint is not None:
            restore_training_states(self.envs, self.checkpoint.get("env_states"))
        self.eval_env: gym.Env | None = None
        self.layout = obs_layout(self.envs.single_observation_space)
        self.action_space = check_action_space(self.envs.single_action_space)
        self.act_dim = int(self.action_space.shape[0])
        self.action_scaler = ActionScaler(self.action_space)

        counters = self.checkpoint["counters"] if self.checkpoint else {}
        self.global_step: int = int(counters.get("global_step", 0))
        # Step of checkpoints/last.pt, for failure messages (None: not written yet).
        self.saved_step: int | None = self.global_step if self.checkpoint else None
        self._worker_traces: list[str] = []
        best = counters.get("best_eval")
        self.best_eval: tuple[float, float] | None = tuple(best) if best is not None else None
        # The algorithm's policy (set_policy): what best.pt holds.
        self._policy: tuple[torch.nn.Module, Any] | None = None
        self.episode_count: int = int(counters.get("episodes", 0))
        self._wall_offset = float(counters.get("wall_time", 0.0))
        self.logger: RunLogger | None = None
        self.precision = "fp32"  # what agents.compute.compute_settings applied; recorded in config.yaml

        n = config.n_envs
        self.ep_return = np.zeros(n, np.float64)
        self.ep_length = np.zeros(n, np.int64)
        self.prev_done = np.zeros(n, np.bool_)
        # The schedule: at multiples of these intervals of global_step (continued across a resume).
        self.log_schedule = Every(config.log_every, self.global_step)
        self.eval_schedule = Every(config.eval_every, self.global_step)
        self.checkpoint_schedule = Every(config.checkpoint_every, self.global_step)

    def start(self) -> None:
        """Write config.yaml, open the logs (cut back to the checkpoint's step on resume) and mark
        the run as running. Called once the agent is built and its checkpoint loaded, so that an
        incompatible resume touches no file of the run."""
        self._write_config()
        self.logger = RunLogger(
            self.run_dir, self.config.total_timesteps, quiet=self.quiet, tensorboard=self.config.tensorboard,
            resume_step=self.global_step if self.checkpoint else None, wall_time_offset=self._wall_offset,
            description=self.label or f"{self.algo} {describe_env(self.env_spec)}", progress=self.progress,
        )
        self.logger.status("running", self.global_step)

    def log_due(self, force: bool = False) -> bool:
        """True when a row of training statistics is due (every `log_every` transitions, or
        `force`d); the next row is then scheduled. The algorithms call it after their updates."""
        return self.log_schedule.take(self.global_step, force)

    def _write_config(self) -> None:
        data = {
            "algo": self.algo,
            "env": describe_env(self.env_spec),
            "seed": self.seed,
            "agent": dataclasses.asdict(self.config),
            "obs_layout": {k: list(v) for k, v in self.layout.shapes.items()},
            "action_dim": self.act_dim,
            "torch_version": str(torch.__version__),
            "matmul_precision_used": self.precision,
        }
        tmp = self.run_dir / ".config.yaml.tmp"
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))
        os.replace(tmp, self.run_dir / "config.yaml")

    # ---------------------------------------------------------------- env steps
    def reset_envs(self) -> dict[str, np.ndarray]:
        seed = self.seed if self.checkpoint is None else self.seed + 7919 * (self.episode_count + 1)
        try:
            with self._async_worker_traces():
                obs, _ = self.envs.reset(seed=seed)
        except Exception as exc:  # noqa: BLE001 - whatever the env raises ends the run the same way
            raise self.env_failure(exc, "env.reset") from exc
        self.envs.action_space.seed(seed)
        self.prev_done[:] = False
        return as_dict(obs, self.layout)

    def step_envs(self, policy_actions: np.ndarray):
        """Step with actions in [-1, 1]; returns obs, reward, terminated, truncated, valid, info.

        `valid[i]` is False for the NEXT_STEP autoreset call of sub-env i (the call
        after its episode ended): that call ignored the action and is no transition.
        """
        if self.step_async(policy_actions):
            return self.step_wait()
        try:
            out = self.envs.step(self.action_scaler.to_env(policy_actions))
        except Exception as exc:  # noqa: BLE001 - whatever the env raises ends the run the same way
            raise self.env_failure(exc, "env.step") from exc
        return self._account(*out)

    def step_async(self, policy_actions: np.ndarray) -> bool:
        """Start a step in the env subprocesses and return True; False (nothing sent) for sync envs."""
        if not isinstance(self.envs, AsyncVectorEnv):
            return False
        self.envs.step_async(self.action_scaler.to_env(policy_actions))
        return True

    def step_wait(self):
        try:
            with self._async_worker_traces():
                out = self.envs.step_wait()
        except Exception as exc:  # noqa: BLE001 - whatever the env raises ends the run the same way
            raise self.env_failure(exc, "env.step") from exc
        return self._account(*out)

    @contextmanager
    def _async_worker_traces(self) -> Iterator[None]:
        """gymnasium reports a failed async worker by printing its traceback as warnings before it
        re-raises the error here; keep those traces for status.json instead of the terminal (the
        user gets one paragraph). Sync envs raise directly and skip this (~5 us per step)."""
        if not isinstance(self.envs, AsyncVectorEnv):
            yield
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for w in caught:
                    if "ERROR:" in str(w.message):
                        self._worker_traces.append(re.sub(r"\x1b\[[0-9;]*m", "", str(w.message)))
                    else:
                        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def env_failure(self, exc: BaseException, where: str) -> EnvFailedError:
        """One paragraph for an exception from the env: its message (an envkit scene's names the
        reward term and the step), where, and what happened to the run."""
        text = " ".join(str(exc).split())
        what = text if is_user_error(exc) else f"{type(exc).__name__}: {text}"
        return EnvFailedError(f"Training stopped at step {self.global_step}: the environment failed in {where}: "
                              f"{what.rstrip('.')}. {self._kept()}")

    def _kept(self) -> str:
        """What a failed run leaves behind and how to go on, for failure messages."""
        if self.saved_step is None:
            kept = "no checkpoint had been written yet"
        else:
            kept = f"its last checkpoint, {self.ckpt_dir / 'last.pt'} (step {self.saved_step}), is kept"
        return (f"The run is marked failed in {self.run_dir / 'status.json'} and {kept}. Fix the environment "
                "(for a scene, `envkit probe SCENE` reproduces a term's error without training), then start a "
                "new run or continue this one with --resume (agents.train(..., resume=True)).")

    def _account(self, obs, reward, terminated, truncated, info):
        valid = ~self.prev_done
        done = terminated | truncated
        reward = np.asarray(reward, np.float64)
        if not np.isfinite(reward).all():
            self._non_finite_reward(reward, valid)
        self.ep_return += np.where(valid, reward, 0.0)
        self.ep_length += valid
        self.global_step += int(valid.sum())
        if done.any():
            for i in np.flatnonzero(done):
                self._end_episode(i, info)
        self.prev_done = done
        return as_dict(obs, self.layout), reward, terminated, truncated, valid, info

    def _non_finite_reward(self, reward: np.ndarray, valid: np.ndarray) -> None:
        """Stop at the step that produced it: training on it would only fail later as a NaN loss."""
        i = int(np.flatnonzero(~np.isfinite(reward))[0])
        step = self.global_step + int(valid[: i + 1].sum())
        raise EnvFailedError(
            f"Training stopped at step {step}: the environment returned a non-finite reward ({reward[i]}) "
            f"from env.step (sub-env {i}), which would turn the losses into NaN. {self._kept()}"
        )

    def _end_episode(self, i: int, info: dict[str, Any]) -> None:
        self.episode_count += 1
        success = info_value(info, "is_success", i)
        self.logger.episode(
            self.global_step, self.episode_count, float(self.ep_return[i]), int(self.ep_length[i]),
            None if success is None else float(success), info_terms(info, "episode_reward_terms", i),
            info_stats(info, "episode_stats", i),
        )
        self.ep_return[i] = 0.0
        self.ep_length[i] = 0

    # ------------------------------------------------------------- evaluation
    def maybe_evaluate(self, act: Callable[[dict[str, np.ndarray]], np.ndarray], final: bool = False) -> None:
        if self.config.eval_episodes <= 0:
            return
        if not self.eval_schedule.take(self.global_step, force=final):
            return
        if self.eval_env is None:
            self.eval_env = self.env_fn()
            set_evaluation(self.eval_env)
        try:
            result = run_episodes(self.eval_env, act, self.layout, self.action_scaler, self.config.eval_episodes,
                                  seed=self.seed + EVAL_SEED_OFFSET, max_steps=self.config.eval_max_steps)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the env raises ends the run the same way
            raise self.env_failure(exc, "the evaluation env") from exc
        result.pop("returns", None)
        self.logger.evaluation(self.global_step, result)
        self.last_eval = result
        if self.config.keep_best and self._policy is not None:
            self._keep_if_best(result)

    def set_policy(self, actor: torch.nn.Module, obs_norm: Any) -> None:
        """Register the actor and observation normaliser that checkpoints/best.pt keeps."""
        self._policy = (actor, obs_norm)

    @staticmethod
    def eval_score(result: dict[str, Any]) -> tuple[float, float]:
        """Success rate first (NaN, an env without is_success, counts as -1), then mean return."""
        success = float(result.get("success_rate", float("nan")))
        return (success if success == success else -1.0, float(result["mean_return"]))

    def _keep_if_best(self, result: dict[str, Any]) -> None:
        score = self.eval_score(result)
        if self.best_eval is not None and score <= self.best_eval:
            return
        actor, obs_norm = self._policy  # type: ignore[misc]
        if params_finite({"actor": actor}) is not None:
            return  # a diverged policy is never "best"; the NaN check stops the run
        self.best_eval = score
        # Enough for agents.Policy (actor + obs statistics), nothing for resuming.
        payload = {"models": {"actor": actor.state_dict()}, "obs_normalizer": obs_norm.state_dict()}
        save_checkpoint(self.ckpt_dir / "best.pt", {**self._header(), **payload, "eval": dict(result)})

    last_eval: dict[str, Any] | None = None

    # ------------------------------------------------------------ checkpoints
    def checkpoint_due(self) -> bool:
        """True when checkpoints/last.pt is due (every `checkpoint_every` transitions); `save`
        schedules the next one."""
        return self.checkpoint_schedule.due(self.global_step)

    def check_params(self, modules: dict[str, torch.nn.Module]) -> None:
        """Raise TrainingDivergedError if a parameter is not finite (before anything is written)."""
        bad = params_finite(modules)
        if bad is not None:
            raise TrainingDivergedError(
                f"Training diverged: the parameters of {bad} are not finite at step {self.global_step}. "
                "The run is marked failed and the last good checkpoint is kept."
            )

    def save(self, payload: dict[str, Any], modules: dict[str, torch.nn.Module], final: bool = False) -> None:
        """Save only finite parameters: a diverged model never overwrites the last good checkpoint."""
        self.check_params(modules)
        self.checkpoint_schedule.take(self.global_step, force=True)
        full = {**self._header(), **payload}
        self.logger.flush()
        save_checkpoint(self.ckpt_dir / "last.pt", full)
        self.saved_step = self.global_step
        if final:
            save_checkpoint(self.ckpt_dir / "final.pt", full)
        self.logger.status("running" if not final else "completed", self.global_step)

    def _header(self) -> dict[str, Any]:
        """What every checkpoint file carries besides the networks: enough to rebuild a Policy."""
        return {
            "algo": self.algo,
            "config": dataclasses.asdict(self.config),
            "env": describe_env(self.env_spec),
            "seed": self.seed,
            "observation_space": encode_space(self.envs.single_observation_space),
            "action_space": encode_space(self.action_space),
            "env_states": training_states(self.envs),
            "counters": {"global_step": self.global_step, "episodes": self.episode_count,
                         "wall_time": self.logger.wall_time if self.logger else self._wall_offset,
                         "best_eval": list(self.best_eval) if self.best_eval is not None else None},
        }

    # ------------------------------------------------------------------- end
    def fail(self, exc: BaseException) -> None:
        if self.logger is None:  # failed before the run started: leave the run directory as it was
            return
        if isinstance(exc, KeyboardInterrupt):
            msg = "interrupted"
        elif isinstance(exc, TrainingDivergedError):
            msg = str(exc)
        elif isinstance(exc, EnvFailedError):  # the paragraph, then the env's traceback for debugging
            cause = exc.__cause__
            trace = "".join(traceback.format_exception(cause)) if cause is not None else ""
            msg = "\n".join([str(exc), *self._worker_traces, trace]).rstrip()
        else:
            msg = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        self.logger.status("failed", self.global_step, msg)
        self.logger.message(f"[red]run failed at step {self.global_step}: {msg.splitlines()[0]}")

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close(self.global_step)
        self.envs.close()
        if self.eval_env is not None:
            self.eval_env.close()


def run_episodes(
    env: gym.Env,
    act: Callable[[dict[str, np.ndarray]], np.ndarray],
    layout,
    scaler: ActionScaler,
    episodes: int,
    seed: int,
    frames: list | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Run `episodes` episodes with fixed seeds (seed, seed + 1, ...); `act` maps one
    observation dict (batch of 1) to actions in [-1, 1]. Frames are appended when given.
    `max_steps` cuts an episode early; it then counts as a success only if the step it was
    cut at reports one."""
    returns, lengths, successes = [], [], []

    def render() -> None:
        try:
            frames.append(env.render())  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - renderers fail in many ways (no pygame, no display)
            raise ConfigError(f"The env cannot render rgb_array frames for a video: {exc}") from None

    for j in range(episodes):
        obs, info = env.reset(seed=seed + j)
        if frames is not None:
            render()
        ret, length, done = 0.0, 0, False
        while not done:
            o = {k: np.expand_dims(v, 0) for k, v in as_dict(obs, layout).items()}
            action = scaler.to_env(act(o)[0])
            obs, r, term, trunc, info = env.step(action)
            ret += float(r)
            length += 1
            done = bool(term or trunc) or (max_steps is not None and length >= max_steps)
            if frames is not None:
                render()
        returns.append(ret)
        lengths.append(length)
        if "is_success" in info:
            successes.append(float(info["is_success"]))
    return {
        "episodes": episodes,
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "success_rate": float(np.mean(successes)) if successes else float("nan"),
        "mean_length": float(np.mean(lengths)),
        "returns": returns,
    }
