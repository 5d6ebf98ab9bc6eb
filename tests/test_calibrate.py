"""Calibration to adoption data (sim.analysis.calibrate): data files and their errors, what can be
fitted, recovery of known parameters, determinism, and the output folder."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

import sim.analysis.calibrate.runs as runs_module
from sim.analysis.bass import bass_cdf
from sim.analysis.calibrate import (
    WEEKS_PER_UNIT,
    adoption_counts,
    calibrate,
    default_fit,
    load_data,
    parse_fit,
)
from sim.app.commands.calibrate import main
from sim.core.errors import InputError
from sim.core.rng import replicate_seed
from sim.graph import erdos_renyi
from sim.present.figures.calibration import write_calibration
from sim.run.engine import Engine, build_scenario_graph
from sim.scenario import Scenario, ScenarioError

# MODEL.md section 5: with these settings the model is the Bass model on its graph.
BASS_SETTINGS = {
    "market": {"talk": "uniform"},
    "media": {"spend": 5000.0, "reference_spend": 5000.0},
    "journey": {"zmot_weeks": 0.0, "conversion": 1.0},
    "sharing": {"base": 0.0},
    "loyalty": {"retention": 1.0, "valence_effect": 0.0},
}


def bass_scenario(folder: Path, network: dict, weeks: int, innovation: float,
                  imitation: float, replications: int = 8) -> Scenario:
    """A Bass-like scenario written to folder/scenario.toml and loaded from there."""
    data = {key: dict(value) for key, value in BASS_SETTINGS.items()}
    data["market"].update(innovation=innovation, imitation=imitation)
    data.update(name="bass_test", weeks=weeks, replications=replications, network=network)
    path = folder / "scenario.toml"
    path.write_text(Scenario.from_dict(data, base_dir=folder).to_toml())
    return Scenario.load(path)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def network_scenario(folder: Path, n: int = 300, innovation: float = 0.5,
                     imitation: float = 4.0, replications: int = 8) -> Scenario:
    """A Bass-like scenario on an Erdos-Renyi edge list (mean degree 8) whose nodes are labelled
    c0, c1, ... (so labels are not indices), 52 weeks. Every node is listed first as a
    self-loop (which the loader drops, keeping the node), so isolated nodes exist too."""
    graph = erdos_renyi(n, 8.0, seed=3)
    rows = ["source,target"] + [f"c{i},c{i}" for i in range(n)]
    for i in range(n):
        rows += [f"c{i},c{j}" for j in graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
                 if i < j]
    write(folder / "edges.csv", "\n".join(rows) + "\n")
    return bass_scenario(folder, {"kind": "edgelist", "path": "edges.csv"}, 52, innovation,
                         imitation, replications)


def per_customer_data(scenario: Scenario, path: Path, seed: int, listed: int) -> Path:
    """One run's adoption times of the first `listed` customers as `id,adopted_week`: adopted in
    week w (0-based) means adopted by w + 1 weeks after the launch."""
    engine = Engine(scenario, seed).run()
    labels = engine.graph.labels
    rows = ["id,adopted_week"]
    for i in range(listed):
        week = int(engine.customers.adopted_week[i])
        rows.append(f"{labels[i]},{week + 1 if week >= 0 else ''}")
    return write(path, "\n".join(rows) + "\n")


# --- data files ------------------------------------------------------------------------------


@pytest.fixture
def aggregate_setup(tmp_path):
    scenario = bass_scenario(tmp_path, {"kind": "complete", "n": 100}, 104, 0.03, 0.38)
    return tmp_path, scenario, build_scenario_graph(scenario)


@pytest.fixture
def customer_setup(tmp_path):
    write(tmp_path / "edges.csv", "source,target\na,b\nb,c\n")
    scenario = bass_scenario(tmp_path, {"kind": "edgelist", "path": "edges.csv"}, 104, 0.03,
                             0.38)
    return tmp_path, scenario, build_scenario_graph(scenario)


def test_aggregate_series_in_each_unit_and_measure(aggregate_setup):
    folder, scenario, graph = aggregate_setup
    for text in ("year,adopted_percent\n0,0\n1,25\n2,50\n",
                 "month,adopted_fraction\n0,0\n12,0.25\n24,0.5\n",
                 "week,adopted,note\n0,0,launch\n52,25,\n104,50,\n"):
        data = load_data(write(folder / "d.csv", text), scenario, graph)
        assert data.kind == "aggregate"
        np.testing.assert_allclose(data.weeks, [0.0, 52.0, 104.0])
        np.testing.assert_allclose(data.percent, [0.0, 25.0, 50.0])
        assert data.population == 100


def test_months_are_52_twelfths_of_a_week_and_years_52_weeks():
    assert WEEKS_PER_UNIT == {"week": 1.0, "month": 52.0 / 12.0, "year": 52.0}


def test_per_customer_times_become_the_curve_of_the_customers_listed(customer_setup):
    folder, scenario, graph = customer_setup
    path = write(folder / "d.csv", "id,adopted_month\nc,2\na,\nb,1\n")
    data = load_data(path, scenario, graph)
    assert data.kind == "per_customer" and data.unit == "month"
    np.testing.assert_array_equal(data.times, [1.0, 2.0])
    np.testing.assert_allclose(data.percent, [100 / 3, 200 / 3])
    assert data.population == 3
    np.testing.assert_array_equal(data.customers, graph.index_of(["c", "a", "b"]))
    np.testing.assert_array_equal(data.adopted_times, [2.0, np.nan, 1.0])


AGGREGATE_ERRORS = [
    ("t,adopted_percent\n1,5\n", 1, None,
     "missing column: the time since the launch is one of 'week', 'month' or 'year'"),
    ("year,percent\n1,5\n", 1, None,
     "missing column: the cumulative adopters is one of 'adopted', 'adopted_fraction' or "
     "'adopted_percent'"),
    ("week,month,adopted\n1,1,5\n", 1, None, "columns 'week' and 'month' both give"),
    ("week,adopted_percent\n4,10\n8,20\n12,15\n", 4, "adopted_percent",
     "non-monotone cumulative series: 15 is below 20"),
    ("year,adopted_fraction\n1,0.1\n3,0.5\n", 3, "year",
     "year 3 is 156 weeks after the launch, beyond the scenario's horizon of 104 weeks"),
    ("week,adopted\n4,10\n8,abc\n", 3, "adopted", "'abc' is not a number"),
    ("week,adopted\n4,10\n8,101\n", 3, "adopted", "must be between 0 and 100, got 101"),
    ("week,adopted_percent\n8,10\n4,20\n", 3, "week", "times must increase down the file"),
    ("week,adopted_percent\n", None, None, "no data rows below the header"),
]


def assert_data_error(setup, text, line, column, message) -> None:
    """Loading `text` as a data file raises a one-line ScenarioError with this file, line,
    column and message."""
    folder, scenario, graph = setup
    path = write(folder / "bad.csv", text)
    with pytest.raises(ScenarioError) as caught:
        load_data(path, scenario, graph)
    error = caught.value
    assert (error.file, error.line, error.key) == (path, line, column)
    assert message in error.message
    assert "\n" not in str(error) and str(error).startswith(str(path))


@pytest.mark.parametrize(("text", "line", "column", "message"), AGGREGATE_ERRORS)
def test_bad_aggregate_files_get_one_line_errors(aggregate_setup, text, line, column, message):
    assert_data_error(aggregate_setup, text, line, column, message)


CUSTOMER_ERRORS = [
    ("id,month\na,1\n", 1, None, "missing column: each customer's adoption time is one of "
     "'adopted_week', 'adopted_month' or 'adopted_year'"),
    ("id,adopted_week\na,1\nzz,2\n", 3, "id",
     "id 'zz' is not a node of the scenario's network (edges.csv)"),
    ("id,adopted_week\na,1\na,2\n", 3, "id", "id 'a' is listed twice (first on line 2)"),
    ("id,adopted_year\na,1\nb,2.5\n", 3, "adopted_year",
     "beyond the scenario's horizon of 104 weeks"),
    ("id,adopted_week\na,\nb,\n", None, "adopted_week", "nobody adopted"),
    ("id,adopted_week\na,-1\n", 2, "adopted_week", "must be >= 0, got -1"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), CUSTOMER_ERRORS)
def test_bad_per_customer_files_get_one_line_errors(customer_setup, text, line, column,
                                                    message):
    assert_data_error(customer_setup, text, line, column, message)


def test_per_customer_data_needs_an_edge_list(aggregate_setup):
    folder, scenario, graph = aggregate_setup
    with pytest.raises(ScenarioError, match="needs a scenario whose network is an edge list"):
        load_data(write(folder / "d.csv", "id,adopted_week\n1,3\n"), scenario, graph)


def test_a_missing_data_file_is_named(aggregate_setup):
    folder, scenario, graph = aggregate_setup
    with pytest.raises(ScenarioError, match="data file not found") as caught:
        load_data(folder / "nowhere.csv", scenario, graph)
    assert caught.value.file == folder / "nowhere.csv"


# --- what can be fitted ----------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "message"), [
    ("market.inovation", "did you mean 'market.innovation'"),
    ("weeks", "only section parameters"),
    ("network.rewire", "network keys cannot be fitted"),
    ("journey.sources", "only real-valued keys can be fitted"),
    ("sharing.base=0:2", "must be between 0 and 1, got 2"),
    ("market.imitation=1:0.5", "LOW must be below HIGH"),
    ("market.imitation=low:high", "expected KEY=LOW:HIGH"),
    ("loyalty.valence_effect", "give the range to search"),
])
def test_bad_fit_keys_are_refused(spec, message):
    scenario = Scenario.default().with_overrides({"loyalty.valence_effect": 0.0})
    with pytest.raises(ScenarioError, match=message):
        parse_fit(spec, scenario)


def test_default_ranges_are_wide_log_ranges_for_rates_else_the_schema_range_or_ten_times():
    scenario = Scenario.default()  # sharing.base 0.18 in [0, 1]; zmot_weeks 2, >= 0
    base = parse_fit("sharing.base", scenario)
    assert (base.low, base.high, base.start, base.log) == (0.0, 1.0, 0.18, False)
    zmot = parse_fit("journey.zmot_weeks", scenario)
    assert (zmot.low, zmot.high, zmot.log) == (0.0, pytest.approx(20.0), False)
    innovation = parse_fit("market.innovation", scenario)
    assert (innovation.low, innovation.high, innovation.log) == (1e-4, 5.0, True)
    # On a log scale the middle of the range is the geometric mean of its ends.
    assert innovation.value(0.5) == pytest.approx((1e-4 * 5.0) ** 0.5)
    assert innovation.unit(innovation.value(0.3)) == pytest.approx(0.3)
    given = parse_fit("market.imitation = 0.1:0.9", scenario)
    assert (given.key, given.low, given.high, given.log) == ("market.imitation", 0.1, 0.9, True)
    assert parse_fit("market.imitation=0:0.9", scenario).log is False  # no log scale from 0
    potential = parse_fit("market.potential", scenario)
    assert (potential.low, potential.high) == (0.02, 1.0)


def test_the_default_fit_is_the_bass_triple_and_mixing_on_an_edge_list(customer_setup):
    assert [k.key for k in default_fit(Scenario.default())] == [
        "market.innovation", "market.imitation", "market.potential"]
    _, scenario, _ = customer_setup
    assert [k.key for k in default_fit(scenario)][-1] == "market.mixing"


def test_a_fit_near_an_end_of_its_range_warns_and_names_the_way_out():
    scenario = Scenario.default()
    imitation = parse_fit("market.imitation=0.1:0.9", scenario)
    assert imitation.bound_warning(0.5) is None
    near_top = imitation.bound_warning(0.89)  # 0.89 is 98.9% of the way along the log range
    assert "within 2% of the upper end" in near_top and "--fit market.imitation=LOW:HIGH" \
        in near_top
    assert "lower end" in imitation.bound_warning(0.1005)
    potential = parse_fit("market.potential", scenario)
    assert "at its upper limit 1" in potential.bound_warning(0.999)


# --- recovery, determinism -------------------------------------------------------------------


def _rmse_at(scenario: Scenario, seeds: list[int], weeks: np.ndarray, observed: np.ndarray,
             population: int, customers=None) -> float:
    """The calibration objective at the scenario's own values, by direct simulation."""
    graph = build_scenario_graph(scenario)
    counts = np.mean([adoption_counts(scenario, s, graph, customers) for s in seeds], axis=0)
    simulated = np.interp(weeks, np.arange(counts.size), counts) * 100.0 / population
    return float(np.sqrt(np.mean((simulated - observed) ** 2)))


