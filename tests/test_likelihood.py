"""The per-customer likelihood (sim.analysis.calibrate.likelihood): a value worked by hand,
recovery of known keys from data simulated by independent code, Bass nested in the network
model, censoring at a cut, and keys held fixed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NamedTuple

import networkx as nx
import numpy as np
import pytest

from sim.analysis.calibrate.data import ObservedData
from sim.analysis.calibrate.likelihood import (
    IMITATION,
    INNOVATION,
    KEYS,
    MIXING,
    POTENTIAL,
    data_exposure,
    exposure,
    fit_bass_likelihood,
    fit_likelihood,
    log_likelihood,
)
from sim.graph import Graph, complete_graph

TRUTH = {INNOVATION: 0.02, IMITATION: 0.6, POTENTIAL: 0.7, MIXING: 0.3}


def simulate(G: nx.Graph | nx.DiGraph, truth: dict[str, float], months: int, seed: int,
             initial: float = 0.01) -> np.ndarray:
    """Adoption times in months of every node of G (NaN: never) drawn from the discrete hazard
    process month by month, written without the module: a node is in the market with
    probability m; a share `initial` of the nodes in it adopt at the launch (time 0); in month k a
    node in the market not yet adopted adopts with probability 1 - exp(-H/12), H = p + q ((1 - mu)
    (tie strength from adopted in-neighbours) / (from all in-neighbours) + mu (adopted) / (m n)),
    counting adoptions before month k; its time is uniform in (k - 1, k]."""
    p, q, m, mu = (truth[key] for key in KEYS)
    n = G.number_of_nodes()
    ties = nx.to_scipy_sparse_array(G, nodelist=range(n), format="csr")  # [i, j]: i -> j
    hears = ties.T.tocsr()  # row j: the in-ties of j
    strength = np.asarray(hears.sum(axis=1)).ravel()
    rng = np.random.default_rng(seed)
    in_market = rng.random(n) < m
    unit = np.full(n, np.inf)
    first = rng.choice(np.flatnonzero(in_market), int(initial * n), replace=False)
    unit[first] = 0
    for k in range(1, months + 1):
        done = (unit < k).astype(float)
        local = np.divide(hears @ done, strength, out=np.zeros(n), where=strength > 0)
        hazard = p + q * ((1 - mu) * local + mu * done.sum() / (m * n))
        adopt = in_market & (done == 0) & (rng.random(n) < -np.expm1(-hazard / 12))
        unit[adopt] = k
    times = np.where(unit > 0, unit - rng.random(n), unit)
    return np.where(np.isinf(times), np.nan, times)


class Network(NamedTuple):
    """A networkx graph (for `simulate`) and the same graph as the module reads it."""

    nx: nx.Graph
    graph: Graph


def month_exposure(network: Network, times: np.ndarray, until: float | None = None):
    """Every node listed, with adoption times in months."""
    return exposure(network.graph, np.arange(len(times)), times, "month", until)


# --- the likelihood by hand ------------------------------------------------------------------


def path_data(until: float | None = None):
    """a -> b -> c (b hears a, c hears b), unit = year: a adopts at the launch, b at 1.5 (year 2),
    c at 3 (year 3)."""
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    graph = Graph.from_networkx(G)
    return exposure(graph, graph.index_of(["a", "b", "c"]), np.array([0.0, 1.5, 3.0]), "year",
                    until)


def test_the_log_likelihood_of_a_directed_path_worked_by_hand():
    p, q, m, mu, N = 0.1, 0.5, 0.8, 0.25, 3
    # A(k), listed adopters before year k: a from year 1, b (year 2) from year 3.
    # b hears a, adopted from the start: local share 1 in years 1 and 2; A = 1 in both.
    h_b1 = p + q * ((1 - mu) * 1 + mu * 1 / (m * N))  # 0.1 + 0.5 (0.75 + 0.1042) = 0.52708
    h_b2 = h_b1
    # c hears b, adopted in year 2: local share 0 in years 1 and 2, 1 in year 3; A = 1, 1, 2.
    h_c1 = p + q * ((1 - mu) * 0 + mu * 1 / (m * N))  # 0.1 + 0.5 * 0.1042 = 0.15208
    h_c2 = h_c1
    h_c3 = p + q * ((1 - mu) * 1 + mu * 2 / (m * N))  # 0.1 + 0.5 (0.75 + 0.2083) = 0.57917
    b = math.log(m) - h_b1 + math.log(1 - math.exp(-h_b2))  # a year is D = 1 year
    c = math.log(m) - (h_c1 + h_c2) + math.log(1 - math.exp(-h_c3))
    data = path_data()
    assert (data.units, data.n, data.adopters) == (3, 2, 2)
    assert log_likelihood(data, p, q, m, mu) == pytest.approx(b + c, rel=1e-12)
    assert b + c == pytest.approx(-2.9917, abs=1e-4)
    # Cut at year 2: c has not adopted yet, censored after years 1 and 2.
    c_censored = math.log((1 - m) + m * math.exp(-(h_c1 + h_c2)))
    assert log_likelihood(path_data(until=2), p, q, m, mu) == pytest.approx(b + c_censored,
                                                                            rel=1e-12)


def test_months_are_twelfths_of_a_year_and_unlisted_neighbours_never_adopt():
    # b hears a and x; x is not listed, so counts as never adopting: b's local share is 1/2.
    G = nx.DiGraph([("a", "b"), ("x", "b")])
    graph = Graph.from_networkx(G)
    data = exposure(graph, graph.index_of(["a", "b"]), np.array([0.0, 1.0]), "month")
    p, q = 0.3, 1.2
    hazard = p + q * 0.5  # mu = 0: local only
    assert log_likelihood(data, p, q) == pytest.approx(math.log(-math.expm1(-hazard / 12)))


def test_data_read_from_a_file_and_the_implicit_complete_graph():
    explicit = Graph.from_networkx(nx.complete_graph(30))
    customers = np.arange(0, 30, 2)  # half listed: the others never adopt
    times = np.array([0, 0.5, 2, 2.2, np.nan, 7, 3, 3, np.nan, 1, 4, 0, 5.5, 6, 1.1])
    observed = ObservedData(Path("adoption.csv"), "per_customer", "week", np.arange(1.0, 8.0),
                            np.zeros(7), len(customers), customers, times)
    expected = log_likelihood(exposure(explicit, customers, times, "week"), 2.0, 3.0, 0.9, 0.4)
    for graph in (explicit, complete_graph(30)):
        data = data_exposure(observed, graph)
        assert log_likelihood(data, 2.0, 3.0, 0.9, 0.4) == pytest.approx(expected, rel=1e-12)
    aggregate = ObservedData(Path("curve.csv"), "aggregate", "year", np.arange(1.0, 3.0),
                             np.array([10.0, 20.0]), 30)
    with pytest.raises(ValueError, match="per-customer"):
        data_exposure(aggregate, explicit)


def test_bad_input_is_refused():
    graph = Graph.from_networkx(nx.path_graph(3))
    with pytest.raises(ValueError, match="listed twice"):
        exposure(graph, [0, 0], [1.0, 2.0], "month")
    with pytest.raises(ValueError, match="nothing to score"):
        exposure(graph, [0, 1], [0.0, 0.0], "month")
    data = exposure(graph, [0, 1, 2], [0.0, 1.0, np.nan], "month")
    with pytest.raises(ValueError, match="market.potential"):
        log_likelihood(data, 0.1, 0.1, potential=0.0)
    with pytest.raises(ValueError, match="held key"):
        fit_likelihood(data, [IMITATION])


# --- fitting ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def er_graph() -> Network:
    G = nx.fast_gnp_random_graph(3000, 8 / 2999, seed=11)
    return Network(G, Graph.from_networkx(G))


@pytest.fixture(scope="module")
def ws_graph() -> Network:
    """A clustered small world: ring lattice of 8 neighbours, 10% rewired."""
    G = nx.watts_strogatz_graph(3000, 8, 0.1, seed=12)
    return Network(G, Graph.from_networkx(G))


@pytest.mark.parametrize("family", ["er_graph", "ws_graph"])
def test_known_keys_are_recovered_within_their_intervals(family, request):
    network = request.getfixturevalue(family)
    times = simulate(network.nx, TRUTH, 60, seed=21)
    fit = fit_likelihood(month_exposure(network, times), KEYS)
    assert fit.converged and fit.identifiable, fit.notes
    for key, true in TRUTH.items():
        low, high = fit.intervals[key]
        assert low <= true <= high, (key, true, fit.values[key], fit.intervals[key])
        assert abs(fit.values[key] - true) <= 3 * fit.standard_errors[key]
    assert fit.k == 4 and fit.n == np.sum(~(times == 0))
    assert fit.aic == pytest.approx(8 - 2 * fit.log_likelihood)
    assert fit.bic == pytest.approx(4 * math.log(fit.n) - 2 * fit.log_likelihood)


def test_bass_is_nested_and_chosen_on_bass_data(er_graph):
    data = month_exposure(er_graph, simulate(er_graph.nx, {**TRUTH, MIXING: 1.0}, 60, seed=31))
    network, bass = fit_likelihood(data, KEYS), fit_bass_likelihood(data)
    assert bass.fitted == (INNOVATION, IMITATION, POTENTIAL) and bass.values[MIXING] == 1.0
    assert network.log_likelihood >= bass.log_likelihood - 1e-6
    assert bass.aic <= network.aic


def test_the_network_wins_on_local_contagion_in_a_clustered_graph(ws_graph):
    data = month_exposure(ws_graph, simulate(ws_graph.nx, {**TRUTH, MIXING: 0.0}, 60, seed=41))
    network, bass = fit_likelihood(data, KEYS), fit_bass_likelihood(data)
    assert network.aic < bass.aic - 10
    assert network.bic < bass.bic


def test_a_cut_uses_only_the_adoption_before_it(er_graph):
    times = simulate(er_graph.nx, TRUTH, 60, seed=51)
    first = fit_likelihood(month_exposure(er_graph, times, until=30), KEYS)
    # Change every adoption after month 30: later, or never.
    late = times > 30
    changed = times.copy()
    changed[late] = np.where(np.arange(late.sum()) % 2, np.nan, times[late] + 7.0)
    second = fit_likelihood(month_exposure(er_graph, changed, until=30), KEYS)
    assert second.values == first.values
    assert second.log_likelihood == first.log_likelihood
    assert second.n == first.n == np.sum(times != 0)
    full = fit_likelihood(month_exposure(er_graph, times), KEYS)
    assert full.log_likelihood < first.log_likelihood  # more adoptions to explain


def test_held_keys_stay_at_their_values(er_graph):
    data = month_exposure(er_graph, simulate(er_graph.nx, TRUTH, 60, seed=61))
    held = {INNOVATION: 0.025, POTENTIAL: 0.65}
    fit = fit_likelihood(data, [IMITATION, MIXING], held)
    assert fit.k == 2 and fit.fitted == (IMITATION, MIXING)
    assert fit.values[INNOVATION] == 0.025 and fit.values[POTENTIAL] == 0.65
    assert set(fit.intervals) == {IMITATION, MIXING}
    assert fit.log_likelihood == pytest.approx(
        log_likelihood(data, 0.025, fit.values[IMITATION], 0.65, fit.values[MIXING]))
    plain = json.loads(json.dumps(fit.to_dict()))
    assert plain["values"] == fit.values and plain["k"] == 2 and plain["aic"] == fit.aic
