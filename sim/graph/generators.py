"""Graph generators: numba kernels that build edge arrays in O(n + m) memory (no Python object
per node or edge), then one counting-sort pass (`sim.graph.csr.from_edges`) makes the CSR.

Each generator draws from its own SplitMix64 stream (the `mix64` finaliser of `sim.core.rng` over
a counter, started at mix64(seed)), so a graph is a pure function of its parameters and a 64-bit
seed, whatever the machine or numba version.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit, uint64

from sim.core.rng import mix64
from sim.graph.csr import MAX_NODES, Graph, from_edges, no_weight

_GAMMA = uint64(0x9E3779B97F4A7C15)  # SplitMix64's counter increment (Steele, Lea & Flood 2014)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


# --------------------------------------------------------------------------------------------
# Random stream and generator kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _stream(seed):
    """A SplitMix64 state (a 1-element uint64 array) started from a 64-bit seed."""
    state = np.empty(1, dtype=np.uint64)
    state[0] = mix64(uint64(seed))
    return state


@njit(cache=True, inline="always")
def _unit(state):
    """The stream's next uniform in [0, 1) (top 53 bits, as in sim.core.rng)."""
    state[0] += _GAMMA
    return float(mix64(state[0]) >> uint64(11)) * _TO_UNIT


@njit(cache=True, inline="always")
def _below(state, k):
    """A uniform integer in [0, k) (bias below k / 2**53, negligible for k < 2**31)."""
    return int(_unit(state) * k)


