"""Bad input to scene files, the loader and the CLI (issue 13): one clear error each, code never run.

Every case is a scene file a new user could write. Loading it must raise a
`SpecError` whose message names the file, the line and the field path as the user
wrote it (`reward[1].wieght`, not the model's `reward.terms[1].wieght`); `envkit
validate` must say the same without a traceback; and nothing named in the file may
run (a marker file would appear in the working folder).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import pytest

import envkit
from envkit.cli import main
from envkit.errors import SpecError
from envkit.loader import load_scene

#: A scene whose reward terms start on line 4 (so every case knows its lines).
HEAD = "name: bad\ngoal: {position: [0.0, 0.0, 0.1]}\nreward:\n"

#: What `{term: 'subprocess:Popen', params: {args: [touch, marker.txt]}}` would create if run.
MARKER = "marker.txt"

#: A user module with a term class that forgot to derive from RewardTerm (no reset()).
USER_MODULE = '''
class Bonus:
    """A callable class, but not a rewards.RewardTerm."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def __call__(self, ctx) -> float:
        return self.scale
'''


@dataclass(frozen=True)
class Case:
    """A bad scene file and what its error must name.

    `field` is the path as the user wrote it ('' when the whole file is at fault),
    `line` the 1-based line the error points at, `words` what it must also say.
    """

    id: str
    text: str | bytes
    field: str
    line: int | None
    words: tuple[str, ...]


CASES = [
    # --- 1. a scene file must not run code: only functions and RewardTerm subclasses are terms
    Case(
        "popen-term",
        HEAD
        + "  - {term: time_penalty, weight: -1}\n"
        + "  - {term: 'subprocess:Popen', params: {args: [touch, marker.txt]}}\n",
        "reward[1].term",
        5,
        ("'subprocess:Popen'", "RewardTerm", "function"),
    ),
    Case(
        "builtin-function-term",
        HEAD + "  - {term: 'os:system', params: {command: 'touch marker.txt'}}\n",
        "reward[0].term",
        4,
        ("'os:system'", "built-in", "RewardTerm"),
    ),
    Case(
        "class-not-a-reward-term",
        HEAD + "  - {term: time_penalty, weight: -1}\n  - {term: 'bad_input_terms:Bonus', weight: 2}\n",
        "reward[1].term",
        5,
        ("'bad_input_terms:Bonus'", "does not derive from rewards.RewardTerm"),
    ),
    Case(
        "popen-as-potential-phi",
        HEAD + "  - {term: potential, weight: -1, params: {phi: 'subprocess:Popen'}}\n",
        "reward[0].params",
        4,
        ("phi", "'subprocess:Popen'", "function"),
    ),
    Case(
        "builtin-as-potential-phi",
        HEAD + "  - {term: potential, weight: -1, params: {phi: 'os:system'}}\n",
        "reward[0].params",
        4,
        ("phi", "'os:system'", "built-in"),
    ),
    # --- 2. non-finite numbers
    Case("nan-weight", HEAD + "  - {term: time_penalty, weight: .nan}\n", "reward[0].weight", 4, ("finite",)),
    Case(
        "inf-weight", HEAD + "  - {term: time_penalty, weight: 1e400}\n", "reward[0].weight", 4, ("finite",)
    ),
    Case(
        "nan-param",
        HEAD + "  - {term: goal_distance_tanh, params: {std: .nan}}\n",
        "reward[0].params",
        4,
        ("'std'", "finite"),
    ),
    Case(
        "inf-param-as-yaml-string",
        HEAD + "  - {term: goal_distance_tanh, params: {std: 1e400}}\n",
        "reward[0].params",
        4,
        ("'std'", "finite"),
    ),
    Case(
        "inf-nested-param",
        HEAD + "  - {term: potential, params: {phi: goal_distance_tanh, phi_params: {std: -.inf}}}\n",
        "reward[0].params",
        4,
        ("'phi_params.std'", "finite"),
    ),
    Case(
        "nan-position",
        "name: bad\nrobot:\n  base_position: [.nan, 0.0, 0.0]\nreward: [time_penalty]\n",
        "robot.base_position[0]",
        3,
        ("finite",),
    ),
    Case(
        "inf-threshold",
        HEAD.replace("0.1]}", "0.1], threshold: .inf}") + "  - {term: time_penalty}\n",
        "goal.threshold",
        2,
        ("finite",),
    ),
    # --- 3. reward-term errors point at the term's own line, with the path the user wrote
    Case(
        "misspelled-weight",
        HEAD + "  - term: time_penalty\n    weight: -1\n  - term: goal_distance\n    wieght: -1\n",
        "reward[1].wieght",
        7,
        ("unknown key 'wieght'", "did you mean 'weight'"),
    ),
    Case(
        "unknown-term",
        HEAD + "  - {term: time_penalty, weight: -1}\n  - {term: goal_distanse, weight: -1}\n",
        "reward[1].term",
        5,
        ("unknown reward term 'goal_distanse'", "did you mean 'goal_distance'"),
    ),
    # --- 4. a file that is not UTF-8
    Case("not-utf8", b"name: caf\xe9\ndescription: x\n", "", 1, ("not UTF-8", "column 10", "0xe9")),
    # --- 5. silently accepted before
    Case(
        "duplicate-top-level-key",
        "name: a\ndescription: x\nname: b\n",
        "name",
        3,
        ("duplicate key 'name'", "line 1"),
    ),
    Case(
        "duplicate-term-key",
        HEAD + "  - term: time_penalty\n    weight: -1\n    weight: -2\n",
        "reward[0].weight",
        6,
        ("duplicate key 'weight'", "line 5"),
    ),
    Case(
        "tanh-std-zero",
        HEAD + "  - {term: goal_distance_tanh, params: {std: 0}}\n",
        "reward[0].params",
        4,
        ("goal_distance_tanh", "std", "> 0"),
    ),
    Case(
        "tanh-std-zero-as-phi",
        HEAD + "  - {term: potential, params: {phi: goal_distance_tanh, phi_params: {std: 0}}}\n",
        "reward[0].params",
        4,
        ("phi_params", "goal_distance_tanh", "'std' must be a number > 0, got 0"),
    ),
]


@pytest.fixture
def case_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a long name (error text must not be wrapped), holding the user term module.

    It is also the working folder, where a scene that runs `touch marker.txt` would leave its mark.
    """
    folder = tmp_path / "a_folder_with_a_rather_long_name_so_that_paths_exceed_eighty_columns"
    folder.mkdir()
    (folder / "bad_input_terms.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.chdir(folder)
    return folder


def _write(folder: Path, case: Case) -> Path:
    path = folder / f"{case.id}.yaml"
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text, encoding="utf-8")
    return path


def _expect(message: str, path: Path, case: Case) -> None:
    where = f"{path}, line {case.line}" if case.line else str(path)
    assert where in message, message
    assert case.field in message, message
    for word in case.words:
        assert word in message, message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_load_scene_rejects(case: Case, case_dir: Path) -> None:
    path = _write(case_dir, case)
    with pytest.raises(SpecError) as exc:
        load_scene(path)
    _expect(str(exc.value), path, case)
    assert "\n" not in str(exc.value), "one paragraph"
    assert not (case_dir / MARKER).exists()


def _cli(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m envkit.cli ARGS` with stdout/stderr as pipes (not a terminal), user terms importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    env.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "envkit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_validate_cli_rejects_every_case_without_traceback_or_wrapping(case_dir: Path) -> None:
    paths = [_write(case_dir, case) for case in CASES]
    proc = _cli(["validate", *map(str, paths)], case_dir)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{len(CASES)} of {len(CASES)} file(s) failed validation" in proc.stdout
    for path, case in zip(paths, CASES, strict=True):
        # the long path appears unbroken: not wrapped at 80 columns when stdout is a pipe
        assert f"FAIL {path}\n" in proc.stdout
        _expect(proc.stdout, path, case)
    assert not (case_dir / MARKER).exists()


# --------------------------------------------------------------------------- 1. no code runs from a scene file


def test_preview_and_make_never_run_a_popen_term(case_dir: Path) -> None:
    path = _write(case_dir, CASES[0])
    proc = _cli(["preview", str(path), "-o", str(case_dir / "scene.png")], case_dir)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "reward[1].term" in proc.stderr and "'subprocess:Popen'" in proc.stderr
    with pytest.raises(SpecError, match="subprocess:Popen"):
        envkit.make(path)
    assert not (case_dir / MARKER).exists()
    assert not (case_dir / "scene.png").exists()


def test_a_term_spec_built_in_python_is_checked_before_anything_is_called(case_dir: Path) -> None:
    """A SceneSpec skips the loader; building its reward must still refuse a non-term."""
    from envkit.spec import RewardSpec
    from rewards.registry import build_reward

    reward = RewardSpec(terms=[{"term": "subprocess:Popen", "params": {"args": ["touch", MARKER]}}])
    with pytest.raises(LookupError, match="RewardTerm"):
        build_reward(reward)
    assert not (case_dir / MARKER).exists()


def test_registering_something_that_is_not_a_term_fails() -> None:
    from rewards.registry import REGISTRY, register

    with pytest.raises(TypeError, match="RewardTerm"):
        register("test_not_a_term")(dict)
    assert "test_not_a_term" not in REGISTRY


# --------------------------------------------------------------------------- 6. every command takes every scene form


def test_train_and_eval_accept_a_bare_scene_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    tiny = ["--set", "batch_size=32", "--set", "minibatch_size=16", "--set", "eval_episodes=1"]
    assert main(["train", "reach", "--steps", "32", "--quiet", "--run-dir", str(run), *tiny]) == 0
    assert "envkit/reach-v0" in (run / "config.yaml").read_text()
    assert main(["eval", str(run), "--env", "reach", "--episodes", "1"]) == 0
    assert "env envkit/reach-v0" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["train"], ["eval", "RUN", "--env"]])
def test_unknown_scene_name_suggests(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(tmp_path) if a == "RUN" else a for a in command] + ["reahc"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "'reahc'" in err and "did you mean 'reach'?" in err and "Traceback" not in err


def test_env_argument_forms(write_scene) -> None:
    """train and eval --env take what validate takes, and gymnasium ids as before."""
    from envkit.commands._common import env_argument
    from envkit.errors import ConfigError

    path = write_scene("name: mine\ngoal: {position: [0.0, 0.0, 0.1]}\nreward: reach_dense\n", "mine.yaml")
    assert env_argument("reach") == "envkit/reach-v0"
    assert env_argument("envkit/reach-v0") == "envkit/reach-v0"
    assert env_argument(str(path)) == str(path)
    assert env_argument("Pendulum-v1") == "Pendulum-v1"
    assert env_argument("PandaReachDense-v3") == "PandaReachDense-v3"  # registered when panda-gym loads
    with pytest.raises(SpecError, match="did you mean 'envkit/reach-v0'"):
        env_argument("envkit/reahc-v0")
    with pytest.raises(SpecError, match="no such file"):
        env_argument(str(path.with_name("missing.yaml")))
    with pytest.raises(ConfigError, match="did you mean 'sort-1'"):
        env_argument("sort1")


# --------------------------------------------------------------------------- 7. list shows image shapes


def _described(space: gym.Space) -> str:
    """A real observation space as `envkit list` should describe it."""
    if isinstance(space, gym.spaces.Dict):
        return f"{_described(space['image'])} + {_described(space['state'])}"
    if len(space.shape) == 3:
        return "x".join(map(str, space.shape)) + " image"
    return str(space.shape[0])


def test_list_shows_image_shapes_of_camera_scenes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    cells = [line.split("│")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    listed = {row[0].strip(): row[4].strip() for row in cells if row[0].strip()}
    assert listed["envkit/peg_in_hole-v0"] == "84x84x1 image"
    ids = ["envkit/peg_in_hole-v0", "envkit/peg_in_hole_320-v0", "envkit/tosser_camera-v0", "envkit/reach-v0"]
    envs = [gym.make(i) for i in ids]
    try:
        for env_id, env in zip(ids, envs, strict=True):
            assert listed[env_id] == _described(env.observation_space), env_id
    finally:
        for env in envs:
            env.close()
    both = envkit.load_scene("reach", {"observation.mode": "both"})
    from envkit.commands.list import observation_summary

    assert observation_summary(both) == "84x84x1 image + 9"


# --------------------------------------------------------------------------- 8. no wrapping when not a terminal


def test_cli_error_printer_does_not_wrap_long_paths(case_dir: Path) -> None:
    missing = case_dir / "and_a_scene_file_name_that_is_long_as_well.yaml"
    proc = _cli(["info", str(missing)], case_dir)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{missing}: no such file" in proc.stderr
