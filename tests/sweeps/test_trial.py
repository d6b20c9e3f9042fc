"""What a rerun does with an earlier attempt's files: skip, summarise, continue, or redo
(after moving the old files aside, never deleting them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sweeps.trial import prepare

CFG = OmegaConf.create({"resume": True, "progress": "none"})


def _job(tmp_path: Path, *, summary: str | None = None, status: str | None = None, fp: str = "same",
         error: str | None = None, checkpoint: bool = False) -> Path:
    job = tmp_path / "reward=a,seed=0"
    (job / ".hydra").mkdir(parents=True)
    (job / "trial.json").write_text(json.dumps({"fingerprint": fp}))
    if summary:
        (job / "summary.json").write_text(json.dumps({"status": summary}))
    if status:
        (job / "status.json").write_text(json.dumps({"status": status, "error": error, "global_step": 500}))
        (job / "eval.csv").write_text("global_step\n500\n")
    if checkpoint:
        (job / "checkpoints").mkdir()
        (job / "checkpoints" / "last.pt").write_bytes(b"x")
    return job


def test_complete_trial_with_the_same_config_is_skipped(tmp_path: Path) -> None:
    job = _job(tmp_path, summary="completed", status="completed")
    assert prepare(job, "same", CFG) == ("skip", {"status": "completed"})


def test_trained_but_unsummarised_trial_is_only_summarised(tmp_path: Path) -> None:
    job = _job(tmp_path, status="completed")
    assert prepare(job, "same", CFG)[0] == "summarize"
    assert (job / "eval.csv").is_file()


@pytest.mark.parametrize(("status", "error"), [("running", None), ("failed", "interrupted")])
def test_killed_or_interrupted_trial_continues_from_its_checkpoint(tmp_path: Path, status: str, error: str | None) -> None:
    job = _job(tmp_path, status=status, error=error, checkpoint=True)
    assert prepare(job, "same", CFG)[0] == "resume"
    assert not (job / "attempts").exists()


@pytest.mark.parametrize(
    ("kwargs", "fp"),
    [
        ({"summary": "failed", "status": "failed", "error": "boom"}, "same"),  # a real failure: redo
        ({"summary": "completed", "status": "completed"}, "changed"),  # the config changed: redo
        ({"status": "running"}, "same"),  # killed before its first checkpoint: redo
    ],
)
def test_other_attempts_are_moved_aside_and_redone(tmp_path: Path, kwargs: dict, fp: str) -> None:
    job = _job(tmp_path, **kwargs)
    assert prepare(job, fp, CFG)[0] == "fresh"
    old = job / "attempts" / "1"
    assert (old / "status.json").is_file() and (old / "eval.csv").is_file() and (old / "trial.json").is_file()
    assert sorted(p.name for p in job.iterdir()) == [".hydra", "attempts"]
    (job / "status.json").write_text("{}")  # a second redo goes to attempts/2
    assert prepare(job, fp, CFG)[0] == "fresh" and (job / "attempts" / "2" / "status.json").is_file()


def test_resume_false_redoes_even_a_complete_trial(tmp_path: Path) -> None:
    job = _job(tmp_path, summary="completed", status="completed")
    assert prepare(job, "same", OmegaConf.create({"resume": False, "progress": "none"}))[0] == "fresh"
    assert (job / "attempts" / "1" / "summary.json").is_file()
