"""Communities by Louvain modularity maximisation (Blondel et al. 2008), and the ranking that
seeds one customer per community, largest communities first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.core.rng import step_key, uniform
from sim.graph.csr import Graph
from sim.graph.seeding.common import VISIT, by_id, ranked

if TYPE_CHECKING:
    from sim.scenario.load import Scenario

# Louvain (Blondel et al. 2008): a level's sweeps of local moves stop once a sweep raises the
# modularity by less than LOUVAIN_MIN_GAIN, or after LOUVAIN_MAX_SWEEPS sweeps. On graphs
# without strong communities the first level otherwise creeps on, each sweep merging a few more
# small groups: on a Barabasi-Albert graph of 10^5 customers, 32 sweeps took 4 times as long as
# 8 for no better modularity (0.253 against 0.261), as the next levels finish the merging.
LOUVAIN_MIN_GAIN = 1e-4
LOUVAIN_MAX_SWEEPS = 8


@njit(cache=True)
def _louvain_move(indptr, indices, weight, self_weight, order, min_gain, max_sweeps):
    """Louvain's first phase on one level: each node in `order` moves to the neighbouring
    community with the largest modularity gain (lowest community id on ties) if that beats
    staying, sweeping until a sweep gains less than `min_gain` modularity, or no node moves, or
    `max_sweeps`. Returns (community per node, whether any moved)."""
    n = indptr.size - 1
    k = self_weight.copy()  # weighted degree, self-loops included
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            k[i] += weight[e]
    m2 = k.sum()  # twice the total edge weight
    community = np.arange(n)
    total = k.copy()  # sum of k over each community's members
    links = np.zeros(n)  # weight from the current node to each community
    touched = np.empty(n, dtype=np.int64)
    moved = False
    if m2 <= 0.0:
        return community, moved
    for _ in range(max_sweeps):
        moves = 0
        gained = 0.0  # the sweep's modularity gain, times m2 / 2
        for i in order:
            home = community[i]
            n_touched = 0
            for e in range(indptr[i], indptr[i + 1]):
                c = community[indices[e]]
                if links[c] == 0.0:  # weights are > 0, so 0 means not yet touched
                    touched[n_touched] = c
                    n_touched += 1
                links[c] += weight[e]
            total[home] -= k[i]
            # Gain of joining c, up to a common factor: links to c - k_i * total_c / 2m.
            best = home
            stay_gain = links[home] - total[home] * k[i] / m2
            best_gain = stay_gain
            margin = 1e-12 * k[i]  # a move must beat staying by more than rounding
            for t in range(n_touched):
                c = touched[t]
                if c == home:
                    continue
                gain = links[c] - total[c] * k[i] / m2
                if best == home:
                    better = gain > best_gain + margin
                else:
                    better = gain > best_gain or (gain == best_gain and c < best)
                if better:
                    best, best_gain = c, gain
            total[best] += k[i]
            if best != home:
                community[i] = best
                moves += 1
                gained += best_gain - stay_gain
            for t in range(n_touched):
                links[touched[t]] = 0.0
        if moves == 0:
            break
        moved = True
        if 2.0 * gained / m2 < min_gain:
            break
    return community, moved


@njit(cache=True)
def _aggregate(indptr, indices, weight, self_weight, community, n_communities):
    """Louvain's second phase: the graph whose nodes are the communities, with summed weights
    between them (rows sorted) and each community's inner weight as its self weight."""
    n = indptr.size - 1
    new_self = np.zeros(n_communities)
    start = np.zeros(n_communities + 1, dtype=np.int64)
    for i in range(n):
        new_self[community[i]] += self_weight[i]
        start[community[i] + 1] += 1
    for c in range(n_communities):
        start[c + 1] += start[c]
    members = np.empty(n, dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(n):
        members[fill[community[i]]] = i
        fill[community[i]] += 1
    new_indptr = np.zeros(n_communities + 1, dtype=np.int64)
    new_indices = np.empty(indices.size, dtype=np.int64)
    new_weight = np.empty(indices.size)
    acc = np.zeros(n_communities)
    touched = np.empty(n_communities, dtype=np.int64)
    out = 0
    for c in range(n_communities):
        n_touched = 0
        for q in range(start[c], start[c + 1]):
            i = members[q]
            for e in range(indptr[i], indptr[i + 1]):
                d = community[indices[e]]
                if d == c:
                    new_self[c] += weight[e]
                    continue
                if acc[d] == 0.0:
                    touched[n_touched] = d
                    n_touched += 1
                acc[d] += weight[e]
        row = np.sort(touched[:n_touched])
        for d in row:
            new_indices[out] = d
            new_weight[out] = acc[d]
            acc[d] = 0.0
            out += 1
        new_indptr[c + 1] = out
    return new_indptr, new_indices[:out].copy(), new_weight[:out].copy(), new_self


@njit(cache=True)
def _visiting_order(seed, level, n):
    key = step_key(seed, level)
    draws = np.empty(n)
    for i in range(n):
        draws[i] = uniform(key, i, VISIT)
    return np.argsort(draws, kind="mergesort")


def _undirected_csr(graph: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, indices, weight float64) with tie strengths as weights; a directed graph is made
    undirected by joining each node's out- and in-rows (a mutual pair's weights add up)."""
    def weights(w: np.ndarray | None, size: int) -> np.ndarray:
        return np.ones(size) if w is None else w.astype(np.float64)

    if not graph.directed:
        return graph.indptr, graph.indices.astype(np.int64), weights(graph.weight, graph.n_edges)
    out_deg, in_deg = np.diff(graph.indptr), np.diff(graph.in_indptr)
    rows = np.concatenate([np.repeat(np.arange(graph.n), out_deg),
                           np.repeat(np.arange(graph.n), in_deg)])
    by_row = np.argsort(rows, kind="stable")
    indices = np.concatenate([graph.indices, graph.in_indices]).astype(np.int64)[by_row]
    weight = np.concatenate([weights(graph.weight, graph.n_edges),
                             weights(graph.in_weight, graph.n_edges)])[by_row]
    indptr = np.concatenate([[0], np.cumsum(out_deg + in_deg)]).astype(np.int64)
    return indptr, indices, weight


def communities(graph: Graph, seed: int) -> np.ndarray:
    """A community label per customer (int64), found by Louvain modularity maximisation
    (Blondel et al. 2008; resolution 1, tie strengths as weights, direction ignored) with a
    visiting order drawn from `seed` at each level. Labels are numbered by decreasing community
    size, ties by lowest member id: community 0 is the largest. Isolated customers are
    communities of their own. O(m) per sweep, so it runs on graphs of 10^6 customers.
    """
    n = graph.n
    if graph.complete:
        return np.zeros(n, dtype=np.int64)
    indptr, indices, weight = _undirected_csr(graph)
    self_weight = np.zeros(n)
    labels = np.arange(n, dtype=np.int64)  # customer -> node of the current level
    level = 0
    while True:
        order = _visiting_order(seed, level, indptr.size - 1)
        moved_to, moved = _louvain_move(indptr, indices, weight, self_weight, order,
                                        LOUVAIN_MIN_GAIN, LOUVAIN_MAX_SWEEPS)
        if not moved:
            break
        _, compact = np.unique(moved_to, return_inverse=True)
        labels = compact[labels]
        indptr, indices, weight, self_weight = _aggregate(
            indptr, indices, weight, self_weight, compact, int(compact.max()) + 1)
        level += 1
    sizes = np.bincount(labels)
    _, first = np.unique(labels, return_index=True)  # each community's lowest member id
    order = np.lexsort((first, -sizes))
    rank = np.empty(sizes.size, dtype=np.int64)
    rank[order] = np.arange(sizes.size)
    return rank[labels]


def rank_community(graph: Graph, seed: int, scenario: Scenario | None = None) -> np.ndarray:
    """One seed per community, largest communities first: round robin over the communities of
    `communities(graph, seed)` in decreasing size, taking in each its members by decreasing
    (out-)degree, ties by lower id. So the first c customers are the best-connected members of
    the c largest communities, one each. `scenario` is not used."""
    if graph.complete:
        return by_id(graph)
    label = communities(graph, seed)
    within = ranked(-label, graph.degree())  # by community, then degree, then id
    place = np.empty(graph.n, dtype=np.int64)  # rank of each customer inside its community
    sizes = np.bincount(label)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    place[within] = np.arange(graph.n) - np.repeat(starts, sizes)
    return np.lexsort((label, place)).astype(np.int64)
