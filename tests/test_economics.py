"""The profit verdict's money assumptions: recomputed exactly, never re-simulated."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_scenario

from sim.analysis.compare import compare
from sim.analysis.economics import assumption_values, profit_sensitivity, sensitivity_line

SETTINGS = {"network.n": 1500, "product.quality": 0.9}
SEEDS = [{"kind": "seed", "week": 0, "count": 60, "strategy": "degree"}]
REFERRAL = [{"kind": "referral", "start": 0, "end": 30, "boost": 0.5, "reward": 4.0}]


def pair(settings: dict):
    base = make_scenario({**SETTINGS, **settings}, events=REFERRAL, weeks=60, name="base")
    seeded = make_scenario({**SETTINGS, **settings}, events=REFERRAL + SEEDS, weeks=60,
                           name="seeded")
    return compare([base, seeded], replications=4, workers=1)


@pytest.fixture(scope="module")
def as_run():
    return pair({})


@pytest.mark.parametrize("key, factor", [("economics.margin", 2.0),
                                         ("economics.quality_cost", 0.5),
                                         ("economics.seed_cost", 2.0)])
def test_a_halved_or_doubled_assumption_equals_a_run_with_that_value(as_run, key, factor):
    # Money never changes behaviour, so re-running with the new value must give exactly the
    # profit differences that are recomputed from the runs already made.
    table = profit_sensitivity(as_run, "seeded", "base").set_index(["assumption", "factor"])
    default = {"economics.margin": 25.0, "economics.quality_cost": 100.0,
               "economics.seed_cost": 25.0}[key]
    rerun = pair({key: default * factor}).differences.set_index("kpi").loc["profit"]
    assert table.loc[(key, factor), "mean"] == pytest.approx(rerun["mean"], rel=1e-9)
    assert table.loc[(key, factor), "ci_low"] == pytest.approx(rerun["ci_low"], rel=1e-9)


def test_the_as_run_row_is_the_comparisons_profit_difference(as_run):
    table = profit_sensitivity(as_run, "seeded", "base")
    profit = as_run.differences.set_index("kpi").loc["profit"]
    assert table.iloc[0]["assumption"] == "as run"
    assert table.iloc[0]["mean"] == pytest.approx(profit["mean"])
    # the referral reward is paid in both scenarios: its row moves by the difference in rewards
    referral = table.set_index(["assumption", "factor"]).loc[("events[*].reward", 2.0), "mean"]
    rewards = [r.timeseries["cost_referral"].sum() / 4 for r in as_run.results.values()]
    assert referral == pytest.approx(profit["mean"] - (rewards[1] - rewards[0]))


def test_the_line_says_whether_the_verdict_holds():
    table = pd.DataFrame({"assumption": ["as run", "economics.seed_cost"], "factor": [1.0, 2.0],
                          "mean": [10.0, -5.0], "ci_low": [5.0, -9.0], "ci_high": [15.0, -1.0],
                          "verdict": ["better", "worse"]})
    table = table.assign(same=table["verdict"] == "better")
    assert "double economics.seed_cost: worse" in sensitivity_line(table)
    assert "holds" in sensitivity_line(table.iloc[:1])


def test_assumption_values_name_every_money_input():
    values = assumption_values(make_scenario(events=REFERRAL))
    assert values["events[*].reward"] == "4.00"
    assert values["economics.margin"] == "25.00"
    assert set(values) == {"economics.margin", "economics.quality_cost", "economics.seed_cost",
                           "events[*].reward"}


def test_the_comparison_report_lists_the_assumptions_and_the_sensitivity(as_run):
    from sim.present.report_comparison import render_comparison_report

    html = render_comparison_report(as_run)
    assert "What the profit verdict rests on" in html
    assert "economics.quality_cost" in html and "seeded vs base:" in html
    line = sensitivity_line(profit_sensitivity(as_run, "seeded", "base"))
    assert line.replace("'", "&#39;") in html
