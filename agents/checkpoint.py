"""Atomic checkpoints and the inference-only `Policy` loaded from them.

A checkpoint is one torch file holding everything to resume or to act: the
algorithm, its config, the env it was trained on, the spaces, every network and
optimiser state, normalisation statistics, counters and RNG states.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.errors import CheckpointError

FORMAT = "envkit-agents"
VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temp file in the same directory, fsync, then rename: a crash mid-write
    leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_arrays_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(f".{path.name}.tmp.npz")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """Accept a checkpoint file or a run directory (then final.pt, else last.pt)."""
    p = Path(path)
    if p.is_dir():
        for name in ("checkpoints/final.pt", "checkpoints/last.pt", "final.pt", "last.pt"):
            if (p / name).is_file():
                return p / name
        raise CheckpointError(
            f"No checkpoint in {p}: expected checkpoints/final.pt or checkpoints/last.pt. "
            "Was the run started, and did it reach its first checkpoint?"
        )
    if not p.is_file():
        raise CheckpointError(f"Checkpoint {p} does not exist. Give a .pt file or a run directory.")
    return p


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and sanity-check a checkpoint; every failure is a CheckpointError with the path in it."""
    p = resolve_checkpoint_path(path)
    try:
        data = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is the same user problem
        raise CheckpointError(f"Cannot read checkpoint {p}: {type(exc).__name__}: {exc}. "
                              "The file is damaged or not a torch checkpoint.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not an envkit agents checkpoint (no '{FORMAT}' format marker).")
    if data.get("version") != VERSION:
        raise CheckpointError(
            f"{p} has checkpoint format version {data.get('version')}, this code reads version {VERSION}."
        )
    data["path"] = str(p)
    return data


def rng_state(np_rng: np.random.Generator) -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state}


def set_rng_state(state: dict[str, Any], np_rng: np.random.Generator) -> None:
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
