"""Market potential m and market-wide talk mu_m (MODEL.md sections 3, 4.3 and 5).

Expected values come from the Bass closed form with market potential, the pure-innovation hazard
and the binomial law of the in-market count, never from a run; the neutral settings must reproduce
the recorded digests bit for bit."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario, run_engine
from kernel_digest import DIGEST_FILE, SCENARIO_DIR, SETTINGS, run_digest

from sim.analysis.bass import bass_cdf
from sim.core.kernels import market_draws
from sim.core.rng import replicate_seed
from sim.core.stages import Source, State
from sim.core.state import CHUNK
from sim.run.engine import Engine, build_scenario_graph, in_market_flags
from sim.scenario.load import Scenario

P, Q = 0.03, 0.38  # MODEL.md defaults (Sultan, Farley & Lehmann 1990)
WEEK = 1.0 / 52.0
TESTS = Path(__file__).parent


def bass_settings(network: dict, potential: float, mixing: float) -> dict:
    """MODEL.md section 5's Bass settings on `network`, with no content passed on along the ties
    (on a graph with edges it would recruit neighbours outside the hazard)."""
    return {
        **{f"network.{key}": value for key, value in network.items()},
        "media.spend": 1000.0, "media.reference_spend": 1000.0, "media.pass_on": 0.0,
        "market.innovation": P, "market.imitation": Q, "market.talk": "uniform",
        "market.potential": potential, "market.mixing": mixing,
        "sharing.base": 0.0, "journey.zmot_weeks": 0.0, "journey.conversion": 1.0,
        "loyalty.retention": 1.0, "loyalty.valence_effect": 0.0,
    }


def runs(scenario: Scenario, replications: int) -> list[Engine]:
    graph = build_scenario_graph(scenario)
    return [run_engine(scenario, r, graph) for r in range(replications)]


def aware_fraction(engine: Engine) -> np.ndarray:
    """F_t: the fraction of all customers not UNAWARE in each week's row."""
    return 1.0 - engine.history_frame()["unaware"].to_numpy() / engine.n


def bass_recursion_with_potential(potential: float, weeks: int) -> np.ndarray:
    """F_{t+1} = F_t + (m - F_t)[1 - exp(-(p + q F_t/m) dt)] from F = 0 before week 0: the
    expected weekly path when talk is wholly market-wide (hazard p + q talkers/M)."""
    fractions = np.empty(weeks)
    f = 0.0
    for t in range(weeks):
        f += (potential - f) * -math.expm1(-(P + Q * f / potential) * WEEK)
        fractions[t] = f
    return fractions


@pytest.mark.slow
def test_bass_with_market_potential_on_a_small_world_graph() -> None:
    potential, customers, weeks, replications = 0.6, 10_000, 312, 12
    scenario = make_scenario(bass_settings(
        {"kind": "watts_strogatz", "n": customers, "mean_degree": 10}, potential, mixing=1.0),
        weeks=weeks)
    engines = runs(scenario, replications)
    curves = np.array([aware_fraction(e) for e in engines])
    in_market = np.array([int(e.market.in_market.sum()) for e in engines])
    mean = curves.mean(axis=0)
    standard_error = curves.std(axis=0, ddof=1) / math.sqrt(replications)
    closed = bass_cdf((np.arange(weeks) + 1.0) * WEEK, P, Q, potential)
    # The weekly steps' distance from the continuous curve, computed, not guessed (about 0.0012).
    discretisation = np.abs(bass_recursion_with_potential(potential, weeks) - closed).max()
    # 4 standard errors: one bound for 312 correlated rows. The standard error includes the
    # spread of M/N between replicates (sd 0.005), which scales each replicate's curve.
    tolerance = 4.0 * standard_error + discretisation
    assert np.all(np.abs(mean - closed) <= tolerance), np.abs(mean - closed).max()
    # a real S-curve towards m: 2% after a year (F(1) = 0.036 m), 44% of the market after six
    assert mean[51] < 0.03 and mean[-1] > 0.4 * potential
    for engine, curve, size in zip(engines, curves, in_market, strict=True):
        assert curve.max() <= size / customers  # never beyond the market
        adopted = engine.customers.adopted_week >= 0
        assert np.all(engine.market.in_market[adopted] == 1)
        # wholly market-wide talk names no recruiter
        talk = engine.customers.adopted_source == Source.TALK
        assert talk.any() and np.all(engine.customers.adopted_recruiter[talk] == -1)


def isolated_curves(mixing: float, customers: int = 5_000, weeks: int = 156,
                    replications: int = 8) -> tuple[np.ndarray, list[Engine]]:
    """Bass settings on a graph with no edges (Erdos-Renyi of mean degree 0), potential 1."""
    scenario = make_scenario(bass_settings(
        {"kind": "erdos_renyi", "n": customers, "mean_degree": 0.0}, 1.0, mixing), weeks=weeks)
    engines = runs(scenario, replications)
    assert engines[0].graph.n_edges == 0
    return np.array([aware_fraction(e) for e in engines]), engines


@pytest.mark.slow
def test_isolated_customers_hear_market_wide_talk_only() -> None:
    weeks = 156
    tau = (np.arange(weeks) + 1.0) * WEEK
    alone, alone_runs = isolated_curves(0.0, weeks=weeks)
    mixed, _ = isolated_curves(1.0, weeks=weeks)
    for curves, expected, slack in (
            # mixing 0: no in-ties, no talk: the hazard is p alone, exactly
            (alone, -np.expm1(-P * tau), 0.0),
            # mixing 1: the Bass closed form (m = 1), within the weekly discretisation
            (mixed, bass_cdf(tau, P, Q),
             np.abs(bass_recursion_with_potential(1.0, weeks) - bass_cdf(tau, P, Q)).max())):
        standard_error = curves.std(axis=0, ddof=1) / math.sqrt(curves.shape[0])
        assert np.all(np.abs(curves.mean(axis=0) - expected) <= 4.0 * standard_error + slack)
    # imitation does diffuse: F(3 years) = 0.150 against 1 - exp(-3p) = 0.086
    assert mixed.mean(axis=0)[-1] > 1.5 * alone.mean(axis=0)[-1]
    assert all(e.history_frame()["stimulus_talk"].sum() == 0 for e in alone_runs)


