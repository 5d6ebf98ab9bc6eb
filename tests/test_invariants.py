"""Invariants every run must keep, exact reproducibility, common random numbers, the direction
of the main levers, and the default market against MODEL.md section 8's independent prototype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario, run_engine

from sim.core.stages import ADOPTED_COLUMNS
from sim.run.engine import build_scenario_graph
from sim.run.replicates import simulate
from sim.scenario.load import Scenario

STATES = ["unaware", "zmot", "smot", "loyal", "rejected", "churned"]
STIMULI = ["stimulus_paid", "stimulus_talk", "stimulus_share"]


def small_market(**top):
    """The default market on 3,000 customers, with stronger paid media so a year shows movement."""
    return make_scenario({"network.n": 3000, "market.innovation": 0.3}, **top)


def test_states_sum_to_n_and_flows_match_count_changes():
    scenario = small_market(weeks=104)
    history = run_engine(scenario).history_frame()
    n = scenario.network.n
    assert (history[STATES].sum(axis=1) == n).all()
    before = pd.concat([pd.DataFrame([{"unaware": n}]), history[STATES]]).fillna(0)
    change = before.diff().iloc[1:].reset_index(drop=True)
    entered = history[STIMULI].sum(axis=1)
    # Each state's change is what flowed in minus what flowed out (no seeds here).
    assert (change["unaware"] == -(entered - history["winback"])).all()
    assert (change["zmot"] == entered - history["fmot_buy"] - history["fmot_reject"]).all()
    assert (change["rejected"] == history["fmot_reject"] - history["winback"]).all()
    assert (change["smot"] == history["fmot_buy"] + history["repurchase"]
            - history["experiences"]).all()
    assert (change["loyal"] == history["experiences"] - history["repurchase"]
            - history["churn"]).all()
    assert (change["churned"] == history["churn"]).all()
    assert (history["umot_positive"] + history["umot_negative"] <= history["experiences"]).all()
    assert history["winback"].sum() > 0 and history["churn"].sum() > 0  # the checks had work


def test_flows_balance_with_seeds_and_cumulative_adopters_never_fall():
    scenario = small_market(weeks=60, events=[
        {"kind": "seed", "week": 0, "count": 30, "strategy": "degree"},
        {"kind": "seed", "week": 20, "count": 30}])
    engine = run_engine(scenario)
    history = engine.history_frame()
    # Customers leave the states before a purchase only by buying at FMOT or being seeded, and
    # both are first purchases (nobody who bought goes back to ZMOT).
    pre_purchase = history[["unaware", "zmot", "rejected"]].sum(axis=1)
    change = pre_purchase.diff().fillna(pre_purchase.iloc[0] - scenario.network.n)
    assert (change == -(history["fmot_buy"] + history["stimulus_seed"])).all()
    adopted = history[list(ADOPTED_COLUMNS)]
    cumulative = adopted.sum(axis=1).cumsum()
    assert (cumulative.diff().dropna() >= 0).all()
    assert cumulative.iloc[-1] == np.count_nonzero(engine.customers.adopted_week >= 0)
    assert history["adopted_seed"].sum() == 60 == history["stimulus_seed"].sum()


def assert_same_tables(first, second) -> None:
    pd.testing.assert_frame_equal(first.timeseries, second.timeseries)
    pd.testing.assert_frame_equal(first.runs, second.runs)


def test_same_seed_gives_identical_tables():
    scenario = small_market(weeks=52, replications=3)
    first = simulate(scenario, workers=1)
    assert_same_tables(first, simulate(scenario, workers=1))
    other = simulate(scenario, seed=scenario.seed + 1, workers=1)
    assert not other.timeseries.equals(first.timeseries)


def test_worker_processes_give_the_same_tables_as_one():
    scenario = small_market(weeks=40, replications=4)
    serial = simulate(scenario, workers=1)
    assert_same_tables(serial, simulate(scenario, workers=2))


def test_scenarios_identical_until_week_50_share_their_history_until_then():
    base = small_market(weeks=80)
    changed = small_market(weeks=80, events=[
        {"kind": "quality", "start": 50, "end": 80, "value": 0.3}])
    a = run_engine(base).history_frame()
    b = run_engine(changed).history_frame()
    pd.testing.assert_frame_equal(a.iloc[:50], b.iloc[:50])
    assert not a.iloc[50:].equals(b.iloc[50:])


def _mean_adoption(key: str, values: list[float], replications: int = 6) -> list[float]:
    """Mean adopted fraction for each value of `key` (same seeds: paired comparison)."""
    base = make_scenario({"network.n": 2000}, weeks=104, replications=replications)
    graph = build_scenario_graph(base)
    means = []
    for value in values:
        scenario = base.with_overrides({key: value})
        result = simulate(scenario, workers=1, graph=graph)
        means.append(result.runs["adopted_fraction"].mean())
    return means


@pytest.mark.slow
@pytest.mark.parametrize("key, values", [
    ("product.quality", [0.6, 0.8, 0.95]),
    ("sharing.reach", [0.3, 0.6, 1.0]),
    ("sharing.base", [0.08, 0.18, 0.35]),
    ("media.spend", [1250.0, 5000.0, 40000.0]),
])
def test_adoption_rises_with_quality_reach_share_base_and_spend(key, values):
    means = _mean_adoption(key, values)
    assert means[0] < means[1] < means[2], means


@pytest.mark.slow
def test_default_market_matches_model_section_8():
    """docs/model.md section 8 (mean of 16 runs): 14.5%, 53.0%, 86.5% bought by weeks 52, 104,
    156; buyers 6% paid, 4% talk, 90% share; about 3 positive shares per negative one (East,
    Hammond & Wright 2007 find 3:1 in the field); NPS about +11; annual retention about 0.87."""
    result = simulate(Scenario.default(), replications=16)
    adopted = result.adopted_fraction_by_week().mean(axis=1)
    for week, expected in [(52, 0.144), (104, 0.526), (156, 0.864)]:
        assert abs(adopted.loc[week - 1] - expected) < 0.03, (week, adopted.loc[week - 1])
    buyers = result.runs[["adopters_paid", "adopters_talk", "adopters_share"]].sum()
    by_source = buyers / buyers.sum()
    for source, expected in [("paid", 0.06), ("talk", 0.04), ("share", 0.90)]:
        assert abs(by_source[f"adopters_{source}"] - expected) < 0.03, by_source
    assert abs(result.summary["positive_negative_ratio"]["mean"] - 3.0) < 0.4
    assert abs(result.summary["nps"]["mean"] - 11) < 4
    assert abs(result.summary["annual_retention"]["mean"] - 0.87) < 0.02
