"""The `womsim` command: run folders, exact repeats from a resolved scenario, overrides, and
one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.app.cli import main
from sim.core.kpis import KPI_NAMES
from sim.present import figures as plots
from sim.present.run_folder import write_run_folder
from sim.run.folders import write_marker
from sim.run.replicates import simulate
from sim.scenario.load import Scenario

TIMESERIES_COLUMNS = [
    "replicate", "week", "unaware", "zmot", "smot", "loyal", "rejected", "churned",
    "stimulus_paid", "stimulus_talk", "stimulus_share", "stimulus_seed", "fmot_buy",
    "fmot_reject", "umot_positive", "umot_negative", "repurchase", "churn", "revenue", "cost",
]

SMALL = """\
name = "small"
weeks = 30
replications = 3
[network]
n = 600
[market]
innovation = 0.5
[[events]]
kind = "seed"
week = 0
count = 5
"""


@pytest.fixture()
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in a JSON file: not JSON")


def test_a_kpi_without_a_value_is_null_in_summary_json(tmp_path):
    # No seeds: the cost per seeded customer is undefined. NaN is not JSON (parsers other than
    # Python's refuse it); null is.
    path = tmp_path / "unseeded.toml"
    path.write_text(SMALL.split("[[events]]")[0])
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--reps", "2"]) == 0
    text = (tmp_path / "run" / "summary.json").read_text()
    summary = json.loads(text, parse_constant=_no_constant)["kpis"]
    assert summary["cac_seed"] == {"mean": None, "p05": None, "p95": None}


def test_run_writes_the_run_folder(small_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(small_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "adopted_fraction" in printed and "small: 3 runs x 30 weeks" in printed
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert set(TIMESERIES_COLUMNS) <= set(timeseries.columns)
    assert len(timeseries) == 3 * 30
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["replicate"]) == [0, 1, 2]
    assert {"seed", "adopted_fraction", *KPI_NAMES} <= set(runs.columns)
    summary = json.loads((out / "summary.json").read_text(), parse_constant=_no_constant)["kpis"]
    assert set(summary) == set(KPI_NAMES)
    mean = summary["adopted_fraction"]
    assert mean["p05"] <= mean["mean"] <= mean["p95"]
    assert mean["mean"] == pytest.approx(runs["adopted_fraction"].mean())
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"adoption_by_source.png", "circle_of_life.png", "states.png"} <= figures
    header = (out / "scenario.toml").read_text().splitlines()[:3]
    assert any(str(seed) in " ".join(header) for seed in runs["seed"])


def test_resolved_scenario_repeats_the_run_exactly(small_file, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", str(small_file), "--out", str(first), "--set", "sharing.base=0.3"]) == 0
    assert main(["run", str(first / "scenario.toml"), "--out", str(second)]) == 0
    for table in ("runs.parquet", "timeseries.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(first / table),
                                      pd.read_parquet(second / table))


def test_command_line_options_override_the_file(small_file, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(small_file), "--out", str(out), "--reps", "2", "--weeks", "12",
                 "--seed", "99", "--set", "sharing.base=0", "--set", "network.kind=erdos_renyi"
                 ]) == 0
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert len(timeseries) == 2 * 12
    assert timeseries[["umot_positive", "umot_negative"]].to_numpy().sum() == 0
    resolved = Scenario.load(out / "scenario.toml")
    assert (resolved.seed, resolved.network.kind, resolved.sharing.base) == (99, "erdos_renyi", 0)


def test_bad_scenario_is_one_line_error_with_exit_status_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("weeks = 20\n[sharing]\nbase = 1.5\n")
    assert main(["run", str(path), "--out", str(tmp_path / "never")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "bad.toml:3: sharing.base: must be between 0 and 1, got 1.5" in error
    assert not (tmp_path / "never").exists()
    assert main(["run", str(tmp_path / "small.toml"), "--set", "sharing.bse=0.2"]) == 2


def test_installed_command_reports_unknown_key(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("[sharing]\nbse = 0.2\n")
    done = subprocess.run([sys.executable, "-m", "sim.app.cli", "validate", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "typo.toml:2: sharing.bse: unknown key 'bse'; did you mean 'base'?" in done.stderr


def test_validate_prints_the_resolved_scenario(small_file, capsys):
    assert main(["validate", str(small_file), "--show"]) == 0
    shown = capsys.readouterr().out
    assert "[network]" in shown and "n = 600" in shown and "imitation = 0.38" in shown


def test_failed_write_keeps_the_previous_run_folder(small_file, tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out)  # a folder womsim wrote, which a new write may replace
    (out / "marker.txt").write_text("the previous run")
    result = simulate(Scenario.load(small_file), workers=1)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(plots, "write_run_figures", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_run_folder(result, out)
    assert (out / "marker.txt").read_text() == "the previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "small.toml"]
