"""Fuzzing the inputs a user writes: scenario files, edge lists and adoption data. Whatever the
content, `womsim` ends with exit status 0, or 2 and a one-line message; never a traceback, never
a hang (each example has a 10 s deadline)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.analysis.calibrate.fit as fit_module
from sim.app.cli import main
from sim.scenario.toml_io import toml_text

FUZZ = settings(max_examples=60, deadline=10_000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

SCALARS = st.one_of(
    st.integers(min_value=-5, max_value=300), st.floats(min_value=-1, max_value=2),
    st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
    st.booleans(), st.text(max_size=12), st.sampled_from(
        ["edges.csv", "edgelist", "complete", "barabasi_albert", "seed", "../x.toml", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)
KEYS = {
    "": ["weeks", "seed", "replications", "name", "extends", "description", "bogus"],
    "network": ["kind", "n", "mean_degree", "path", "seed", "directed", "rewire", "degrees"],
    "market": ["innovation", "imitation"],
    "sharing": ["base"],
}
SMALL = {"weeks": 3, "replications": 1, "network": {"n": 50}}


def _scenario_tables():
    entries = [(section, key) for section, keys in KEYS.items() for key in keys]
    return st.dictionaries(st.sampled_from(entries), VALUES, max_size=5)


def _womsim(capsys, *args) -> None:
    """Run womsim; assert it ends in 0, or 2 with a one-line message."""
    status = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert status in (0, 2), err
    if status == 2:
        message = err.strip().splitlines()
        assert message and message[-1].startswith("womsim: error: "), err
        assert "Traceback" not in err


def _table(entries) -> dict:
    table: dict = {key: dict(value) for key, value in SMALL.items() if isinstance(value, dict)}
    table.update({key: value for key, value in SMALL.items() if not isinstance(value, dict)})
    for (section, key), value in entries.items():
        target = table.setdefault(section, {}) if section else table
        if isinstance(target, dict):
            target[key] = value
    return table


def _writable(value) -> bool:
    """Whether TOML can hold the value (no None, no keys that are empty after quoting)."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _writable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_writable(v) for v in value)
    return value is not None


@given(entries=_scenario_tables())
@FUZZ
def test_scenario_files(entries, capsys):
    table = _table(entries)
    if not _writable(table):
        return
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "edges.csv").write_text("source,target\n1,2\n2,3\n")
        path = Path(folder) / "s.toml"
        path.write_text(toml_text(table))
        _womsim(capsys, "validate", path)


@given(text=st.text(max_size=200))
@FUZZ
def test_scenario_files_of_any_text(text, capsys):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        _womsim(capsys, "validate", path)


CELLS = st.one_of(st.integers(-3, 30).map(str), st.sampled_from(
    ["", " 1", "1.0", "2.5", "-1", "nan", "inf", "1e400", "x", '"q,u"', "0.5", "1e0"]),
    st.text(max_size=4))


@given(header=st.sampled_from(["source,target", "source,target,weight", "source;target",
                               "target,source,weight", "src,dst", ""]),
       rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), max_size=8),
       raw=st.binary(max_size=40))
@FUZZ
def test_edge_lists(header, rows, raw, capsys):
    content = (header + "\n" + "\n".join(",".join(row) for row in rows)).encode(
        "utf-8", "surrogatepass") + raw
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "edges.csv").write_bytes(content)
        path = Path(folder) / "s.toml"
        path.write_text('[network]\nkind = "edgelist"\npath = "edges.csv"\n')
        _womsim(capsys, "validate", path)


class _Accepted(Exception):
    """The data passed every check; the fit itself is not the fuzz test's business."""


@pytest.fixture()
def checks_only(monkeypatch):
    prepare = fit_module._prepare

    def checked(*args, **kwargs):
        prepare(*args, **kwargs)
        raise _Accepted

    monkeypatch.setattr(fit_module, "_prepare", checked)


@pytest.mark.usefixtures("checks_only")
@given(header=st.sampled_from(["week,adopted_fraction", "month,adopted_percent",
                               "week,adopted", "year,adopted", "week,week", "t,x", ""]),
       rows=st.one_of(
           st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)),
                    max_size=6),
           st.lists(st.floats(0, 0.2), min_size=2, max_size=6).map(
               lambda steps: [(float(week), min(1.0, sum(steps[:week + 1])))
                              for week in range(len(steps))])),
       junk=st.text(max_size=10))
@FUZZ
def test_adoption_data(header, rows, junk, capsys, tiny):
    lines = [header] + [f"{a!r},{b!r}" if math.isfinite(a) else f"{a},{b}" for a, b in rows]
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.csv"
        data.write_bytes(("\n".join(lines) + junk).encode("utf-8", "surrogatepass"))
        try:
            _womsim(capsys, "calibrate", tiny, "--data", data, "--fit",
                    "market.imitation=0.05:0.6", "--reps", "1", "--refits", "0", "--out",
                    Path(folder) / "out")
        except _Accepted:
            pass


@pytest.fixture(scope="module", autouse=True)
def compiled():
    """The kernels compiled (or loaded from Numba's cache) before any timed example: on a fresh
    install the first run compiles for about a minute, which is no hang."""
    from sim import Scenario, simulate

    simulate(Scenario.from_dict(SMALL), workers=1)


@pytest.fixture()
def tables_only(monkeypatch):
    """`womsim run` writes its tables but not its figures and report (the slow part)."""
    import sim.present.run_folder as run_folder

    monkeypatch.setattr(run_folder, "write_run_folder",
                        lambda result, folder, command=None: result.write(folder, command))


@pytest.mark.usefixtures("tables_only")
@given(entries=_scenario_tables())
@settings(FUZZ, max_examples=20)
def test_scenario_files_that_validate_also_run(entries, capsys):
    table = _table(entries)
    if not _writable(table):
        return
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "edges.csv").write_text("source,target\n1,2\n2,3\n")
        path = Path(folder) / "s.toml"
        path.write_text(toml_text(table))
        _womsim(capsys, "run", path, "--reps", "1", "--weeks", "3", "--workers", "1", "--out",
                Path(folder) / "out")
