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

import sim.app.commands.compare as compare_command
from sim.analysis.compare import compare, difference_stats, network_warning, paired_differences
from sim.app.commands import run_command
from sim.app.commands.compare import register
from sim.core.kpis import KPI, KPI_NAMES
from sim.core.rng import replicate_seed
from sim.present.report_comparison import render_comparison_report
from sim.present.report_text import difference_cells, verdict
from sim.present.tables import comparison_table
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


# Student t quantiles t(0.975, df) from a printed table, independent of scipy.
T975 = {1: 12.7062047, 2: 4.30265273, 3: 3.18244631, 7: 2.36462425}


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
    # (higher) in 2 of 3 (a tie is not better), tied in 1 of 3
    assert adopted["mean"] == pytest.approx(0.1) and adopted["pairs"] == 3
    assert adopted["p05"] == pytest.approx(0.01) and adopted["p95"] == pytest.approx(0.19)
    assert adopted["prob_better"] == pytest.approx(2 / 3)
    assert adopted["prob_tie"] == pytest.approx(1 / 3)
    # sd 0.1 over 3 pairs: the 95% interval of the mean is 0.1 +- 4.3027 * 0.1 / sqrt(3)
    half = T975[2] * 0.1 / math.sqrt(3)
    assert adopted["sd"] == pytest.approx(0.1)
    assert adopted["ci_low"] == pytest.approx(0.1 - half, abs=1e-7)
    assert adopted["ci_high"] == pytest.approx(0.1 + half, abs=1e-7)
    # it includes 0: (4.3027 * 0.1 / 0.1)^2 = 18.5 -> 19 runs to separate
    assert adopted["outcome"] == "unresolved" and adopted["runs_needed"] == 19
    # weeks to half: +2 and -2 (the NaN pair left out); lower is better: 1 of 2; mean 0, so no
    # number of runs would separate them
    assert weeks["mean"] == pytest.approx(0.0) and weeks["prob_better"] == 0.5
    assert weeks["pairs"] == 2 and weeks["ci_high"] == pytest.approx(T975[1] * 2.0)
    assert weeks["outcome"] == "unresolved" and math.isnan(weeks["runs_needed"])


@pytest.mark.parametrize(
    ("differences", "outcome", "low", "high"),
    [
        ([1.0, 2.0, 3.0, 4.0], "separated",  # sd sqrt(5/3) = 1.2910
         2.5 - T975[3] * math.sqrt(5 / 3) / 2, 2.5 + T975[3] * math.sqrt(5 / 3) / 2),
        ([0.0] * 5, "equal", 0.0, 0.0),
        ([-3.0] * 4, "exact", -3.0, -3.0),
        ([-1.0, 1.0, -1.0, 2.0, 0.5, -0.5, 1.0, 0.0], "unresolved", None, None),
        ([math.nan, 4.0], "unresolved", math.nan, math.nan),  # a single pair: no interval
        ([math.nan, math.nan], "undefined", math.nan, math.nan),
    ],
)
def test_difference_stats_intervals_ties_and_exact_differences(differences, outcome, low, high):
    row = difference_stats(np.array(differences), direction=1)
    assert row["outcome"] == outcome
    finite = np.array(differences)[np.isfinite(differences)]
    if low is None:  # 8 pairs: worked with the table's t(0.975, 7)
        half = T975[7] * np.std(finite, ddof=1) / math.sqrt(8)
        low, high = finite.mean() - half, finite.mean() + half
        assert row["runs_needed"] == math.ceil((T975[7] * np.std(finite, ddof=1)
                                                / abs(finite.mean())) ** 2)
    assert row["ci_low"] == pytest.approx(low, nan_ok=True)
    assert row["ci_high"] == pytest.approx(high, nan_ok=True)
    if outcome == "equal":
        assert row["prob_tie"] == 1.0 and row["prob_better"] == 0.0
    if outcome == "exact":
        assert row["sd"] == 0.0 and row["prob_tie"] == 0.0 and row["prob_better"] == 0.0


