"""Rankings by position in the graph: k-core (Batagelj & Zaversnik 2003) and betweenness
(Brandes 2001; sampled pivots, Brandes & Pich 2007, on large graphs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.core.rng import step_key, uniform
from sim.graph.csr import Graph
from sim.graph.seeding.common import PIVOT, by_id, ranked

if TYPE_CHECKING:
    from sim.scenario.load import Scenario

# Betweenness is exact (Brandes 2001: one breadth-first search from every customer, O(nm))
# up to this many customers, and estimated from BETWEENNESS_PIVOTS sources drawn uniformly
# without replacement above it (Brandes & Pich 2007), which costs O(pivots * m). On a
# Barabasi-Albert graph of 10^5 customers (mean degree 10), 128 pivots found 9 of the top 10 of
# a 512-pivot estimate, for either of two seeds.
BETWEENNESS_EXACT_MAX = 2_000
BETWEENNESS_PIVOTS = 128


@njit(cache=True)
def _core_numbers(n, indptr, in_indptr, in_indices):
    """Batagelj & Zaversnik (2003): O(n + m) peeling with nodes bucket-sorted by current degree.

    The degree is the out-degree; removing v lowers the out-degree of v's in-neighbours (on an
    undirected graph in- and out-neighbours are the same arrays, and this is the usual k-core).
    """
    deg = np.empty(n, dtype=np.int64)
    max_deg = 0
    for v in range(n):
        deg[v] = indptr[v + 1] - indptr[v]
        max_deg = max(max_deg, deg[v])
    # bin_start[d]: where nodes of degree d begin in `vert`, the nodes sorted by degree.
    bin_start = np.zeros(max_deg + 2, dtype=np.int64)
    for v in range(n):
        bin_start[deg[v] + 1] += 1
    for d in range(max_deg + 1):
        bin_start[d + 1] += bin_start[d]
    pos = np.empty(n, dtype=np.int64)
    vert = np.empty(n, dtype=np.int64)
    fill = bin_start.copy()
    for v in range(n):
        pos[v] = fill[deg[v]]
        vert[pos[v]] = v
        fill[deg[v]] += 1
    for i in range(n):
        v = vert[i]  # the unprocessed node of least current degree: its core number is deg[v]
        for k in range(in_indptr[v], in_indptr[v + 1]):
            u = in_indices[k]
            if deg[u] > deg[v]:
                # Move u to the front of its bin, then shrink the bin past it: deg[u] -= 1.
                du = deg[u]
                front = bin_start[du]
                w = vert[front]
                if u != w:
                    vert[pos[u]] = w
                    pos[w] = pos[u]
                    vert[front] = u
                    pos[u] = front
                bin_start[du] += 1
                deg[u] -= 1
    return deg


def core_numbers(graph: Graph) -> np.ndarray:
    """The core number of every customer (int64): the largest k such that it belongs to a
    subgraph where everyone has at least k neighbours inside it. On a directed graph the
    out-core: at least k out-neighbours (people it shares with) inside it."""
    if graph.complete:
        return graph.degree()
    return _core_numbers(graph.n, graph.indptr, graph.in_indptr, graph.in_indices)


def rank_kcore(graph: Graph, seed: int, scenario: Scenario | None = None) -> np.ndarray:
    """Customers by decreasing core number, ties by decreasing (out-)degree, then lower id.
    Deterministic; `seed` and `scenario` are not used."""
    if graph.complete:
        return by_id(graph)
    return ranked(core_numbers(graph), graph.degree())


@njit(cache=True)
def _brandes(n, indptr, indices, in_indptr, in_indices, sources):
    """Sum over `sources` of Brandes' (2001) dependencies on shortest out-paths (hops): one
    breadth-first search per source, then dependencies accumulated in reverse order of
    distance. Work arrays are reset over the visited nodes only, so a source costs O(its reach)."""
    bc = np.zeros(n)
    dist = np.full(n, -1, dtype=np.int64)
    sigma = np.zeros(n)  # shortest-path counts: float, as they overflow int64 on large graphs
    delta = np.zeros(n)
    order = np.empty(n, dtype=np.int64)
    for s in sources:
        dist[s] = 0
        sigma[s] = 1.0
        order[0] = s
        head, tail = 0, 1
        while head < tail:
            v = order[head]
            head += 1
            for k in range(indptr[v], indptr[v + 1]):
                w = indices[k]
                if dist[w] < 0:
                    dist[w] = dist[v] + 1
                    order[tail] = w
                    tail += 1
                if dist[w] == dist[v] + 1:
                    sigma[w] += sigma[v]
        for i in range(tail - 1, 0, -1):
            w = order[i]
            coeff = (1.0 + delta[w]) / sigma[w]
            for k in range(in_indptr[w], in_indptr[w + 1]):
                v = in_indices[k]
                if dist[v] == dist[w] - 1:
                    delta[v] += sigma[v] * coeff
            bc[w] += delta[w]
        for i in range(tail):
            w = order[i]
            dist[w] = -1
            sigma[w] = 0.0
            delta[w] = 0.0
    return bc


@njit(cache=True)
def _pivot_draws(seed, n):
    key = step_key(seed, 0)
    draws = np.empty(n)
    for i in range(n):
        draws[i] = uniform(key, i, PIVOT)
    return draws


def betweenness(graph: Graph, seed: int, pivots: int | None = None) -> np.ndarray:
    """Betweenness centrality of every customer (float64), shortest paths counted in hops along
    out-edges (tie strength is not a distance), unnormalised, with networkx's convention that
    an undirected path counts once.

    `pivots` None: exact (Brandes 2001) up to BETWEENNESS_EXACT_MAX customers, else
    BETWEENNESS_PIVOTS pivots. With k < n pivots, the k sources are drawn uniformly without
    replacement (the k smallest counter-based draws for `seed`) and their dependencies are scaled
    by n/k: an unbiased estimate (Brandes & Pich 2007). k >= n is exact.
    """
    n = graph.n
    if graph.complete:
        return np.zeros(n)
    if pivots is None:
        pivots = n if n <= BETWEENNESS_EXACT_MAX else BETWEENNESS_PIVOTS
    if pivots < 1:
        raise ValueError(f"betweenness: pivots must be at least 1, not {pivots}")
    if pivots >= n:
        sources, scale = np.arange(n, dtype=np.int64), 1.0
    else:
        sources = np.sort(np.argsort(_pivot_draws(seed, n), kind="stable")[:pivots])
        scale = n / pivots
    bc = _brandes(n, graph.indptr, graph.indices, graph.in_indptr, graph.in_indices, sources)
    if not graph.directed:
        scale /= 2.0  # each undirected path was counted from both of its ends
    return bc * scale


def rank_betweenness(graph: Graph, seed: int, scenario: Scenario | None = None) -> np.ndarray:
    """Customers by decreasing betweenness (`betweenness(graph, seed)`: exact on small graphs,
    sampled pivots on large ones), ties by lower id. Values are compared as fractions of the
    largest rounded to 9 decimals, so symmetric positions whose float sums differ in the last
    bits still tie."""
    if graph.complete:
        return by_id(graph)
    bc = betweenness(graph, seed)
    top = bc.max(initial=0.0)
    return ranked(np.round(bc / top, 9) if top > 0 else bc)