@pytest.mark.slow
def test_an_aggregate_series_is_calibrated_back_to_the_truth(tmp_path):
    truth = {"market.innovation": 0.3, "market.imitation": 3.0}
    scenario = bass_scenario(tmp_path, {"kind": "complete", "n": 1000}, 78, 0.3, 3.0)
    graph = build_scenario_graph(scenario)
    # The observed series: mean adopters over 32 runs on seeds the calibration never uses.
    counts = np.mean([adoption_counts(scenario, replicate_seed(99, r), graph)
                      for r in range(32)], axis=0)
    weeks = np.arange(6, 79, 6)
    path = write(tmp_path / "series.csv", "week,adopted\n" + "".join(
        f"{w},{counts[w]:.2f}\n" for w in weeks))
    result = calibrate(scenario, path, ["market.innovation=0.05:1", "market.imitation=0.5:8"],
                       refits=0)
    # Tolerance: 10%. The data's mean of 32 runs and the fit's of 8 each carry Monte-Carlo
    # error of about 1 point of adoption, which moves p and q by a few percent.
    for key, value in truth.items():
        assert result.values[key] == pytest.approx(value, rel=0.10)
    # The search finds a fit at least as good as the truth itself, on the same seeds (up to the
    # Nelder-Mead tolerance of 0.01 points).
    at_truth = _rmse_at(scenario, result.seeds, weeks, result.data.percent, 1000)
    assert result.rmse <= at_truth + 0.02


