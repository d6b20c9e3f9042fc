"""agents.interrupt: SIGTERM raised as KeyboardInterrupt, after the caller's `before`."""

from __future__ import annotations

import os
import signal
import time

import pytest

from agents.interrupt import sigterm_as_interrupt


def test_sigterm_runs_before_then_raises_keyboard_interrupt_and_the_old_handler_returns() -> None:
    calls: list[str] = []
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with sigterm_as_interrupt(before=lambda: calls.append("before")):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts the sleep
            calls.append("slept")  # never reached
    assert calls == ["before"]
    assert signal.getsignal(signal.SIGTERM) is previous


def test_without_a_signal_the_block_runs_and_nothing_is_called() -> None:
    calls: list[str] = []
    with sigterm_as_interrupt(before=lambda: calls.append("before")):
        calls.append("body")
    assert calls == ["body"]