def market_scenario(potential: float, mixing: float = 0.0, **settings) -> Scenario:
    """The default market on 5,000 customers, three years, with `potential` and `mixing`."""
    return make_scenario({"network.n": 5_000, "market.potential": potential,
                          "market.mixing": mixing, **settings}, weeks=156)


def test_potential_limits_adoption_to_the_customers_in_the_market() -> None:
    potential, customers = 0.3, 5_000
    for replicate in range(3):
        engine = run_engine(market_scenario(potential, mixing=0.3), replicate)
        c, flags = engine.customers, engine.market.in_market
        size = int(flags.sum())
        assert abs(size - potential * customers) <= 4.0 * math.sqrt(
            customers * potential * (1.0 - potential))
        assert engine.params.market_size == size
        adopted = c.adopted_week >= 0
        # word of mouth spreads within the market, though most ties lead out of it
        assert adopted.sum() > 0.1 * size
        assert np.all(flags[adopted] == 1)
        assert np.all(c.state[flags == 0] == State.UNAWARE)
        assert engine.history_frame()["dropped"].sum() > 0  # shares to outsiders are dropped


def test_seeding_reaches_customers_outside_the_market() -> None:
    scenario = make_scenario({"network.n": 5_000, "market.potential": 0.3},
                             events=[{"kind": "seed", "week": 0, "count": 200}], weeks=30)
    engine = run_engine(scenario)
    c, outside = engine.customers, engine.market.in_market == 0
    seeded_outside = outside & (c.adopted_source == Source.SEED)
    assert seeded_outside.sum() > 100  # about 0.7 * 200 of the random seeds
    # outside the market: seeded, or never stimulated
    assert np.all((c.adopted_source[outside] == Source.SEED)
                  | (c.state[outside] == State.UNAWARE))


def test_markets_are_nested_as_the_potential_grows() -> None:
    seed, customers = replicate_seed(7, 0), 20_000
    smaller = in_market_flags(0.5, seed, customers)
    larger = in_market_flags(0.7, seed, customers)
    assert np.all(smaller <= larger) and larger.sum() > smaller.sum()
    # 0.80 -> 0.81 adds the customers whose draw lies in [0.80, 0.81), and no others
    before, after = (in_market_flags(m, seed, customers).astype(bool) for m in (0.80, 0.81))
    assert np.all(before <= after)
    draws = market_draws(seed, customers)
    assert np.array_equal(np.flatnonzero(after & ~before),
                          np.flatnonzero((draws >= 0.80) & (draws < 0.81)))
    added = int((after & ~before).sum())
    assert abs(added - 0.01 * customers) <= 4.0 * math.sqrt(customers * 0.01 * 0.99)
    # The engine draws the same markets, whatever the scenario; a customer's draw depends on its
    # id alone, so the 5,000 customers of a smaller population get the flags of the first 5,000.
    engines = [Engine(market_scenario(m), seed) for m in (0.5, 0.7)]
    assert np.array_equal(engines[0].market.in_market, smaller[:5_000])
    assert np.array_equal(engines[1].market.in_market, larger[:5_000])
    # a potential of 1 draws nothing and keeps no flags
    assert in_market_flags(1.0, seed, customers) is None
    assert Engine(market_scenario(1.0), seed).market.in_market.size == 0


def test_partly_market_wide_talk_names_local_and_anonymous_recruiters() -> None:
    engine = run_engine(market_scenario(1.0, mixing=0.5, **{"market.imitation": 3.0}))
    c = engine.customers
    recruiters = c.adopted_recruiter[c.adopted_source == Source.TALK]
    assert (recruiters == -1).sum() > 5 and (recruiters >= 0).sum() > 5


RECORDED = json.loads(DIGEST_FILE.read_text())


@pytest.mark.parametrize("name", ["baseline.toml", sorted(RECORDED)[-1]])
def test_explicit_neutral_settings_give_the_recorded_digest(name: str) -> None:
    neutral = [*SETTINGS, "market.potential=1.0", "market.mixing=0.0"]
    assert run_digest(SCENARIO_DIR / name, neutral) == RECORDED[name]


# In a fresh interpreter allowed two threads: digests at 1 and 2 threads with a market potential
# and market-wide talk on, on enough customers for several chunks per parallel pass.
DIGESTS_BY_THREADS = """
import json, sys
import numba
sys.path.insert(0, {tests!r})
from kernel_digest import SCENARIO_DIR, run_digest
out = {{}}
for threads in (1, 2):
    numba.set_num_threads(threads)
    assert numba.get_num_threads() == threads
    out[threads] = [run_digest(SCENARIO_DIR / "baseline.toml", s) for s in {settings!r}]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_potential_and_mixing_are_bit_identical_at_one_and_two_threads() -> None:
    base = [f"network.n={5 * CHUNK}", "weeks=80"]
    settings = [[*base, "market.potential=0.6", "market.mixing=0.4"],
                [*base, "market.mixing=1.0"], base]
    code = DIGESTS_BY_THREADS.format(tests=str(TESTS), settings=settings)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    digests = json.loads(done.stdout.strip().splitlines()[-1])
    assert digests["1"] == digests["2"]
    assert len(set(digests["1"])) == len(settings)  # the settings do change the results
