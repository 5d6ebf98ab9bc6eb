"""Sweeps: experiment files validated like scenarios, designs, common seeds, identical tables
whatever the executor (this process, local processes, a real Dask cluster), resuming after
SIGKILL without loss or duplicates, failed runs recorded, graphs built once per worker."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import sim
import sim.analysis.sweep.worker as experiment_module
from sim.analysis.sweep import Experiment, run_sweep, runs_of
from sim.app.commands.sweep import main_sweep, register
from sim.core.errors import InputError
from sim.core.kpis import KPI_NAMES
from sim.core.rng import replicate_seed
from sim.run.replicates import simulate
from sim.scenario.load import Scenario, ScenarioError

# A market small and quick enough for many runs: strong paid media so 20 weeks show adoption.
SMALL_SCENARIO = """\
name = "small"
weeks = 20
seed = 11
replications = 2
[network]
n = 300
[market]
innovation = 1.5
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    return write(tmp_path / "small.toml", SMALL_SCENARIO)


def experiment_file(folder: Path, body: str, name: str = "exp.toml") -> Path:
    """An experiment on small.toml (in the same folder) with `body` appended."""
    return write(folder / name, 'scenario = "small.toml"\n' + body)


GRID = """\
replications = 3
seed = 5
kpis = ["adopted_fraction", "profit", "weeks_to_half"]
timeseries = true
[vary]
"product.quality" = [0.5, 0.9]
"sharing.base" = [0.0, 0.3]
"""


def sweep_cli(argv: list[str]) -> int:
    """`womsim sweep ARGS` through `register`, as sim.cli will wire it."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["sweep", *argv])
    return args.func(args)


# --- the experiment file and its design -------------------------------------------------------


def test_grid_points_follow_the_listed_values_first_key_slowest(scenario_file):
    experiment = Experiment.load(experiment_file(scenario_file.parent, GRID))
    assert experiment.points == ({"product.quality": 0.5, "sharing.base": 0.0},
                                 {"product.quality": 0.5, "sharing.base": 0.3},
                                 {"product.quality": 0.9, "sharing.base": 0.0},
                                 {"product.quality": 0.9, "sharing.base": 0.3})
    assert experiment.run_count == 12
    assert experiment.replicate_seeds == [replicate_seed(5, r) for r in range(3)]
    # the experiment's seed replaces the scenario's, as `womsim run --seed` does
    assert experiment.base.seed == 5 and experiment.base.network.n == 300


def test_sampled_designs_have_salibs_sizes_and_stay_in_their_ranges(scenario_file):
    ranges = """\
[vary]
"product.quality" = {low = 0.5, high = 0.9}
"journey.sources" = {low = 2, high = 4}
"""
    folder = scenario_file.parent
    lhs, sobol, morris = (
        Experiment.load(experiment_file(folder, f'design = "{design}"\nsamples = {samples}\n'
                                        + ranges, name=f"{design}.toml"))
        for design, samples in (("lhs", 30), ("sobol", 8), ("morris", 5)))
    # SALib: Sobol without second order N (D + 2); Morris N (D + 1); LHS N points
    assert [len(e.points) for e in (lhs, sobol, morris)] == [30, 8 * 4, 5 * 3]
    for experiment in (lhs, sobol, morris):
        qualities = [p["product.quality"] for p in experiment.points]
        sources = [p["journey.sources"] for p in experiment.points]
        assert min(qualities) >= 0.5 and max(qualities) <= 0.9
        assert all(isinstance(s, int) and 2 <= s <= 4 for s in sources)
    # each whole number of an integer range is drawn (LHS strata cover the widened range)
    assert {p["journey.sources"] for p in lhs.points} == {2, 3, 4}
    # the samples are a function of the file: loading again gives the same points
    assert Experiment.load(lhs.path).points == lhs.points


def test_vary_and_set_accept_nested_tables_and_paths_relative_to_the_file(scenario_file):
    nested = experiment_file(scenario_file.parent, """\
