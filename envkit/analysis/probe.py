"""Roll out a policy (random by default) and profile what each reward term actually pays.

The lint reasons from a model; the probe measures. A random policy is what a
learner starts as, so the probe answers: which terms does an untrained agent ever
see (a term that never fires gives no learning signal until the agent stumbles
on it), which fire every step (a per-step offset: fine for a time penalty,
suspicious for an event), and how large each term's per-episode sum is compared
to the others.

Reproducible: episode i is reset with seed `seed + i` and the random actions come
from one generator seeded with `seed`, so the same command prints the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envkit.errors import EnvkitError
from envkit.events import EVENT_KEYS

Policy = Callable[[np.ndarray], np.ndarray]
#: a term "fires" on a step when its contribution is farther than this from zero
FIRE_EPS = 1e-12


@dataclass
class EpisodeRecord:
    """One rolled-out episode: length, how it ended, per-term sums and firing counts."""

    length: int
    terminated: bool
    truncated: bool
    success: bool
    ret: float
    term_sums: dict[str, float]
    term_fires: dict[str, int]  # steps on which the term was non-zero
    events: dict[str, int]


@dataclass
class TermStats:
    """Per-term statistics over a probe's episodes."""

    label: str
    fire_rate: float  # fraction of all steps on which the term was non-zero
    episode_rate: float  # fraction of episodes in which it fired at least once
    mean: float  # mean per-episode sum
    std: float
    p5: float
    p50: float
    p95: float
    share: float  # mean |per-episode sum| / sum over terms of the same
    flag: str  # "never" | "every-step" | ""


@dataclass
class ProbeResult:
    """Everything a probe measured; `term_stats()` and `event_stats()` summarise it."""

    scene: str
    policy: str
    seed: int
    labels: list[str]
    episodes: list[EpisodeRecord] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # label -> lint model kind (step, event, ...)
    n_objects: int = 0

    @property
    def steps(self) -> int:
        return sum(e.length for e in self.episodes)

    def term_stats(self) -> list[TermStats]:
        steps = max(self.steps, 1)
        n = max(len(self.episodes), 1)
        abs_means = {
            k: float(np.mean([abs(e.term_sums[k]) for e in self.episodes])) if self.episodes else 0.0
            for k in self.labels
        }
        total = sum(abs_means.values()) or 1.0
        out = []
        for k in self.labels:
            sums = (
                np.array([e.term_sums[k] for e in self.episodes], dtype=float)
                if self.episodes
                else np.zeros(1)
            )
            fired = sum(e.term_fires[k] for e in self.episodes)
            flag = "never" if fired == 0 else ("every-step" if fired == self.steps else "")
            p5, p50, p95 = np.percentile(sums, [5, 50, 95], method="nearest")  # values that occurred
            out.append(
                TermStats(
                    label=k,
                    fire_rate=fired / steps,
                    episode_rate=sum(1 for e in self.episodes if e.term_fires[k]) / n,
                    mean=float(sums.mean()),
                    std=float(sums.std()),
                    p5=float(p5),
                    p50=float(p50),
                    p95=float(p95),
                    share=abs_means[k] / total,
                    flag=flag,
                )
            )
        return out

    def event_stats(self) -> dict[str, dict[str, float]]:
        """Per event: mean count per episode and fraction of episodes with at least one."""
        n = max(len(self.episodes), 1)
        out = {}
        for k in EVENT_KEYS:
            counts = [e.events.get(k, 0) for e in self.episodes]
            out[k] = {
                "per_episode": float(np.sum(counts)) / n,
                "episode_rate": sum(c > 0 for c in counts) / n,
            }
        return out

    def outcome_stats(self) -> dict[str, float]:
        n = max(len(self.episodes), 1)
        lengths = [e.length for e in self.episodes] or [0]
        returns = [e.ret for e in self.episodes] or [0.0]
        return {
            "episodes": len(self.episodes),
            "steps": self.steps,
            "success_rate": sum(e.success for e in self.episodes) / n,
            "terminated_rate": sum(e.terminated for e in self.episodes) / n,
            "truncated_rate": sum(e.truncated for e in self.episodes) / n,
            "mean_length": float(np.mean(lengths)),
            "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)),
        }


def term_kinds(spec: Any) -> dict[str, str]:
    """Label -> the lint's kind of each term, so "fires every step" can be judged expected or not."""
    from envkit.analysis.profiles import profiles
    from envkit.analysis.scenefacts import scene_facts

    return {p.label: p.kind for p in profiles(scene_facts(spec))}


