"""Atomic checkpoints of plain data, and the RNG states they carry.

A checkpoint is one torch file holding everything to resume or to act: the
algorithm, its config, the env it was trained on, the spaces, every network and
optimiser state, normalisation statistics, counters and RNG states.

Why plain data: a torch file is a pickle, and unpickling can call any Python
function (`os.system` included) before a single field is checked. So every
checkpoint holds only tensors, numbers, strings, None, lists, tuples and dicts
(numpy arrays are stored as tensors, gymnasium spaces as dicts), and is always read
with `torch.load(weights_only=True)`, whose unpickler refuses everything else.
Format 1 (envkit before this change) pickled gymnasium spaces and numpy arrays;
such files are refused with a message rather than loaded unsafely.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import re
import sys
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.errors import CheckpointError

FORMAT = "envkit-agents"
VERSION = 2

#: What every checkpoint holds, best.pt included: enough to rebuild a `Policy`.
POLICY_KEYS = ("algo", "config", "env", "observation_space", "action_space", "counters.global_step",
               "models.actor", "obs_normalizer")
#: What resuming needs on top (last.pt and final.pt have it; best.pt is a policy only).
_RESUME_COMMON = ("seed",)
RESUME_KEYS = {
    "ppo": (*_RESUME_COMMON, "models.critic", "optimizers.optimizer", "algo_counters.updates", "rng"),
    "td3": (*_RESUME_COMMON, "models.critic", "models.actor_target", "models.critic_target", "optimizers.actor",
            "optimizers.critic", "algo_counters.critic_updates", "algo_counters.vector_steps", "rng.buffer"),
}


# ------------------------------------------------------------------ writing
def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temp file in the same directory, fsync, then rename: a crash mid-write
    leaves the previous checkpoint intact."""
    data = plain_data({"format": FORMAT, "version": VERSION, **payload})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        torch.save(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_arrays_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like save_checkpoint, for numpy arrays (the replay buffer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def plain_data(obj: Any, where: str = "checkpoint") -> Any:
    """`obj` as what `torch.load(weights_only=True)` accepts: tensors (moved to the CPU, so that
    a file loads on any device), numpy arrays as tensors, numpy scalars as Python numbers,
    and containers of those. Anything else is a programming error, reported with its key path
    here at save time rather than as an unloadable file later."""
    if isinstance(obj, np.generic):  # before float: np.float64 is a float subclass, pickled as numpy
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj)).clone()
    if isinstance(obj, Mapping):
        out = OrderedDict() if isinstance(obj, OrderedDict) else {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: key {k!r} is a {type(k).__name__}; checkpoint keys are str or int")
            out[k] = plain_data(v, f"{where}.{k}")
        if hasattr(obj, "_metadata"):  # module state_dicts carry per-module versions
            out._metadata = obj._metadata  # type: ignore[union-attr]
        return out
    if isinstance(obj, (list, tuple)):
        items = [plain_data(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else tuple(items)
    raise TypeError(f"{where} is a {type(obj).__name__}, which a weights-only checkpoint cannot hold; "
                    "convert it to tensors, numbers, strings, lists and dicts first")


def encode_space(space: gym.Space) -> dict[str, Any]:
    """A Box or a Dict of Boxes (all the agents accept) as plain data."""
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "low": space.low, "high": space.high, "dtype": str(space.dtype)}
    if isinstance(space, gym.spaces.Dict):
        return {"type": "Dict", "spaces": {k: encode_space(s) for k, s in space.spaces.items()}}
    raise TypeError(f"cannot store space {space} in a checkpoint: only Box and Dict spaces are supported")


def decode_space(data: Any, path: str | os.PathLike) -> gym.Space:
    """Inverse of `encode_space`; a malformed entry is a CheckpointError naming the file."""
    try:
        if data["type"] == "Box":
            low, high = np.asarray(data["low"]), np.asarray(data["high"])
            return gym.spaces.Box(low, high, low.shape, np.dtype(data["dtype"]))
        if data["type"] == "Dict":
            return gym.spaces.Dict({k: decode_space(v, path) for k, v in data["spaces"].items()})
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"Checkpoint {path} has a malformed space entry ({type(exc).__name__}: {exc}); "
                              "the file was edited or damaged. Use another checkpoint of the run or retrain.") from None
    raise CheckpointError(f"Checkpoint {path} has a space of unknown type {data.get('type')!r}; "
                          "it was written by newer or other code. Use another checkpoint or retrain.")


# ------------------------------------------------------------------ reading
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


def load_checkpoint(path: str | os.PathLike, resume_algo: str | None = None) -> dict[str, Any]:
    """Load a checkpoint as plain data (weights only: no code runs) and check its format and keys.

    With `resume_algo`, also check that it is a checkpoint of that algorithm holding what
    resuming needs. Every failure is a CheckpointError with the path in it. Spaces stay
    encoded (`decode_space`); numpy arrays come back as tensors.
    """
    p = resolve_checkpoint_path(path)
    data = _load_weights_only(p)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not an envkit agents checkpoint (no '{FORMAT}' format marker).")
    version = data.get("version")
    if version != VERSION:
        if isinstance(version, int) and version < VERSION:
            raise CheckpointError(_older_message(p, version))
        raise CheckpointError(f"{p} has checkpoint format version {version!r}, this code reads version {VERSION}: "
                              "it was written by a newer envkit. Upgrade envkit to load it.")
    _require(data, POLICY_KEYS, p, "")
    if resume_algo is not None:
        if data["algo"] != resume_algo:
            raise CheckpointError(f"Cannot resume {p} with algo {resume_algo!r}: it was trained with "
                                  f"{data['algo']!r}.")
        _require(data, RESUME_KEYS.get(resume_algo, ()), p,
                 " that resuming needs (best.pt holds the policy only; resume from checkpoints/last.pt)")
    data["path"] = str(p)
    return data


def _load_weights_only(p: Path) -> Any:
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "Weights only load failed" not in text and "WeightsUnpickler" not in text:
            raise CheckpointError(f"Cannot read checkpoint {p}: {_first_line(text)}. "
                                  "The file is damaged or not a torch checkpoint.") from None
        raise CheckpointError(_refusal(p, text)) from None
    except Exception as exc:  # noqa: BLE001 - every other read failure is the same user problem
        detail = ": ".join(x for x in (type(exc).__name__, _first_line(str(exc))) if x)
        raise CheckpointError(f"Cannot read checkpoint {p}: {detail}. "
                              "The file is damaged or not a torch checkpoint.") from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


#: The Python objects a format-1 checkpoint asks for (gymnasium spaces, numpy arrays and
#: generators, torch storages). A file asking for anything else is not an old envkit file.
_FORMAT1_GLOBALS = re.compile(
    r"(gymnasium\.spaces\.\w+ \w+|numpy(\._core|\.core)?(\.multiarray)? (dtype|ndarray|_reconstruct|scalar)"
    r"|numpy\.random\.[\w.]+ \w+|_codecs encode|collections OrderedDict|torch\._utils _rebuild_\w+"
    r"|torch \w+Storage)"
)


def _refusal(p: Path, torch_message: str) -> str:
    """Why a file that the weights-only unpickler refused is refused, from its pickle read as
    opcodes (never executed): an old envkit file, or a file asking for other Python objects."""
    blob = _pickle_bytes(p)
    names = _pickle_globals(blob)
    foreign = [n for n in names if not _FORMAT1_GLOBALS.fullmatch(n)]
    if FORMAT.encode() in blob and names and not foreign:
        return _older_message(p, 1)
    found = re.search(r"GLOBAL ([\w.]+)", torch_message)
    if foreign:
        what = f"the Python object `{foreign[0].replace(' ', '.')}`"
    elif found:
        what = f"the Python object `{found.group(1)}`"
    else:  # no object asked for: the stream itself is broken
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", torch_message)
        return (f"Cannot read checkpoint {p}: {detail.group(1) if detail else 'not a pickle'}. "
                "The file is damaged or not a torch checkpoint.")
    return (f"Refused to load {p}: it is not a plain-data checkpoint. It asks for {what}, and unpickling "
            "it could run code, so it was not unpickled. envkit checkpoints hold only tensors, numbers, "
            "strings, lists and dicts and load with torch.load(weights_only=True). Do not load this file "
            "unless you know where it came from; use a checkpoint written by envkit.")


def _older_message(p: Path, version: int) -> str:
    return (f"{p} was written by an older envkit (checkpoint format {version}, a full Python pickle); "
            f"it cannot be loaded safely, because unpickling it could run code, so it was refused. Retrain "
            f"the run, or, only if you trust the file, convert it once to format {VERSION} with "
            f"`python -m agents.checkpoint convert OLD.pt NEW.pt`.")


def _pickle_bytes(p: Path) -> bytes:
    """The pickle stream of a torch file (data.pkl inside its zip) or of a plain pickle file."""
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                name = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
                return z.read(name) if name else b""
        with open(p, "rb") as f:
            return f.read(1 << 24)
    except (OSError, zipfile.BadZipFile):
        return b""


def _pickle_globals(blob: bytes) -> list[str]:
    """"module name" of every global a pickle imports, read with pickletools (nothing runs).

    GLOBAL carries its name; STACK_GLOBAL (protocol 4+) takes the last two strings pushed,
    possibly fetched from the memo, which is tracked for strings only."""
    names: list[str] = []
    recent: list[Any] = []
    memo: dict[int, Any] = {}
    try:
        for op, arg, _ in pickletools.genops(blob):
            if op.name == "GLOBAL":
                names.append(str(arg))
                recent.append(None)
            elif op.name == "STACK_GLOBAL":
                names.append(f"{recent[-2]} {recent[-1]}" if len(recent) >= 2 else "? ?")
                recent.append(None)
            elif "UNICODE" in op.name or op.name in ("STRING", "BINSTRING", "SHORT_BINSTRING"):
                recent.append(arg)
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = recent[-1] if recent else None
            elif op.name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif op.name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(arg))
            elif op.stack_after:
                recent.append(None)
    except Exception:  # noqa: BLE001 - a truncated or odd stream: report what was read
        pass
    return names


