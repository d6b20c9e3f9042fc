"""`envkit sweep`: plan a multirun, run it through the Hydra app, then print the report.

The Hydra app (`python -m sweeps.train -m ...`) is the engine; this module adds what a
user wants around it: the list of trials and the sweep folder before anything starts
(`--dry-run`), ablation grids generated on the fly (`--ablate sort_v2`), and the
comparison at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envkit.errors import ConfigError, EnvkitError


@dataclass
class Plan:
    sweep_dir: Path
    trials: list[list[str]]
    """The overrides of each trial, in launch order."""
    config: dict[str, Any] = field(default_factory=dict)
    """The config composed from the non-sweep overrides (hydra section left out): the race and tune settings."""
    exclude_keys: list[str] = field(default_factory=list)
    """Override keys that do not name a trial's folder (hydra.job.config.override_dirname.exclude_keys)."""

    def trial_dir(self, overrides: list[str]) -> Path:
        """The folder Hydra gives the trial of these overrides (its sorted overrides, as in conf/config.yaml)."""
        from hydra.core.override_parser.overrides_parser import OverridesParser

        from sweeps.schema import trial_dir_name

        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("hydra.")])
        lines = sorted(str(o.input_line) for o in parsed if o.key_or_group not in self.exclude_keys)
        return self.sweep_dir / trial_dir_name(",".join(lines))


@contextlib.contextmanager
def hydra_context() -> Iterator[None]:
    """Initialise Hydra's global state for the compose API (cleared again afterwards)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sweeps.schema import register_configs
    from sweeps.train import CONF_DIR

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            yield
    finally:
        GlobalHydra.instance().clear()


def plan(overrides: list[str]) -> Plan:
    """Where the sweep writes and which trials it runs, exactly as Hydra's basic sweeper expands them."""
    from hydra import compose
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    with hydra_context():
        parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
        try:
            parsed = parser.parse_overrides(overrides)
            plain = [o.input_line for o in parsed if not o.is_sweep_override()]
            cfg = compose("config", overrides=plain, return_hydra_config=True)
            params = [f"{k}={v}" for k, v in (cfg.hydra.sweeper.params or {}).items()]
            merged = parser.parse_overrides(params + list(overrides))
            batches = BasicSweeper.split_arguments(merged, None)
            sweep_dir = Path(OmegaConf.select(cfg, "hydra.sweep.dir"))
            exclude = [str(k) for k in cfg.hydra.job.config.override_dirname.exclude_keys]
            settings = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("race", "search", "tune")}
            settings.update(trials=cfg.trials, name=cfg.name, out_dir=cfg.out_dir)
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(explain(exc)) from None
    return Plan(sweep_dir, [t for batch in batches for t in batch], settings, exclude)


def explain(exc: Exception) -> str:
    """Hydra's composition error as one paragraph, with a did-you-mean for a mistyped key."""
    from hydra import compose
    from omegaconf import DictConfig, OmegaConf

    from envkit.hints import closest

    text = " ".join(str(exc).split())
    text = text.split(" Config search path:")[0]  # Hydra's search path listing is noise here
    m = re.search(r"Could not override '([^']+)'", text) or re.search(r"full_key: (\S+)", text)
    key = m.group(1) if m else None
    if key and ("Could not override" in text or "not in" in text):
        parent, _, leaf = key.rpartition(".")
        try:
            node = OmegaConf.select(compose("config"), parent) if parent else compose("config")
        except Exception:  # noqa: BLE001 - the suggestion is a courtesy; the plain message still goes out
            node = None
        if isinstance(node, DictConfig):
            keys = [str(k) for k in node.keys()]
            close = closest(leaf, keys)
            hint = f" Did you mean '{(parent + '.') if parent else ''}{close[0]}'?" if close else ""
            where = f"the {parent} section" if parent else "the trial config"
            return (f"'{key}' is not a setting of the sweep: {where} has no key '{leaf}'.{hint} "
                    f"Its keys: {', '.join(keys)}. "
                    "`python -m sweeps.train --cfg job` prints the whole config with its defaults.")
    return (f"The sweep's overrides do not compose: {text} "
            "(`python -m sweeps.train --cfg job` prints the config; `envkit sweep --help` the syntax).")


