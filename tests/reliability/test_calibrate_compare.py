"""Calibration and comparison refuse bad data and broken networks before any simulation."""

from __future__ import annotations

import os

import pytest

import sim.analysis.calibrate.fit as fit_module
import sim.analysis.compare as compare_module

FIT = ("--fit", "market.imitation=0.05:0.6", "--reps", "2", "--refits", "0")


@pytest.fixture()
def no_simulation(monkeypatch):
    """Fail the test if anything is simulated."""
    def refuse(*args, **kwargs):
        pytest.fail("simulated before refusing the input")

    monkeypatch.setattr(compare_module, "simulate", refuse)
    monkeypatch.setattr(fit_module, "_prepare", _checked_only(fit_module._prepare, refuse))


def _checked_only(prepare, refuse):
    def wrapped(*args, **kwargs):
        prepare(*args, **kwargs)
        refuse()
    return wrapped


@pytest.mark.usefixtures("no_simulation")
@pytest.mark.parametrize("data, shown", [
    ("week,adopted_fraction\n0,0\n1,0\n2,0\n", "nobody adopted"),
    ("week,adopted_fraction\n0,0.1\n1,0.3\n2,0.2\n", "non-monotone cumulative series"),
    ("week,adopted_fraction\n0,0.1\n1,abc\n", "'abc' is not a number"),
    ("", "empty file"),
    ("week,adopted_fraction\n", "no data rows"),
])
def test_bad_adoption_data_is_refused_before_fitting(data, shown, tiny, tmp_path, womsim):
    (tmp_path / "data.csv").write_text(data)
    status, _, err = womsim("calibrate", tiny, "--data", tmp_path / "data.csv", *FIT,
                            "--out", tmp_path / "o")
    assert status == 2 and shown in err and "Traceback" not in err


@pytest.mark.usefixtures("no_simulation")
@pytest.mark.parametrize("kind", ["folder", "fifo", "missing"])
def test_data_that_is_not_a_file_is_refused(kind, tiny, tmp_path, womsim):
    data = tmp_path / "data.csv"
    if kind == "folder":
        data.mkdir()
    elif kind == "fifo":
        os.mkfifo(data)
    status, _, err = womsim("calibrate", tiny, "--data", data, *FIT, "--out", tmp_path / "o")
    assert status == 2 and "data.csv" in err


@pytest.mark.usefixtures("no_simulation")
def test_compare_with_a_broken_edge_list_stops_before_any_run(tiny, tmp_path, womsim):
    (tmp_path / "edges.csv").write_text("source;target\n1;2\n")
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\n[network]\nkind = "edgelist"\npath = "edges.csv"\n')
    status, _, err = womsim("compare", tiny, broken, "--out", tmp_path / "o")
    assert status == 2 and "edges.csv:1" in err and "separated by ';'" in err


@pytest.mark.usefixtures("no_simulation")
def test_compare_into_a_foreign_folder_stops_before_any_run(tiny, tmp_path, womsim):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "mine.txt").write_text("")
    status, _, err = womsim("compare", tiny, tiny, "--out", tmp_path / "o")
    assert status == 2 and "not written by womsim" in err