def _get(data: Any, dotted: str) -> tuple[bool, Any]:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return False, None
        data = data[part]
    return True, data


def policy_only(data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a loaded checkpoint that rebuilds a `Policy` (POLICY_KEYS, nested as in the
    file, plus the seed when present): no critic, optimiser state, RNG or replay buffer."""
    out: dict[str, Any] = {}
    for key in (*POLICY_KEYS, "seed"):
        found, value = _get(data, key)
        if not found:
            continue
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _require(data: dict[str, Any], keys: Iterable[str], p: Path, purpose: str) -> None:
    missing = [k for k in keys if not _get(data, k)[0]]
    if missing:
        raise CheckpointError(
            f"Checkpoint {p} lacks {', '.join(repr(k) for k in missing)}{purpose}: the file is incomplete or "
            "was edited. Use another checkpoint of the run (checkpoints/last.pt, final.pt or best.pt) or retrain."
        )


# --------------------------------------------------------------------- RNG
def rng_state(np_rng: np.random.Generator, device: torch.device | str = "cpu") -> dict[str, Any]:
    """torch's CPU generator, the accelerator's generators when training there, and numpy's."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state}
    kind = torch.device(device).type
    if kind == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    elif kind == "mps":
        state["torch_mps"] = torch.mps.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any], np_rng: np.random.Generator, device: torch.device | str = "cpu") -> None:
    """Restore what `rng_state` saved; an accelerator state is restored only on the same kind of
    device (a run moved from cuda to cpu continues with the CPU generator alone)."""
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
    kind = torch.device(device).type
    if kind == "cuda" and state.get("torch_cuda") is not None:
        saved = list(state["torch_cuda"])
        if len(saved) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(saved)
        else:  # another machine: seed what exists from the first saved generator
            torch.cuda.set_rng_state(saved[0])
    elif kind == "mps" and state.get("torch_mps") is not None:
        torch.mps.set_rng_state(state["torch_mps"])