def random_policy(action_space: Any, seed: int) -> Policy:
    """Uniform actions in the (bounded) action space, from a generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    low, high = np.asarray(action_space.low), np.asarray(action_space.high)

    def act(obs: np.ndarray) -> np.ndarray:
        return rng.uniform(low, high).astype(np.float32)

    return act


def checkpoint_policy(path: str | Path, env: Any) -> Policy:
    """A trained agent's deterministic policy, through `agents.api.load_policy(path).predict(obs)`.

    The hook the agents package plugs into: anything whose `load_policy` returns an
    object with `observation_space` and `predict(obs) -> action` works.
    """
    try:
        from agents.api import load_policy
    except ImportError as exc:
        raise EnvkitError(
            f"--checkpoint needs the agents package (agents.api.load_policy), which this build lacks ({exc}). "
            "Probe with the random policy, or install envkit with its agents."
        ) from None
    policy = load_policy(path)
    space = getattr(policy, "observation_space", None)
    if space is not None and space != env.observation_space:
        raise EnvkitError(
            f"checkpoint {path} was trained on observations {space}, but this scene gives "
            f"{env.observation_space}; probe the scene it was trained on."
        )
    return lambda obs: np.asarray(policy.predict(obs), dtype=np.float32)


def run_probe(
    scene: Any,
    episodes: int,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    checkpoint: str | Path | None = None,
    policy: Policy | None = None,
    progress: Callable[[int, EpisodeRecord], None] | None = None,
) -> ProbeResult:
    """Roll out `episodes` episodes of the scene and record what every term paid.

    Args:
        scene: anything `envkit.make` takes (path, bundled name or id, dict, SceneSpec).
        policy: obs -> action; default a seeded uniform random policy (or the checkpoint's).
        progress: called after each episode with (index, record), e.g. to advance a bar.
    """
    from envkit.registry import make

    if episodes < 1:
        raise EnvkitError(f"--episodes must be >= 1, got {episodes}")
    env = make(scene, overrides)
    env.set_evaluation(True)  # a probe measures the scene as written: a curriculum's last stage
    try:
        name = "random"
        if policy is None and checkpoint is not None:
            policy = checkpoint_policy(checkpoint, env)
            name = f"checkpoint {checkpoint}"
        elif policy is None:
            policy = random_policy(env.action_space, seed)
        else:
            name = getattr(policy, "__name__", "custom")
        result = ProbeResult(env.spec_scene.name, name, seed, list(env.reward_labels))
        result.kinds = term_kinds(env.spec_scene)
        result.n_objects = env.n_objects
        for i in range(episodes):
            obs, info = env.reset(seed=seed + i)
            sums = dict.fromkeys(result.labels, 0.0)
            fires = dict.fromkeys(result.labels, 0)
            ret, length = 0.0, 0
            while True:
                obs, reward, terminated, truncated, info = env.step(policy(obs))
                length += 1
                ret += reward
                for k, v in info["reward_terms"].items():
                    sums[k] += v
                    fires[k] += abs(v) > FIRE_EPS
                if terminated or truncated:
                    break
            record = EpisodeRecord(
                length=length,
                terminated=bool(terminated),
                truncated=bool(truncated),
                success=bool(info.get("is_success", False)),
                ret=ret,
                term_sums=sums,
                term_fires=fires,
                events=dict(info.get("events", {})),
            )
            result.episodes.append(record)
            if progress is not None:
                progress(i, record)
        return result
    finally:
        env.close()


def plot_probe(result: ProbeResult, path: str | Path) -> Path:
    """Histograms of each term's per-episode sum, the return and the episode length, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = {s.label: s for s in result.term_stats()}
    panels = [*result.labels, "return", "length"]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, panels, strict=False):
        if name == "return":
            data, title = [e.ret for e in result.episodes], "episode return"
        elif name == "length":
            data, title = [e.length for e in result.episodes], "episode length (steps)"
        else:
            s = stats[name]
            data = [e.term_sums[name] for e in result.episodes]
            title = f"{name}\nfires on {s.fire_rate:.1%} of steps, {s.episode_rate:.0%} of episodes"
            if s.flag:
                title += f" [{s.flag}]"
        ax.hist(data, bins=min(30, max(5, len(data) // 2)), color="tab:blue" if name in stats else "tab:gray")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("per-episode sum" if name in stats else "")
        ax.set_ylabel("episodes")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    o = result.outcome_stats()
    fig.suptitle(
        f"probe of '{result.scene}' ({result.policy} policy, seed {result.seed}): {o['episodes']} episodes, "
        f"success {o['success_rate']:.0%}",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
