"""The Hydra configs compose, reject typos, offer every bundled scene and reward preset as an
option, and the experiment presets expand to the grids they promise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from envkit import bundled_scenes
from envkit.analysis.ablation import ablation_designs, write_options
from envkit.loader import load_scene
from rewards.presets import PRESETS
from sweeps.launch import hydra_context, plan
from sweeps.schema import trial_dir_name
from sweeps.train import CONF_DIR
from sweeps.trial import fingerprint, scene_overrides


@pytest.fixture
def hydra() -> Iterator[None]:
    with hydra_context():
        yield


def test_defaults_compose_into_a_typed_trial(hydra: None) -> None:
    cfg = compose("config")
    assert cfg.scene.id == "reach" and cfg.reward.name == "scene" and cfg.agent.algo == "ppo"
    assert cfg.agent.total_timesteps == cfg.budget.timesteps  # the budget drives the agent
    assert cfg.agent.eval_every == cfg.budget.eval_every
    td3 = compose("config", overrides=["agent=td3", "budget.timesteps=1234", "agent.batch_size=64"])
    assert td3.agent.algo == "td3" and td3.agent.total_timesteps == 1234 and td3.agent.batch_size == 64
    assert td3.agent.buffer_size == 1_000_000  # TD3's own defaults, not PPO's


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ("agent.bacth_size=5000", ConfigCompositionException),  # typo in an agent field
        ("budget.timestep=10", ConfigCompositionException),  # typo in a top-level section
        ("agent.batch_size=lots", ConfigCompositionException),  # wrong type
        ("seed=one", ConfigCompositionException),
    ],
)
def test_typos_and_wrong_types_fail_before_any_trial(hydra: None, override: str, error: type) -> None:
    with pytest.raises(error) as info:
        compose("config", overrides=[override])
    cause = info.value.__cause__
    assert isinstance(cause, (ConfigAttributeError, ConfigKeyError, ValidationError)), cause
    assert override.split("=")[0].split(".")[-1] in str(info.value)


def _options(group: str) -> set[str]:
    from hydra.core.global_hydra import GlobalHydra

    return set(GlobalHydra.instance().config_loader().get_group_options(group))


def test_every_bundled_scene_is_a_scene_option(hydra: None) -> None:
    assert _options("scene") == set(bundled_scenes())
    for name in bundled_scenes():
        cfg = compose("config", overrides=[f"scene={name}"])
        assert OmegaConf.to_container(cfg.scene) == {"id": name, "overrides": {}}
        assert load_scene(cfg.scene.id).name  # the option names a scene that loads


def test_every_reward_preset_is_a_reward_option(hydra: None) -> None:
    assert "scene" not in PRESETS  # `reward=scene` keeps the scene's own reward
    assert _options("reward") == set(PRESETS) | {"scene"}
    for name in PRESETS:
        cfg = compose("config", overrides=[f"reward={name}"])
        assert OmegaConf.to_container(cfg.reward) == {"name": name, "preset": name, "terms": None}
    keep = compose("config", overrides=["reward=scene"])
    assert OmegaConf.to_container(keep.reward) == {"name": "scene", "preset": None, "terms": None}


def test_a_new_preset_or_scene_is_an_option_with_no_other_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from hydra.core.config_store import ConfigStore

    import sweeps.schema

    cs = ConfigStore.instance()
    monkeypatch.setattr(cs, "repo", copy.deepcopy(cs.repo))  # the options stored here go with the test
    monkeypatch.setitem(PRESETS, "my_design", [{"term": "goal_distance", "weight": -2.0}])
    scenes = {**bundled_scenes(), "my_scene": Path("my_scene.yaml")}
    monkeypatch.setattr(sweeps.schema, "bundled_scenes", lambda: scenes)
    with hydra_context():
        cfg = compose("config", overrides=["reward=my_design", "scene=my_scene"])
    assert cfg.reward.preset == "my_design" and cfg.scene.id == "my_scene"
    assert len(plan(["reward=sort_v1,my_design"]).trials) == 2


def test_reward_option_replaces_the_scene_reward() -> None:
    cfg = {"scene": {"id": "sort-1", "overrides": {"objects": {"count": 2}}},
           "reward": {"name": "sort_v2", "preset": "sort_v2", "terms": None}}
    overrides = scene_overrides(cfg)
    assert overrides == {"objects.count": 2, "reward": {"preset": "sort_v2", "terms": []}}
    spec = load_scene("sort-1", overrides)
    assert spec.objects.count == 2 and spec.objects.size.base == 0.025  # a leaf, not the whole section
    assert spec.reward.preset == "sort_v2"
    keep = scene_overrides({"scene": {"id": "sort-1", "overrides": {}}, "reward": {"name": "scene"}})
    assert keep == {}


@pytest.mark.parametrize(
    ("overrides", "n"),
    [
        (["experiment=quickstart"], 8),
        (["experiment=task_b"], 24),
        (["experiment=task_a"], 12),
        (["experiment=quickstart", "seed=0,1,2"], 12),  # the command line extends the preset's grid
        (["reward=sort_v1,sort_v2", "agent.batch_size=5000,50000", "seed=0,1,2"], 12),
    ],
)
def test_grids_expand_like_hydra(overrides: list[str], n: int) -> None:
    assert len(plan(overrides).trials) == n


def test_task_b_grid_is_the_reference_grid() -> None:
    p = plan(["experiment=task_b"])
    assert p.sweep_dir == Path("runs/sweeps/task_b")
    grid = {(t[0], t[1]) for t in p.trials}
    assert grid == {(f"reward={r}", f"agent.batch_size={b}") for r in ("sort_v1", "sort_v2")
                    for b in (5000, 10000, 50000, 200000)}
    with hydra_context():
        cfg = compose("config", overrides=["experiment=task_b", "agent.batch_size=200000"])
    assert cfg.scene.id == "sort-1" and cfg.agent.algo == "ppo"
    assert cfg.agent.minibatch_size <= 5000  # valid for every batch size of the grid


def test_task_b_batch_grid_compares_batch_sizes_at_equal_gradient_steps_per_transition() -> None:
    from agents import make_config

    p = plan(["experiment=task_b_batch"])
    assert p.sweep_dir == Path("runs/sweeps/task_b_batch") and len(p.trials) == 12
    per_transition = set()
    for batch in (5000, 10000, 50000, 200000):
        with hydra_context():
            cfg = compose("config", overrides=["experiment=task_b_batch", f"agent.batch_size={batch}"])
        agent = OmegaConf.to_container(cfg.agent, resolve=True)
        config = make_config(agent.pop("algo"), agent)
        assert config.batch_size == batch and batch % config.minibatch_size == 0 and batch % config.n_envs == 0
        assert config.total_timesteps >= batch  # every batch size makes at least one update
        assert config.demos == "scripted" and config.demo_decay_every is not None  # fades per step, not update
        per_transition.add(config.epochs / config.minibatch_size)
    assert len(per_transition) == 1


def test_task_b_scenes_grid_runs_every_sorting_scene_to_its_own_limit() -> None:
    from agents import make_config

    p = plan(["experiment=task_b_scenes"])
    assert p.sweep_dir == Path("runs/sweeps/task_b_scenes") and len(p.trials) == 12
    scenes = ("sort-1-blocker", "sort-2", "sort-5-blocker", "sort-5-blocker-curriculum")
    for scene in scenes:
        assert sum(f"scene={scene}" in t for t in p.trials) == 3
        with hydra_context():
            cfg = compose("config", overrides=["experiment=task_b_scenes", f"scene={scene}"])
        agent = OmegaConf.to_container(cfg.agent, resolve=True)
        config = make_config(agent.pop("algo"), agent)
        # Five objects take the controller ~270 steps: a capped evaluation would count slow sorts as failures.
        assert config.eval_max_steps is None and config.demos == "scripted" and config.total_timesteps == 200_000
        spec = load_scene(scene, scene_overrides(OmegaConf.to_container(cfg)))
        assert [t.term for t in spec.reward.terms] == [t.term for t in load_scene("sort-1", {}).reward.terms]
        assert (spec.curriculum is not None) == scene.endswith("curriculum")


def test_experiments_are_valid_agent_configs() -> None:
    from agents import make_config

    experiments = sorted(f.stem for f in (CONF_DIR / "experiment").glob("*.yaml"))
    assert {"quickstart", "task_b_batch", "task_b_rewards", "task_b_scenes"} <= set(experiments)
    for exp in experiments:
        with hydra_context():
            cfg = compose("config", overrides=[f"experiment={exp}"])
        agent = OmegaConf.to_container(cfg.agent, resolve=True)
        algo = agent.pop("algo")
        make_config(algo, agent)  # raises on an invalid value


def test_ablation_options_compose_through_the_search_path(tmp_path: Path) -> None:
    designs = ablation_designs("sort_v2")
    write_options(designs, tmp_path / "reward")
    search = f"hydra.searchpath=[file://{tmp_path}]"
    p = plan([search, f"reward={','.join(designs)}", "scene=sort-2"])
    assert len(p.trials) == len(designs) == 13
    with hydra_context():
        for name, design in designs.items():
            cfg = compose("config", overrides=[search, f"reward={name}", "scene=sort-2"])
            terms = OmegaConf.to_container(cfg.reward.terms)
            assert cfg.reward.name == name and terms == design["terms"]
            spec = load_scene("sort-2", scene_overrides(OmegaConf.to_container(cfg)))
            assert len(spec.reward.terms) == len(design["terms"])


def test_trial_dir_names_are_stable_safe_and_distinct() -> None:
    assert trial_dir_name("") == "default"
    assert trial_dir_name("reward=sort_v1,seed=0") == "reward=sort_v1,seed=0"
    assert "/" not in trial_dir_name("scene_file=dir/my.yaml,seed=0")
    long_a, long_b = "x=" + "a" * 300 + ",seed=0", "x=" + "a" * 300 + ",seed=1"
    assert len(trial_dir_name(long_a)) <= 200 and trial_dir_name(long_a) != trial_dir_name(long_b)


def test_fingerprint_ignores_bookkeeping_but_not_results() -> None:
    base = {"name": "a", "out_dir": "x", "progress": "lines", "resume": True, "seed": 0, "budget": {"timesteps": 1}}
    assert fingerprint(base) == fingerprint({**base, "name": "b", "out_dir": "y", "progress": "none"})
    assert fingerprint(base) != fingerprint({**base, "seed": 1})
    assert fingerprint(base) != fingerprint({**base, "budget": {"timesteps": 2}})