@pytest.mark.slow
def test_per_customer_times_on_a_network_are_calibrated_back_to_the_truth(tmp_path):
    truth = {"market.innovation": 1.0, "market.imitation": 3.0}
    scenario = network_scenario(tmp_path, n=2000, innovation=1.0, imitation=3.0,
                                replications=16)
    path = per_customer_data(scenario, tmp_path / "adoption.csv", replicate_seed(99, 0), 2000)
    result = calibrate(scenario, path, ["market.innovation=0.1:4", "market.imitation=0.3:9"],
                       refits=0)
    # Tolerance: 20%. The data is one realisation (as real per-customer data is), whose own
    # chance (who happens to adopt first) moves the best fit on 2,000 customers by up to about
    # 10%; on 300 customers it would move it by 20-35%, too much for a sharp test.
    for key, value in truth.items():
        assert result.values[key] == pytest.approx(value, rel=0.20)
    at_truth = _rmse_at(scenario, result.seeds, result.data.weeks, result.data.percent, 2000,
                        result.data.customers)
    assert result.rmse <= at_truth + 0.02


@pytest.mark.slow
def test_the_same_calibration_gives_the_same_values_whatever_the_workers(tmp_path):
    scenario = network_scenario(tmp_path, replications=4)
    path = per_customer_data(scenario, tmp_path / "adoption.csv", replicate_seed(5, 0), 200)
    fit = ["market.innovation=0.05:2", "market.imitation=0.5:12"]
    first = calibrate(scenario, path, fit, refits=2, workers=1)
    second = calibrate(scenario, path, fit, refits=2, workers=2)
    assert first.values == second.values
    assert first.refits == second.refits
    assert first.rmse == second.rmse
    assert first.values != {"market.innovation": 0.5, "market.imitation": 4.0}  # it moved


