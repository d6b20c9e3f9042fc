"""Public entry points: `train`, `evaluate`, `load_policy`."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.checkpoint import decode_space, load_checkpoint, policy_only, save_checkpoint
from agents.compute import compute_settings
from agents.config import CommonConfig, apply_overrides, config_class, config_from_dict, validate_config
from agents.envs import EnvSpec, checkpoint_env, make_env_fn, resolve_env_string, set_evaluation
from agents.errors import CheckpointError, ConfigError, TrainingDivergedError
from agents.logger import PROGRESS_MODES
from agents.networks import obs_to_tensor
from agents.normalization import ObsNormalizer
from agents.runner import Run, run_episodes
from agents.spaces import ActionScaler, as_dict, obs_layout


@dataclass
class TrainResult:
    """What `train` returns; the same facts are in RUN_DIR/status.json and eval.csv."""

    run_dir: Path
    status: str
    global_step: int
    final_eval: dict[str, Any] | None
    checkpoint: Path | None
    train_seconds: float = 0.0
    """Wall time of the training loop alone (env construction excluded), for throughput."""


def _resolve_config(algo: str, config: CommonConfig | dict[str, Any] | None) -> CommonConfig:
    cls = config_class(algo)
    if config is None:
        return apply_overrides(cls(), {})
    if isinstance(config, CommonConfig):
        if not isinstance(config, cls):
            raise ConfigError(f"algo={algo!r} needs a {cls.__name__}, got a {type(config).__name__}.")
        return apply_overrides(config, {})  # validates
    if isinstance(config, dict) or hasattr(config, "items"):
        return apply_overrides(cls(), dict(config.items()))
    raise ConfigError(f"config must be a {cls.__name__}, a dict of overrides or None; got {type(config).__name__}.")


def train(
    env: EnvSpec,
    algo: str = "ppo",
    config: CommonConfig | dict[str, Any] | None = None,
    run_dir: str | os.PathLike | None = None,
    seed: int = 0,
    quiet: bool = False,
    resume: bool = False,
    total_timesteps: int | None = None,
    progress: str | None = None,
    label: str | None = None,
) -> TrainResult:
    """Train `algo` ("ppo" or "td3") on `env` and write a run directory.

    Args:
        env: a registered gymnasium id ("Pendulum-v1"; "envkit/reach-v0" after `import
            envkit`), a zero-argument callable returning a gymnasium env, or a string a
            registered resolver builds (`register_env_resolver`; envkit's CLI and sweeps
            register one for scene .yaml paths and panda-gym ids). A string is recorded as
            given in config.yaml and the checkpoints, a callable by its qualified name.
        config: a PPOConfig/TD3Config, a dict of overrides of the defaults
            (e.g. {"batch_size": 5000}), or None for defaults. Validated before any env is built.
        run_dir: where logs and checkpoints go (default runs/<algo>-<env>-<time>).
        resume: continue the run in `run_dir` from checkpoints/last.pt; the config then
            comes from the checkpoint, with `config` (a dict) applied on top.
        total_timesteps: shortcut for overriding config.total_timesteps (e.g. to extend on resume).
        progress: "bar" (a live progress bar, the default), "lines" (one plain line per
            evaluation, readable when several runs share a terminal, as in sweeps) or "none"
            (the same as quiet=True).
        label: the name the progress bar or lines show (default: algo and env).

    Raises:
        ConfigError: bad hyperparameters, env or run directory (before training starts).
        CheckpointError: resume without a usable checkpoint.
        TrainingDivergedError: NaN/inf in a loss or parameter. status.json then says
            "failed" and checkpoints/last.pt is the last good one.
        EnvFailedError: the env raised in reset/step (its message kept, e.g. the reward
            term and step an envkit scene names) or returned a non-finite reward; the run
            is failed the same way, and the original exception is the __cause__.
    """
    algo = str(algo).lower()
    cls = config_class(algo)
    if resume:
        if run_dir is None:
            raise ConfigError("resume=True needs the run_dir of the run to continue.")
        last = Path(run_dir) / "checkpoints" / "last.pt"
        if not last.is_file():
            raise CheckpointError(f"Cannot resume: {last} does not exist. Start a new run instead.")
        saved = load_checkpoint(last, resume_algo=algo)
        base = config_from_dict(algo, saved["config"])
        overrides = dataclasses.asdict(config) if isinstance(config, CommonConfig) else dict(config or {})
        cfg = apply_overrides(base, {k: v for k, v in overrides.items() if k == "total_timesteps"}
                              if isinstance(config, CommonConfig) else overrides)
        seed = int(saved["seed"])
    else:
        cfg = _resolve_config(algo, config)
    if total_timesteps is not None:
        cfg = apply_overrides(cfg, {"total_timesteps": total_timesteps})
    assert isinstance(cfg, cls)

    if progress not in (None, *PROGRESS_MODES):
        raise ConfigError(f"progress must be one of {', '.join(PROGRESS_MODES)}, got {progress!r}.")
    mode = "none" if quiet else (progress or "bar")
    validate_config(cfg)  # before compute_settings, which applies some of its values
    with compute_settings(cfg.torch_threads, cfg.matmul_precision, cfg.device) as precision:
        run = Run(algo, env, cfg, run_dir, seed, mode == "none", resume, progress=mode, label=label)
        run.precision = precision
        try:
            if algo == "ppo":
                from agents.ppo import PPO

                agent: Any = PPO(run)
            else:
                from agents.td3 import TD3

                agent = TD3(run)
            run.start()
            t0 = time.perf_counter()
            agent.learn()
            train_seconds = time.perf_counter() - t0
        except BaseException as exc:
            run.fail(exc)
            run.close()
            raise
        run.close()
    final = run.ckpt_dir / "final.pt"
    return TrainResult(run.run_dir, "completed", run.global_step, run.logger.last_eval,
                       final if final.exists() else None, train_seconds)


class Policy:
    """A trained policy for inference: normalises observations and returns env-scaled actions."""

    def __init__(self, checkpoint: dict[str, Any]) -> None:
        self.path = str(checkpoint.get("path"))
        self.algo = checkpoint["algo"]
        if self.algo not in ("ppo", "td3"):
            raise CheckpointError(f"Checkpoint {self.path} is for algo {self.algo!r}; this code knows ppo and td3.")
        self.config = config_from_dict(self.algo, checkpoint["config"])
        self.env: str = str(checkpoint["env"])
        """The env the policy was trained on, as recorded (never imported from here: see `evaluate`)."""
        self.seed = int(checkpoint.get("seed", 0))
        self.observation_space: gym.Space = decode_space(checkpoint["observation_space"], self.path)
        self.action_space: gym.spaces.Box = decode_space(checkpoint["action_space"], self.path)  # type: ignore[assignment]
        self.layout = obs_layout(self.observation_space)
        self.scaler = ActionScaler(self.action_space)
        act_dim = int(self.action_space.shape[0])
        if self.algo == "ppo":
            from agents.ppo import build_actor
        else:
            from agents.td3 import build_actor
        self.actor = build_actor(self.layout, act_dim, self.config)  # type: ignore[arg-type]
        try:
            self.actor.load_state_dict(checkpoint["models"]["actor"])
        except RuntimeError as exc:
            raise CheckpointError(f"Checkpoint {checkpoint.get('path')} is inconsistent: "
                                  f"{str(exc).splitlines()[0]}") from None
        self.actor.eval()
        self.obs_norm = ObsNormalizer(self.layout, False)
        self.obs_norm.load_state_dict(checkpoint["obs_normalizer"])
        self.global_step = int(checkpoint["counters"]["global_step"])

    @torch.no_grad()
    def act_unit(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Deterministic actions in [-1, 1] for a batch of observation dicts."""
        out = self.actor(obs_to_tensor(self.obs_norm.normalize(obs), torch.device("cpu")))
        return out.clamp(-1.0, 1.0).numpy()

    def predict(self, obs: Any) -> np.ndarray:
        """Env-scaled deterministic action for one observation (Box array or Dict)."""
        o = {k: np.expand_dims(np.asarray(v), 0) for k, v in as_dict(obs, self.layout).items()}
        return self.scaler.to_env(self.act_unit(o)[0])


