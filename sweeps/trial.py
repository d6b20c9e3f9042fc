"""One sweep trial: a scene, a reward design and an agent -> a run directory with summary.json.

This is the Hydra task function. Whatever happens inside a trial (a bad scene, a NaN,
an exception in a user's reward term) ends in a `summary.json` that says so, and the
function returns normally, so the launcher goes on with the other trials. A rerun of
the same sweep skips trials whose summary is complete and made with the same config,
continues killed ones from their last checkpoint, and redoes failed ones after moving
their files to `attempts/<n>/` (nothing already produced is deleted). With `pause_at`
(a race's rung) a trial trains only that far and stops as `paused`; a later run that asks
for more continues it from its checkpoint.

Files a trial adds to its Hydra job directory (besides `.hydra/` and the agents' run
files, docs/architecture.md): `trial.json` (resolved config, overrides, group choices,
fingerprint; written first, so even a killed trial can be grouped), `scene.yaml` (the
exact scene trained on, reward included), `summary.json`, `error.txt` on failure, and
`legs.json` when it was paused (each pause asked for and the step it stopped at).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from sweeps.files import read_json
from sweeps.schema import register_configs

register_configs()  # workers import this module to unpickle the task: they need the resolver too

#: Top-level keys that do not change what a trial computes (they are not in its fingerprint).
NON_RESULT_KEYS = ("name", "out_dir", "resume", "progress", "isolate", "pause_at", "race", "search", "trials", "tune")
#: Files and folders of a job directory that belong to Hydra or to earlier attempts, not to a run.
KEEP_ON_RETRY = (".hydra", "attempts", "trial.log", "trial.pid")


def fingerprint(config: dict[str, Any]) -> str:
    """Hash of everything that determines a trial's result (the resolved config minus bookkeeping)."""
    core = {k: v for k, v in config.items() if k not in NON_RESULT_KEYS}
    return hashlib.sha256(json.dumps(core, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _say(cfg: DictConfig | str, text: str) -> None:
    """Print one progress line unless progress is "none" (`cfg` is the trial config or the mode)."""
    mode = cfg if isinstance(cfg, str) else cfg.progress
    if mode != "none":  # one write per line: parallel trials share the terminal
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{objects: {count: 2}} -> {"objects.count": 2}: overrides set leaves, never whole sections."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def scene_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """The scene overrides of a trial, with the reward design replacing the scene's reward."""
    overrides = _flatten(dict(config["scene"].get("overrides") or {}))
    reward = config["reward"]
    if reward.get("preset") is not None or reward.get("terms") is not None:
        overrides["reward"] = {"preset": reward.get("preset"), "terms": list(reward.get("terms") or [])}
    return overrides


def write_scene(config: dict[str, Any], job_dir: Path) -> Path:
    """Validate the trial's scene and write it, as trained on, to `scene.yaml`.

    The written file holds only what the source scene and the overrides set (defaults
    stay implicit, so it reads like the user's own file); it is reloaded once to check
    it gives the same spec.
    """
    from envkit.loader import load_scene, validate_data

    source = config.get("scene_file") or config["scene"]["id"]
    spec = load_scene(source, scene_overrides(config))
    data = spec.model_dump(mode="json", exclude_unset=True)
    if validate_data(data, "scene.yaml") != spec:  # pragma: no cover - a defaults/unset mismatch
        data = spec.model_dump(mode="json")
    path = job_dir / "scene.yaml"
    tmp = job_dir / ".scene.yaml.tmp"
    tmp.write_text(f"# The scene this trial trained on: {source} with the sweep's overrides.\n"
                   + yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
    os.replace(tmp, path)
    return path


def _archive(job_dir: Path) -> Path | None:
    """Move an earlier attempt's run files to attempts/<n>/; returns that folder (None if nothing moved)."""
    entries = [p for p in job_dir.iterdir() if p.name not in KEEP_ON_RETRY]
    if not entries:
        return None
    attempts = job_dir / "attempts"
    n = 1
    while (attempts / str(n)).exists():
        n += 1
    target = attempts / str(n)
    target.mkdir(parents=True)
    for p in entries:
        shutil.move(str(p), str(target / p.name))
    return target


def goal(cfg: DictConfig | dict[str, Any]) -> int | None:
    """The step a run of this trial is asked to reach: `pause_at` when it is below the agent's budget
    (a race's rung), else the budget (None when the config has neither)."""
    total = (cfg.get("agent") or {}).get("total_timesteps")
    pause = cfg.get("pause_at")
    if pause is not None and (total is None or int(pause) < int(total)):
        return int(pause)
    return None if total is None else int(total)


def prepare(job_dir: Path, fp: str, cfg: DictConfig, label: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """Decide what to do with what an earlier attempt left in `job_dir`.

    Returns ("skip", summary), ("summarize", None) when training had finished but the
    summary was not written, ("resume", None) to continue from checkpoints/last.pt (an
    interrupted attempt, or one paused before the step this run is asked to reach), or
    ("fresh", None) after archiving any earlier files.
    """
    summary = read_json(job_dir / "summary.json")
    status = read_json(job_dir / "status.json")
    before = read_json(job_dir / "trial.json")
    same = before is not None and before.get("fingerprint") == fp
    label = label or job_dir.name
    target = goal(cfg)
    checkpoint = (job_dir / "checkpoints" / "last.pt").is_file()
    if summary is not None and summary.get("status") == "completed" and same and cfg.resume:
        return "skip", summary
    if summary is not None and summary.get("status") == "paused" and same and cfg.resume:
        if target is None or int(summary.get("paused_at") or 0) >= target:
            return "skip", summary
        if checkpoint:
            _say(cfg, f"[{label}] continuing from its pause at step {summary.get('global_step')} to {target:,}")
            return "resume", None
    if status is not None and same and cfg.resume:
        if status.get("status") == "completed" and summary is None:
            if target is None or int(status.get("total_timesteps") or 0) >= target or not checkpoint:
                return "summarize", None
            return "resume", None  # a leg ended (its summary unwritten) and this run goes further
        interrupted = status.get("status") == "running" or status.get("error") == "interrupted"
        if interrupted and checkpoint:
            _say(cfg, f"[{label}] continuing an interrupted attempt from step {status.get('global_step')}")
            return "resume", None
    moved = _archive(job_dir)
    if moved is not None:
        why = "its config changed" if not same else f"it ended as {(summary or status or {}).get('status', 'unknown')}"
        if not cfg.resume:
            why = "resume=false"
        _say(cfg, f"[{label}] redoing this trial ({why}); the earlier files are in {moved}")
    return "fresh", None


def run_trial(cfg: DictConfig) -> dict[str, Any]:
    """Run (or skip, or continue) the trial Hydra composed into `cfg`; always writes summary.json."""
    from hydra.core.hydra_config import HydraConfig

    from sweeps.summary import summarize, write_summary

    hc = HydraConfig.get()
    job_dir = Path(hc.runtime.output_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    label = job_dir.name
    short = short_label(list(hc.overrides.task), label)
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    fp = fingerprint(config)
    action, summary = prepare(job_dir, fp, cfg, short)
    if action == "skip":
        if (summary or {}).get("status") == "paused":
            _say(cfg, f"[{short}] already paused at step {(summary or {}).get('global_step', 0):,}, skipped")
        else:
            _say(cfg, f"[{short}] already complete, skipped (resume=false redoes it)")
        return _brief(summary or {})

    trial = {
        "label": label,
        "fingerprint": fp,
        "overrides": list(hc.overrides.task),
        "choices": {k: v for k, v in hc.runtime.choices.items() if not k.startswith(("hydra/", "schema"))},
        "config": config,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (job_dir / "trial.json").write_text(json.dumps(trial, indent=2, default=str))
    # a continued trial's wall time counts its earlier attempts too (the summary they left), so a trial
    # stopped and resumed across sittings is not reported as fast as its last leg
    earlier = float((read_json(job_dir / "summary.json") or {}).get("wall_time") or 0.0) if action == "resume" else 0.0
    t0 = time.perf_counter()
    error: str | None = None
    if action != "summarize":
        progress = "lines" if cfg.progress == "lines" else "none"
        resume = action == "resume"
        if cfg.isolate:
            error = train_in_child(job_dir, short, resume, progress)
        else:
            try:
                train(config, job_dir, short, resume, progress)
            except KeyboardInterrupt:
                raise  # Ctrl-C stops the sweep; status.json says interrupted and a rerun continues it
            except Exception as exc:  # noqa: BLE001 - any failure of one trial must not stop the others
                error = record_error(job_dir, exc)
    summary = summarize(job_dir, trial, error=error, wall_time=earlier + time.perf_counter() - t0)
    mark_pause(job_dir, summary, int(config["agent"]["total_timesteps"]))
    write_summary(job_dir, summary)
    _say(cfg, _finished_line(short, summary))
    return _brief(summary)


def mark_pause(job_dir: Path, summary: dict[str, Any], budget: int) -> None:
    """A run that completed short of the trial's budget was paused (`pause_at`, a race's rung): say so in
    its summary (status `paused`, `paused_at`) and record the leg in legs.json (where the pause was asked
    for and the step it stopped at: a race scores the rung on the curve up to there)."""
    from agents.logger import write_json_atomic

    leg_total = int(summary.get("total_timesteps") or 0)
    if summary.get("status") != "completed" or not 0 < leg_total < budget:
        return
    summary["status"], summary["paused_at"] = "paused", leg_total
    legs = [leg for leg in (read_json(job_dir / "legs.json") or {}).get("legs", []) if leg.get("pause_at") != leg_total]
    legs.append({"pause_at": leg_total, "global_step": int(summary.get("global_step") or 0),
                 "wall_time": summary.get("wall_time")})
    write_json_atomic(job_dir / "legs.json", {"legs": sorted(legs, key=lambda leg: leg["pause_at"])})


def train_in_child(job_dir: Path, label: str, resume: bool, progress: str) -> str | None:
    """Train in a child process (`python -m sweeps.worker`), so that a crash of the physics
    engine, the out-of-memory killer or a `kill` ends this trial only: the launcher's worker
    survives to write the summary and run the next trial. Returns the error, None on success."""
    import signal
    import subprocess

    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    cmd = [sys.executable, "-m", "sweeps.worker", str(job_dir), "--label", label, "--progress", progress]
    proc = subprocess.Popen([*cmd, "--resume"] if resume else cmd, env=env)
    (job_dir / "trial.pid").write_text(f"{proc.pid}\n")
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.wait()  # the child got the same Ctrl-C: let it mark its run as interrupted
        raise
    finally:
        (job_dir / "trial.pid").unlink(missing_ok=True)
    if code == 0:
        return None
    recorded = read_json(job_dir / "error.json")
    if recorded and recorded.get("error"):
        return str(recorded["error"])
    if code == 130:
        return ("the trial was interrupted (Ctrl-C or `kill`); its status.json says so and rerunning the sweep "
                "continues it from its last checkpoint (agent.checkpoint_every).")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        why = " (the out-of-memory killer?)" if -code == signal.SIGKILL else ""
        return (f"the trial's process was killed by {name}{why}. Its logs up to then are kept; rerunning the "
                "sweep continues it from its last checkpoint (agent.checkpoint_every).")
    return f"the trial's process exited with code {code} without saying why; see trial.log and the output above."


def record_error(job_dir: Path, exc: BaseException) -> str:
    """Write error.txt (message and traceback) and error.json (message); return the message."""
    from agents.logger import write_json_atomic

    error = _describe(exc)
    (job_dir / "error.txt").write_text(f"{error}\n\n{traceback.format_exc()}")
    write_json_atomic(job_dir / "error.json", {"error": error})
    return error


#: Set by `envkit sweep` for its trials: the override keys that vary across the sweep.
LABEL_KEYS_ENV = "ENVKIT_SWEEP_LABEL_KEYS"


def short_label(overrides: list[str], default: str) -> str:
    """The name a trial's progress lines show: only the overrides that vary across its sweep
    (when `envkit sweep` said which), e.g. `reward=sort_v1 seed=2`, not every override."""
    keys = [k for k in os.environ.get(LABEL_KEYS_ENV, "").split(",") if k]
    if not keys:
        return default
    parts = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") in keys]
    return " ".join(parts) or default


def add_user_paths(config: dict[str, Any]) -> None:
    """Make user reward terms (`my_terms:fn`) importable from the working folder and the scene's folder."""
    for folder in (os.getcwd(), str(Path(config.get("scene_file") or ".").resolve().parent)):
        if folder not in sys.path:
            sys.path.append(folder)


def train(config: dict[str, Any], job_dir: Path, label: str, resume: bool, progress: str) -> None:
    """Write the trial's scene and train its agent into `job_dir` (in this process)."""
    import agents
    from envkit.builders import ENV_HINT, env_builder

    agents.register_env_resolver(env_builder, ENV_HINT)
    add_user_paths(config)
    scene = write_scene(config, job_dir)
    agent = dict(config["agent"])
    algo = agent.pop("algo")
    total = int(agent["total_timesteps"])
    stop = goal(config) or total
    steps = f"{total:,} steps" if stop == total else f"{stop:,} of {total:,} steps (then paused)"
    _say(progress, f"[{label}] {algo} on {config.get('scene_file') or config['scene']['id']}, reward "
                   f"{config['reward']['name']}, {steps}, seed {config['seed']}")
    agents.train(str(scene), algo=algo, config=agent, run_dir=job_dir, seed=int(config["seed"]),
                 resume=resume, progress=progress, label=label, total_timesteps=stop if stop < total else None)


def _describe(exc: BaseException) -> str:
    from agents.errors import AgentsError
    from envkit.errors import EnvkitError

    if isinstance(exc, (EnvkitError, AgentsError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (traceback in error.txt)"


def _finished_line(label: str, s: dict[str, Any]) -> str:
    if s["status"] == "paused":
        success = f", success {s['final_success']:.2f}" if s.get("final_success") is not None else ""
        return f"[{label}] paused at step {s.get('global_step', 0):,} in {s['wall_time']:.0f} s{success}"
    if s["status"] != "completed":
        first = (s.get("error") or "").splitlines()[0] if s.get("error") else ""
        return f"[{label}] FAILED at step {s.get('global_step', 0):,}: {first}"
    parts = [f"[{label}] done in {s['wall_time']:.0f} s"]
    if s.get("final_success") is not None:
        parts.append(f"final success {s['final_success']:.2f}")
    if s.get("final_return") is not None:
        parts.append(f"return {s['final_return']:.2f}")
    return ", ".join(parts)


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    """The part of a summary returned to the launcher (small: it is pickled back from workers)."""
    return {k: summary.get(k) for k in ("label", "status", "final_success", "final_return", "error")}


def task(cfg: DictConfig) -> dict[str, Any]:
    """The Hydra task function (kept in an importable module so launchers pickle it by reference)."""
    return run_trial(cfg)