@njit(cache=True)
def _grown(a):
    b = np.empty(a.size + a.size // 2 + 16, dtype=a.dtype)
    b[: a.size] = a
    return b


@njit(cache=True)
def _erdos_renyi_edges(n, p, seed):
    """The edges (v, w), w < v, of G(n, p) by geometric skipping over the pairs in the order
    (1,0), (2,0), (2,1), (3,0), ...: O(n + m) time (Batagelj & Brandes 2005, algorithm G_NP)."""
    state = _stream(seed)
    expected = p * (n * (n - 1.0) / 2.0)
    capacity = int(expected + 8.0 * math.sqrt(expected) + 16.0)  # grown in the rare overflow
    src = np.empty(capacity, dtype=np.int32)
    dst = np.empty(capacity, dtype=np.int32)
    m = 0
    if p <= 0.0:
        return src[:0], dst[:0]
    # log(1 - p): -inf when p = 1 makes every skip 0, i.e. every pair an edge.
    log_q = math.log1p(-p) if p < 1.0 else -math.inf
    v = 1
    w = -1
    while v < n:
        # Pairs skipped before the next edge: geometric, floor(log(1 - u) / log(1 - p)), capped
        # so the int conversion cannot overflow (a cap beyond n^2 / 2 just ends the loop).
        skip = math.log(1.0 - _unit(state)) / log_q  # >= 0; int() below is its floor
        w += 1 + int(min(skip, 4.0e18))
        while w >= v and v < n:
            w -= v
            v += 1
        if v < n:
            if m == src.size:
                src = _grown(src)
                dst = _grown(dst)
            src[m] = v
            dst[m] = w
            m += 1
    return src[:m], dst[:m]


@njit(cache=True)
def _barabasi_albert_edges(n, m, seed):
    """Preferential-attachment edges as networkx.barabasi_albert_graph: a star on nodes 0..m
    (centre 0), then each new node joins m distinct targets drawn from the list that holds every
    node once per edge end (so with probability proportional to degree)."""
    state = _stream(seed)
    n_edges = m * (n - m)
    src = np.empty(n_edges, dtype=np.int32)
    dst = np.empty(n_edges, dtype=np.int32)
    repeated = np.empty(2 * n_edges, dtype=np.int32)
    for i in range(m):
        src[i] = 0
        dst[i] = i + 1
        repeated[2 * i] = 0
        repeated[2 * i + 1] = i + 1
    e = m
    r = 2 * m
    chosen_by = np.full(n, -1, dtype=np.int32)  # chosen_by[t] == s: t is already a target of s
    for s in range(m + 1, n):
        k = 0
        while k < m:  # draws from the list as it was before s: rejection of repeats
            t = repeated[_below(state, r)]
            if chosen_by[t] != s:
                chosen_by[t] = s
                src[e] = s
                dst[e] = t
                e += 1
                k += 1
        for q in range(e - m, e):
            repeated[r] = dst[q]
            repeated[r + 1] = s
            r += 2
    return src, dst


@njit(cache=True)
def _ws_has_edge(target, n, h, u, w):
    """Whether u and w are joined, where edge (j - 1) * n + x joins x and target[...]."""
    for j in range(h):
        if target[j * n + u] == w or target[j * n + w] == u:
            return True
    return False


@njit(cache=True)
def _watts_strogatz_edges(n, k, p, seed):
    """Watts-Strogatz edges as networkx.watts_strogatz_graph: the ring lattice joins u to
    u + 1, ..., u + k/2 (mod n); then for j = 1..k/2, for u = 0..n-1, edge (u, u + j) is rewired
    with probability p to (u, w), w uniform among the nodes that are neither u nor already
    joined to u (skipped when u is joined to everyone). Returns (src, dst, rewired)."""
    state = _stream(seed)
    h = k // 2
    # Edge e = (j - 1) * n + u always keeps its end u; target[e] is its other end. So u's
    # neighbours are its own edges' targets plus the nodes whose edges target u, and has_edge
    # costs O(k) with no hash table.
    target = np.empty(n * h, dtype=np.int32)
    for j in range(1, h + 1):
        for u in range(n):
            target[(j - 1) * n + u] = (u + j) % n
    rewired = np.zeros(n * h, dtype=np.bool_)
    degree = np.full(n, k, dtype=np.int64)
    for j in range(1, h + 1):
        for u in range(n):
            if _unit(state) < p and degree[u] < n - 1:
                w = _below(state, n)
                while w == u or _ws_has_edge(target, n, h, u, w):
                    w = _below(state, n)
                e = (j - 1) * n + u
                degree[target[e]] -= 1
                degree[w] += 1
                target[e] = w
                rewired[e] = True
    src = np.empty(n * h, dtype=np.int32)
    for e in range(n * h):
        src[e] = e % n
    return src, target, rewired


@njit(cache=True)
def _pair_stubs(degrees, state):
    """Uniform random matching of the stubs (node i appears degrees[i] times): Fisher-Yates
    shuffle, then consecutive stubs pair up. Returns the (multi)edges as (src, dst)."""
    total = 0
    for i in range(degrees.size):
        total += degrees[i]
    stubs = np.empty(total, dtype=np.int32)
    k = 0
    for i in range(degrees.size):
        for _ in range(degrees[i]):
            stubs[k] = i
            k += 1
    for i in range(total - 1, 0, -1):
        j = _below(state, i + 1)
        stubs[i], stubs[j] = stubs[j], stubs[i]
    m = total // 2
    src = np.empty(m, dtype=np.int32)
    dst = np.empty(m, dtype=np.int32)
    for e in range(m):
        src[e] = stubs[2 * e]
        dst[e] = stubs[2 * e + 1]
    return src, dst


@njit(cache=True)
def _configuration_edges(degrees, seed):
    return _pair_stubs(degrees, _stream(seed))


@njit(cache=True)
def _joined(edge, nbr, d, x, y, skip):
    """Whether an edge other than `skip` joins x and y. Node x's d edge ends are slots
    x * d .. x * d + d - 1: edge[s] is the edge, nbr[s] its other end (kept beside the edge id so
    the scan reads one contiguous block instead of d random edges)."""
    for s in range(x * d, (x + 1) * d):
        if nbr[s] == y and edge[s] != skip:
            return True
    return False


@njit(cache=True)
def _reslot(edge, nbr, d, x, old_edge, old_nbr, new_edge, new_nbr):
    """Re-point the end of x that is (old_edge, old_nbr)."""
    for s in range(x * d, (x + 1) * d):
        if edge[s] == old_edge and nbr[s] == old_nbr:
            edge[s] = new_edge
            nbr[s] = new_nbr
            return


@njit(cache=True)
def _random_regular_edges(n, d, seed):
    """A simple d-regular graph: random stub matching, then each self-loop or surplus parallel
    edge e1 = (a, b) is switched with a uniformly chosen edge e2 = (c, d') of random orientation
    into (a, c), (b, d'), accepted only if neither is a loop or an existing edge. Switches keep
    every degree and strictly reduce the number of bad edges, so the repair ends; returns
    (src, dst, ok) with ok False if it made no progress within its attempt budget."""
    state = _stream(seed)
    eu, ev = _pair_stubs(np.full(n, d, dtype=np.int64), state)
    m = eu.size
    edge = np.empty(n * d, dtype=np.int64)
    nbr = np.empty(n * d, dtype=np.int32)
    filled = np.zeros(n, dtype=np.int64)
    for e in range(m):
        a, b = eu[e], ev[e]
        edge[a * d + filled[a]] = e
        nbr[a * d + filled[a]] = b
        filled[a] += 1
        edge[b * d + filled[b]] = e
        nbr[b * d + filled[b]] = a
        filled[b] += 1
    bad = np.empty(m, dtype=np.int64)
    n_bad = 0
    for e in range(m):
        a, b = eu[e], ev[e]
        for s in range(a * d, (a + 1) * d):  # a loop, or a parallel edge with a smaller id
            if a == b or (nbr[s] == b and edge[s] < e):
                bad[n_bad] = e
                n_bad += 1
                break
    budget = 1000 * (n_bad + 1)
    for q in range(n_bad):
        e1 = bad[q]
        while eu[e1] == ev[e1] or _joined(edge, nbr, d, eu[e1], ev[e1], e1):
            budget -= 1
            if budget < 0:
                return eu, ev, False
            e2 = _below(state, m)
            if e2 == e1:
                continue
            a, b = eu[e1], ev[e1]
            c, d2 = (eu[e2], ev[e2]) if _unit(state) < 0.5 else (ev[e2], eu[e2])
            # Two loops (a, a), (c, c) become a double edge (a, c): still one bad edge fewer.
            if (a == c or b == d2 or _joined(edge, nbr, d, a, c, -1)
                    or _joined(edge, nbr, d, b, d2, -1)):
                continue
            # Accepted: c, d2 are not a or b, so the four re-pointings below touch distinct
            # ends even when e1 or e2 is a loop (its two ends are told apart by order).
            _reslot(edge, nbr, d, a, e1, b, e1, c)
            _reslot(edge, nbr, d, b, e1, a, e2, d2)
            _reslot(edge, nbr, d, c, e2, d2, e1, a)
            _reslot(edge, nbr, d, d2, e2, c, e2, b)
            ev[e1] = c
            eu[e2] = b
            ev[e2] = d2
    return eu, ev, True


@njit(cache=True)
def _complement(n, indptr, indices):
    """CSR of the complement of a simple undirected graph (rows sorted)."""
    c_indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        c_indptr[i + 1] = c_indptr[i] + (n - 1) - (indptr[i + 1] - indptr[i])
    c_indices = np.empty(c_indptr[n], dtype=np.int32)
    joined = np.zeros(n, dtype=np.bool_)
    out = 0
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            joined[indices[k]] = True
        joined[i] = True
        for j in range(n):
            if not joined[j]:
                c_indices[out] = j
                out += 1
        for k in range(indptr[i], indptr[i + 1]):
            joined[indices[k]] = False
        joined[i] = False
    return c_indptr, c_indices


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------


def _check_n(n: int, minimum: int = 1) -> int:
    if isinstance(n, bool) or int(n) != n or not minimum <= n <= MAX_NODES:
        raise ValueError(f"n must be a whole number from {minimum} to {MAX_NODES}, not {n!r}")
    return int(n)


def _seed64(seed: int) -> np.uint64:
    if isinstance(seed, bool) or int(seed) != seed or not 0 <= seed < 2**64:
        raise ValueError(f"a graph seed is a whole number from 0 to 2**64 - 1, not {seed!r}")
    return np.uint64(int(seed))


def complete_graph(n: int) -> Graph:
    """The complete graph on n nodes, implicit: every pair joined by a strong tie, no arrays."""
    return Graph(_check_n(n), np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int32),
                 None, complete=True)


