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
    """pybullet prints build lines from C on import and connection: silence them at the fds."""
    streams = []
    for stream in (sys.stdout, sys.stderr):
        try:
            streams.append((stream, stream.fileno()))
        except (AttributeError, ValueError, OSError):
            continue
    saved = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream, fd in streams:
            stream.flush()
            saved.append((stream, fd, os.dup(fd)))
            os.dup2(devnull, fd)
        yield
    finally:
        for stream, fd, copy in saved:
            stream.flush()
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
