"""`envkit sweep`: plan a multirun, run it through the Hydra app, then print the report.

The Hydra app (`python -m sweeps.train -m ...`) is the engine; this module adds what a
user wants around it: the list of trials and the sweep folder before anything starts
(`--dry-run`), ablation grids generated on the fly (`--ablate sort_v2`), and the
comparison at the end.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from envkit.errors import ConfigError


@dataclass
class Plan:
    sweep_dir: Path
    trials: list[list[str]]
    """The overrides of each trial, in launch order."""


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
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(f"The sweep's overrides do not compose: {exc}".replace("\n", " ")) from None
    return Plan(sweep_dir, [t for batch in batches for t in batch])


def ablation_overrides(design: str, sweep_dir: Path, write: bool = True) -> list[str]:
    """Write the ablation grid of `design` as reward options in `<sweep_dir>/conf/reward/`,
    add that folder to Hydra's search path and sweep every option (listed by name, so the
    grid is the same whatever else the search path holds)."""
    from rewards.ablation import ablation_designs, write_options

    designs = ablation_designs(design)
    conf = (sweep_dir / "conf").resolve()
    if write:
        write_options(designs, conf / "reward")
    return [f"hydra.searchpath=[file://{conf}]", f"reward={','.join(designs)}"]


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


def _print_exit(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def sweep(overrides: list[str], *, report: bool = True, dry_run: bool = False, ablate: str | None = None,
          jobs: int | None = None) -> int:
    """Plan, run and report a sweep; the exit code is 1 when a trial failed, else Hydra's."""
    from sweeps.collect import find_trials

    overrides = list(overrides)
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
        overrides += ablation_overrides(ablate, first.sweep_dir, write=not dry_run)
    the_plan = plan(overrides) if ablate else first
    n = len(the_plan.trials)
    print(f"envkit sweep: {n} trial{'s' if n != 1 else ''} -> {the_plan.sweep_dir}", flush=True)
    if dry_run:
        for t in the_plan.trials:
            print("  " + " ".join(o for o in t if not o.startswith("hydra.")))
        return 0
    code = run_hydra(overrides)
    if code != 0 and not the_plan.sweep_dir.is_dir():
        return code
    try:
        trials = find_trials([the_plan.sweep_dir])
    except ConfigError:
        return code or 1
    counts = {s: sum(t.status == s for t in trials) for s in ("completed", "failed", "incomplete")}
    print(f"envkit sweep: {the_plan.sweep_dir} holds {len(trials)} trials: "
          + ", ".join(f"{v} {k}" for k, v in counts.items() if v), flush=True)
    if report:
        from sweeps.report import build_report, print_report, write_report

        rep = build_report([the_plan.sweep_dir])
        write_report(rep, the_plan.sweep_dir / "report")
        print_report(rep)
    return code if code else (1 if counts["failed"] else 0)
