"""SIGTERM handled like Ctrl-C by the processes that train.

Why: a training stopped with `kill PID` used to die without a word, its status.json still
saying "running". Background jobs started from a script (`nohup envkit ... &`) ignore
SIGINT, so for them SIGTERM is the signal that arrives: raised as KeyboardInterrupt, it
takes the same path as Ctrl-C (the run marks itself interrupted at the step it reached and
keeps its checkpoints for a resume).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def sigterm_as_interrupt(before: Callable[[], None] | None = None) -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt after calling `before` (a launcher stops
    its children there). Outside the main thread signals cannot be handled: the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut `before` short
        if before is not None:
            before()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