def test_ties_and_exact_differences_read_as_such_in_the_table_and_the_verdict():
    equal = difference_stats(np.zeros(6), direction=1)
    cells = difference_cells("nps", equal)
    assert cells["difference"] == "equal in every run" and cells["chance"] == "tie"
    assert verdict("nps", equal["mean"], equal["ci_low"], equal["ci_high"],
                   equal["prob_better"]) == "Equal in every run: net promoter score."
    exact = difference_stats(np.full(6, 80_000.0), direction=1)
    cells = difference_cells("profit", exact)
    assert cells["difference"] == "exactly +80,000 in every run"
    assert cells["interval"] == cells["spread"] == "" and cells["chance"] == "100%"
    assert verdict("profit", exact["mean"], exact["ci_low"], exact["ci_high"],
                   exact["prob_better"]) == "Better: higher profit: exactly +80,000 in every run."
    unresolved = difference_stats(np.array([-1.0, 1.0, -1.0, 2.0, 0.5, -0.5, 1.0, 0.0]), 1)
    cells = difference_cells("profit", unresolved)
    assert cells["note"] == f"about {unresolved['runs_needed']:,.0f} runs to separate them"
    assert cells["chance"] == "50% (12% tied)"
    text = verdict("profit", *(unresolved[c] for c in ("mean", "ci_low", "ci_high",
                                                       "prob_better", "runs_needed")))
    assert text.startswith("No detectable difference in profit: +0.25 (95% interval of the "
                           "mean ") and text.endswith(cells["note"] + ".")


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
        assert (row["mean"], row["ci_low"], row["ci_high"], row["p05"], row["p95"]) == (0.0,) * 5
        assert row["outcome"] == "equal" and row["prob_tie"] == 1.0
        assert row["prob_better"] == 0.0 if KPI[kpi].direction else math.isnan(row["prob_better"])


def test_higher_quality_raises_adoption_with_an_interval_above_zero(tmp_path):
    comparison = compare([scenario_file(tmp_path, "plain", 0.6),
                          scenario_file(tmp_path, "better", 0.9)], workers=1)
    assert comparison.replications == 8 and comparison.seed == 3
    assert comparison.seeds == [replicate_seed(3, r) for r in range(8)]
    for result in comparison.results.values():
        assert list(result.runs["seed"]) == comparison.seeds
    row = comparison.differences.set_index("kpi").loc["adopted_fraction"]
    assert row["mean"] > 0 and row["p05"] > 0  # even the spread of runs excludes 0
    assert row["ci_low"] > 0 and row["outcome"] == "separated"
    assert row["prob_better"] == 1.0
    # the mean paired difference is the difference of the means (same replicates)
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    assert row["mean"] == pytest.approx(means["better", "adopted_fraction"]
                                        - means["plain", "adopted_fraction"])


