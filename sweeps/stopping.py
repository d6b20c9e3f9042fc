"""`kill PID` of a sweep stops its trials too, instead of leaving them training as orphans.

Why: each trial trains in a process two levels below the launcher (`envkit sweep` -> joblib
worker -> `python -m sweeps.worker`). Ctrl-C in a terminal reaches all of them (one process
group), but `kill PID` (the way to stop a sweep started with `nohup ... &`, which ignores
SIGINT) reached the launcher only: it died, its trials trained on unseen, and a rerun started
a second copy of each, writing into the same folder. On SIGTERM the launcher now passes it to
its trials (each marks itself interrupted and keeps its checkpoints) and to its own workers,
waits for them, and exits as after Ctrl-C. The process tree is read from /proc (Linux); where
there is none, only the launcher stops, as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from agents.interrupt import sigterm_as_interrupt

PROC = Path("/proc")
#: How long the trials get to mark themselves interrupted before they are killed.
GRACE_S = 60.0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1])


def _levels(pid: int) -> list[list[int]]:
    """The processes below `pid` by generation: its children, their children, ... ([] without /proc)."""
    parent_of: dict[int, int] = {}
    for entry in PROC.glob("[0-9]*") if PROC.is_dir() else ():
        st = _stat(int(entry.name))
        if st is not None:
            parent_of[int(entry.name)] = st[1]
    levels: list[list[int]] = []
    frontier = [pid]
    while frontier := sorted(p for p, pp in parent_of.items() if pp in frontier):
        levels.append(frontier)
    return levels


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before their children ([] without /proc)."""
    return [p for level in _levels(pid) for p in level]


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie has ended; its parent has not reaped it yet


def _cmdline(pid: int) -> list[bytes]:
    """The arguments a process was started with ([] when it is gone)."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def _after(args: list[bytes], flag: bytes) -> bytes:
    """The argument that follows `flag` (`-m`, `-c`), b"" without one."""
    return args[args.index(flag) + 1] if flag in args[:-1] else b""


def _is_trial(pid: int) -> bool:
    # started as `python -m sweeps.worker JOB_DIR ...` (sweeps.trial.train_in_child)
    return _after(_cmdline(pid), b"-m") == b"sweeps.worker"


def _is_resource_tracker(pid: int) -> bool:
    """joblib's (loky's) and multiprocessing's resource trackers: they clean shared memory up once the
    launcher, which holds their pipe, exits. Killed before that, they print a traceback and may leave
    /dev/shm folders behind, so they are left to end with the launcher."""
    # started as `python [-B ...] -c "from <package>.resource_tracker import main; main(fd, ...)"`
    return b"resource_tracker import main" in _after(_cmdline(pid), b"-c")


def _signal(pids: list[int], sig: int) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def _wait(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.2)


def stop_descendants(grace: float = GRACE_S) -> list[int]:
    """SIGTERM to this process's trials and to its own workers at once (a worker left alive would start
    the next trial); wait up to `grace` s for the trials to end; then SIGTERM, and after 5 s SIGKILL, to
    whatever of the tree is left, except resource trackers (they end with this process). Returns the
    processes that had to be killed."""
    levels = _levels(os.getpid())
    if not levels:
        return []
    tree = [p for level in levels for p in level if not _is_resource_tracker(p)]
    trials = [p for p in tree if _is_trial(p)]
    if trials:
        print(f"envkit: stopping {len(trials)} running trial{'s' if len(trials) != 1 else ''} (SIGTERM): "
              "each marks itself interrupted and keeps its checkpoints ...", file=sys.stderr, flush=True)
    _signal(sorted(set(trials) | (set(levels[0]) & set(tree))), signal.SIGTERM)
    left = _wait(trials, grace)
    _signal(_wait(tree, 0.0), signal.SIGTERM)
    rest = _wait(tree, 5.0)
    _signal(rest, signal.SIGKILL)
    _wait(rest, 5.0)
    if left:
        print(f"envkit: trial process(es) {', '.join(map(str, left))} did not stop within {grace:.0f} s and were "
              "killed; a rerun continues them from their last checkpoint.", file=sys.stderr, flush=True)
    return rest


@contextlib.contextmanager
def stop_tree_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM stops the trials below this process, then raises KeyboardInterrupt."""
    with sigterm_as_interrupt(before=stop_descendants):
        yield
