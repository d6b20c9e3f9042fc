"""Typed schema of a sweep trial and the generated options, registered with Hydra's ConfigStore.

The YAML files under `sweeps/conf/` only set values; every key they may set is
declared here, so a typo in a config file or on the command line
(`agent.bacth_size=5000`) fails before any trial starts instead of being ignored.
The agent nodes *are* the agents' own dataclasses (plus `algo`), so the sweep can
never drift from what `agents.train` accepts.

The `scene` and `reward` options are not files: `register_configs()` stores one per
bundled scene (`scenes/*.yaml`) and one per reward preset (`rewards.presets.PRESETS`),
so a new scene YAML or preset is a sweep option with no other file to edit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from agents.config import PPOConfig, TD3Config
from envkit import bundled_scenes
from rewards import PRESETS


@dataclass
class SceneConfig:
    """Which scene a trial trains on."""

    id: str = "reach"
    """A bundled scene (name like `sort-1`, or id like `envkit/sort-1-v0`) or a path to a scene YAML."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Dotted scene overrides applied before validation, e.g. {objects.count: 2}."""


@dataclass
class RewardConfig:
    """A reward design that replaces the scene's own reward (unless both fields are empty)."""

    name: str = "scene"
    """The design's label in reports."""
    preset: str | None = None
    """A reward preset of `rewards.presets` (sort_v1, sort_v2, peg_progress, ...)."""
    terms: list[dict[str, Any]] | None = None
    """Explicit `{term, weight, params, name}` dicts (appended to the preset, if both are set)."""


@dataclass
class BudgetConfig:
    """How long each trial trains and how often it is evaluated."""

    timesteps: int = 20_000
    """Environment transitions per trial (the agent's total_timesteps)."""
    eval_every: int = 2_000
    """Evaluate the deterministic policy every this many transitions (the learning curve's points)."""
    eval_episodes: int = 10
    """Episodes per evaluation, on a separate env with fixed seeds."""


@dataclass
class RaceConfig:
    """Racing (`envkit sweep ... race=true`, sweeps/race.py): every design trains to the first rung,
    then only the designs that can still be best go on. The rule is in sweeps/racing.py."""

    enabled: bool = False
    """Race the sweep's designs instead of training the full grid (`race=true` sets it)."""
    rungs: list[float] = field(default_factory=lambda: [0.1, 0.3, 1.0])
    """Fractions of the budget at which the designs are compared (rounded to a multiple of
    budget.eval_every); 1.0 is appended when the last is below it."""
    min_seeds: int = 3
    """Seeds each design starts with: the sweep's own seeds, topped up with the next integers."""
    max_seeds: int | None = None
    """A design whose interval overlaps the leader's gets one more seed per rung, up to this (default:
    min_seeds, no seeds added)."""
    eta: float | None = None
    """Also keep at most the top 1/eta of the designs at each rung (successive halving); null: only
    designs whose interval lies below the leader's are dropped."""
    metric: str = "success"
    """What the rungs compare: success (final success rate so far, IQM over seeds) or auc (the
    success curve's mean height so far, mean over seeds)."""


@dataclass
class TuneConfig:
    """`envkit tune` (sweeps/tune.py): how the Optuna study over `search:` runs and is confirmed."""

    seeds: int = 2
    """Seeds per Optuna trial (0..seeds-1): its score is their IQM, and pruning compares intervals."""
    top_k: int = 3
    """Configurations re-run on fresh seeds at the end (the winner's curse check)."""
    confirm_seeds: int = 3
    """Fresh seeds (1000, 1001, ...) per re-run configuration."""
    seed: int = 0
    """Seed of the sampler (offset by the number of trials the study already has, so a resumed study
    does not propose its first configurations again)."""
    startup_trials: int = 5
    """Random trials before TPE starts modelling."""


@dataclass
class PPOAgent(PPOConfig):
    """PPO hyperparameters (agents.config.PPOConfig) with the algorithm's name."""

    algo: str = "ppo"


@dataclass
class TD3Agent(TD3Config):
    """TD3 hyperparameters (agents.config.TD3Config) with the algorithm's name."""

    algo: str = "td3"


