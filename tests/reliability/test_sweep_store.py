"""The sweep store verifies itself: damaged or missing parts are computed again on resume, a
changed input is refused by name, a lock keeps a second sweep out, a damaged manifest is an
exit-2 message, and `womsim verify` reports each part."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from sim.analysis.sweep import run_sweep
from sim.analysis.sweep.integrity import LOCK, SweepLock
from sim.scenario.load import ScenarioError

SCENARIO = """\
name = "small"
weeks = 5
seed = 3
[network]
kind = "edgelist"
path = "edges.csv"
[market]
innovation = 1.5
"""
EXPERIMENT = """\
scenario = "small.toml"
replications = 2
seed = 5
kpis = ["adopted_fraction"]
timeseries = true
[vary]
"sharing.base" = [0.0, 0.3]
"""


@pytest.fixture()
def experiment(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target\n" + "".join(
        f"{i},{(i * 7 + 1) % 60}\n" for i in range(60)))
    (tmp_path / "small.toml").write_text(SCENARIO)
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture()
def swept(experiment, tmp_path):
    """A finished sweep of 4 runs in 4 parts, and its runs table."""
    out = tmp_path / "out"
    result = run_sweep(experiment, out, workers=1, part_runs=1)
    return out, result.runs


def _resume(experiment, out):
    return run_sweep(experiment, out, workers=1, part_runs=1)


def test_a_truncated_part_is_computed_again(experiment, swept):
    out, reference = swept
    part = out / "runs" / "part-00001.parquet"
    part.write_bytes(part.read_bytes()[:40])
    resumed = _resume(experiment, out)
    assert resumed.computed == 1
    pd.testing.assert_frame_equal(resumed.runs, reference)


def test_a_bit_flip_is_detected_by_the_checksum(experiment, swept):
    out, reference = swept
    part = out / "timeseries" / "part-00002.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x10
    part.write_bytes(bytes(data))
    resumed = _resume(experiment, out)
    assert resumed.computed == 1
    pd.testing.assert_frame_equal(resumed.timeseries.reset_index(drop=True),
                                  _resume(experiment, out).timeseries.reset_index(drop=True))
    pd.testing.assert_frame_equal(resumed.runs, reference)


def test_a_deleted_part_is_computed_again(experiment, swept):
    out, reference = swept
    (out / "runs" / "part-00000.parquet").unlink()
    resumed = _resume(experiment, out)
    assert resumed.computed == 1 and len(resumed.runs) == 4
    pd.testing.assert_frame_equal(resumed.runs, reference)


def test_a_changed_edge_list_is_refused_by_name(experiment, swept, tmp_path):
    out, _ = swept
    with (tmp_path / "edges.csv").open("a") as handle:
        handle.write("0,59\n")
    with pytest.raises(ScenarioError, match="the edge list edges.csv changed since"):
        _resume(experiment, out)


def test_a_changed_node_list_is_refused_by_name(experiment, tmp_path):
    (tmp_path / "nodes.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(62)))
    (tmp_path / "small.toml").write_text(SCENARIO.replace('path = "edges.csv"',
                                                          'path = "edges.csv"\n'
                                                          'nodes = "nodes.csv"'))
    out = tmp_path / "out"
    run_sweep(experiment, out, workers=1, part_runs=1)
    with (tmp_path / "nodes.csv").open("a") as handle:
        handle.write("62\n")
    with pytest.raises(ScenarioError, match="the node list nodes.csv changed since"):
        _resume(experiment, out)


def test_a_changed_scenario_is_refused_by_name(experiment, swept, tmp_path):
    out, _ = swept
    (tmp_path / "small.toml").write_text(SCENARIO.replace("weeks = 5", "weeks = 6"))
    with pytest.raises(ScenarioError, match="the resolved scenario small.toml changed since"):
        _resume(experiment, out)


@pytest.mark.parametrize("garbage", [b"{not json", b"[]", b'{"format": "other"}', b"\xff\xfe"])
def test_a_damaged_manifest_is_exit_2(experiment, swept, womsim, garbage):
    out, _ = swept
    (out / "manifest.json").write_bytes(garbage)
    status, _, err = womsim("sweep", experiment, "--out", out, "--workers", "1")
    assert status == 2 and "manifest" in err and "Traceback" not in err


def test_a_second_sweep_into_the_same_folder_is_refused(experiment, tmp_path, womsim):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        out.mkdir()
        (out / LOCK).write_text(f"{holder.pid}\n")
        status, _, err = womsim("sweep", experiment, "--out", out, "--workers", "1")
        assert status == 2 and f"process {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over(experiment, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(dead.stdout)
    assert len(run_sweep(experiment, out, workers=1).runs) == 4
    assert not (out / LOCK).exists()


def test_the_lock_is_released_after_a_failure(experiment, tmp_path):
    lock = SweepLock(tmp_path)
    lock.acquire()
    assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
    lock.release()
    assert not (tmp_path / LOCK).exists()


def test_verify_reports_each_part(experiment, swept, womsim):
    out, _ = swept
    status, printed, _ = womsim("verify", out)
    assert status == 0 and printed.count(": ok, 1 runs") == 4
    assert "4 of 4 runs stored and sound" in printed
    (out / "runs" / "part-00003.parquet").write_bytes(b"PAR1")
    status, printed, _ = womsim("verify", out)
    assert status == 1 and "part-00003.parquet: runs/part-00003.parquet: checksum" in printed
    assert "3 of 4 runs" in printed


def test_verify_of_a_folder_that_is_no_sweep_is_exit_2(tmp_path, womsim):
    assert womsim("verify", tmp_path)[0] == 2


def test_the_manifest_records_checksums_rows_and_inputs(swept):
    out, _ = swept
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(part["rows"] == {"runs": 1, "timeseries": 5} for part in manifest["parts"])
    assert all(len(part["checksums"]) == 2 for part in manifest["parts"])
    assert set(manifest["inputs"]) == {"the resolved scenario small.toml", "the edge list "
                                       "edges.csv", "the design (points, seeds and KPIs)"}


def test_a_changed_edge_list_the_design_varies_over_is_refused(experiment, tmp_path):
    (tmp_path / "other.csv").write_text("source,target\n1,2\n2,3\n3,1\n")
    varied = tmp_path / "varied.toml"
    varied.write_text(EXPERIMENT.replace('"sharing.base" = [0.0, 0.3]',
                                         '"network.path" = ["edges.csv", "other.csv"]'))
    run_sweep(varied, tmp_path / "v", workers=1)
    (tmp_path / "other.csv").write_text("source,target\n1,2\n2,3\n")
    with pytest.raises(ScenarioError, match="the edge list other.csv changed since"):
        run_sweep(varied, tmp_path / "v", workers=1)
