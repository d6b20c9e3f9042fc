"""sweeps.stopping: `kill PID` of a launcher stops the processes below it (real processes, /proc).

Each case runs in its own Python process that plays the launcher, so that stopping "every
process below me" never touches pytest's own children.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")

ROOT = Path(__file__).resolve().parents[2]

# a trial: marks itself interrupted on SIGTERM, and has a child of its own (like an env worker)
TRIAL = """
import signal, subprocess, sys, time
from pathlib import Path
mark = Path(sys.argv[1])
kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
def stop(signum, frame):
    kid.terminate(); kid.wait()
    mark.write_text("interrupted")
    sys.exit(130)
signal.signal(signal.SIGTERM, stop)
time.sleep(120)
"""

# a trial that ignores SIGTERM (stuck in native code, say)
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(120)
"""

LAUNCHER = """
import json, os, subprocess, sys, time
from sweeps.stopping import alive, descendants, stop_descendants
trial_code, mark, grace = sys.argv[1], sys.argv[2], float(sys.argv[3])
# a worker (like joblib's) that starts the trial: the trial is a grandchild of the launcher
worker = subprocess.Popen([sys.executable, "-c",
    "import subprocess, sys; subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2], '-m', 'sweeps.' + 'worker'])",
    trial_code, mark])
deadline = time.monotonic() + 60
while len(descendants(os.getpid())) < (3 if "kid" in trial_code else 2) and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(0.5)  # let the trial install its handler
tree = descendants(os.getpid())
killed = stop_descendants(grace=grace)
print(json.dumps({"tree": tree, "worker": worker.pid, "killed": killed, "alive": [p for p in tree if alive(p)]}))
"""


def _launch(tmp_path: Path, trial: str, grace: float) -> tuple[dict, str, Path]:
    mark = tmp_path / "mark"
    r = subprocess.run([sys.executable, "-c", LAUNCHER, textwrap.dedent(trial), str(mark), str(grace)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr, mark


def test_the_trial_below_a_worker_is_stopped_and_marks_itself_interrupted(tmp_path: Path) -> None:
    out, err, mark = _launch(tmp_path, TRIAL, grace=30)
    # worker -> trial -> the trial's own child: three levels, parents first
    assert len(out["tree"]) == 3 and out["tree"][0] == out["worker"]
    assert mark.read_text() == "interrupted"  # the trial got SIGTERM and ran its own stop
    assert out["killed"] == [] and out["alive"] == []
    assert "stopping 1 running trial (SIGTERM)" in err
    assert "did not stop" not in err


def test_a_trial_that_ignores_sigterm_is_killed_after_the_grace_and_said(tmp_path: Path) -> None:
    out, err, _ = _launch(tmp_path, STUBBORN, grace=1)
    assert len(out["tree"]) == 2
    trial = out["tree"][1]
    assert out["killed"] == [trial] and out["alive"] == []
    assert f"trial process(es) {trial} did not stop within 1 s and were killed" in err


# a resource tracker (joblib's loky starts one per launcher): it reads its pipe until the launcher
# exits, then cleans up; a SIGTERM before that makes it print a traceback and skip the cleanup
TRACKER = """
import signal, sys
from pathlib import Path
mark = Path(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: (mark.write_text("terminated"), sys.exit(1)))
sys.stdin.read()  # EOF once every holder of the pipe's write end (the launcher) is gone
mark.write_text("cleaned up")
"""

LAUNCHER_WITH_TRACKER = """
import json, os, subprocess, sys, time
from sweeps.stopping import alive, descendants, stop_descendants
trial_code, tracker_code, mark, tracker_mark = sys.argv[1:5]
# the command line of a real one: python -B -c "from <package>.resource_tracker import main; main(fd)"
tracker_code = "# from multiprocessing.resource_tracker import main; main(5)" + chr(10) + tracker_code
tracker = subprocess.Popen([sys.executable, "-B", "-c", tracker_code, tracker_mark], stdin=subprocess.PIPE)
trial = subprocess.Popen([sys.executable, "-c", trial_code, mark, "-m", "sweeps." + "worker"])
deadline = time.monotonic() + 60
while len(descendants(os.getpid())) < 3 and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(0.5)
killed = stop_descendants(grace=30)
print(json.dumps({"tracker": tracker.pid, "killed": killed, "tracker_alive": alive(tracker.pid)}), flush=True)
os._exit(130)  # as the launcher does after the stop: the tracker's pipe closes with it
"""


def test_resource_trackers_are_left_to_end_with_the_launcher(tmp_path: Path) -> None:
    mark, tracker_mark = tmp_path / "mark", tmp_path / "tracker"
    r = subprocess.run([sys.executable, "-c", LAUNCHER_WITH_TRACKER, textwrap.dedent(TRIAL), textwrap.dedent(TRACKER),
                        str(mark), str(tracker_mark)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 130, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert mark.read_text() == "interrupted"
    assert out["tracker_alive"] and out["killed"] == []  # the stop did not touch it ...
    deadline = time.monotonic() + 30
    while not tracker_mark.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tracker_mark.read_text() == "cleaned up"  # ... and it ended on its own once the launcher had gone
