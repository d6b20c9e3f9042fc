"""Quiet simulators: pybullet prints from C straight to the process's file descriptors.

pybullet writes its build time on import and connection lines on `connect`, from C,
so `contextlib.redirect_stdout` cannot catch them: `silence_stdout` points fds 1
and 2 at /dev/null for the duration and restores them after, also on errors.
Every backend module that imports or connects a simulator goes through it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silence_stdout() -> Iterator[None]:
    """pybullet prints build lines from C on import and connection: silence them at the fds.

    The C code writes to fds 1 and 2 whatever Python's `sys.stdout` is, so those two fds
    are redirected, not the fds of `sys.stdout`/`sys.stderr`: a replaced stream (pytest's
    capture, a notebook, a logging shim) has no fd or another one, and skipping it would
    let the C lines through. Python's streams are flushed first so nothing they buffered
    is lost or reordered.
    """
    _flush_python_streams()
    saved = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # the fd is closed (a daemon): nothing to silence
                continue
            os.dup2(devnull, fd)
        yield
    finally:
        _flush_python_streams()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _flush_python_streams() -> None:
    """Flush whatever sys.stdout and sys.stderr are now (a replaced stream may not flush)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