def load_policy(path: str | os.PathLike) -> Policy:
    """Load a checkpoint file (or a run directory: final.pt, else last.pt) for inference."""
    return Policy(load_checkpoint(path))


def evaluate(
    checkpoint: str | os.PathLike | Policy,
    env: EnvSpec | None = None,
    episodes: int = 50,
    seed: int = 0,
    video: str | os.PathLike | None = None,
    fps: int = 25,
) -> dict[str, Any]:
    """Run the deterministic policy for `episodes` episodes (seeds seed, seed+1, ...).

    `env` defaults to the one the checkpoint was trained on (a registered id, or a string a
    registered resolver builds, e.g. a scene path), unless that is a Python `module:attr`
    reference: importing it would run code named by a file, so it must then be passed here
    explicitly (a string is resolved as `module:attr`). With `video` (.mp4 or
    .gif) frames are rendered (render_mode="rgb_array") and written with imageio.
    Returns episodes, mean_return, std_return, success_rate (NaN if the env reports
    no is_success), mean_length and the list of returns.
    """
    policy = checkpoint if isinstance(checkpoint, Policy) else load_policy(checkpoint)
    if env is None:
        spec = checkpoint_env(policy.env, policy.path)
    else:
        spec = resolve_env_string(os.fspath(env)) if isinstance(env, (str, os.PathLike)) else env
    if episodes < 1:
        raise ConfigError(f"episodes must be >= 1, got {episodes}.")
    if video is not None and Path(video).suffix.lower() not in (".mp4", ".gif"):
        raise ConfigError(f"Video path {video} must end in .mp4 or .gif.")
    env_obj = make_env_fn(spec, render_mode="rgb_array" if video else None)()
    try:
        set_evaluation(env_obj)
        if env_obj.observation_space != policy.observation_space:
            raise CheckpointError(
                f"The checkpoint was trained on observations {policy.observation_space}, but env {spec!r} "
                f"gives {env_obj.observation_space}."
            )
        frames: list | None = [] if video else None
        result = run_episodes(env_obj, policy.act_unit, policy.layout, policy.scaler, episodes, seed, frames)
    finally:
        env_obj.close()
    if video is not None and frames:
        write_video(Path(video), [f for f in frames if f is not None], fps)
        result["video"] = str(video)
    return result