[set.network]
n = 200
[vary.product]
quality = [0.6]
""")
    experiment = Experiment.load(nested)
    assert experiment.points == ({"product.quality": 0.6},)
    assert experiment.base.network.n == 200
    assert experiment.scenario_path == scenario_file.resolve()


BAD_FILES = [
    # (body, key, the message's start or a part of it)
    ("replicatons = 3\n", "replicatons",
     "unknown key 'replicatons'; did you mean 'replications'?"),
    ('[vary]\n"product.qualty" = [0.5]\n', "vary.product.qualty",
     "unknown key 'product.qualty'; did you mean 'product.quality'?"),
    ('design = "sobel"\nsamples = 8\n[vary]\n"product.quality" = {low = 0.1, high = 0.5}\n',
     "design", "unknown design 'sobel'; did you mean 'sobol'?"),
    ('[vary]\n"product.quality" = [0.5, 1.5]\n', "vary.product.quality",
     "must be between 0 and 1, got 1.5"),
    ('design = "lhs"\nsamples = 4\n[vary]\n"sharing.base" = {low = -0.1, high = 0.5}\n',
     "vary.sharing.base.low", "must be between 0 and 1, got -0.1"),
    ('design = "sobol"\nsamples = 100\n[vary]\n"sharing.base" = {low = 0.1, high = 0.5}\n',
     "samples", "must be a power of 2"),
    ('[vary]\n"sharing.base" = {low = 0.1, high = 0.5}\n', "vary.sharing.base",
     "a grid design needs a list of values"),
    ('[vary]\nseed = [1, 2]\n', "vary.seed", "the experiment's own 'seed'"),
    ('kpis = ["adopted_fractio"]\n', "kpis[0]",
     "unknown KPI 'adopted_fractio'; did you mean 'adopted_fraction'?"),
    ('[set]\n"network.n" = 0\n', "set.network.n", "must be between 1 and"),
    # each value is valid alone; the combination breaks the Watts-Strogatz rule
    ('[vary]\n"network.n" = [8, 100]\n"network.mean_degree" = [4, 10]\n', "vary",
     "point 1 (network.n = 8, network.mean_degree = 10): network.mean_degree: must be an even "
     "whole number less than n (8)"),
]


@pytest.mark.parametrize(("body", "key", "message"), BAD_FILES)
def test_bad_experiment_files_give_one_line_errors_naming_file_line_and_key(
        scenario_file, body, key, message):
    path = experiment_file(scenario_file.parent, body)
    with pytest.raises(ScenarioError) as caught:
        Experiment.load(path)
    error = caught.value
    assert error.file == path and error.key == key and message in error.message
    assert error.line is not None and path.read_text().splitlines()[error.line - 1]
    assert "\n" not in str(error) and str(error).endswith(error.message)


def test_missing_scenario_file_and_cli_exit_status_2(tmp_path, capsys):
    path = write(tmp_path / "exp.toml", 'scenario = "nowhere.toml"\n')
    assert main_sweep([str(path), "--out", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr().err.strip()
    assert printed.startswith("womsim: error: ") and "\n" not in printed
    assert f"exp.toml:1: scenario: scenario file not found: {tmp_path / 'nowhere.toml'}" in printed


def test_errors_in_the_base_scenario_name_the_scenario_file(tmp_path):
    write(tmp_path / "small.toml", SMALL_SCENARIO.replace("n = 300", "n = -3"))
    with pytest.raises(ScenarioError) as caught:
        Experiment.load(experiment_file(tmp_path, ""))
    assert caught.value.file == tmp_path / "small.toml" and caught.value.key == "network.n"


# --- running sweeps ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The grid swept in this process: the tables every other executor must reproduce."""
    folder = tmp_path_factory.mktemp("reference")
    write(folder / "small.toml", SMALL_SCENARIO)
    path = experiment_file(folder, GRID)
    result = run_sweep(path, folder / "out", workers=1)
    return path, result


def test_sweep_rows_are_the_runs_of_each_point_with_common_seeds(reference):
    path, result = reference
    experiment = Experiment.load(path)
    runs = result.runs
    assert list(runs.columns) == ["point", "replicate", "seed", "product.quality",
                                  "sharing.base", "adopted_fraction", "profit", "weeks_to_half"]
    assert list(zip(runs["point"], runs["replicate"], strict=True)) == [
        (p, r) for p in range(4) for r in range(3)]
    assert (runs["seed"] == [replicate_seed(5, r) for r in runs["replicate"]]).all()
    # each point's rows are exactly what `simulate` gives for that point's scenario and seed
    for point in range(4):
        expected = simulate(experiment.point_scenario(point), seed=5, replications=3,
                            workers=1).runs
        rows = runs[runs["point"] == point].reset_index(drop=True)
        for kpi in experiment.kpis:
            assert rows[kpi].tolist() == expected[kpi].tolist()
    series = result.timeseries
    assert len(series) == 12 * 20 and not series.duplicated(["point", "replicate", "week"]).any()
    assert result.failed.empty and result.complete