def erdos_renyi(n: int, mean_degree: float, seed: int) -> Graph:
    """G(n, p) with p = mean_degree / (n - 1): each pair joined independently with probability
    p, so degrees are Binomial(n - 1, p). O(n + m) time and memory."""
    n = _check_n(n)
    if not 0 <= mean_degree <= n - 1:
        raise ValueError(f"erdos_renyi: mean_degree must be in [0, n - 1] = [0, {n - 1}], "
                         f"not {mean_degree}")
    p = mean_degree / (n - 1) if n > 1 else 0.0
    src, dst = _erdos_renyi_edges(n, p, _seed64(seed))
    return from_edges(n, src, dst, no_weight())


def barabasi_albert(n: int, m: int, seed: int) -> Graph:
    """Barabási-Albert preferential attachment as networkx.barabasi_albert_graph (initial
    graph: a star on nodes 0..m; every later node brings m edges to m distinct earlier nodes
    chosen with probability proportional to degree). Mean degree 2m(n - m)/n; P(degree >= k)
    tends to m(m + 1)/(k(k + 1)), a power-law tail with exponent 3."""
    n = _check_n(n)
    if isinstance(m, bool) or int(m) != m or not 1 <= m < n:
        raise ValueError(f"barabasi_albert: m = mean_degree / 2 must be a whole number from 1 "
                         f"to n - 1 = {n - 1}, not {m!r}")
    src, dst = _barabasi_albert_edges(n, int(m), _seed64(seed))
    return from_edges(n, src, dst, no_weight())


