"""silence_stdout: C-level prints (pybullet's build and connection lines) are silenced at fds 1
and 2, also when Python's sys.stdout has been replaced (pytest's capture, notebooks)."""

from __future__ import annotations

import io
import os
import sys

import pytest

from envkit.backends.stdio import silence_stdout


@pytest.mark.parametrize("replace", [False, True])
def test_c_level_writes_are_silenced_and_the_fds_restored(
    replace: bool, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if replace:
        monkeypatch.setattr(sys, "stdout", io.StringIO())  # no usable fileno()
    with silence_stdout():
        os.write(1, b"C line on fd 1\n")
        os.write(2, b"C line on fd 2\n")
    os.write(1, b"after\n")
    os.write(2, b"after err\n")
    out, err = capfd.readouterr()
    assert out == "after\n" and err == "after err\n"


def test_the_fds_come_back_after_an_error(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), silence_stdout():
        raise RuntimeError("boom")
    os.write(1, b"still here\n")
    assert capfd.readouterr().out == "still here\n"
