"""`envkit tune`: search declared ranges of reward weights and hyperparameters with Optuna.

An experiment (or the command line) declares what to search and how many trials:

    search:
      reward.terms.object_in_correct_bin.weight: {low: 50, high: 1000, log: true}
      reward.terms.object_on_floor.weight: {low: -200, high: -1}
      agent.learning_rate: {low: 1e-4, high: 1e-3, log: true}
      agent.batch_size: {choices: [5000, 10000, 50000]}
    trials: 40

Each Optuna trial is one configuration, trained on `tune.seeds` seeds through the sweep's own
trials (sweeps/trial.py) and launcher, rung by rung (`race.rungs`); at every rung it is pruned
by the racing rule (sweeps/racing.py): when its interval lies entirely below the best
configuration's at that rung. Its value is the report's metric at the full budget (`race.metric`:
success IQM or success AUC over its seeds). TPE (Optuna's default sampler) proposes the next.

Everything lives in the sweep folder (`<out_dir>/<name>`):

    study.db              the Optuna study (SQLite): resumable, shared by workers started with
                          the same command (each takes the next trial; trials of a killed worker
                          are retried, on this machine at once, elsewhere after a heartbeat timeout)
    conf/reward/          the reward designs the trials train on (tune_<hash>.yaml, one per set
                          of weights, so one configuration always lands in the same trial folders)
    search/               the trials (seed folders) of the study
    confirm/              the top `tune.top_k` configurations re-run on `tune.confirm_seeds` fresh
                          seeds (the winner's curse: the search's best is an optimistic estimate),
                          with the usual report in confirm/report/
    tune/                 tune.md/json (the answer), history.csv/png, importances.csv/png,
                          best_reward.yaml (drop it into a scene) and lint.txt (its lint verdict)

A failed or NaN trial is marked failed in the study and the search goes on. Ctrl-C or a kill
loses no finished trial: the study and the trial folders are on disk, rerunning the same
command continues (the interrupted configuration is retried and its seeds continue from
their checkpoints), and the confirmation starts when the study has all its trials.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

from envkit.errors import ConfigError
from sweeps.study import (
    Tuning,
    check_corners,
    confirm,
    confirm_lock,
    design_of,
    design_terms_with,
    fmt_value,
    folder_plan,
    optimize,
    quiet_optuna,
    rounded,
    say,
    settings,
    worker_alive,
)


def importances(study: optuna.Study) -> tuple[dict[str, float], str]:
    """Parameter importances and how they were computed: Optuna's PED-ANOVA evaluator (Optuna's default
    since 5.0; unlike fANOVA it needs no scikit-learn). When it cannot tell (it warns that there are too
    few trials and returns equal importances, or fails), the fallback is |Spearman correlation| between
    each parameter (log-scaled for log ranges, category index for choices) and the value over the
    complete trials, normalised to sum to 1; with fewer than 3 complete trials there are none."""
    import numpy as np

    done = [x for x in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if x.value is not None and math.isfinite(x.value)]
    import warnings

    if len(done) >= 3:
        try:
            with quiet_optuna(), warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)  # "too few trials: importances will be equal"
                imp = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
            if imp and all(math.isfinite(v) for v in imp.values()):
                return {k: float(v) for k, v in imp.items()}, "Optuna's PED-ANOVA evaluator (no scikit-learn needed)"
        except Exception:  # noqa: BLE001 - e.g. too few trials above its quantile: fall back below
            pass
    from scipy.stats import spearmanr

    if len(done) < 3:
        return {}, "too few complete trials (< 3) for importances"
    values = np.array([x.value for x in done], float)
    raw: dict[str, float] = {}
    for name in sorted({k for x in done for k in x.params}):
        xs = []
        for x in done:
            v = x.params.get(name)
            dist = x.distributions.get(name)
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                v = dist.choices.index(v) if v in dist.choices else np.nan
            elif getattr(dist, "log", False) and v is not None and v > 0:
                v = math.log(v)
            xs.append(np.nan if v is None else float(v))
        arr = np.array(xs, float)
        ok = np.isfinite(arr)
        if ok.sum() < 3 or np.ptp(arr[ok]) == 0 or np.ptp(values[ok]) == 0:
            raw[name] = 0.0
            continue
        rho = spearmanr(arr[ok], values[ok]).statistic
        raw[name] = abs(float(rho)) if math.isfinite(rho) else 0.0
    total = sum(raw.values())
    return ({k: v / total for k, v in sorted(raw.items(), key=lambda kv: -kv[1])} if total else raw,
            "fallback: |Spearman correlation| with the value, normalised (Optuna's evaluator failed)")


def lint_design(scene_yaml: Path, gamma: float) -> tuple[str, list[str]]:
    """The lint verdict of a trial's scene (its reward included): "clean", "warnings" or "errors", and the
    findings."""
    from envkit.analysis.lint import lint_scene
    from envkit.loader import load_scene

    report = lint_scene(load_scene(scene_yaml), gamma=gamma)
    verdict = "errors" if report.errors else "warnings" if report.warnings else "clean"
    lines = [f"{f.severity}: {f.rule} ({', '.join(f.terms)}): {f.message}" + (f" Fix: {f.fix}" if f.fix else "")
             for f in report.findings]
    return verdict, lines


def write_outputs(t: Tuning, study: optuna.Study, top: list[optuna.trial.FrozenTrial], rep: Any) -> dict[str, Path]:
    """tune/: history, importances, the best design as a reward YAML, its lint verdict, tune.md and tune.json."""
    import pandas as pd

    from sweeps import plots

    out = t.root / "tune"
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    rows = []
    for x in study.get_trials(deepcopy=False):
        rows.append({"trial": x.number, "state": x.state.name.lower(), "value": x.value,
                     "rung": max([int(k[4:]) + 1 for k in x.user_attrs if k.startswith("rung")], default=0),
                     "steps": x.user_attrs.get("steps"), "ended": x.user_attrs.get("ended"),
                     "retry_of": x.system_attrs.get("failed_trial"),
                     **{f"param {k}": v for k, v in x.params.items()}})
    history = pd.DataFrame(rows)
    history.to_csv(out / "history.csv", index=False)
    files["history"] = out / "history.csv"
    png = plots.optimisation_history(history, t.rule.metric, out / "history.png")
    if png:
        files["history_plot"] = png
    imp, how = importances(study)
    pd.DataFrame([{"param": k, "importance": v} for k, v in imp.items()]).to_csv(out / "importances.csv", index=False)
    files["importances"] = out / "importances.csv"
    png = plots.importances(imp, how, out / "importances.png")
    if png:
        files["importances_plot"] = png

    # the confirmed winner: the top configuration with the best fresh-seed estimate
    confirmed = _confirmed(t, top, rep)
    best = max(confirmed, key=lambda c: (c["confirmed"][0] if c["confirmed"] and math.isfinite(c["confirmed"][0])
                                         else -math.inf, -c["rank"]), default=None)
    lint_verdict, findings, reward_file = None, [], None
    if best is not None:
        x = next(x for x in top if x.number == best["trial"])
        values = rounded(dict(x.params))
        terms = design_terms_with(t.terms, t.params, values) if any(p.term for p in t.params) else t.terms
        reward_file = out / "best_reward.yaml"
        agent = {k: v for k, v in values.items() if not k.startswith("reward")}
        head = (f"# The best design of envkit tune {t.root}: trial #{x.number}, "
                f"{'success IQM' if t.rule.metric == 'success' else 'success AUC'} {x.value:.3f} in the search, "
                f"{_fmt_iv(best['confirmed'])} on {len(t.confirm_seeds)} fresh seeds.\n"
                "# Paste the reward section into a scene (or save it as a sweep reward option).\n"
                + (f"# It was tuned with: {', '.join(f'{k}={fmt_value(v)}' for k, v in agent.items())}\n" if agent else ""))
        reward_file.write_text(head + yaml.safe_dump({"reward": {"terms": terms}}, sort_keys=False,
                                                     default_flow_style=None))
        files["best_reward"] = reward_file
        scene = next((Path(f) / "scene.yaml" for f in best["folders"] if (Path(f) / "scene.yaml").is_file()), None)
        if scene is not None:
            lint_verdict, findings = lint_design(scene, t.gamma)
            (out / "lint.txt").write_text(f"envkit lint of {scene} (gamma {t.gamma:g}): {lint_verdict}\n"
                                          + "".join(f"- {f}\n" for f in findings))
            files["lint"] = out / "lint.txt"
    counts = {s.name.lower(): sum(x.state == s for x in study.get_trials(deepcopy=False))
              for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)}
    steps_used = sum(int(x.user_attrs.get("steps") or 0) for x in study.get_trials(deepcopy=False))
    data = {"study": str(t.root / "study.db"), "trials": counts, "metric": t.rule.metric,
            "rungs": list(t.rule.rungs), "seeds": t.seeds, "confirm_seeds": t.confirm_seeds,
            "search": {p.key: {"kind": p.kind, "low": p.low, "high": p.high, "log": p.log,
                               "choices": list(p.choices)} for p in t.params},
            "top": confirmed, "best": best, "importances": imp, "importances_method": how,
            "lint": {"verdict": lint_verdict, "findings": findings}, "search_steps": steps_used,
            "unpruned_steps": sum(1 for _ in study.get_trials(deepcopy=False)) * len(t.seeds) * t.budget}
    (out / "tune.json").write_text(json.dumps(data, indent=2, default=str))
    files["json"] = out / "tune.json"
    (out / "tune.md").write_text(tune_markdown(t, data, files))
    files["markdown"] = out / "tune.md"
    return files


def _fmt_iv(iv: list[float] | None) -> str:
    if not iv or not math.isfinite(iv[0]):
        return "-"
    return f"{iv[0]:.2f} [{iv[1]:.2f}, {iv[2]:.2f}]"


def _confirmed(t: Tuning, top: list[optuna.trial.FrozenTrial], rep: Any) -> list[dict[str, Any]]:
    """Per top configuration: its search value and interval, and its fresh-seed interval from the report."""
    rp_root = t.root / "confirm"
    by_folder: dict[str, Any] = {}
    if rep is not None:
        for d in rep.designs:
            for tr in d.trials:
                by_folder[str(tr.path.resolve())] = d
    out = []
    plan = folder_plan(t, "confirm").plan if top else None
    for rank, x in enumerate(top, 1):
        d = design_of(t, f"#{x.number}", list(x.user_attrs["design"]), t.confirm_seeds, [t.budget], "confirm")
        folders = [str(plan.trial_dir(d.job(s, 0)).resolve()) for s in t.confirm_seeds]  # type: ignore[union-attr]
        design = next((by_folder[f] for f in folders if f in by_folder), None)
        est = None
        if design is not None:
            iv = design.success if t.rule.metric == "success" else design.auc
            est = [iv.value, iv.low, iv.high]
        out.append({"rank": rank, "trial": x.number, "params": {k: v for k, v in x.params.items()},
                    "search_value": x.value, "search_interval": x.user_attrs.get("interval"),
                    "confirmed": est, "confirmed_seeds": design.seeds if design is not None else 0,
                    "design": design.label if design is not None else None, "folders": folders,
                    "confirm_dir": str(rp_root)})
    return out


def tune_markdown(t: Tuning, data: dict[str, Any], files: dict[str, Path]) -> str:
    what = "success IQM" if t.rule.metric == "success" else "success AUC (mean)"
    c = data["trials"]
    lines = [f"# Tune report: {t.root}", "",
             f"{sum(c.values())} Optuna trials ({c['complete']} complete, {c['pruned']} pruned, {c['fail']} failed"
             + (f", {c['running']} running" if c["running"] else "") + f"); each trained on seeds "
             f"{', '.join(map(str, t.seeds))}, scored by {what} over its seeds, pruned at rungs "
             f"{', '.join(f'{r:g}' for r in t.rule.rungs[:-1]) or '(none)'} of the budget by the racing rule "
             "(its interval entirely below the best configuration's at the rung).", "",
             f"Compute: the search trained {data['search_steps']:,} transitions; every trial trained to the full budget "
             f"would be {data['unpruned_steps']:,}.", "",
             "## The top configurations on fresh seeds (the winner's curse)", "",
             f"The search's values are optimistic: they are the best of many noisy estimates. The top "
             f"{len(data['top'])} were re-run at the full budget on {len(t.confirm_seeds)} fresh seeds "
             f"({', '.join(map(str, t.confirm_seeds))}); the usual report of those runs is in "
             f"{t.root / 'confirm' / 'report'}.", ""]
    from sweeps.render import markdown_table

    rows = [{"rank in search": r["rank"], "trial": f"#{r['trial']}",
             **{k: fmt_value(v) for k, v in r["params"].items()},
             f"search {what}": _fmt_iv(r["search_interval"]),
             f"fresh seeds {what} [95% CI]": _fmt_iv(r["confirmed"]), "fresh seeds": r["confirmed_seeds"]}
            for r in data["top"]]
    lines += [markdown_table(rows)]
    best = data["best"]
    if best is not None:
        lines += [f"**Best on fresh seeds**: trial #{best['trial']} ({', '.join(f'{k}={fmt_value(v)}' for k, v in best['params'].items())}), "
                  f"{what} {_fmt_iv(best['confirmed'])}. Its reward: {files.get('best_reward', '-')}; lint verdict: "
                  f"**{data['lint']['verdict'] or 'not run'}**.", ""]
        lines += [f"- {f}" for f in data["lint"]["findings"]] + ([""] if data["lint"]["findings"] else [])
    lines += ["## Parameter importances", "", f"Method: {data['importances_method']}.", ""]
    lines += [markdown_table([{"param": k, "importance": f"{v:.3f}"} for k, v in data["importances"].items()])
              if data["importances"] else "(none)\n"]
    lines += ["## Files", ""] + [f"- {k}: {v}" for k, v in files.items()]
    return "\n".join(lines) + "\n"


def tune(overrides: list[str], *, jobs: int | None = None, dry_run: bool = False, report: bool = True) -> int:
    """`envkit tune`: check, search, confirm, report. Exit code 1 when the study has no complete trial."""
    from sweeps.launch import check_trials, launch_jobs, plan

    overrides = list(overrides)
    if jobs is not None:
        if jobs < 1:
            raise ConfigError(f"--jobs must be >= 1, got {jobs}.")
        overrides.append(f"hydra.launcher.n_jobs={jobs}")
    first = plan(overrides)
    if first.sweep_dir.name == "sweep" and not any(o.startswith("name=") for o in overrides):
        overrides.append("name=tune")  # not the default sweep folder
        first = plan(overrides)
    configs = check_trials(first)
    t = settings(first, configs, overrides)
    check_corners(t)
    say(f"{t.trials} trials of {len(t.params)} searched key(s) -> {t.root}")
    for p in t.params:
        rng = (f"choices {list(p.choices)}" if p.kind == "choice"
               else f"{p.kind} [{p.low:g}, {p.high:g}]{' log' if p.log else ''}")
        say(f"  {p.key}: {rng}")
    say(f"seeds {', '.join(map(str, t.seeds))} per trial, rungs at {', '.join(f'{s:,}' for s in t.steps)} steps, "
         f"metric {t.rule.metric}; then the top {t.top_k} on {len(t.confirm_seeds)} fresh seeds")
    if dry_run:
        return 0
    start = time.perf_counter()
    try:
        study = optimize(t, launch_jobs)
        running = [x.number for x in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                   if worker_alive(str(x.user_attrs.get("worker", "")))]
        if running:
            say(f"other workers are still running trial(s) {', '.join(f'#{n}' for n in running)}; the last worker "
                 "to finish re-runs the top configurations (or rerun this command when they are done).")
            return 0
        with confirm_lock(t.root) as mine:
            if not mine:
                say("another worker is re-running the top configurations; rerun this command when it is done.")
                return 0
            top, code = confirm(t, study, launch_jobs)
    except KeyboardInterrupt:
        print(f"\nenvkit tune: interrupted. The study ({t.root / 'study.db'}) and every finished trial are kept; "
              "rerun the same command to continue (the interrupted configuration is retried from its checkpoints).",
              file=sys.stderr)
        return 130
    rep = None
    if top and report:
        from sweeps.collect import collect
        from sweeps.judge import judge
        from sweeps.render import write_report

        try:
            rep = judge(collect([t.root / "confirm"]))
            write_report(rep, t.root / "confirm" / "report")
        except ConfigError:
            rep = None
    files = write_outputs(t, study, top, rep)
    data = json.loads(files["json"].read_text())
    best = data["best"]
    say(f"{sum(data['trials'].values())} trials ({data['trials']['complete']} complete, {data['trials']['pruned']} "
         f"pruned, {data['trials']['fail']} failed) in {time.perf_counter() - start:.0f} s")
    for r in data["top"]:
        say(f"  #{r['trial']} {', '.join(f'{k}={fmt_value(v)}' for k, v in r['params'].items())}: search "
             f"{_fmt_iv(r['search_interval'])}, fresh seeds {_fmt_iv(r['confirmed'])}")
    if best is not None:
        say(f"best on fresh seeds: #{best['trial']}; reward -> {files.get('best_reward')}; lint: "
             f"{data['lint']['verdict']}")
    say(f"report: {files['markdown']}")
    return 0 if data["trials"]["complete"] else 1