@dataclass
class TrialConfig:
    """One trial: a scene, a reward design, an agent, a budget and a seed."""

    name: str = "sweep"
    """Sweep name: trials go to `<out_dir>/<name>/<overrides>`, so rerunning the same command finds them."""
    out_dir: str = "runs/sweeps"
    """Root folder of all sweeps."""
    seed: int = 0
    """Seed of the agent, the environments and the evaluation episodes."""
    scene_file: str | None = None
    """A scene YAML path; when set it replaces `scene.id` (the `scene` group picks bundled scenes)."""
    scene: SceneConfig = field(default_factory=SceneConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    agent: Any = MISSING
    """PPO or TD3 hyperparameters, chosen with `agent=ppo|td3`."""
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    success_threshold: float = 0.8
    """Evaluation success rate that counts as 'solved' for the steps-to-threshold column."""
    final_evals: int = 3
    """The final score of a trial is the mean of its last this many evaluations (less noisy than one)."""
    resume: bool = True
    """Skip trials whose summary.json is complete and was made with the same config; redo the others."""
    progress: str = "lines"
    """lines: one line per trial start, evaluation and end (readable with parallel trials); none: silent."""
    isolate: bool = True
    """Train each trial in a child process, so a crash or kill of one trial cannot take the launcher's
    worker (and the trials after it) down; false trains inside the launcher's process (for debuggers)."""
    pause_at: int | None = None
    """Train only to this many transitions, then stop with status `paused` (a race sets it for each rung).
    The trial keeps the fingerprint of its whole budget, so a later run with a larger pause_at (or none)
    continues it from its checkpoint: no transition is trained twice."""
    race: RaceConfig = field(default_factory=RaceConfig)
    search: dict[str, Any] = field(default_factory=dict)
    """`envkit tune`: the ranges to search, override key -> {low, high, log} or {choices: [...]}; reward
    weights as reward.terms.<term name>.weight (docs/sweeps.md)."""
    trials: int = 20
    """`envkit tune`: Optuna trials the study runs (complete, pruned or failed; shared by its workers)."""
    tune: TuneConfig = field(default_factory=TuneConfig)


AGENT_NODES: dict[str, type] = {"ppo": PPOAgent, "td3": TD3Agent}

#: The `reward` option that keeps the scene's own reward (the `reward:` section of its YAML).
SCENE_REWARD = "scene"


def scene_options() -> dict[str, SceneConfig]:
    """The `scene` group: one option per bundled scene, named as the scene (`scene=sort-1`)."""
    return {name: SceneConfig(id=name) for name in bundled_scenes()}


def reward_options() -> dict[str, RewardConfig]:
    """The `reward` group: one option per reward preset (`reward=sort_v2` sets `preset: sort_v2`),
    and `scene`, which keeps the scene's own reward (and wins over a preset of that name)."""
    options = {name: RewardConfig(name=name, preset=name) for name in PRESETS}
    options[SCENE_REWARD] = RewardConfig(name=SCENE_REWARD)
    return options


def trial_dir_name(override_dirname: str) -> str:
    """A trial's folder name from its overrides (`agent.batch_size=5000,reward=sort_v1,seed=0`).

    Hydra sorts the overrides, so the same trial always gets the same folder, whatever the
    order on the command line. Path separators (from `scene_file=dir/my.yaml`) and other
    characters a file system may refuse are replaced; an over-long name keeps a readable
    head and a hash of the whole, so two different trials never share a folder.
    """
    if not override_dirname:
        return "default"
    name = re.sub(r"[^A-Za-z0-9_.,=+\-\[\]]", "_", override_dirname)
    if len(name) > 200:
        digest = hashlib.sha1(override_dirname.encode()).hexdigest()[:12]
        name = f"{name[:180]}-{digest}"
    return name


def register_configs() -> None:
    """Store the schemas and the generated `scene` and `reward` options.

    `conf/config.yaml` and `conf/agent/*.yaml` extend the schemas, which live in a `schema/`
    group of their own so they never show up as options of the `agent` group (and are not
    caught by a `glob(*)` over it). The options are read from the bundled scenes and the
    presets at each call, so a preset added at run time is an option of the next composition.
    """
    cs = ConfigStore.instance()
    cs.store(group="schema", name="trial", node=TrialConfig)
    for algo, node in AGENT_NODES.items():
        cs.store(group="schema/agent", name=algo, node=node)
    for name, scene in scene_options().items():
        cs.store(group="scene", name=name, node=scene)
    for name, reward in reward_options().items():
        cs.store(group="reward", name=name, node=reward)
    if not OmegaConf.has_resolver("envkit_trial_dir"):
        OmegaConf.register_new_resolver("envkit_trial_dir", trial_dir_name)
