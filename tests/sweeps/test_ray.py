"""The Ray launcher attached to a running Ray cluster, as on a real cluster, but confined.

Ray contacts outside addresses by default (a public DNS server to find its own IP, a cloud
metadata address, a usage-stats endpoint), so this test starts the head node and runs the
sweep inside a loopback-only network namespace (`unshare -n`, then `ip link set lo up`),
with usage stats off and every proxy pointed at a closed local port, and stops Ray on the
way out whatever happens. Where Ray is not installed or a namespace cannot be made (not
root), the test skips: it never runs Ray unconfined.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONFINED_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
    "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    "RAY_AUTH_MODE": "disabled",
    "MPLBACKEND": "Agg",
}


def _can_confine() -> str | None:
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None:
        return 'Ray is not installed (pip install -e ".[ray]")'
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare/ip not available: Ray cannot be confined to loopback here"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up && ip -o addr show lo"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or "127.0.0.1" not in probe.stdout:
        return f"cannot make a loopback-only network namespace here ({probe.stderr.strip() or 'not root?'})"
    return None


TIMEOUT_S = int(os.environ.get("ENVKIT_RAY_TEST_TIMEOUT_S", "600"))


@pytest.mark.skipif(_can_confine() is not None, reason=str(_can_confine()))
def test_ray_launcher_on_a_confined_local_cluster(tmp_path: Path) -> None:
    ray_bin = Path(sys.executable).with_name("ray")
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    sweep = [sys.executable, "-m", "envkit.cli", "sweep", "launcher=ray", "reward=reach_dense,reach_sparse",
             "budget.timesteps=500", "budget.eval_every=250", "budget.eval_episodes=2", "agent.batch_size=250",
             "agent.tensorboard=false", f"out_dir={tmp_path}", "name=ray"]
    # a race launches each rung through the same launcher (sweeps/race.py): paused legs continue on the cluster
    race = [*sweep[:-1], "name=ray_race", "race=true", "race.rungs=[0.5]", "race.min_seeds=2"]
    script = f"""
set -u
ip link set lo up
trap '"{ray_bin}" stop --force >/dev/null 2>&1' EXIT
"{ray_bin}" start --head --node-ip-address=127.0.0.1 --port=6391 --num-cpus=2 --include-dashboard=false \\
    --disable-usage-stats --temp-dir={ray_tmp} >"{tmp_path}/ray_start.log" 2>&1 || {{ cat "{tmp_path}/ray_start.log"; exit 97; }}
RAY_ADDRESS=127.0.0.1:6391 {" ".join(f"'{a}'" for a in sweep)} || exit $?
RAY_ADDRESS=127.0.0.1:6391 {" ".join(f"'{a}'" for a in race)}
"""
    proc = subprocess.Popen(["unshare", "-n", "bash", "-c", script], env={**os.environ, **CONFINED_ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # The script's own `ray stop` never runs when it is killed; Ray's daemons stay in its process
        # group (measured), so killing the group stops the cluster.
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"the confined Ray sweep did not finish in {TIMEOUT_S} s (a loaded machine?); its cluster "
                    f"was stopped. Output so far:\n{stdout}{stderr}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    out = stdout + stderr
    assert proc.returncode == 0, out
    assert "Ray Launcher is launching 2 jobs" in out, out
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "ray").glob("*/summary.json")]
    assert sorted(s["reward"] for s in summaries) == ["reach_dense", "reach_sparse"]
    assert all(s["status"] == "completed" and s["global_step"] >= 400 for s in summaries)
    assert (tmp_path / "ray" / "report" / "comparison.md").is_file() and "Verdict:" in stdout

    record = json.loads((tmp_path / "ray_race" / "race.json").read_text())
    assert record["finished"] and "Ray Launcher is launching 4 jobs" in out  # the first rung: 2 designs x 2 seeds
    for job in (tmp_path / "ray_race").glob("*/summary.json"):
        legs = json.loads((job.parent / "legs.json").read_text())["legs"]
        assert legs[0]["pause_at"] == 250  # paused at the rung on a Ray worker ...
        status = json.loads(job.read_text())["status"]
        assert status in ("completed", "paused")  # ... then continued there, or eliminated