def export_policy(src: str | os.PathLike, dst: str | os.PathLike, env: str | None = None) -> Path:
    """Write the policy of checkpoint `src` to `dst` as a small policy-only file (the actor, the
    observation normaliser and what rebuilds them; no critic, optimiser or replay buffer).

    With `env`, the file records that env instead of the one it was trained on, after checking
    that the env has the same observation and action spaces. Why: a policy trained on a
    training variant of a scene (training-aid starts, another reward) is meant for the scene
    itself, and `envkit eval` should find that scene on a machine without the variant's file.
    """
    data = load_checkpoint(src)
    dst_p = Path(dst)
    if dst_p.resolve() == Path(data["path"]).resolve():
        raise CheckpointError(f"Exporting {data['path']} onto itself would replace the full checkpoint; give "
                              "another destination path.")
    out = policy_only(data)
    if env is not None:
        env_obj = make_env_fn(resolve_env_string(env))()
        try:
            for key in ("observation_space", "action_space"):
                trained = decode_space(data[key], data["path"])
                there = getattr(env_obj, key)
                if there != trained:
                    raise CheckpointError(f"Cannot record env {env!r} in {dst_p}: the policy was trained on "
                                          f"{key.replace('_', ' ')} {trained}, but {env!r} has {there}.")
        finally:
            env_obj.close()
        out["env"] = env
    save_checkpoint(dst_p, out)
    load_policy(dst_p)  # proves the file loads as a policy
    return dst_p


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import imageio.v2 as imageio

    if not frames:
        raise ConfigError("The env rendered no frames (does it support render_mode='rgb_array'?).")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    else:
        try:
            imageio.mimsave(path, frames, fps=fps, macro_block_size=1)
        except Exception as exc:  # noqa: BLE001 - imageio raises many types when ffmpeg is missing
            raise ConfigError(
                f"Cannot write {path}: {exc}. Writing .mp4 needs the imageio-ffmpeg package; "
                "use a .gif path instead, or pip install imageio-ffmpeg."
            ) from None


__all__ = ["Policy", "TrainResult", "TrainingDivergedError", "evaluate", "load_policy", "train"]
