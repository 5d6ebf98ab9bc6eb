"""Seeding strategies that rank customers (MODEL.md section 6, `seed` events): k-core,
betweenness, community and greedy influence maximisation.

A ranking strategy orders every customer once per run, best first; a seed event then takes the
first `count` of them who never bought (`sim.kernels.choose_ranked_seeds`). Every ranking here is
a permutation of 0..n-1, a pure function of the graph, the run seed and (greedy only) the
scenario, with ties broken by lower id. All work is done by numba kernels over the CSR arrays in
O(n + m) memory, so the strategies scale to 10^6 customers, except greedy, which keeps a
component label per customer per simulated cascade and is refused above GREEDY_MAX_NODES.

On the complete graph every customer is in the same position, so every strategy ranks by id.
Random choices (betweenness pivots, Louvain's visiting order, greedy's live edges) are
counter-based draws (sim/rng.py) with purpose codes of their own, so results do not depend on
the machine, the thread count or the order of evaluation.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.graph.network import Graph
from sim.core.rng import step_key, uniform, uniform_pair

if TYPE_CHECKING:
    from sim.scenario.load import Scenario

# Purpose codes of the draws made here. They lie above sim.stages.Purpose's codes (1-16), so no
# draw here ever coincides with a draw of the dynamics.
_PIVOT = 101  # which customers are betweenness pivots
_VISIT = 102  # Louvain's visiting order at each level
_LIVE_EDGE = 103  # is an edge live in a simulated cascade (keyed by its two ends)

# Betweenness is exact (Brandes 2001: one breadth-first search from every customer, O(nm))
# up to this many customers, and estimated from BETWEENNESS_PIVOTS sources drawn uniformly
# without replacement above it (Brandes & Pich 2007), which costs O(pivots * m). On a
# Barabasi-Albert graph of 10^5 customers (mean degree 10), 128 pivots found 9 of the top 10 of
# a 512-pivot estimate, for either of two seeds.
BETWEENNESS_EXACT_MAX = 2_000
BETWEENNESS_PIVOTS = 128

# Louvain (Blondel et al. 2008): a level's sweeps of local moves stop once a sweep raises the
# modularity by less than LOUVAIN_MIN_GAIN, or after LOUVAIN_MAX_SWEEPS sweeps. On graphs
# without strong communities the first level otherwise creeps on, each sweep merging a few more
# small groups: on a Barabasi-Albert graph of 10^5 customers, 32 sweeps took 4 times as long as
# 8 for no better modularity (0.253 against 0.261), as the next levels finish the merging.
LOUVAIN_MIN_GAIN = 1e-4
LOUVAIN_MAX_SWEEPS = 8

# Greedy: the independent cascade's spread is estimated over this many simulated cascades (live-
# edge worlds, Kempe, Kleinberg & Tardos 2003), and greedy is refused above GREEDY_MAX_NODES
# customers (it keeps 9 bytes per customer per world).
GREEDY_WORLDS = 100
GREEDY_MAX_NODES = 100_000


def _by_id(graph: Graph) -> np.ndarray:
    """Every customer, by id: the ranking when all are in the same position."""
    return np.arange(graph.n, dtype=np.int64)


def _ranked(*keys: np.ndarray) -> np.ndarray:
    """Customers ordered by decreasing keys[0], then keys[1], ..., then increasing id."""
    n = len(keys[0])
    return np.lexsort((np.arange(n),) + tuple(-k for k in reversed(keys))).astype(np.int64)


# --------------------------------------------------------------------------------------------
# k-core
# --------------------------------------------------------------------------------------------


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
        return _by_id(graph)
    return _ranked(core_numbers(graph), graph.degree())


# --------------------------------------------------------------------------------------------
# Betweenness
# --------------------------------------------------------------------------------------------


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
        draws[i] = uniform(key, i, _PIVOT)
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
        return _by_id(graph)
    bc = betweenness(graph, seed)
    top = bc.max(initial=0.0)
    return _ranked(np.round(bc / top, 9) if top > 0 else bc)


# --------------------------------------------------------------------------------------------
# Communities
# --------------------------------------------------------------------------------------------


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
        draws[i] = uniform(key, i, _VISIT)
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
        return _by_id(graph)
    label = communities(graph, seed)
    within = _ranked(-label, graph.degree())  # by community, then degree, then id
    place = np.empty(graph.n, dtype=np.int64)  # rank of each customer inside its community
    sizes = np.bincount(label)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    place[within] = np.arange(graph.n) - np.repeat(starts, sizes)
    return np.lexsort((label, place)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Greedy influence maximisation
# --------------------------------------------------------------------------------------------


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
                if uniform_pair(key, u, _LIVE_EDGE, v) < p:
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
        return _by_id(graph)
    _check_greedy(graph, probability)
    count = min(int(count), graph.n)
    root, size = _live_worlds(graph, probability, seed, worlds)
    degree = graph.degree()
    picks, alone = _celf(root, size, degree, count)
    rest = np.ones(graph.n, dtype=np.bool_)
    rest[picks] = False
    others = np.flatnonzero(rest)
    return np.concatenate([picks, others[_ranked(alone[others], degree[others])]])


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


STRATEGY_RANKINGS = {
    "kcore": rank_kcore,
    "betweenness": rank_betweenness,
    "community": rank_community,
    "greedy": rank_greedy,
}