def check_trials(the_plan: Plan) -> list[dict[str, Any]]:
    """Compose every planned trial and validate its agent config and its scene before anything runs,
    so a typo in one grid point costs a second, not a failed trial per seed. Returns the trials'
    resolved configs, in plan order."""
    from hydra import compose
    from omegaconf import OmegaConf, open_dict

    from agents import ConfigError as AgentConfigError
    from agents import make_config
    from envkit.loader import load_scene
    from sweeps.trial import add_user_paths, scene_overrides

    scenes: dict[str, str | None] = {}
    configs: list[dict[str, Any]] = []
    with hydra_context():
        for overrides in the_plan.trials:
            cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
            with open_dict(cfg):
                del cfg["hydra"]
            config = OmegaConf.to_container(cfg, resolve=True)
            configs.append(config)  # type: ignore[arg-type]
            where = f"Trial {describe(list(overrides))}"
            agent = dict(config["agent"])  # type: ignore[index]
            try:
                make_config(agent.pop("algo"), agent)
            except AgentConfigError as exc:
                raise ConfigError(f"{where}: {exc} (set it with agent.<field>=...)") from None
            source = config.get("scene_file") or config["scene"]["id"]  # type: ignore[union-attr]
            overrides_of_scene = scene_overrides(config)  # type: ignore[arg-type]
            key = json.dumps([source, overrides_of_scene], sort_keys=True, default=str)
            if key not in scenes:
                add_user_paths(config)  # type: ignore[arg-type]
                try:
                    load_scene(source, overrides_of_scene)
                    scenes[key] = None
                except EnvkitError as exc:
                    scenes[key] = str(exc)
            if scenes[key] is not None:
                raise ConfigError(f"{where}: {scenes[key]}")
    return configs


def ablation_overrides(design: str, conf: Path) -> list[str]:
    """Write the ablation grid of `design` as reward options in `<conf>/reward/`, add `conf` to
    Hydra's search path and sweep every option (listed by name, so the grid is the same
    whatever else the search path holds)."""
    from envkit.analysis.ablation import ablation_designs, write_options

    designs = ablation_designs(design)
    conf = conf.resolve()
    write_options(designs, conf / "reward")
    return [f"hydra.searchpath=[file://{conf}]", f"reward={','.join(designs)}"]


def describe(overrides: list[str]) -> str:
    """A trial's overrides without Hydra's own and the bookkeeping keys (for messages)."""
    from sweeps.collect import is_design_key

    def shown(o: str) -> bool:
        key = o.split("=", 1)[0].lstrip("+~")
        return not o.startswith("hydra.") and (key == "seed" or is_design_key(key))

    return " ".join(o for o in overrides if shown(o))


def varying_keys(the_plan: Plan) -> list[str]:
    """Override keys whose value differs between the planned trials (or that some trials lack)."""
    values: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for t in the_plan.trials:
        for o in t:
            key, _, value = o.partition("=")
            values.setdefault(key, set()).add(value)
            counts[key] = counts.get(key, 0) + 1
    return [k for k in values if len(values[k]) > 1 or counts[k] < len(the_plan.trials)]


def run_hydra(overrides: list[str]) -> int:
    """Run `python -m sweeps.train -m ...` in this process; Hydra's exit code (0 on success)."""
    from sweeps import train

    argv = sys.argv
    sys.argv = ["sweeps.train", "-m", *overrides]
    try:
        train.main()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else _print_exit(exc.code)
    finally:
        sys.argv = argv
    return 0


@contextlib.contextmanager
def exact_jobs(jobs: list[list[str]]) -> Iterator[None]:
    """Make the Hydra app's sweeper launch exactly `jobs` (one override list per trial) instead of the
    product of its sweep overrides.

    Racing and tuning run chosen trials (the survivors of a rung, a trial's seeds) that are no
    grid. Hydra 1.3's basic sweeper has no option for a list of jobs and a sweeper of our own
    would have to live in the `hydra_plugins` package, so for the duration of one `run_hydra`
    call its `split_arguments` (which turns the overrides into batches of jobs) returns these
    jobs as one batch. Everything after it is Hydra's own: the same config composition and
    trial folders, and the configured launcher (local joblib workers or Ray) runs the jobs.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    original = BasicSweeper.__dict__["split_arguments"]
    BasicSweeper.split_arguments = staticmethod(lambda overrides, max_batch_size: [[list(j) for j in jobs]])
    try:
        yield
    finally:
        BasicSweeper.split_arguments = original


def launch_jobs(overrides: list[str], jobs: list[list[str]]) -> int:
    """Run exactly `jobs` through the Hydra app, its config composed from `overrides` (the sweep's
    command line: folder, launcher, searchpath); Hydra's exit code. Nothing to run returns 0."""
    if not jobs:
        return 0
    with exact_jobs(jobs):
        return run_hydra(overrides)


