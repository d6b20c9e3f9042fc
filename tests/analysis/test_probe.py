"""`envkit probe`: per-term firing statistics on a scene whose event rate is known in advance."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from envkit.analysis.probe import plot_probe, run_probe
from envkit.cli import main
from envkit.errors import EnvkitError

#: One cube placed on its own bin (sorted on step 1 of every episode) and one sphere
#: far from everything; 5-step episodes, so every rate is known exactly.
KNOWN_RATE = {
    "objects.count": 0,
    "objects.items": [
        {"name": "in_bin", "shape": "cube", "half_extents": [0.02, 0.02, 0.02], "position": [-0.25, 0.2]},
        {"name": "other", "shape": "sphere", "half_extents": [0.02, 0.02, 0.02], "position": [0.0, -0.15]},
    ],
    "episode.max_steps": 5,
    "reward": "sort_fixed",
}


@pytest.fixture(scope="module")
def known():
    return run_probe("sort-1", episodes=4, seed=3, overrides=KNOWN_RATE)


def test_term_statistics_match_the_known_event_rate(known) -> None:
    stats = {s.label: s for s in known.term_stats()}
    assert known.steps == 20 and all(e.length == 5 and e.truncated for e in known.episodes)
    correct = stats["object_in_correct_bin"]
    assert correct.fire_rate == pytest.approx(1 / 5) and correct.episode_rate == 1.0
    assert correct.mean == correct.p5 == correct.p95 == 500.0 and correct.flag == ""
    assert stats["time_penalty"].flag == "every-step" and stats["time_penalty"].mean == pytest.approx(-0.5)
    assert stats["object_in_wrong_bin"].flag == "never" and stats["object_on_floor"].flag == "never"
    assert sum(s.share for s in stats.values()) == pytest.approx(1.0)
    events = known.event_stats()
    assert events["sorted"] == {"per_episode": 1.0, "episode_rate": 1.0}
    assert events["removed"]["per_episode"] == 1.0 and events["on_floor"]["per_episode"] == 0.0
    assert known.kinds["approach_object"] == "potential" and known.kinds["time_penalty"] == "step"


def test_same_seed_same_numbers(known) -> None:
    again = run_probe("sort-1", episodes=4, seed=3, overrides=KNOWN_RATE)
    assert [e.term_sums for e in again.episodes] == [e.term_sums for e in known.episodes]
    other = run_probe("sort-1", episodes=4, seed=4, overrides=KNOWN_RATE)
    assert [e.term_sums for e in other.episodes] != [e.term_sums for e in known.episodes]


def test_plot_writes_a_png(known, tmp_path: Path) -> None:
    path = plot_probe(known, tmp_path / "sub" / "probe.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoint_hook_uses_agents_load_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook for trained policies: agents.api.load_policy(path).predict(obs)."""
    calls: list[str] = []

    def load_policy(path):
        calls.append(str(path))
        return SimpleNamespace(observation_space=None, predict=lambda obs: np.array([0.0, 0.0, 0.0]))

    fake = ModuleType("agents.api")
    fake.load_policy = load_policy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agents.api", fake)
    result = run_probe("reach", episodes=1, overrides={"episode.max_steps": 3}, checkpoint="run/final.pt")
    assert calls == ["run/final.pt"] and result.policy == "checkpoint run/final.pt" and result.steps == 3


def test_checkpoint_without_agents_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agents.api", None)  # import fails
    with pytest.raises(EnvkitError, match="needs the agents package"):
        run_probe("reach", episodes=1, overrides={"episode.max_steps": 2}, checkpoint="x.pt")


def test_cli_prints_flags_and_writes_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "p.png"
    args = ["probe", "sort-1", "-n", "2", "--seed", "3", "--out", str(png), "-q"]
    for key, value in KNOWN_RATE.items():
        args += ["--set", f"{key}={json.dumps(value)}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "never fires: object_in_wrong_bin" in out
    assert "fires every step: time_penalty (expected for a step term)" in out
    assert "sorted 1.00 (100% of episodes)" in out and png.exists()
    assert main([*args, "--json", "--out", "none"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcomes"]["episodes"] == 2 and data["events"]["sorted"]["per_episode"] == 1.0


def test_bad_episode_count() -> None:
    assert main(["probe", "reach", "-n", "0", "-q", "--out", "none"]) == 1
