"""`envkit sweep` checks every planned trial before anything trains, and says what is wrong in
one paragraph: a mistyped key (with a did-you-mean), a bad value in one grid point, a missing
scene file, an unknown option, the Ray launcher without Ray."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from envkit.cli import main as cli


def _err(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert cli(["sweep", *args]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def test_dry_run_lists_the_trials_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["sweep", "experiment=quickstart", f"out_dir={tmp_path}", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"8 trials -> {tmp_path}/quickstart" in out
    assert "reward=reach_sparse agent.batch_size=2048 seed=1 experiment=quickstart" in out
    assert list(tmp_path.iterdir()) == []
    assert cli(["sweep", "--dry-run", "--ablate", "sort_v2", "scene=sort-1", f"out_dir={tmp_path}"]) == 0
    assert "13 trials" in capsys.readouterr().out and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["agent.bacth_size=5"], "Did you mean 'agent.batch_size'?"),
        (["budget.timestep=5"], "the budget section has no key 'timestep'. Did you mean 'budget.timesteps'?"),
        (["reward=sort_v3"], "Could not find 'reward/sort_v3' Available options in 'reward':"),
        (["scene_file=no_such_scene.yaml"], "Trial scene_file=no_such_scene.yaml: no_such_scene.yaml: no such file"),
        (["agent.batch_size=32,4096"], "Trial agent.batch_size=32: Config field 'minibatch_size' = 64 is invalid"),
        (["scene=sort-1", "+scene.overrides.objects.count=-2"], "objects.count"),
        (["reward=sort_v1", "--ablate", "sort_v2"], "--ablate sweeps its own reward designs"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["seed=0", "--bogus"], "unknown option(s) --bogus"),
    ],
)
def test_bad_sweeps_fail_before_training_with_a_clear_message(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _err(capsys, *args, f"out_dir={tmp_path}")
    assert expected in err, err
    assert not any(tmp_path.iterdir())  # nothing was started


def test_ray_launcher_without_ray_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if name.startswith("hydra_plugins.hydra_ray_launcher"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    err = _err(capsys, "launcher=ray")
    assert 'pip install -e ".[ray]"' in err and "launcher=local" in err


@pytest.mark.parametrize("command", ["sweep", "tune"])
def test_options_before_and_after_the_overrides_are_the_same_options(command: str) -> None:
    """Both commands declare their options once (envkit.commands._common): an option written
    among the Hydra overrides is parsed as that option, not passed to Hydra."""
    import argparse

    from envkit.commands import sweep as sweep_cmd
    from envkit.commands import tune as tune_cmd
    from envkit.commands._common import split_override_flags
    from envkit.errors import ConfigError

    module = sweep_cmd if command == "sweep" else tune_cmd
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    early = parser.parse_args([command, "--jobs", "2", "seed=0,1"])
    late = parser.parse_args([command, "seed=0,1", "--jobs", "2", "--dry-run"])
    for args, dry in ((early, False), (late, True)):
        opts, overrides = split_override_flags(args, module.FLAGS)
        assert overrides == ["seed=0,1"] and opts.jobs == 2 and opts.dry_run is dry and opts.no_report is False
    with pytest.raises(ConfigError, match=r"unknown option\(s\) --bogus\. Options: --dry-run, --no-report, --jobs N"):
        split_override_flags(parser.parse_args([command, "seed=0", "--bogus"]), module.FLAGS)
