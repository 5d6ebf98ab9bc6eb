"""Sensitivity analysis: one code path recovers Ishigami's known Sobol indices and a linear
function's Morris effects, and on the model a parameter without effect gets a total index of 0."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import analyse, sensitivity
from sim.analysis.sweep import Design, Factor
from sim.app.commands.sensitivity import register
from sim.scenario.load import ScenarioError


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """Exact first-order and total indices of Ishigami's function on [-pi, pi]^3 (Ishigami &
    Homma 1990; Saltelli et al. 2008, Global Sensitivity Analysis, section 4.9): partial
    variances V1 = 1/2 + b pi^4/5 + b^2 pi^8/50, V2 = a^2/8, V13 = 8 b^2 pi^8/225, V3 = 0."""
    v1 = 0.5 + b * math.pi**4 / 5 + b**2 * math.pi**8 / 50
    v2 = a**2 / 8
    v13 = 8 * b**2 * math.pi**8 / 225
    total = v1 + v2 + v13
    return [v1 / total, v2 / total, 0.0], [(v1 + v13) / total, v2 / total, v13 / total]


def test_sobol_recovers_the_ishigami_indices():
    from SALib.test_functions import Ishigami

    first, total = ishigami_indices()
    # the published values, as a check on the formulas above
    assert np.round(first, 2).tolist() == [0.31, 0.44, 0.0]
    assert np.round(total, 2).tolist() == [0.56, 0.44, 0.24]
    design = Design("sobol", tuple(Factor(f"x{i}", low=-math.pi, high=math.pi)
                                   for i in (1, 2, 3)), samples=1024, seed=1)
    result = analyse(design, lambda x: {"y": Ishigami.evaluate(x)})
    table = result.indices.set_index("parameter")
    assert list(table.index) == ["x1", "x2", "x3"]
    # 1024 x 5 evaluations: Saltelli/Jansen estimates within 0.03 of the truth, and the truth
    # inside each 95% bootstrap interval
    for column, truth in (("S1", first), ("ST", total)):
        estimate, half_width = table[column].to_numpy(), table[f"{column}_conf"].to_numpy()
        assert np.abs(estimate - truth).max() < 0.03
        assert (np.abs(estimate - truth) <= half_width).all()


def test_morris_gives_a_linear_functions_slopes_exactly():
    # f = 3 a + 0 b on a in [0, 2]: every elementary effect over the range's scale is 3 x 2
    design = Design("morris", (Factor("a", low=0.0, high=2.0), Factor("b", low=-1.0, high=1.0)),
                    samples=10, seed=3)
    result = analyse(design, lambda x: {"y": 3.0 * x[:, 0]})
    table = result.indices.set_index("parameter")
    assert table.loc["a", "mu_star"] == pytest.approx(6.0)
    assert table.loc["a", "sigma"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["b", "mu_star"] == 0.0 and table.loc["b", "mu"] == 0.0


def test_an_output_undefined_somewhere_is_left_out_and_said():
    design = Design("sobol", (Factor("a", low=0.0, high=1.0),), samples=8, seed=0)
    values = np.arange(8 * 3, dtype=float)
    values[5] = np.nan
    result = analyse(design, lambda x: {"ratio": values, "y": x[:, 0]})
    assert result.undefined == {"ratio": 1}
    assert set(result.indices["output"]) == {"y"}
    assert "ratio: left out, undefined (NaN) at 1 points" in result.table()


SCENARIO = """\
name = "small"
weeks = 30
seed = 4
[network]
n = 300
[market]
innovation = 0.8
"""

MODEL_EXPERIMENT = """\
scenario = "small.toml"
design = "sobol"
samples = 16
replications = 2
kpis = ["adopted_fraction", "profit"]
[vary]
"product.quality" = {low = 0.4, high = 0.95}
"economics.margin" = {low = 5.0, high = 50.0}
"""


def test_on_the_model_a_parameter_without_effect_has_total_index_zero(tmp_path, capsys):
    (tmp_path / "small.toml").write_text(SCENARIO)
    path = tmp_path / "sobol.toml"
    path.write_text(MODEL_EXPERIMENT)
    out = tmp_path / "out"
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["sensitivity", str(path), "--out", str(out), "--workers", "1"])
    assert args.func(args) == 0
    assert "adopted_fraction" in capsys.readouterr().out
    indices = pd.read_csv(out / "sensitivity" / "indices.csv")
    adoption = indices[indices["output"] == "adopted_fraction"].set_index("parameter")
    # the margin only prices purchases; with the same seeds at every point, changing it alone
    # changes no run, so its Sobol estimators are exactly 0 (not merely small)
    assert adoption.loc["economics.margin", "ST"] == pytest.approx(0.0, abs=1e-12)
    assert adoption.loc["economics.margin", "S1"] == pytest.approx(0.0, abs=1e-12)
    assert adoption.loc["product.quality", "ST"] > 0.5
    # profit depends on both
    profit = indices[indices["output"] == "profit"].set_index("parameter")
    assert (profit["ST"] > 0.05).all()
    assert (out / "sensitivity" / "figures" / "adopted_fraction.png").stat().st_size > 0
    # the sweep behind it is an ordinary resumable sweep: sixteen base samples x (2 + 2) points
    runs = pd.read_parquet(out / "sweep" / "runs")
    assert len(runs) == 16 * 4 * 2


def test_sensitivity_needs_a_sobol_or_morris_design(tmp_path):
    (tmp_path / "small.toml").write_text(SCENARIO)
    path = tmp_path / "grid.toml"
    path.write_text('scenario = "small.toml"\n[vary]\n"product.quality" = [0.5, 0.6]\n')
    with pytest.raises(ScenarioError, match="sensitivity needs design = 'sobol' or 'morris'"):
        sensitivity(path, tmp_path / "out", workers=1)


def test_results_are_reproducible(tmp_path: Path):
    design = Design("sobol", (Factor("a", low=0.0, high=1.0), Factor("b", low=0.0, high=1.0)),
                    samples=32, seed=7)
    first = analyse(design, lambda x: {"y": x[:, 0] + x[:, 1] ** 2})
    again = analyse(design, lambda x: {"y": x[:, 0] + x[:, 1] ** 2})
    pd.testing.assert_frame_equal(first.indices, again.indices)


def test_too_few_samples_to_rank_the_parameters_are_said_and_enough_are_not():
    from SALib.test_functions import Ishigami

    def indices(samples: int):
        design = Design("sobol", tuple(Factor(f"x{i}", low=-math.pi, high=math.pi)
                                       for i in (1, 2, 3)), samples=samples, seed=1)
        return analyse(design, lambda x: {"y": Ishigami.evaluate(x)})

    few = indices(16)
    assert few.ranking_warnings() == [
        "y: the intervals are too wide to rank the parameters (16 samples); raise `samples` "
        "and run again (the sweep resumes)"]
    assert "warning: y: the intervals are too wide" in few.table()
    assert "*_conf: half-width of the 95% bootstrap interval" in few.table()
    assert indices(4096).ranking_warnings() == []
