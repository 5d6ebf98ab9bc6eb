"""Processes: workers exit soon after their parent dies (kill -9 included), and Ctrl-C stops a
sweep cleanly, keeping every finished part and saying how to resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENV = {**os.environ, "PYTHONPATH": os.getcwd()}

ORPHANS = """
import os, sys, time
from sim.run.pool import process_pool
pool = process_pool(2)
pids = set()
while len(pids) < 2:
    pids |= {f.result() for f in [pool.submit(time.sleep, 0.1) and pool.submit(os.getpid)
                                  for _ in range(8)]}
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_within_10_s_of_a_kill_9_of_their_parent():
    parent = subprocess.Popen([sys.executable, "-c", ORPHANS], stdout=subprocess.PIPE,
                              text=True, env=ENV)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left


SCENARIO = """\
name = "slowish"
weeks = 60
seed = 3
[network]
n = 3000
"""
EXPERIMENT = """\
scenario = "slowish.toml"
replications = 20
seed = 5
kpis = ["adopted_fraction"]
[vary]
"sharing.base" = [0.0, 0.1, 0.2, 0.3]
"""


@pytest.mark.slow
def test_ctrl_c_keeps_finished_parts_and_says_how_to_resume(tmp_path):
    (tmp_path / "slowish.toml").write_text(SCENARIO)
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    command = [sys.executable, "-m", "sim.app.commands.sweep", "exp.toml", "--out", "out",
               "--workers", "2", "--part-size", "1"]
    # Ctrl-C's default action in the sweep, however the tests were started: a shell starts a
    # background job with SIGINT ignored, and a child inherits that
    sweep = subprocess.Popen(command, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    manifest = tmp_path / "out" / "manifest.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(json.loads(manifest.read_text())["parts"]) >= 2:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
    _, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, err
    assert "Traceback" not in err
    parts = json.loads(manifest.read_text())["parts"]
    runs = [run for part in parts for first, last in part["runs"]
            for run in range(first, last + 1)]
    assert len(runs) == len(set(runs))  # no run stored twice
    saved = len(runs)
    assert f"interrupted: {saved} of 80 runs saved; run the same command to resume" in err
    assert 2 <= saved < 80
    assert not (tmp_path / "out" / ".lock").exists()
    resumed = subprocess.run(command, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"computed {80 - saved} runs" in resumed.stdout
