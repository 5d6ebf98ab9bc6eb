"""Paired comparisons: the same replicate seeds in every scenario, differences and their
percentiles worked by hand, a scenario against itself exactly 0, better quality clearly better,
and the comparison folder written whole."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import compare, paired_differences
from sim.app.commands.compare import register
from sim.core.kpis import KPI, KPI_NAMES
from sim.core.rng import replicate_seed
from sim.scenario.load import Scenario

# A small market where word of mouth matters: paid media alone would take years.
MARKET = """\
name = "{name}"
weeks = 52
seed = 3
replications = 8
[network]
n = 500
[market]
innovation = 0.5
[product]
quality = {quality}
"""


def scenario_file(folder: Path, name: str, quality: float) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(MARKET.format(name=name, quality=quality))
    return path


def test_every_kpi_has_a_better_direction():
    assert set(KPI) == set(KPI_NAMES)
    assert {KPI[kpi].direction for kpi in KPI_NAMES} <= {-1, 0, 1}
    assert KPI["adopted_fraction"].direction == 1 and KPI["profit"].direction == 1
    assert KPI["weeks_to_half"].direction == -1 and KPI["peak_adoption_week"].direction == -1


def test_paired_differences_worked_by_hand():
    seeds = [replicate_seed(1, r) for r in range(3)]
    reference = pd.DataFrame({"replicate": [0, 1, 2], "seed": seeds,
                              "adopted_fraction": [0.1, 0.2, 0.3],
                              "weeks_to_half": [10.0, 20.0, 30.0]})
    other = pd.DataFrame({"replicate": [2, 0, 1], "seed": [seeds[2], seeds[0], seeds[1]],
                          "adopted_fraction": [0.5, 0.2, 0.2],
                          "weeks_to_half": [math.nan, 12.0, 18.0]})
    table = paired_differences(reference, other, ["adopted_fraction", "weeks_to_half"])
    adopted, weeks = table.set_index("kpi").loc["adopted_fraction"], \
        table.set_index("kpi").loc["weeks_to_half"]
    # paired by replicate: differences 0.1, 0.0, 0.2; sorted 0, 0.1, 0.2 -> the 5th percentile
    # (linear interpolation) is 0 + 0.1 * 0.1 = 0.01, the 95th 0.1 + 0.9 * 0.1 = 0.19; better
    # (higher) in 2 of 3 (a tie is not better)
    assert adopted["mean"] == pytest.approx(0.1)
    assert adopted["p05"] == pytest.approx(0.01) and adopted["p95"] == pytest.approx(0.19)
    assert adopted["prob_better"] == pytest.approx(2 / 3)
    # weeks to half: +2 and -2 (the NaN pair left out); lower is better: 1 of 2
    assert weeks["mean"] == pytest.approx(0.0) and weeks["prob_better"] == 0.5


def test_pairs_must_share_their_seeds():
    reference = pd.DataFrame({"replicate": [0], "seed": [1], "nps": [0.0]})
    other = pd.DataFrame({"replicate": [0], "seed": [2], "nps": [1.0]})
    with pytest.raises(ValueError, match="same replicate seeds"):
        paired_differences(reference, other, ["nps"])


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(tmp_path):
    path = scenario_file(tmp_path, "market", 0.8)
    comparison = compare([path, path], replications=4, workers=1)
    assert comparison.names == ["market", "market-2"]
    differences = comparison.differences.set_index("kpi")
    assert list(differences.index) == list(KPI_NAMES)
    for kpi in KPI_NAMES:
        row = differences.loc[kpi]
        if math.isnan(row["mean"]):  # undefined in every replicate (e.g. no shares)
            continue
        assert (row["mean"], row["p05"], row["p95"]) == (0.0, 0.0, 0.0)
        assert row["prob_better"] == 0.0 if KPI[kpi].direction else math.isnan(row["prob_better"])


def test_higher_quality_raises_adoption_with_an_interval_above_zero(tmp_path):
    comparison = compare([scenario_file(tmp_path, "plain", 0.6),
                          scenario_file(tmp_path, "better", 0.9)], workers=1)
    assert comparison.replications == 8 and comparison.seed == 3
    assert comparison.seeds == [replicate_seed(3, r) for r in range(8)]
    for result in comparison.results.values():
        assert list(result.runs["seed"]) == comparison.seeds
    row = comparison.differences.set_index("kpi").loc["adopted_fraction"]
    assert row["mean"] > 0 and row["p05"] > 0  # the 90% interval excludes 0
    assert row["prob_better"] == 1.0
    # the mean paired difference is the difference of the means (same replicates)
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    assert row["mean"] == pytest.approx(means["better", "adopted_fraction"]
                                        - means["plain", "adopted_fraction"])


def test_compare_command_prints_the_table_and_writes_the_folder(tmp_path, capsys):
    a, b = scenario_file(tmp_path, "plain", 0.6), scenario_file(tmp_path, "better", 0.9)
    out = tmp_path / "cmp"
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["compare", str(a), str(b), "--reps", "3", "--seed", "9",
                              "--workers", "1", "--out", str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "better vs plain" in printed and "P(better)" in printed
    assert "percentiles of the 3 paired differences" in printed
    record = json.loads((out / "comparison.json").read_text())
    assert record["replicate_seeds"] == [replicate_seed(9, r) for r in range(3)]
    assert record["scenarios"] == ["plain", "better"]
    assert len(record["differences"]) == len(KPI_NAMES)
    for name in ("plain", "better"):
        runs = pd.read_parquet(out / name / "runs.parquet")
        assert list(runs["seed"]) == record["replicate_seeds"]
        assert Scenario.load(out / name / "scenario.toml").seed == 9
    for figure in ("kpis.png", "adoption.png"):
        image = matplotlib.image.imread(out / "figures" / figure)
        assert image.shape[0] > 500 and np.ptp(image) > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
