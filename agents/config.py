"""Typed hyperparameters for PPO and TD3, and their validation.

The configs are plain dataclasses with simple field types (int, float, bool, str,
list[int], Optional) so that the sweeps can register them unchanged as Hydra
structured configs. Each field has a docstring under it (CleanRL style); the
docstrings are also read at run time (`field_docs`) for CLI help and error
messages, so keep them one short paragraph.

Validation happens in `validate_config`, before any environment is built, so a
typo in a sweep costs seconds and not a failed night.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from agents.errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "elu", "silu", "gelu", "leaky_relu")
CNN_NORMS = ("none", "batch", "layer", "group")
VEC_ENVS = ("sync", "async")
PRECISIONS = ("fp32", "bf16", "auto")
AUGMENTS = ("none", "shift")
ENCODERS = ("shared", "separate")


@dataclass
class CommonConfig:
    """Settings shared by every algorithm: budget, environments, networks, logging."""

    total_timesteps: int = 1_000_000
    """Environment transitions to train for, summed over all `n_envs` (the step that
    resets a finished sub-environment is not a transition and is not counted)."""
    n_envs: int = 1
    """Number of environment copies stepped together."""
    vec_env: str = "sync"
    """`sync` steps the copies in this process; `async` runs each in a subprocess,
    which pays off when one env step costs more than ~1 ms (pybullet scenes)."""

    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden layer widths of every MLP (actor and critic heads)."""
    activation: str = "tanh"
    """Activation of the MLP hidden layers: relu, tanh, elu, silu, gelu or leaky_relu."""
    cnn_channels: list[int] = field(default_factory=lambda: [16, 32, 32, 32, 16])
    """Output channels of each conv layer of the image encoder (Task A used [16, 32, 32, 32, 16])."""
    cnn_kernel_sizes: list[int] = field(default_factory=lambda: [3])
    """Kernel size per conv layer; a single value applies to every layer."""
    cnn_strides: list[int] = field(default_factory=lambda: [2])
    """Stride per conv layer; a single value applies to every layer."""
    cnn_norm: str = "layer"
    """Normalisation after each conv: none, batch, layer (GroupNorm with one group,
    i.e. LayerNorm over C,H,W; independent of the batch, the safe choice in RL) or group."""
    cnn_dropout: float = 0.0
    """Dropout probability after each conv block (0 disables it); off while acting."""
    cnn_features: int = 256
    """Width of the linear layer that closes the image encoder."""
    cnn_activation: str = "relu"
    """Activation after each conv layer."""
    augment: str = "none"
    """Augmentation of image observations in the update (never when acting): none, or shift
    (DrQ: pad augment_pad edge pixels, crop back at a random offset, per image). A regulariser
    for CNNs trained from few frames; vector observations are never augmented."""
    augment_pad: int = 4
    """Largest shift of augment=shift in pixels (DrQ used 4 for 84x84 frames); 0 disables it."""

    normalize_obs: bool = True
    """Normalise non-image observations by a running mean and std (saved in checkpoints)."""
    clip_obs: float = 10.0
    """Normalised observations are clipped to [-clip_obs, clip_obs]."""

    eval_every: int = 10_000
    """Evaluate the deterministic policy every this many transitions (0: only at the end)."""
    eval_episodes: int = 10
    """Episodes per evaluation, on a separate environment with fixed seeds."""
    eval_max_steps: int | None = None
    """Cut evaluation episodes after this many steps (None: the env's own limit); an episode cut
    before it succeeds counts as a failure. Why: an untrained policy runs every evaluation
    episode to the time limit (Task B: 20 x 750 steps per point); a cap above the success times
    of a trained policy makes early evaluations cheap without changing the success rate."""
    checkpoint_every: int = 50_000
    """Write checkpoints/last.pt every this many transitions (0: only at the end)."""
    keep_best: bool = True
    """Write checkpoints/best.pt (the policy and its observation statistics only: no critic,
    optimiser or replay state) whenever an evaluation beats every earlier one: a higher
    success rate, or the same success rate with a higher mean return. A policy that later
    training made worse stays recoverable (`envkit eval RUN/checkpoints/best.pt`)."""
    log_every: int = 2_000
    """Write a row of training statistics at most every this many transitions."""
    torch_threads: int = 1
    """torch intra-op threads. One is fastest for small networks (no thread
    hand-off per op) and leaves the other core to the environment; raise it for CNNs."""
    matmul_precision: str = "fp32"
    """"fp32" (exact), "bf16" (matrix multiplies and convolutions take bfloat16 inputs with fp32
    accumulation; weights and optimiser state stay fp32; needs a CPU with AMX or AVX512-BF16,
    where it makes TD3's update ~1.3x faster) or "auto" (bf16 where the CPU has it, else fp32).
    bf16 keeps ~3 significant digits per input, so with large values (e.g. Q-values in the
    hundreds) the error can approach the differences between actions: compare with fp32 before
    relying on it. See agents/compute.py and docs/benchmarks.md."""
    device: str = "cpu"
    """torch device for the networks."""
    tensorboard: bool = True
    """Also write TensorBoard scalars under RUN_DIR/tb."""

    demos: str | None = None
    """Demonstrations to learn from as well as from reward (PPO: DAPG, Rajeswaran et al. 2018;
    TD3: TD3+BC's loss, online): null (none), `scripted` (record them at the start from envkit's
    grasp-and-carry controller on the training scene, a sorting scene; see envkit.scripted) or
    the path of an .npz written by `envkit demos`. For tasks whose key step Gaussian exploration
    does not find (Task B's grasp)."""
    demo_episodes: int = 200
    """Episodes the scripted controller plays when demos=scripted (only its successes are kept)."""
    demo_seed: int = 10_000
    """First episode seed of demos=scripted; far from the evaluation seeds, so evaluation scenes
    are not demonstrated."""
    demo_pretrain_steps: int = 10_000
    """Behaviour-cloning gradient steps (minibatches of demo_batch_size) on the demonstrations
    before the first environment step; 0 starts from a random policy. Not repeated on --resume."""
    demo_coef: float = 1.0
    """Weight of the behaviour-cloning loss (squared error between the policy's action and the
    demonstrated one, in [-1, 1] units) added to the policy loss, multiplied by demo_decay per
    update: the demonstrations guide the early updates and fade out. PPO adds it to each
    minibatch's loss; TD3 to each actor update's, whose Q term it then divides by the batch's mean
    |Q| (TD3+BC, Fujimoto and Gu 2021), so that the weight means the same at any reward scale."""
    demo_decay: float = 0.95
    """Decay of demo_coef per update: PPO applies it once per update (batch_size transitions),
    TD3 once per 1000 transitions (0.95: 1/e after ~20 of them; 1.0 never fades)."""
    demo_decay_every: int | None = None
    """Transitions per demo_decay factor; null keeps the defaults above (PPO: one batch, TD3:
    1000). Set it to compare PPO batch sizes: per update, a 200k batch would keep the cloning term
    40 times longer in timesteps than a 5k batch; per a fixed number of transitions both see the
    same weight at the same step (experiment=task_b_batch)."""
    demo_batch_size: int = 256
    """Demonstration pairs per behaviour-cloning minibatch."""
    demo_learning_rate: float = 1e-3
    """Adam step size of the behaviour-cloning pretraining (the updates after it use learning_rate)."""