# --------------------------------------------------------------- conversion
def convert_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Rewrite a trusted format-1 checkpoint (a full pickle) as a format-2 one (plain data).

    This is the one place that unpickles with weights_only=False: call it only on files
    you wrote yourself. The replay buffer of an old TD3 run is not converted: a resume
    then refills it (see agents.td3).
    """
    src_p, dst_p = Path(src), Path(dst)
    if not src_p.is_file():
        raise CheckpointError(f"Checkpoint {src_p} does not exist (or is not a file); give the path of the old .pt file.")
    if dst_p.resolve() == src_p.resolve():
        raise CheckpointError(f"Converting {src_p} onto itself would lose the original if anything fails; give "
                              "another destination path.")
    try:
        data = torch.load(src_p, map_location="cpu", weights_only=False)
    except Exception as exc:  # any unpickling failure: not a torch file, truncated, wrong classes
        raise CheckpointError(f"{src_p} could not be read as a torch checkpoint ({type(exc).__name__}: "
                              f"{_first_line(str(exc))}); is it a .pt file written by envkit?") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{src_p} is not an envkit agents checkpoint (no '{FORMAT}' format marker).")
    data = {k: v for k, v in data.items() if k not in ("format", "version", "path")}
    for key in ("observation_space", "action_space"):
        if isinstance(data.get(key), gym.Space):
            data[key] = encode_space(data[key])
    save_checkpoint(dst_p, data)
    load_checkpoint(dst_p)  # proves the result loads with weights_only=True
    return dst_p


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m agents.checkpoint",
                                     description="Convert a trusted old (format 1) checkpoint to format 2.")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="only for files you trust: format 1 is unpickled to convert it")
    conv.add_argument("src")
    conv.add_argument("dst")
    args = parser.parse_args(argv)
    try:
        print(f"wrote {convert_checkpoint(args.src, args.dst)}")
    except CheckpointError as exc:
        print(f"python -m agents.checkpoint convert: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
