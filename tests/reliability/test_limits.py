"""Limits: values beyond the documented maxima, files that are not regular files, deep nesting
and long `extends` chains are refused at once with exit status 2, before any work."""

from __future__ import annotations

import os

import pytest

from sim.run import budget
from sim.scenario.limits import MAX_EXTENDS_DEPTH, MAX_NESTING
from sim.scenario.load import Scenario


@pytest.mark.parametrize("setting, shown", [
    ("weeks=1000000000", "weeks: must be between 1 and 10000"),
    ("replications=1000000000000", "replications: must be between 1 and 100000"),
    ("seed=18446744073709551616", "seed: must be between 0 and 18446744073709551615"),
    ("seed=-1", "seed: must be between 0"),
    ("network.seed=18446744073709551616", "network.seed: must be between 0"),
    ("network.n=3000000000", "network.n"),
])
def test_values_beyond_the_limits_are_refused(setting, shown, tiny, womsim):
    status, _, err = womsim("validate", tiny, "--set", setting)
    assert status == 2 and shown in err


def test_the_largest_seed_runs(tiny, womsim, tmp_path):
    status, _, err = womsim("run", tiny, "--seed", str(2**64 - 1), "--reps", "1", "--out",
                            tmp_path / "out")
    assert status == 0, err


def test_cli_options_beyond_the_limits_are_refused(tiny, womsim, tmp_path):
    status, _, err = womsim("run", tiny, "--reps", str(10**12), "--out", tmp_path / "o")
    assert status == 2 and "replications" in err
    assert not (tmp_path / "o").exists()


def test_a_job_that_cannot_fit_in_memory_is_refused_before_it_starts(tiny, womsim, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 24 * 10**9)
    status, _, err = womsim("run", tiny, "--weeks", "10000", "--reps", "100000", "--out",
                            tmp_path / "o")
    assert status == 2 and "GB" in err and "24.0 GB available" in err


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_scenario_path_that_is_not_a_regular_file_is_refused_at_once(kind, tmp_path, womsim):
    path = {"fifo": tmp_path / "pipe.toml", "device": "/dev/zero", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    status, _, err = womsim("validate", path)
    assert status == 2 and ("not a regular file" in err or "is a folder" in err)


def test_an_edge_list_that_is_a_fifo_is_refused(tmp_path, womsim):
    os.mkfifo(tmp_path / "edges.csv")
    (tmp_path / "net.toml").write_text('[network]\nkind = "edgelist"\npath = "edges.csv"\n')
    status, _, err = womsim("validate", tmp_path / "net.toml")
    assert status == 2 and "not a regular file" in err


def test_deeply_nested_tables_are_refused(tmp_path, womsim):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 3000 + "]" * 3000 + "\n")
    status, _, err = womsim("validate", path)
    assert status == 2 and "nested too deeply" in err
    path.write_text("a = " + "[" * (MAX_NESTING + 2) + "]" * (MAX_NESTING + 2) + "\n")
    status, _, err = womsim("validate", path)
    assert status == 2 and f"more than {MAX_NESTING} levels" in err


def test_a_long_extends_chain_is_refused(tmp_path, womsim):
    for i in range(1200):
        (tmp_path / f"s{i}.toml").write_text(f'extends = "s{i + 1}.toml"\n' if i < 1199 else "")
    status, _, err = womsim("validate", tmp_path / "s0.toml")
    assert status == 2 and f"more than {MAX_EXTENDS_DEPTH} files" in err


def test_a_chain_within_the_limit_is_read(tmp_path, womsim):
    for i in range(5):
        (tmp_path / f"s{i}.toml").write_text(f'extends = "s{i + 1}.toml"\n' if i < 4 else
                                             "weeks = 7\n")
    status, out, _ = womsim("validate", tmp_path / "s0.toml")
    assert status == 0 and "7 weeks" in out


def test_a_sweep_beyond_the_largest_size_is_refused(tiny, tmp_path, womsim):
    values = ", ".join(str(0.01 * i) for i in range(101))
    (tmp_path / "exp.toml").write_text(
        f'scenario = "tiny.toml"\nreplications = 1000\n[vary]\n"sharing.base" = [{values}]\n'
        f'"market.innovation" = [{values}]\n')
    status, _, err = womsim("sweep", tmp_path / "exp.toml", "--out", tmp_path / "o")
    assert status == 2 and "10,000,000 runs" in err


def test_a_long_job_says_how_long_and_how_much_memory_before_it_starts():
    large = Scenario.default().with_overrides({"network.n": 1_000_000, "replications": 160,
                                               "weeks": 156})
    # 10^6 customers x 156 weeks x 160 runs at 2e7 customer-weeks per second on one core
    assert budget.run_seconds(large, 1) == pytest.approx(1e6 * 156 * 160 / 2e7)
    assert budget.run_seconds(large, 4) == pytest.approx(budget.run_seconds(large, 1) / 4)
    note = budget.long_job_note(large, 4)
    assert note is not None and "GB" in note and "5.2 minutes on 4 worker(s)" in note
    assert budget.long_job_note(Scenario.default().with_overrides({"network.n": 1000})) is None