@dataclass
class PPOConfig(CommonConfig):
    """Clipped-surrogate PPO (Schulman et al. 2017) with GAE and a Gaussian policy.

    The policy's mean comes from an MLP and its log-std is a learned,
    state-independent vector. It acts in [-1, 1]: the sampled action is clipped
    and rescaled to the env's bounds, while the log-probability is always that of
    the unclipped sample, so the ratio in the loss is exact.
    """

    batch_size: int = 2048
    """Transitions per rollout batch, summed over `n_envs` (the knob Task B varied from
    5k to 200k). Each env contributes batch_size / n_envs steps per rollout."""
    minibatch_size: int = 64
    """Transitions per gradient step (at least 2: advantages are normalised per minibatch)."""
    epochs: int = 10
    """Passes over each rollout batch."""
    learning_rate: float = 3e-4
    """Adam step size for policy and value networks."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to zero over total_timesteps."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda: 0 is one-step TD, 1 is Monte Carlo with a bootstrap at truncation."""
    clip_coef: float = 0.2
    """Clip range of the probability ratio."""
    value_clip: float | None = None
    """If set, clip the value change per update to this range (PPO2 style); None disables it."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float = 0.5
    """Clip the global gradient norm to this value."""
    target_kl: float | None = None
    """Stop the epochs of an update early once the approximate KL exceeds this; None disables it."""
    normalize_advantages: bool = True
    """Normalise advantages per minibatch."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return (as VecNormalize does)."""
    clip_reward: float = 10.0
    """Scaled rewards are clipped to [-clip_reward, clip_reward] (only with normalize_reward)."""
    init_log_std: float = 0.0
    """Initial log standard deviation of the policy, in the [-1, 1] action scale."""
    ortho_init: bool = True
    """Orthogonal initialisation (gain sqrt(2) hidden, 0.01 policy output, 1 value output)."""


