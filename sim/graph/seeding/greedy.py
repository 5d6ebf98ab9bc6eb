"""Greedy influence maximisation under the independent cascade (Kempe, Kleinberg & Tardos
2003), its spread estimated over live-edge worlds, and the scenario's cascade proxy."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.core.rng import step_key, uniform_pair
from sim.graph.csr import Graph
from sim.graph.seeding.common import LIVE_EDGE, by_id, ranked

if TYPE_CHECKING:
    from sim.scenario.load import Scenario

# Greedy: the independent cascade's spread is estimated over this many simulated cascades (live-
# edge worlds, Kempe, Kleinberg & Tardos 2003), and greedy is refused above GREEDY_MAX_NODES
# customers (it keeps 9 bytes per customer per world).
GREEDY_WORLDS = 100
GREEDY_MAX_NODES = 100_000


@njit(cache=True)
def _find(parent, v):
    while parent[v] != v:
        parent[v] = parent[parent[v]]  # path halving
        v = parent[v]
    return v


@njit(cache=True)
def _live_components(n, indptr, indices, weight, probability, seed, worlds):
    """For each simulated cascade r (a live-edge world: edge {u, v} is live with probability
    probability * omega_uv, one counter-based draw per edge keyed by (r, min, max)), the root of
    each customer's live component, root[v, r], and the size of the component rooted at c,
    size[c, r]."""
    root = np.empty((n, worlds), dtype=np.int32)
    size = np.zeros((n, worlds), dtype=np.int32)
    parent = np.empty(n, dtype=np.int64)
    weighted = weight.size > 0
    for r in range(worlds):
        key = step_key(seed, r)
        for v in range(n):
            parent[v] = v
        for u in range(n):
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if v <= u:
                    continue  # each undirected edge once, from its lower end
                p = probability * weight[e] if weighted else probability
                if uniform_pair(key, u, LIVE_EDGE, v) < p:
                    a, b = _find(parent, u), _find(parent, v)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        for v in range(n):
            c = _find(parent, v)
            root[v, r] = c
            size[c, r] += 1
    return root, size


@njit(cache=True)
def _marginal(root, size, covered, v):
    """Customers reached from v and not yet from the chosen set, summed over the worlds."""
    gain = 0
    for r in range(root.shape[1]):
        c = root[v, r]
        if not covered[c, r]:
            gain += size[c, r]
    return gain


@njit(cache=True)
def _celf(root, size, degree, count):
    """Lazy greedy (CELF; Leskovec et al. 2007) on the sample-average spread: `count` picks, each
    the customer of largest marginal gain, ties by larger degree, then lower id (in a
    supercritical graph everyone in the giant component ties for the first pick, and a hub
    reaches it soonest). Marginal gains only shrink (the spread is submodular in every world),
    so a stale gain is an upper bound and only the top of the heap needs recomputing. Returns
    (picks, each customer's spread alone)."""
    n, worlds = root.shape
    covered = np.zeros((n, worlds), dtype=np.bool_)
    alone = np.empty(n, dtype=np.int64)
    heap = []
    for v in range(n):
        alone[v] = _marginal(root, size, covered, v)
        heap.append((-alone[v], -degree[v], v))
    heapq.heapify(heap)
    fresh = np.zeros(n, dtype=np.int64)  # the pick at which each gain was computed
    picks = np.empty(count, dtype=np.int64)
    for pick in range(count):
        while True:
            _, _, v = heapq.heappop(heap)
            if fresh[v] == pick:
                break
            fresh[v] = pick
            heapq.heappush(heap, (-_marginal(root, size, covered, v), -degree[v], v))
        picks[pick] = v
        for r in range(worlds):
            covered[root[v, r], r] = True
    return picks, alone


def _check_greedy(graph: Graph, probability: float) -> None:
    if graph.directed:
        raise ValueError("the greedy seeding strategy needs an undirected graph (its spread "
                         "estimate counts live components)")
    if graph.n > GREEDY_MAX_NODES:
        raise ValueError(f"the greedy seeding strategy runs on graphs of at most "
                         f"{GREEDY_MAX_NODES:,} customers, not {graph.n:,}: use kcore, "
                         f"betweenness, community or degree")
    if not 0 <= probability <= 1:
        raise ValueError(f"greedy: the edge probability must be in [0, 1], not {probability}")


def _live_worlds(graph: Graph, probability: float, seed: int, worlds: int):
    weight = graph.weight if graph.weight is not None else np.empty(0, dtype=np.float32)
    return _live_components(graph.n, graph.indptr, graph.indices, weight, float(probability),
                            seed, worlds)


def influence_spread(graph: Graph, nodes, probability: float, seed: int,
                     worlds: int = GREEDY_WORLDS) -> float:
    """Monte Carlo estimate of the expected number of customers an independent cascade from
    `nodes` reaches, the seeds included (edge probability `probability` * tie strength), over
    the same `worlds` live-edge worlds greedy uses for `seed`. On an undirected graph the set a
    cascade reaches is the union of its seeds' live components (bond percolation; Newman 2002).
    """
    _check_greedy(graph, probability)
    if graph.complete:
        raise ValueError("shares are not allowed on the complete graph: no cascade to estimate")
    root, size = _live_worlds(graph, probability, seed, worlds)
    hit = {(int(root[v, r]), r) for v in np.asarray(nodes, dtype=np.int64)
           for r in range(worlds)}
    return sum(int(size[c, r]) for c, r in hit) / worlds


def greedy_order(graph: Graph, probability: float, seed: int, count: int,
                 worlds: int = GREEDY_WORLDS) -> np.ndarray:
    """Every customer, ranked for influence maximisation under the independent cascade with edge
    probability `probability` * tie strength (Kempe, Kleinberg & Tardos 2003): first the
    `count` greedy picks in order (each maximises the estimated spread added to those before;
    a (1 - 1/e)-approximation of the best set of each size), then the others by decreasing
    estimated spread alone; ties by larger degree, then lower id. The spread is estimated over
    `worlds` live-edge worlds drawn for `seed`, the same for every candidate, so the order is
    deterministic.

    Raises ValueError for a directed graph or one of more than GREEDY_MAX_NODES customers.
    """
    if graph.complete:
        return by_id(graph)
    _check_greedy(graph, probability)
    count = min(int(count), graph.n)
    root, size = _live_worlds(graph, probability, seed, worlds)
    degree = graph.degree()
    picks, alone = _celf(root, size, degree, count)
    rest = np.ones(graph.n, dtype=np.bool_)
    rest[picks] = False
    others = np.flatnonzero(rest)
    return np.concatenate([picks, others[ranked(alone[others], degree[others])]])


def edge_probability(scenario: Scenario) -> float:
    """The independent-cascade proxy of a scenario's sharing, per unit of tie strength: an
    adopter shares a neutral experience (s_0), the share reaches a strong tie (r), and the
    recruit buys at neutral evidence (pi_0), so T = pi_0 * s_0 * r. In MODEL.md section 5's
    exact case (s_0 = pi_0 = 1, reach T) this is the cascade's T exactly."""
    return scenario.journey.conversion * scenario.sharing.base * scenario.sharing.reach


def greedy_picks(scenario: Scenario) -> int:
    """How many greedy picks a scenario can use: the counts of its greedy seed events, summed."""
    return sum(event.count or 0 for event in scenario.events
               if event.kind == "seed" and event.strategy == "greedy")


def rank_greedy(graph: Graph, seed: int, scenario: Scenario) -> np.ndarray:
    """`greedy_order` with the scenario's edge probability (`edge_probability`) and as many
    greedy picks as its greedy seed events ask for (`greedy_picks`); the remaining customers,
    which fill in for picks who bought before their event, follow by spread alone."""
    return greedy_order(graph, edge_probability(scenario), seed, greedy_picks(scenario))