def test_runs_table_reads_with_pandas_and_the_manifest_records_the_sweep(reference):
    path, result = reference
    on_disk = pd.read_parquet(result.folder / "runs")
    pd.testing.assert_frame_equal(
        on_disk.sort_values(["point", "replicate"]).reset_index(drop=True), result.runs)
    manifest = json.loads((result.folder / "manifest.json").read_text())
    experiment = Experiment.load(path)
    assert manifest["replicate_seeds"] == experiment.replicate_seeds
    assert manifest["package_version"] and manifest["experiment"] == str(path)
    resolved = Scenario.from_dict(tomllib.loads(manifest["base_scenario"]))
    assert resolved.stable_hash() == experiment.base.stable_hash()
    assert sorted(run for part in manifest["parts"] for run in runs_of(part)) == list(range(12))


def test_load_sweep_reads_a_folder_back_sorted(
        reference, tmp_path):
    path, result = reference
    tables = sim.load_sweep(result.folder)
    pd.testing.assert_frame_equal(tables.runs, result.runs)
    pd.testing.assert_frame_equal(tables.timeseries, result.timeseries)
    assert tables.manifest["replicate_seeds"] == Experiment.load(path).replicate_seeds
    # shuffled parts (finish order) still read back sorted
    assert list(zip(tables.runs["point"], tables.runs["replicate"], strict=True)) == sorted(
        zip(tables.runs["point"], tables.runs["replicate"], strict=True))
    with pytest.raises(InputError):
        sim.load_sweep(tmp_path)  # no manifest: not a sweep folder