# --- outputs ---------------------------------------------------------------------------------


@pytest.fixture
def small_calibration(tmp_path):
    """A cheap calibration of one key to a noiseless Bass series (monthly fractions)."""
    scenario = bass_scenario(tmp_path, {"kind": "complete", "n": 200}, 52, 0.3, 3.0,
                             replications=2)
    months = np.arange(1, 13)
    fraction = bass_cdf(months / 12.0, 0.3, 2.0)
    path = write(tmp_path / "series.csv", "month,adopted_fraction\n" + "".join(
        f"{m},{f:.4f}\n" for m, f in zip(months, fraction, strict=True)))
    return tmp_path, scenario, path


def test_outputs_are_the_fitted_scenario_a_summary_a_table_and_a_figure(small_calibration):
    folder, scenario, path = small_calibration
    result = calibrate(scenario, path, ["market.imitation=0.5:6"], refits=2)
    out = write_calibration(result, folder / "out" / "calibration",
                            command="womsim calibrate ...")

    fitted_text = (out / "fitted.toml").read_text()
    extends = tomllib.loads(fitted_text)["extends"]
    assert not Path(extends).is_absolute()
    assert (out / extends).resolve() == scenario.path
    fitted = Scenario.load(out / "fitted.toml")
    assert fitted.market.imitation == result.values["market.imitation"]
    assert set(fitted.differences(scenario)) == {"name", "description", "market.imitation"}

    summary = json.loads((out / "summary.json").read_text())
    entry = summary["fit"]["market.imitation"]
    assert entry["value"] == result.values["market.imitation"]
    assert entry["interval"][0] <= entry["interval"][1] and entry["bounds"] == [0.5, 6.0]
    assert summary["rmse_points"] == result.rmse
    assert summary["bass"]["q"] == pytest.approx(2.0, rel=0.01)  # the data's own Bass curve
    assert summary["bass"]["rmse_points"] < 0.01
    assert summary["refits"]["count"] == 2 and summary["command"] == "womsim calibrate ..."

    table = (out / "curve.csv").read_text().splitlines()
    assert table[0].startswith("month,weeks,training,observed_percent,simulated_mean")
    assert len(table) == 1 + 12
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    write_calibration(result, out)  # an earlier calibration's folder is replaced
    (folder / "busy").mkdir()
    write(folder / "busy" / "notes.txt", "mine")
    with pytest.raises(InputError, match="not written by womsim"):
        write_calibration(result, folder / "busy")
    assert (folder / "busy" / "notes.txt").read_text() == "mine"


