"""The calibration search with its defaults: it recovers the values that simulated the data (the
default keys, market potential and mixing included), its likelihood intervals hold the truth,
it warns at the end of a range, it reports what the data cannot tell apart, and it forecasts
the points after a training cut beside Bass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibrate import adoption_counts, calibrate
from sim.app.commands.calibrate import main
from sim.core.rng import replicate_seed
from sim.graph import erdos_renyi
from sim.run.engine import Engine, build_scenario_graph
from sim.scenario import Scenario

# docs/model.md section 5: with these settings the model is the Bass model on its graph.
BASS_SETTINGS = {
    "market": {"talk": "uniform"},
    "media": {"spend": 5000.0, "reference_spend": 5000.0, "pass_on": 0.0},
    "journey": {"zmot_weeks": 0.0, "conversion": 1.0},
    "sharing": {"base": 0.0},
    "loyalty": {"retention": 1.0, "valence_effect": 0.0},
}


def scenario_file(folder: Path, market: dict, network: dict, weeks: int,
                  replications: int = 8, base: dict | None = None) -> Scenario:
    """A scenario (the Bass special case unless `base` is given) written to folder and loaded."""
    data = {key: dict(value) for key, value in (BASS_SETTINGS if base is None else base).items()}
    data.setdefault("market", {}).update(market)
    data.update(name="search_test", weeks=weeks, replications=replications, network=network)
    path = folder / "scenario.toml"
    path.write_text(Scenario.from_dict(data, base_dir=folder).to_toml())
    return Scenario.load(path)


def mean_series(scenario: Scenario, path: Path, weeks: np.ndarray, runs: int = 48) -> Path:
    """The mean adopters over `runs` runs on seeds no calibration uses, as `week,adopted`."""
    graph = build_scenario_graph(scenario)
    counts = np.mean([adoption_counts(scenario, replicate_seed(99, r), graph)
                      for r in range(runs)], axis=0)
    path.write_text("week,adopted\n" + "".join(f"{w},{counts[w]:.3f}\n" for w in weeks))
    return path


def edge_list(folder: Path, n: int, mean_degree: float, seed: int) -> dict:
    """An Erdos-Renyi edge list labelled c0, c1, ... with a self-loop per node (so isolated
    customers belong to it), as a scenario's network section."""
    graph = erdos_renyi(n, mean_degree, seed=seed)
    rows = ["source,target"] + [f"c{i},c{i}" for i in range(n)]
    for i in range(n):
        rows += [f"c{i},c{j}" for j in graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
                 if i < j]
    (folder / "edges.csv").write_text("\n".join(rows) + "\n")
    return {"kind": "edgelist", "path": "edges.csv"}


@pytest.mark.slow
def test_the_default_fit_recovers_innovation_imitation_and_market_potential(tmp_path):
    truth = {"market.innovation": 0.3, "market.imitation": 4.0, "market.potential": 0.6}
    market = {key.split(".")[1]: value for key, value in truth.items()}
    # Three years: the curve levels off at the potential (before it does, a lower imitation
    # with a higher potential draws nearly the same curve, as the identifiability report says).
    scenario = scenario_file(tmp_path, market, {"kind": "erdos_renyi", "n": 1000,
                                                "mean_degree": 8}, 156)
    data = mean_series(scenario, tmp_path / "series.csv", np.arange(4, 157, 6))
    result = calibrate(scenario, data, refits=0)
    assert list(result.values) == list(truth)
    # Tolerance: rates within 15%, the potential within 0.03. The data are a mean of 48 runs
    # and the fit's of 8, each with about half a point of Monte-Carlo error, which moves p and q
    # by several percent along the ridge where they trade off.
    assert result.values["market.innovation"] == pytest.approx(0.3, rel=0.15)
    assert result.values["market.imitation"] == pytest.approx(4.0, rel=0.15)
    assert result.values["market.potential"] == pytest.approx(0.6, abs=0.03)
    # The search finds a fit at least as good as the truth itself, on the same seeds.
    at_truth = calibrate(scenario, data, [f"market.potential={0.6 - 1e-9}:{0.6 + 1e-9}"],
                         refits=0)
    assert result.rmse <= at_truth.rmse + 0.02
    assert not [w for w in result.warnings if "range" in w or "limit" in w]


