"""The analytic oracles of MODEL.md section 5: Bass on the complete graph, and the independent
cascade (bond percolation) on Erdos-Renyi graphs. Expected values are computed here from the
formulas, never copied from a run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario, run_engine

from sim.core.rng import replicate_seed
from sim.run.engine import Engine, build_scenario_graph

P, Q = 0.03, 0.38  # MODEL.md defaults (Sultan, Farley & Lehmann 1990)
DT = 1.0 / 52.0


def bass_scenario(customers: int, weeks: int, replications: int):
    """MODEL.md section 5, Bass: complete graph, spend = reference spend, uniform talk, no shares,
    T_Z = 0, pi_0 = 1, rho_0 = 1, gamma_v = 0."""
    return make_scenario({
        "network.kind": "complete", "network.n": customers,
        "media.spend": 1000.0, "media.reference_spend": 1000.0,
        "market.innovation": P, "market.imitation": Q, "market.talk": "uniform",
        "sharing.base": 0.0, "journey.zmot_weeks": 0.0, "journey.conversion": 1.0,
        "loyalty.retention": 1.0, "loyalty.valence_effect": 0.0,
    }, weeks=weeks, replications=replications)


def bass_recursion(customers: int, weeks: int) -> np.ndarray:
    """F_{t+1} = F_t + (1 - F_t)[1 - exp(-(p + q F_t M/(M-1)) dt)] from F = 0 before week 0."""
    fractions = np.empty(weeks)
    f = 0.0
    for t in range(weeks):
        f = f + (1.0 - f) * -math.expm1(-(P + Q * f * customers / (customers - 1)) * DT)
        fractions[t] = f
    return fractions


def bass_closed_form(weeks: int) -> np.ndarray:
    """Bass (1969): F(tau) = (1 - e^{-(p+q)tau}) / (1 + (q/p) e^{-(p+q)tau}), tau = (t+1) dt."""
    tau = (np.arange(weeks) + 1.0) * DT
    decay = np.exp(-(P + Q) * tau)
    return (1.0 - decay) / (1.0 + (Q / P) * decay)


def simulated_bass_curves(customers: int, weeks: int, replications: int) -> np.ndarray:
    """F_t of each replicate of the Bass scenario: the fraction not UNAWARE in each week's row."""
    scenario = bass_scenario(customers, weeks, replications)
    graph = build_scenario_graph(scenario)
    return np.array([
        1.0 - run_engine(scenario, r, graph).history_frame()["unaware"].to_numpy() / customers
        for r in range(replications)])


@pytest.mark.slow
def test_bass_on_complete_graph_matches_recursion_and_closed_form():
    customers, weeks, replications = 10_000, 520, 30
    curves = simulated_bass_curves(customers, weeks, replications)
    mean = curves.mean(axis=0)
    standard_error = curves.std(axis=0, ddof=1) / math.sqrt(replications)
    recursion = bass_recursion(customers, weeks)
    closed = bass_closed_form(weeks)
    assert np.all(np.abs(mean - recursion) <= np.maximum(3 * standard_error, 0.005))
    assert np.all(np.abs(mean - closed) <= 0.006)
    # and the curve really is an S: slow first year (F(1) = 0.036), 81% after ten years
    assert mean[51] < 0.06 and mean[-1] > 0.78


def test_bass_small_market_first_weeks_follow_recursion():
    """A quick version for `-m "not slow"`: 2,000 customers, 2 years, 12 runs."""
    customers, weeks, replications = 2_000, 104, 12
    curves = simulated_bass_curves(customers, weeks, replications)
    standard_error = curves.std(axis=0, ddof=1) / math.sqrt(replications)
    recursion = bass_recursion(customers, weeks)
    assert np.all(np.abs(curves.mean(axis=0) - recursion) <= np.maximum(3 * standard_error, 0.01))


def percolation_fraction(mean_degree: float, transmissibility: float) -> float:
    """Newman (2002): the giant cascade S solves S = 1 - exp(-c T S) (fixed-point iteration)."""
    s = 1.0
    for _ in range(10_000):
        s = 1.0 - math.exp(-mean_degree * transmissibility * s)
    return s


def cascade_scenario(transmissibility: float, seeds: int, graph_seed: int, customers: int = 20_000,
                     mean_degree: float = 4.0, weeks: int = 200):
    """MODEL.md section 5, independent cascade: spend 0, q = 0, constant sharing s_0 = 1, reach T,
    tau- = 1, T_Z = 0, pi_0 = 1, d_S = 1, rho_0 = 0, k random seeds at week 0."""
    return make_scenario({
        "network.kind": "erdos_renyi", "network.n": customers, "network.mean_degree": mean_degree,
        "network.seed": graph_seed,
        "media.spend": 0.0, "market.imitation": 0.0,
        "sharing.mode": "constant", "sharing.base": 1.0, "sharing.reach": transmissibility,
        "sharing.negative_recruit": 1.0, "journey.zmot_weeks": 0.0, "journey.conversion": 1.0,
        "journey.smot_weeks": 1, "loyalty.retention": 0.0,
    }, events=[{"kind": "seed", "week": 0, "count": seeds}], weeks=weeks)


def final_cascade_fraction(scenario, replicate: int = 0) -> float:
    engine = Engine(scenario, replicate_seed(scenario.seed, replicate)).run()
    assert engine.messages_in_flight == 0, "the horizon must outlast the cascade"
    return engine.kpis()["adopted_fraction"]


@pytest.mark.slow
@pytest.mark.parametrize("transmissibility", [0.375, 0.5])
def test_cascade_final_size_matches_percolation_on_er(transmissibility):
    expected = percolation_fraction(4.0, transmissibility)
    # the published values (MODEL.md section 5) as a check on the solver itself
    assert expected == pytest.approx({0.375: 0.5828, 0.5: 0.7968}[transmissibility], abs=1e-4)
    # 20 seeds make an early die-out negligible (0.42^20); a new graph each run averages out
    # each graph's own finite-size offset.
    fractions = np.array([
        final_cascade_fraction(cascade_scenario(transmissibility, 20, graph_seed))
        for graph_seed in range(12)])
    standard_error = fractions.std(ddof=1) / math.sqrt(len(fractions))
    assert abs(fractions.mean() - expected) <= max(3 * standard_error, 0.01)


@pytest.mark.slow
def test_no_large_cascade_below_threshold():
    """At T = 0.125 (cT = 0.5 < 1) a single seed never reaches 1% of the graph."""
    scenario = cascade_scenario(0.125, 1, graph_seed=3)
    graph = build_scenario_graph(scenario)
    sizes = []
    for replicate in range(40):
        engine = Engine(scenario, replicate_seed(scenario.seed, replicate), graph).run()
        assert engine.messages_in_flight == 0
        sizes.append(engine.kpis()["adopted_fraction"])
    assert max(sizes) < 0.01
    assert max(sizes) > 1 / 20_000  # some runs do spread beyond the seed


def test_cascade_quick_supercritical_spreads_and_subcritical_does_not():
    """A quick version for `-m "not slow"` on 4,000 customers."""
    high = final_cascade_fraction(cascade_scenario(0.5, 10, 1, customers=4_000))
    assert abs(high - percolation_fraction(4.0, 0.5)) < 0.04
    low = final_cascade_fraction(cascade_scenario(0.125, 1, 1, customers=4_000))
    assert low < 0.01