def test_command_line_prints_the_fit_and_reports_bad_data_in_one_line(small_calibration,
                                                                      capsys):
    folder, scenario, path = small_calibration
    out = folder / "cli"
    status = main([str(scenario.path), "--data", str(path), "--fit", "market.imitation=0.5:6",
                   "--reps", "2", "--refits", "0", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "market.imitation" in printed and "Bass, m = 100%" in printed
    assert (out / "fitted.toml").exists()

    bad = write(folder / "bad.csv", "month,adopted_fraction\n1,0.5\n2,0.4\n")
    status = main([str(scenario.path), "--data", str(bad), "--fit", "market.imitation"])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and "bad.csv:3: adopted_fraction: non-monotone" in error


# --- bad data through the command line: exit 2 before any simulation ---------------------------


class Simulated(Exception):
    """Raised instead of simulating: the data got past every check."""


@pytest.fixture
def no_simulation(monkeypatch):
    """Any attempt to simulate raises `Simulated` (the runs' Engine is the one every candidate
    goes through)."""
    def refuse(*args, **kwargs):
        raise Simulated

    monkeypatch.setattr(runs_module, "Engine", refuse)


@pytest.fixture
def node_list_setup(tmp_path):
    """A scenario on the edge list a-b, b-c whose node list adds d and e, without ties."""
    write(tmp_path / "edges.csv", "source,target\na,b\nb,c\n")
    write(tmp_path / "nodes.csv", "id\na\nb\nc\nd\ne\n")
    scenario = bass_scenario(tmp_path, {"kind": "edgelist", "path": "edges.csv",
                                        "nodes": "nodes.csv"}, 104, 0.03, 0.38, replications=2)
    return tmp_path, scenario


REFUSED = {
    "no adopters (aggregate)": ("week,adopted\n0,0\n4,0\n", ": adopted: nobody adopted"),
    "no adopters (per customer)": ("id,adopted_week\na,\nd,\n",
                                   ": adopted_week: nobody adopted"),
    "everybody at time 0 (aggregate)": (
        "year,adopted_percent\n0,40\n1,40\n2,40\n",
        ":2: adopted_percent: everybody adopted at the launch: adopted_percent is already 40 at "
        "year 0 and never changes"),
    "everybody at time 0 (per customer)": (
        "id,adopted_week\na,0\nd,0\nb,\n",
        ": adopted_week: everybody adopted at the launch: adopted_week is 0 on every row"),
    "decreasing series": ("week,adopted_percent\n4,10\n8,20\n12,15\n",
                          ":4: adopted_percent: non-monotone cumulative series"),
    "beyond the horizon (aggregate)": ("year,adopted_fraction\n1,0.1\n3,0.5\n",
                                       ":3: year: year 3 is 156 weeks after the launch"),
    "beyond the horizon (per customer)": ("id,adopted_year\na,1\nd,2.5\n",
                                          ":3: adopted_year: year 3 is 156 weeks"),
    "duplicate id": ("id,adopted_week\na,1\nd,2\na,3\n",
                     ":4: id: id 'a' is listed twice (first on line 2)"),
    "id in neither file": ("id,adopted_week\na,1\nd,2\nzz,3\n",
                           ":4: id: id 'zz' is not a node of the scenario's network (edges.csv "
                           "and node list nodes.csv)"),
    "empty file": ("", ":1: empty file"),
    "header only": ("id,adopted_week\n", ": no data rows below the header"),
    "folder": (None, ": is a folder, not a data file"),
}


@pytest.mark.usefixtures("no_simulation")
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_data_is_exit_2_naming_file_and_line_before_any_simulation(case, node_list_setup,
                                                                      capsys):
    folder, scenario = node_list_setup
    text, shown = REFUSED[case]
    data = folder / "bad.csv"
    if text is None:
        data.mkdir()
    else:
        write(data, text)
    status = main([str(scenario.path), "--data", str(data), "--fit", "market.imitation=0.1:1",
                   "--reps", "2", "--refits", "0", "--out", str(folder / "out")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and f"womsim: error: {data}{shown}" in error
    assert not (folder / "out").exists()


@pytest.mark.usefixtures("no_simulation")
def test_customers_without_ties_are_accepted_from_the_node_list(node_list_setup, capsys):
    folder, scenario = node_list_setup
    data = write(folder / "d.csv", "id,adopted_week\nd,3\ne,\na,5\nb,8\n")
    observed = load_data(data, scenario, build_scenario_graph(scenario))
    np.testing.assert_array_equal(observed.customers, [3, 4, 0, 1])
    assert observed.population == 4
    with pytest.raises(Simulated):  # every check passed: the fit starts simulating
        main([str(scenario.path), "--data", str(data), "--fit", "market.imitation=0.1:1",
              "--reps", "2", "--refits", "0", "--out", str(folder / "out")])
    assert capsys.readouterr().err == ""