def _print_exit(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def sweep(overrides: list[str], *, report: bool = True, dry_run: bool = False, ablate: str | None = None,
          jobs: int | None = None) -> int:
    """Plan, run and report a sweep; the exit code is 1 when a trial failed, else Hydra's."""
    from sweeps.collect import collect
    from sweeps.race import expand_switch
    from sweeps.train import preflight
    from sweeps.trial import LABEL_KEYS_ENV

    overrides = expand_switch(list(overrides))
    problem = preflight(overrides)
    if problem:
        raise ConfigError(problem)
    if jobs is not None:
        if jobs < 1:
            raise ConfigError(f"--jobs must be >= 1, got {jobs}.")
        overrides.append(f"hydra.launcher.n_jobs={jobs}")
    first = plan(overrides)
    if ablate:
        if any(o.split("=", 1)[0].lstrip("+~") == "reward" for o in overrides):
            raise ConfigError("--ablate sweeps its own reward designs; drop the reward=... override.")
        if first.sweep_dir.name == "sweep" and not any(o.startswith("name=") for o in overrides):
            overrides.append(f"name=ablate_{ablate}")  # not the default folder: keep grids apart
            first = plan(overrides)
        # a dry run leaves no files behind: its options go to a temporary folder
        conf = Path(tempfile.mkdtemp(prefix="envkit-ablate-")) if dry_run else first.sweep_dir / "conf"
        overrides += ablation_overrides(ablate, conf)
    try:
        the_plan = plan(overrides) if ablate else first
        configs = check_trials(the_plan)
    finally:
        if ablate and dry_run:
            shutil.rmtree(conf, ignore_errors=True)
    n = len(the_plan.trials)
    if the_plan.config.get("race", {}).get("enabled"):
        from sweeps.race import list_race, plan_race, run_race

        rp = plan_race(the_plan, configs, overrides)  # its errors come before anything trains
        print(f"envkit sweep: a race of {len(rp.designs)} designs -> {the_plan.sweep_dir}", flush=True)
        list_race(rp)
        if dry_run:
            return 0
        try:
            code = run_race(rp, overrides, launch_jobs)
        except KeyboardInterrupt:
            print(f"\nenvkit sweep: interrupted. Finished trials and rungs are kept in {the_plan.sweep_dir}; rerun the "
                  "same command to continue the race where it stopped.", file=sys.stderr)
            return 130
    elif dry_run:
        print(f"envkit sweep: {n} trial{'s' if n != 1 else ''} -> {the_plan.sweep_dir}", flush=True)
        for t in the_plan.trials:
            print("  " + describe(t))
        return 0
    else:
        print(f"envkit sweep: {n} trial{'s' if n != 1 else ''} -> {the_plan.sweep_dir}", flush=True)
        os.environ[LABEL_KEYS_ENV] = ",".join(varying_keys(the_plan))  # short progress labels in the trials
        try:
            code = run_hydra(overrides)
        except KeyboardInterrupt:
            print(f"\nenvkit sweep: interrupted. Finished trials are kept in {the_plan.sweep_dir}; rerun the same "
                  f"command to continue (finished trials are skipped), or see what exists with "
                  f"`envkit report {the_plan.sweep_dir}`.", file=sys.stderr)
            return 130
        finally:
            os.environ.pop(LABEL_KEYS_ENV, None)
    if code != 0 and not the_plan.sweep_dir.is_dir():
        return code
    try:  # collect -> judge -> render, once each
        swept = collect([the_plan.sweep_dir])
    except ConfigError:
        return code or 1
    counts = {s: sum(t.status == s for t in swept.trials) for s in ("completed", "paused", "failed", "incomplete")}
    print(f"envkit sweep: {the_plan.sweep_dir} holds {len(swept.trials)} trials: "
          + ", ".join(f"{v} {k}" for k, v in counts.items() if v), flush=True)
    if report:
        from sweeps.judge import judge
        from sweeps.render import print_report, write_report

        rep = judge(swept)
        print_report(rep, write_report(rep, the_plan.sweep_dir / "report"))
    return code if code else (1 if counts["failed"] else 0)