@dataclass
class TD3Config(CommonConfig):
    """TD3 (Fujimoto et al. 2018): twin critics, delayed actor, target-policy smoothing.

    Only real terminations stop bootstrapping; time-limit truncations bootstrap from
    the critic at the final observation.
    """

    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    """Hidden layer widths of actor and critic MLPs."""
    activation: str = "relu"
    """Activation of the MLP hidden layers."""
    normalize_obs: bool = False
    """Normalise non-image observations by running statistics at sampling time (the
    replay buffer keeps raw observations, so old samples use current statistics)."""
    buffer_size: int = 1_000_000
    """Replay buffer capacity in transitions (preallocated; images stored as uint8)."""
    learning_starts: int = 1_000
    """Transitions of uniform random actions collected before any update."""
    actor_learning_starts: int = 0
    """Global step before which only the critics (and their targets) learn; the actor acts as it
    started (cloned from demonstrations, or initial). A young critic's gradient can undo a cloned
    grasp (docs/task-b.md); holding the actor back lets the critics first learn the cloned
    policy's values. With demonstrations the cloning weight fades from this step on. (A shared image
    encoder, trained by the critics, still changes what the actor sees.)"""
    batch_size: int = 256
    """Transitions per gradient step."""
    learning_rate: float = 1e-3
    """Adam step size of the actor (and of the critics unless critic_learning_rate is set)."""
    critic_learning_rate: float | None = None
    """Adam step size of the critics; None uses learning_rate."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.005
    """Soft target update rate: target <- (1 - tau) target + tau online."""
    policy_delay: int = 2
    """Update the actor and the targets once per this many critic updates."""
    target_policy_noise: float = 0.2
    """Std of the Gaussian noise added to target actions (in the [-1, 1] action scale)."""
    target_noise_clip: float = 0.5
    """Target-policy noise is clipped to [-target_noise_clip, target_noise_clip]."""
    exploration_noise: float = 0.1
    """Std of the Gaussian exploration noise (in the [-1, 1] action scale)."""
    exploration_noise_prob: float = 1.0
    """Probability that exploration noise is added to an action (Task A used 0.9)."""
    train_freq: int = 1
    """Update after every this many vector-env steps."""
    gradient_steps: int = 1
    """Gradient steps per update."""
    n_critics: int = 2
    """Number of critics; the target is the minimum over all of them (2 is TD3)."""
    encoder: str = "shared"
    """Image encoders: shared (one CNN for actor and critics, trained by the critic loss only, the
    actor sees its features detached; DrQ-v2 practice, one CNN pass per batch instead of ~6) or
    separate (a CNN per network, as before: the baseline). No effect without image observations."""
    critic_loss: str = "mse"
    """Critic regression loss: mse or huber (Task A used huber)."""
    overlap_updates: bool = True
    """With vec_env=async, run the gradient steps while the env subprocesses step: a step then
    costs max(env, update) instead of their sum. The update samples the buffer without the one
    transition in flight (one-step staleness, as in asynchronous actor-learner setups)."""
    save_replay_buffer: bool = True
    """Save the replay buffer beside the checkpoint so that resume continues with it."""


CONFIG_CLASSES: dict[str, type[CommonConfig]] = {"ppo": PPOConfig, "td3": TD3Config}
AgentConfig = PPOConfig | TD3Config


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Docstrings written under dataclass fields, read from the source (MRO included)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):  # pragma: no cover - source not available
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def config_class(algo: str) -> type[CommonConfig]:
    """The config dataclass of an algorithm name, with a clear error for unknown names."""
    key = str(algo).lower()
    if key not in CONFIG_CLASSES:
        raise ConfigError(
            f"Unknown algorithm {algo!r}. Valid algorithms: {', '.join(CONFIG_CLASSES)}.{_did_you_mean(key, CONFIG_CLASSES)}"
        )
    return CONFIG_CLASSES[key]


#: Names other libraries use for the same knob (SB3, CleanRL), for the did-you-mean hint.
ALIASES = {
    "lr": "learning_rate", "n_epochs": "epochs", "update_epochs": "epochs", "clip_range": "clip_coef",
    "net_arch": "hidden_sizes", "num_envs": "n_envs", "gae_lambda_": "gae_lambda", "clip_range_vf": "value_clip",
    "policy_noise": "target_policy_noise", "noise_clip": "target_noise_clip", "policy_frequency": "policy_delay",
    "action_noise": "exploration_noise", "num_minibatches": "minibatch_size", "n_steps": "batch_size",
    "learning_rate_critic": "critic_learning_rate", "total_steps": "total_timesteps", "steps": "total_timesteps",
}


def _did_you_mean(name: str, options: Any) -> str:
    options = list(options)
    if name in ALIASES and ALIASES[name] in options:
        return f" Did you mean {ALIASES[name]!r}?"
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _field_types(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _coerce(cls: type, name: str, value: Any) -> Any:
    """Convert `value` to the annotated type of field `name`; strings are parsed as YAML
    so that `--set hidden_sizes=[64,64]` and `--set target_kl=null` work from the CLI."""
    tp = _field_types(cls)[name]
    optional = False
    if get_origin(tp) is Union or type(tp).__name__ == "UnionType":
        args = [a for a in get_args(tp) if a is not type(None)]
        optional = len(args) < len(get_args(tp))
        tp = args[0]
    if isinstance(value, str) and tp is not str:
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"Config field {name!r}: cannot parse {value!r} ({exc}).") from None
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and optional):
        if optional:
            return None
        raise ConfigError(f"Config field {name!r} must not be empty (expected {_type_name(tp)}).")
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if tp is int:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if tp is str:
            return str(value)
        if get_origin(tp) is list:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = [value]
            if not isinstance(value, (list, tuple)):
                raise TypeError
            out = []
            for v in value:
                if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
                    raise TypeError
                out.append(int(v))
            return out
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ConfigError(
        f"Config field {name!r} expects {_type_name(tp)}{' or null' if optional else ''}, got {value!r}."
    )


def _type_name(tp: Any) -> str:
    if get_origin(tp) is list:
        return "a list of integers"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(tp, str(tp))


def apply_overrides(config: CommonConfig, overrides: dict[str, Any] | None) -> CommonConfig:
    """Return a copy of `config` with `overrides` applied, type-coerced and validated.

    Unknown keys raise ConfigError listing the valid names (with a did-you-mean);
    invalid values raise ConfigError naming the field and its allowed range.
    """
    cls = type(config)
    names = [f.name for f in dataclasses.fields(cls)]
    changes = {}
    for key, value in (overrides or {}).items():
        if key not in names:
            raise ConfigError(
                f"Unknown {cls.__name__} hyperparameter {key!r}.{_did_you_mean(key, names)} "
                f"Valid names: {', '.join(sorted(names))}."
            )
        changes[key] = _coerce(cls, key, value)
    new = dataclasses.replace(config, **changes)
    validate_config(new)
    return new


def make_config(algo: str, overrides: dict[str, Any] | None = None) -> AgentConfig:
    """Default config of `algo` with `overrides` applied and validated."""
    return apply_overrides(config_class(algo)(), overrides)  # type: ignore[return-value]


def config_from_dict(algo: str, data: dict[str, Any]) -> AgentConfig:
    """Rebuild a config from `asdict` output (checkpoints, config.yaml, OmegaConf containers)."""
    return make_config(algo, dict(data))


def _check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        hint = ""
        if " Did you mean " in allowed:  # keep the suggestion after the sentence
            allowed, hint = allowed.split(" Did you mean ", 1)
            hint = " Did you mean " + hint
        raise ConfigError(f"Config field {name!r} = {value!r} is invalid: it must be {allowed}.{hint}")


def validate_config(config: CommonConfig) -> None:
    """Check every value and the relations between values; raise ConfigError on the first problem."""
    if not isinstance(config, CommonConfig):
        raise ConfigError(f"Expected a PPOConfig or TD3Config, got {type(config).__name__}.")
    c = config
    for f in dataclasses.fields(c):  # types first: a dataclass does not check them
        _coerce(type(c), f.name, getattr(c, f.name))
        v = getattr(c, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            _check(False, f.name, v, "a finite number")
    _check(c.total_timesteps > 0, "total_timesteps", c.total_timesteps, "> 0")
    _check(c.n_envs >= 1, "n_envs", c.n_envs, ">= 1")
    _check(c.vec_env in VEC_ENVS, "vec_env", c.vec_env, f"one of {', '.join(VEC_ENVS)}")
    _check(len(c.hidden_sizes) >= 1 and all(h > 0 for h in c.hidden_sizes), "hidden_sizes", c.hidden_sizes,
           "a non-empty list of positive widths")
    for name in ("activation", "cnn_activation"):
        v = getattr(c, name)
        _check(v in ACTIVATIONS, name, v, f"one of {', '.join(ACTIVATIONS)}{_did_you_mean(v, ACTIVATIONS)}")
    _check(len(c.cnn_channels) >= 1 and all(ch > 0 for ch in c.cnn_channels), "cnn_channels", c.cnn_channels,
           "a non-empty list of positive channel counts")
    for name in ("cnn_kernel_sizes", "cnn_strides"):
        v = getattr(c, name)
        _check(len(v) in (1, len(c.cnn_channels)) and all(k > 0 for k in v), name, v,
               f"one positive value or one per conv layer ({len(c.cnn_channels)})")
    _check(c.cnn_norm in CNN_NORMS, "cnn_norm", c.cnn_norm, f"one of {', '.join(CNN_NORMS)}")
    _check(0.0 <= c.cnn_dropout < 1.0, "cnn_dropout", c.cnn_dropout, "in [0, 1)")
    _check(c.cnn_features > 0, "cnn_features", c.cnn_features, "> 0")
    _check(c.augment in AUGMENTS, "augment", c.augment,
           f"one of {', '.join(AUGMENTS)}{_did_you_mean(c.augment, AUGMENTS)}")
    _check(c.augment_pad >= 0, "augment_pad", c.augment_pad, ">= 0 (0 disables the shift)")
    _check(c.clip_obs > 0, "clip_obs", c.clip_obs, "> 0")
    for name in ("eval_every", "checkpoint_every", "log_every"):
        _check(getattr(c, name) >= 0, name, getattr(c, name), ">= 0 (0 disables it)")
    _check(c.eval_episodes >= 0, "eval_episodes", c.eval_episodes, ">= 0")
    _check(c.eval_max_steps is None or c.eval_max_steps >= 1, "eval_max_steps", c.eval_max_steps,
           ">= 1 or null (the env's own limit)")
    _check(c.torch_threads >= 1, "torch_threads", c.torch_threads, ">= 1")
    _check(c.matmul_precision in PRECISIONS, "matmul_precision", c.matmul_precision,
           f"one of {', '.join(PRECISIONS)}{_did_you_mean(c.matmul_precision, PRECISIONS)}")
    _check(c.device == "cpu" or c.device.startswith(("cuda", "mps")), "device", c.device, "cpu, cuda[:N] or mps")
    _check(c.demos is None or (c.demos.strip() != "" and (c.demos == "scripted" or c.demos.endswith(".npz"))),
           "demos", c.demos, "null, `scripted` or the path of an .npz file written by `envkit demos`")
    _check(c.demo_episodes >= 1, "demo_episodes", c.demo_episodes, ">= 1")
    _check(c.demo_pretrain_steps >= 0, "demo_pretrain_steps", c.demo_pretrain_steps, ">= 0")
    _check(c.demo_coef >= 0, "demo_coef", c.demo_coef, ">= 0")
    _check(0.0 <= c.demo_decay <= 1.0, "demo_decay", c.demo_decay, "in [0, 1]")
    _check(c.demo_decay_every is None or c.demo_decay_every >= 1, "demo_decay_every", c.demo_decay_every,
           "null or >= 1 (transitions per demo_decay factor)")
    _check(c.demo_batch_size >= 1, "demo_batch_size", c.demo_batch_size, ">= 1")
    _check(c.demo_learning_rate > 0, "demo_learning_rate", c.demo_learning_rate, "> 0")

    if isinstance(c, PPOConfig):
        _check(c.batch_size >= c.n_envs, "batch_size", c.batch_size, f">= n_envs ({c.n_envs})")
        _check(c.batch_size % c.n_envs == 0, "batch_size", c.batch_size,
               f"a multiple of n_envs ({c.n_envs}), since each env contributes batch_size / n_envs steps")
        _check(2 <= c.minibatch_size <= c.batch_size, "minibatch_size", c.minibatch_size,
               f">= 2 (advantages are normalised per minibatch, which needs two samples) and <= batch_size "
               f"({c.batch_size})")
        _check(c.epochs >= 1, "epochs", c.epochs, ">= 1")
        _check(c.learning_rate > 0, "learning_rate", c.learning_rate, "> 0")
        _check(0.0 < c.gamma <= 1.0, "gamma", c.gamma, "in (0, 1]")
        _check(0.0 <= c.gae_lambda <= 1.0, "gae_lambda", c.gae_lambda, "in [0, 1]")
        _check(c.clip_coef > 0, "clip_coef", c.clip_coef, "> 0")
        _check(c.value_clip is None or c.value_clip > 0, "value_clip", c.value_clip, "> 0 or null")
        _check(c.ent_coef >= 0, "ent_coef", c.ent_coef, ">= 0")
        _check(c.vf_coef >= 0, "vf_coef", c.vf_coef, ">= 0")
        _check(c.max_grad_norm > 0, "max_grad_norm", c.max_grad_norm, "> 0")
        _check(c.target_kl is None or c.target_kl > 0, "target_kl", c.target_kl, "> 0 or null")
        _check(c.clip_reward > 0, "clip_reward", c.clip_reward, "> 0")
        _check(-20 <= c.init_log_std <= 2, "init_log_std", c.init_log_std, "in [-20, 2]")
    elif isinstance(c, TD3Config):
        _check(c.buffer_size >= c.batch_size, "buffer_size", c.buffer_size, f">= batch_size ({c.batch_size})")
        _check(c.learning_starts >= 0, "learning_starts", c.learning_starts, ">= 0")
        _check(c.batch_size >= 1, "batch_size", c.batch_size, ">= 1")
        _check(c.learning_rate > 0, "learning_rate", c.learning_rate, "> 0")
        _check(c.critic_learning_rate is None or c.critic_learning_rate > 0, "critic_learning_rate",
               c.critic_learning_rate, "> 0 or null")
        _check(0.0 < c.gamma <= 1.0, "gamma", c.gamma, "in (0, 1]")
        _check(0.0 < c.tau <= 1.0, "tau", c.tau, "in (0, 1]")
        _check(c.policy_delay >= 1, "policy_delay", c.policy_delay, ">= 1")
        _check(c.actor_learning_starts >= 0, "actor_learning_starts", c.actor_learning_starts, ">= 0")
        _check(c.target_policy_noise >= 0, "target_policy_noise", c.target_policy_noise, ">= 0")
        _check(c.target_noise_clip >= 0, "target_noise_clip", c.target_noise_clip, ">= 0")
        _check(c.exploration_noise >= 0, "exploration_noise", c.exploration_noise, ">= 0")
        _check(0.0 <= c.exploration_noise_prob <= 1.0, "exploration_noise_prob", c.exploration_noise_prob,
               "in [0, 1]")
        _check(c.train_freq >= 1, "train_freq", c.train_freq, ">= 1")
        _check(c.gradient_steps >= 1, "gradient_steps", c.gradient_steps, ">= 1")
        _check(c.n_critics >= 2, "n_critics", c.n_critics, ">= 2 (clipped double-Q needs two)")
        _check(c.critic_loss in ("mse", "huber"), "critic_loss", c.critic_loss, "mse or huber")
        _check(c.encoder in ENCODERS, "encoder", c.encoder,
               f"one of {', '.join(ENCODERS)}{_did_you_mean(c.encoder, ENCODERS)}")


def config_to_dict(config: CommonConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)