def watts_strogatz(n: int, k: int, rewire: float, seed: int,
                   weak_tie_weight: float = 0.25) -> Graph:
    """Watts-Strogatz small world as networkx.watts_strogatz_graph: a ring lattice with k
    neighbours per node (even k < n), each lattice edge rewired with probability `rewire`.
    Rewired edges are the weak ties, with tie strength `weak_tie_weight`; the others are strong
    (weight is None when no edge was rewired or weak_tie_weight is 1). Global clustering
    follows C(0)(1 - rewire)^3 with C(0) = 3(k - 2)/(4(k - 1)) (Barrat & Weigt 2000)."""
    n = _check_n(n)
    if isinstance(k, bool) or int(k) != k or k < 0 or k % 2 or k >= n:
        raise ValueError(f"watts_strogatz: k = mean_degree must be an even whole number below "
                         f"n = {n}, not {k!r}")
    if not 0 <= rewire <= 1:
        raise ValueError(f"watts_strogatz: rewire must be in [0, 1], not {rewire}")
    if not 0 < weak_tie_weight <= 1:
        raise ValueError(f"weak_tie_weight must be in (0, 1], not {weak_tie_weight}")
    src, dst, rewired = _watts_strogatz_edges(n, int(k), float(rewire), _seed64(seed))
    weight = np.where(rewired, np.float32(weak_tie_weight), np.float32(1.0))
    return from_edges(n, src, dst, weight)


def random_regular(n: int, d: int, seed: int) -> Graph:
    """A simple d-regular graph on n nodes (n * d even, d < n): random stub matching, then
    self-loops and parallel edges repaired by degree-preserving random edge switches (see
    `_random_regular_edges`). Close to uniform over d-regular graphs for d << n; exact
    uniformity is not promised. For d > (n - 1)/2 the complement of an (n - 1 - d)-regular graph
    is returned, so dense cases stay sparse to repair."""
    n = _check_n(n)
    if isinstance(d, bool) or int(d) != d or not 0 <= d < n or (n * d) % 2:
        raise ValueError(f"random_regular: d = mean_degree must be a whole number in [0, n) "
                         f"with n * d even (n = {n}), not {d!r}")
    d = int(d)
    dense = 2 * d > n - 1
    src, dst, ok = _random_regular_edges(n, n - 1 - d if dense else d, _seed64(seed))
    if not ok:
        raise RuntimeError(f"random_regular: could not repair the stub matching (n = {n}, "
                           f"d = {d}, seed = {seed}); try another seed")
    graph = from_edges(n, src, dst, no_weight())
    if dense:
        indptr, indices = _complement(n, graph.indptr, graph.indices)
        graph = Graph(n, indptr, indices, None)
    return graph


def configuration(degrees: Sequence[int], seed: int) -> Graph:
    """The erased configuration model: node i gets degrees[i] stubs, the stubs are matched
    uniformly at random, and the resulting self-loops and parallel edges are erased. Degrees are
    then at most the listed ones; for a sparse list with a finite second moment the erased
    fraction vanishes as n grows (Britton, Deijfen & Martin-Löf 2006)."""
    deg = np.asarray(degrees)
    if deg.ndim != 1 or deg.size == 0 or not np.issubdtype(deg.dtype, np.integer):
        raise ValueError("configuration: degrees must be a non-empty list of whole numbers")
    n = _check_n(deg.size)
    deg = deg.astype(np.int64)
    if (deg < 0).any() or deg.sum() % 2:
        raise ValueError("configuration: degrees must be >= 0 with an even sum")
    src, dst = _configuration_edges(deg, _seed64(seed))
    return from_edges(n, src, dst, no_weight())