def test_two_local_workers_give_identical_tables(reference, tmp_path):
    path, expected = reference
    result = run_sweep(path, tmp_path / "out", workers=2)
    pd.testing.assert_frame_equal(result.runs, expected.runs)
    pd.testing.assert_frame_equal(result.timeseries, expected.timeseries)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_a_dask_cluster_gives_identical_tables(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    path, expected = reference
    dask = Path(sys.executable).with_name("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    host, port = address[6:].split(":")
    commands = [[str(dask), "scheduler", "--host", host, "--port", port, "--no-dashboard"]]
    commands += [[str(dask), "worker", address, "--nthreads", "1", "--no-dashboard",
                  "--local-directory", str(tmp_path / f"worker{i}")] for i in range(2)]
    processes = []
    try:
        for command in commands:
            processes.append(subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        assert sweep_cli([str(path), "--scheduler", address, "--out",
                          str(tmp_path / "out")]) == 0
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    result = run_sweep(path, tmp_path / "out", workers=1)  # finds every run done
    assert result.computed == 0
    pd.testing.assert_frame_equal(result.runs, expected.runs)
    pd.testing.assert_frame_equal(result.timeseries, expected.timeseries)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["sessions"][0]["executor"] == f"Dask cluster at {address}"


def test_parts_are_written_every_k_runs_so_results_never_pile_up(reference, tmp_path):
    path, expected = reference
    result = run_sweep(path, tmp_path / "out", workers=1, part_runs=5)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [part["runs"] for part in manifest["parts"]] == [[[0, 4]], [[5, 9]], [[10, 11]]]
    assert sorted(p.name for p in (tmp_path / "out" / "runs").iterdir()) == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    pd.testing.assert_frame_equal(result.runs, expected.runs)


def test_a_finished_sweep_run_again_computes_nothing(reference):
    path, expected = reference
    again = run_sweep(path, expected.folder, workers=1)
    assert again.computed == 0
    pd.testing.assert_frame_equal(again.runs, expected.runs)


def test_a_folder_holding_another_sweep_is_refused(reference, scenario_file):
    _, expected = reference
    other = experiment_file(scenario_file.parent, GRID.replace("seed = 5", "seed = 6"))
    with pytest.raises(ScenarioError, match="holds a different sweep"):
        run_sweep(other, expected.folder, workers=1)


def test_each_graph_is_built_once_per_worker(scenario_file, monkeypatch, tmp_path):
    built = []

    def counting(scenario):
        built.append(scenario.network.seed)
        return real(scenario)

    real = experiment_module.build_scenario_graph
    monkeypatch.setattr(experiment_module, "build_scenario_graph", counting)
    monkeypatch.setattr(experiment_module, "_graphs", type(experiment_module._graphs)())
    path = experiment_file(scenario_file.parent, """\
replications = 3
[vary]
"network.seed" = [1, 2]
"product.quality" = [0.5, 0.7, 0.9]
""")
    result = run_sweep(path, tmp_path / "out", workers=1)
    assert len(result.runs) == 18
    assert built == [1, 2]  # 18 runs on two graphs: each built once


RESUMABLE = """\
replications = 2
kpis = ["adopted_fraction", "nps"]
timeseries = true
[vary]
"product.quality" = [0.40, 0.42, 0.44, 0.46, 0.48, 0.50, 0.52, 0.54, 0.56, 0.58,
                     0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72, 0.74, 0.76, 0.78]
"sharing.base" = [0.1, 0.2, 0.3]
"""


def done_runs(folder: Path) -> list[int]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [run for part in manifest["parts"] for run in runs_of(part)]


@pytest.mark.slow
def test_resume_after_sigkill_recomputes_only_the_missing_runs(scenario_file, tmp_path):
    path = experiment_file(scenario_file.parent, RESUMABLE)
    out = tmp_path / "out"
    total = Experiment.load(path).run_count  # 120
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.app.commands.sweep", str(path), "--out", str(out), "--workers",
         "1", "--part-size", "3"], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(done_runs(out)) < 6 and process.poll() is None:
            assert time.monotonic() < deadline, "the sweep wrote no parts"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    done = done_runs(out)
    assert 6 <= len(done) < total

    resumed = run_sweep(path, out, workers=1)
    assert resumed.computed == total - len(done)  # only what was missing
    uninterrupted = run_sweep(path, tmp_path / "uninterrupted", workers=1)
    pd.testing.assert_frame_equal(resumed.runs, uninterrupted.runs)
    pd.testing.assert_frame_equal(resumed.timeseries, uninterrupted.timeseries)
    assert not resumed.runs.duplicated(["point", "replicate"]).any()
    assert len(resumed.runs) == total
    # nothing written before the kill was lost or rewritten: its runs are in the first parts
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["computed"] for s in manifest["sessions"]][-1] == total - len(done)
    assert sorted(done_runs(out)) == list(range(total))
    # every file left in the folder is a part the manifest lists (leftovers were removed)
    listed = {part["name"] for part in manifest["parts"]}
    for table in ("runs", "timeseries"):
        assert {p.name for p in (out / table).iterdir()} == listed


# --- failures ---------------------------------------------------------------------------------


def edge_lists(folder: Path) -> None:
    """good.csv: a ring of 40 customers; bad.csv: the same with one tie strength of 1.5, which
    the edge-list reader rejects when the graph is built, in the worker (validation only checks
    that the file exists: edge lists can be gigabytes)."""
    rows = [f"{i},{(i + 1) % 40},1.0" for i in range(40)]
    write(folder / "good.csv", "source,target,weight\n" + "\n".join(rows) + "\n")
    rows[7] = "7,8,1.5"
    write(folder / "bad.csv", "source,target,weight\n" + "\n".join(rows) + "\n")


FAILING = """\
replications = 2
kpis = ["adopted_fraction"]
[set]
"network.kind" = "edgelist"
"network.path" = "good.csv"
[vary]
"network.path" = ["good.csv", "bad.csv"]
"""


def test_a_failing_run_is_recorded_and_the_others_finish(scenario_file, tmp_path, capsys):
    edge_lists(scenario_file.parent)
    path = experiment_file(scenario_file.parent, FAILING)
    out = tmp_path / "out"
    assert sweep_cli([str(path), "--out", str(out), "--workers", "1"]) == 1
    error = capsys.readouterr().err
    assert "2 of 4 runs failed" in error and "--rerun 1:0" in error
    result = run_sweep(path, out, workers=1)  # failed runs are retried, and fail again
    assert result.computed == 2
    assert list(result.runs["point"]) == [0, 0]
    failed = result.failed
    assert list(failed["point"]) == [1, 1] and list(failed["replicate"]) == [0, 1]
    assert list(failed["seed"]) == [replicate_seed(11, r) for r in (0, 1)]
    assert failed["error"].str.contains("InputError: .*bad.csv:9: weight 1.5").all()
    assert not result.complete
    # --rerun runs one here and lets its error through, traceback and all
    with pytest.raises(ValueError, match="weight 1.5"):
        sweep_cli([str(path), "--rerun", "1:0"])
    assert sweep_cli([str(path), "--rerun", "0:1"]) == 0
    assert "ran without error" in capsys.readouterr().out


def test_kpis_default_to_all(scenario_file, tmp_path):
    path = experiment_file(scenario_file.parent, 'replications = 1\n[vary]\nweeks = [10]\n')
    runs = run_sweep(path, tmp_path / "out", workers=1).runs
    assert list(runs.columns) == ["point", "replicate", "seed", "weeks", *KPI_NAMES]
    assert math.isfinite(runs["adopted_fraction"].iloc[0])


def test_an_experiment_from_a_dict_equals_its_file(scenario_file):
    path = experiment_file(scenario_file.parent, GRID)
    from_file = Experiment.load(path)
    from_dict = Experiment.from_dict(tomllib.loads('scenario = "small.toml"\n' + GRID),
                                     base_dir=scenario_file.parent)
    assert from_dict.points == from_file.points and from_dict.base == from_file.base
    assert from_dict.fingerprint() == from_file.fingerprint()