@pytest.mark.slow
def test_the_likelihood_intervals_hold_the_values_that_simulated_the_data(tmp_path):
    truth = {"innovation": 0.3, "imitation": 3.0, "potential": 0.7, "mixing": 0.4}
    scenario = scenario_file(tmp_path, truth, edge_list(tmp_path, 3000, 6.0, seed=5), 78)
    engine = Engine(scenario, replicate_seed(77, 0)).run()
    weeks = engine.customers.adopted_week
    rows = [f"{label},{w + 1 if w >= 0 else ''}"
            for label, w in zip(engine.graph.labels, weeks, strict=True)]
    data = tmp_path / "adoption.csv"
    data.write_text("id,adopted_week\n" + "\n".join(rows) + "\n")
    result = calibrate(scenario, data, objective="likelihood", replications=2)
    for key, value in truth.items():
        low, high = result.intervals[f"market.{key}"]
        assert low <= value <= high, (key, low, result.values[f"market.{key}"], high)
    model, bass = result.likelihood
    assert model.log_likelihood >= bass.log_likelihood  # Bass is nested (mixing = 1)
    assert model.aic < bass.aic  # and local talk matters here: 60% of the imitation
    summary = result.summary()
    assert summary["objective"] == "likelihood"
    assert summary["likelihood"]["bass"]["k"] == 3


def test_a_fit_against_the_end_of_its_range_is_warned_about(tmp_path):
    scenario = scenario_file(tmp_path, {"innovation": 0.3, "imitation": 3.0},
                             {"kind": "complete", "n": 200}, 52, replications=2)
    data = mean_series(scenario, tmp_path / "series.csv", np.arange(4, 53, 4), runs=8)
    # The truth (q = 3) lies far above this range: the fit presses against its top.
    result = calibrate(scenario, data, ["market.imitation=0.1:0.5"], refits=0)
    assert result.values["market.imitation"] == pytest.approx(0.5, rel=0.02)
    assert any("within 2% of the upper end" in w and "--fit market.imitation=LOW:HIGH" in w
               for w in result.warnings)


@pytest.mark.slow
def test_conversion_and_sharing_cannot_be_told_apart_by_an_adoption_curve(tmp_path):
    base = {"network": {}}  # the full model's defaults
    scenario = scenario_file(tmp_path, {}, {"kind": "watts_strogatz", "n": 1000}, 104,
                             base=base)
    data = mean_series(scenario, tmp_path / "series.csv", np.arange(8, 105, 8), runs=16)
    result = calibrate(scenario, data, ["journey.conversion", "sharing.base"], refits=0)
    notes = " ".join(result.identifiability.notes)
    assert "journey.conversion and sharing.base cannot be told apart" in notes
    assert abs(result.identifiability.correlation[0][1]) >= 0.95


def test_a_training_cut_fits_the_early_points_and_forecasts_the_rest(tmp_path, capsys):
    scenario = scenario_file(tmp_path, {"innovation": 0.3, "imitation": 3.0},
                             {"kind": "complete", "n": 300}, 52, replications=4)
    data = mean_series(scenario, tmp_path / "series.csv", np.arange(4, 53, 4), runs=8)
    out = tmp_path / "out"
    status = main([str(scenario.path), "--data", str(data), "--fit", "market.imitation=0.5:8",
                   "--train-until", "24", "--refits", "0", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "forecast of the 7 points after week 24" in printed
    summary = json.loads((out / "summary.json").read_text())
    forecast = summary["forecast"]
    assert (forecast["training_points"], forecast["forecast_points"]) == (6, 7)
    assert forecast["bass_rmse_points"] == min(forecast["bass_m100_rmse_points"],
                                               forecast["bass_m_fitted_rmse_points"])
    # The model at the fit, recomputed from its curve: the forecast RMSE is over the rest only.
    table = pd.read_csv(out / "curve.csv")
    ahead = ~table["training"]
    expected = np.sqrt(np.mean((table["simulated_mean"][ahead]
                                - table["observed_percent"][ahead]) ** 2))
    assert forecast["rmse_points"] == pytest.approx(expected)
    assert "--train-until 24" in summary["command"]