def run_compare(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return run_command(parser.parse_args(["compare", *arguments]))


def test_compare_command_prints_the_table_and_writes_the_folder(tmp_path, capsys):
    a, b = scenario_file(tmp_path, "plain", 0.6), scenario_file(tmp_path, "better", 0.9)
    out = tmp_path / "cmp"
    assert run_compare([str(a), str(b), "--reps", "3", "--seed", "9", "--workers", "1",
                        "--out", str(out)]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "better vs plain" in printed and "P(better)" in printed
    assert "95% interval of mean" in printed and "spread of runs" in printed
    assert "percentiles of the 3 paired differences" in printed
    assert "warning" not in captured.err  # the same network: a true pairing
    record = json.loads((out / "comparison.json").read_text())
    assert record["replicate_seeds"] == [replicate_seed(9, r) for r in range(3)]
    assert record["scenarios"] == ["plain", "better"] and record["reference"] == "plain"
    assert record["pairs"] == [{"scenario": "better", "reference": "plain"}]
    assert len(record["differences"]) == len(KPI_NAMES) and record["warnings"] == []
    written = pd.read_csv(out / "differences.csv")
    assert {"ci_low", "ci_high", "p05", "p95", "prob_tie", "runs_needed"} <= set(written)
    for name in ("plain", "better"):
        runs = pd.read_parquet(out / name / "runs.parquet")
        assert list(runs["seed"]) == record["replicate_seeds"]
        assert Scenario.load(out / name / "scenario.toml").seed == 9
        assert (out / name / "report.html").is_file()  # each scenario is a whole run folder
        assert (out / name / "figures" / "funnel.png").is_file()
    for figure in ("differences.png", "adoption.png", "profit.png"):
        image = matplotlib.image.imread(out / "figures" / figure)
        assert image.shape[0] > 500 and np.ptp(image) > 0
    # the report embeds its own three figures and links the scenarios' (small, not 3 MB)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png") == 3 and 'href="better/figures/funnel.png"' in html
    assert (out / "report.html").stat().st_size < 1_000_000
    # counts beside percentages: adopters as a count of the 500 customers
    means = {name: pd.read_parquet(out / name / "runs.parquet")["adopted_fraction"].mean()
             for name in ("plain", "better")}
    assert f"({means['better'] * 500:,.0f})" in printed
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_compare_reference_all_pairs_set_and_weeks(tmp_path):
    files = [scenario_file(tmp_path, name, q)
             for name, q in (("low", 0.5), ("mid", 0.7), ("high", 0.9))]
    options = {"replications": 2, "workers": 1, "weeks": 20, "overrides": ["network.n=300"]}
    every = compare(files, all_pairs=True, **options)
    assert every.reference is None
    assert every.pairs == [("mid", "low"), ("high", "low"), ("high", "mid")]
    for result in every.results.values():  # --set and --weeks reach every scenario
        assert result.scenario.weeks == 20 and result.n == 300
    printed = comparison_table(every)
    html = render_comparison_report(every)
    for name, reference in every.pairs:  # "B vs A" in the same order in terminal and report
        assert f"{name} vs {reference}" in printed and f"{name} vs {reference}" in html
        assert len(every.pair(name, reference)) == len(KPI_NAMES)
    # the reference by name, or by its file as given: every other scenario against it
    for reference in ("mid", str(files[1])):
        against = compare(files, reference=reference, **options)
        assert against.reference == "mid" and against.pairs == [("low", "mid"), ("high", "mid")]
    assert "vs low" not in comparison_table(against)
    # each pair is paired replicate by replicate (the interval depends on the pairing)
    low, high = (every.results[n].runs.set_index("replicate")["nps"] for n in ("low", "high"))
    expected = difference_stats((high - low.loc[high.index]).to_numpy(), direction=1)
    row = every.pair("high", "low").loc["nps"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected["ci_low"],
                                                             expected["ci_high"]))


def test_compare_options_reach_the_comparison_and_bad_ones_exit_2(tmp_path, capsys,
                                                                  monkeypatch):
    files = [str(scenario_file(tmp_path, name, q)) for name, q in (("low", 0.5), ("mid", 0.7))]
    seen = {}
    monkeypatch.setattr(compare_command, "compare", lambda *a, **k: seen.update(k) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_compare([*files, "--reference", "mid", "--set", "network.n=300", "--set",
                     "weeks=9", "--weeks", "20"])
    assert seen["reference"] == "mid" and not seen["all_pairs"]
    assert seen["overrides"] == ["network.n=300", "weeks=9"] and seen["weeks"] == 20
    monkeypatch.undo()
    # a reference that is none of them is bad input: one line, exit status 2, nothing run
    assert run_compare([*files, "--reference", "nope"]) == 2
    assert "--reference 'nope' is none of the scenarios compared" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not both
        run_compare([*files, "--reference", "mid", "--all-pairs"])
    with pytest.raises(SystemExit):
        run_compare(["--help"])
    assert "95% interval" in capsys.readouterr().out.replace("\n", " ")


def test_scenarios_on_different_networks_are_compared_with_a_warning(tmp_path, capsys,
                                                                    monkeypatch):
    small = scenario_file(tmp_path, "small", 0.8)
    large = tmp_path / "large.toml"
    large.write_text(f'extends = "{small.name}"\nname = "large"\n[network]\nn = 600\n')
    monkeypatch.setattr(compare_command, "write_comparison", lambda *args, **kwargs: None)
    assert run_compare([str(small), str(large), "--reps", "2", "--weeks", "10", "--workers",
                        "1"]) == 0
    err = capsys.readouterr().err
    assert "warning: the scenarios run on different networks (network.n 600 in large" in err
    assert "not common random numbers" in err
    comparison = compare([small, large], replications=2, weeks=10, workers=1)
    assert len(comparison.warnings) == 1 and "network.n" in comparison.warnings[0]
    assert "not common random numbers" in render_comparison_report(comparison)
    # a pinned graph seed that differs is a different network as well
    pinned = tmp_path / "pinned.toml"
    pinned.write_text(f'extends = "{small.name}"\nname = "pinned"\n[network]\nseed = 77\n')
    warning = network_warning({"small": Scenario.load(small), "pinned": Scenario.load(pinned)})
    assert warning is not None and "graph seed 77 in pinned" in warning
    assert network_warning({"a": Scenario.load(small), "b": Scenario.load(small)}) is None
