"""The customer graph: CSR arrays, native generators and edge-list files (MODEL.md section 2;
DESIGN.md "Data").

A `Graph` stores the OUT-neighbours of each customer in CSR form: an edge i -> j means j hears i,
and shares go along out-edges. Undirected graphs store every edge both ways, so their in- and
out-neighbours are the same arrays; directed graphs (edge lists only) also carry the transposed
(IN-) CSR, which is what talk reads. Rows are sorted, with no self-loops and no duplicates. Tie
strength omega in (0, 1] is a float32 per CSR entry, or `None` when every tie is strong. The
complete graph is implicit and never materialised.

Generators are numba kernels that build edge arrays in O(n + m) memory (no Python object per node
or edge), then one counting-sort pass makes the CSR. Each draws from its own SplitMix64 stream
(the `mix64` finaliser of sim/rng.py over a counter, started at mix64(seed)), so a graph is a pure
function of its parameters and a 64-bit seed, whatever the machine or numba version.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numba import njit, uint64

from sim.scenario.schema import NetworkParams
from sim.core.rng import mix64

MAX_NODES = int(np.iinfo(np.int32).max)  # indices are int32
_GAMMA = uint64(0x9E3779B97F4A7C15)  # SplitMix64's counter increment (Steele, Lea & Flood 2014)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_INSERTION_SORT_MAX = 32  # rows up to this long are sorted in place; longer ones by argsort


def _no_weight() -> np.ndarray:
    """The kernels' stand-in for "unweighted": a float32 array of length 0."""
    return np.empty(0, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Graph:
    """A customer graph in CSR form (see the module docstring for the conventions).

    The constructor coerces the arrays to int64 / int32 / float32, checks their lengths, makes
    the complete graph's arrays empty, and builds the in-CSR of a directed graph.
    """

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    weight: np.ndarray | None
    directed: bool = False
    complete: bool = False
    labels: np.ndarray | None = None
    _in_indptr: np.ndarray | None = field(init=False, default=None)
    _in_indices: np.ndarray | None = field(init=False, default=None)
    _in_weight: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; normalising happens here only
        n = int(self.n)
        if not 0 <= n <= MAX_NODES:
            raise ValueError(f"a graph has 0 to {MAX_NODES} nodes, not {n}")
        set_(self, "n", n)
        if self.complete:
            if self.directed:
                raise ValueError("the complete graph is undirected")
            set_(self, "indptr", np.zeros(n + 1, dtype=np.int64))
            set_(self, "indices", np.empty(0, dtype=np.int32))
            set_(self, "weight", None)
        set_(self, "indptr", np.ascontiguousarray(self.indptr, dtype=np.int64))
        set_(self, "indices", np.ascontiguousarray(self.indices, dtype=np.int32))
        if self.weight is not None:
            set_(self, "weight", np.ascontiguousarray(self.weight, dtype=np.float32))
        if self.indptr.shape != (n + 1,) or self.indptr[0] != 0 or self.indptr[-1] != len(
            self.indices
        ):
            raise ValueError("indptr must have n + 1 entries, from 0 to len(indices)")
        if self.weight is not None and self.weight.shape != self.indices.shape:
            raise ValueError("weight must have one entry per CSR entry")
        if self.labels is not None and len(self.labels) != n:
            raise ValueError("labels must have one entry per node")
        if self.directed:
            weight = self.weight if self.weight is not None else _no_weight()
            in_indptr, in_indices, in_weight = _transpose(n, self.indptr, self.indices, weight)
            set_(self, "_in_indptr", in_indptr)
            set_(self, "_in_indices", in_indices)
            set_(self, "_in_weight", in_weight if self.weight is not None else None)

    def __repr__(self) -> str:
        kind = "complete" if self.complete else "directed" if self.directed else "undirected"
        weighted = ", weighted" if self.weight is not None else ""
        return f"Graph(n={self.n}, {kind}, n_edges={self.n_edges}{weighted})"

    @property
    def in_indptr(self) -> np.ndarray:
        """CSR row pointers of the in-neighbours (whom each customer hears)."""
        return self._in_indptr if self.directed else self.indptr

    @property
    def in_indices(self) -> np.ndarray:
        """The in-neighbours of i are in_indices[in_indptr[i]:in_indptr[i + 1]], sorted."""
        return self._in_indices if self.directed else self.indices

    @property
    def in_weight(self) -> np.ndarray | None:
        """Tie strength per in-CSR entry (None: every tie is strong)."""
        return self._in_weight if self.directed else self.weight

    @property
    def n_edges(self) -> int:
        """The number of stored CSR entries: each undirected edge counts twice; 0 for the
        (implicit) complete graph."""
        return len(self.indices)

    def degree(self) -> np.ndarray:
        """Out-degree of every node (int64); n - 1 each in the complete graph."""
        if self.complete:
            return np.full(self.n, max(self.n - 1, 0), dtype=np.int64)
        return np.diff(self.indptr)

    def in_weight_sum(self) -> np.ndarray:
        """Sum of omega over each node's in-neighbours (float64): the in-degree when every tie
        is strong, n - 1 in the complete graph, 0 for a node nobody talks to."""
        if self.complete:
            return np.full(self.n, float(max(self.n - 1, 0)))
        if self.in_weight is None:
            return np.diff(self.in_indptr).astype(np.float64)
        return _row_sums(self.in_indptr, self.in_weight)

    @cached_property
    def _label_set(self) -> pa.Array:
        """The string form of every node label, for hash look-ups (built on first use)."""
        return pa.array([str(label) for label in self.labels], type=pa.large_string())

    def index_of(self, labels: Sequence) -> np.ndarray:
        """The customer indices (int64) of node labels, in the order given.

        A label matches a node when their string forms are equal: edge-list labels are strings,
        so `17` finds the node written `17` in the file; generated graphs are labelled by the
        ints 0..n-1 (`3` and `"3"` both find node 3). Raises KeyError naming every missing label.
        """
        wanted = [str(label) for label in labels]
        if self.labels is None:
            found = np.array(
                [int(s) if _is_canonical_int(s) and int(s) < self.n else -1 for s in wanted],
                dtype=np.int64,
            )
        else:
            hits = pc.index_in(pa.array(wanted, type=pa.large_string()),
                               value_set=self._label_set)
            found = hits.fill_null(-1).to_numpy().astype(np.int64)
        if (found < 0).any():
            missing = [label for label, i in zip(labels, found, strict=True) if i < 0]
            raise KeyError(f"no such node(s) in the graph: {', '.join(map(repr, missing))}")
        return found

    def _node_names(self) -> list:
        return list(range(self.n)) if self.labels is None else list(self.labels)

    def to_networkx(self) -> nx.Graph | nx.DiGraph:
        """The graph as a networkx Graph (DiGraph if directed), nodes named by their labels, with
        a 'weight' edge attribute when the graph has weights. Meant for small graphs and tests."""
        G = nx.DiGraph() if self.directed else nx.Graph()
        names = self._node_names()
        G.add_nodes_from(names)
        if self.complete:
            G.add_edges_from((names[i], names[j]) for i in range(self.n)
                             for j in range(i + 1, self.n))
            return G
        rows = np.repeat(np.arange(self.n), self.degree())
        keep = slice(None) if self.directed else rows < self.indices
        src = [names[i] for i in rows[keep].tolist()]
        dst = [names[j] for j in self.indices[keep].tolist()]
        if self.weight is None:
            G.add_edges_from(zip(src, dst, strict=True))
        else:
            G.add_weighted_edges_from(zip(src, dst, self.weight[keep].tolist(), strict=True))
        return G

    @classmethod
    def from_networkx(cls, G: nx.Graph, weight: str = "weight") -> Graph:
        """A Graph from a networkx (Di)Graph: nodes in G's order, labelled by G's node names
        (`labels` is None when they are exactly 0..n-1 in order); edge attribute `weight` (default
        1.0) is the tie strength and must lie in (0, 1]; self-loops are dropped."""
        if G.is_multigraph():
            raise ValueError("multigraphs are not supported: merge parallel edges first")
        nodes = list(G.nodes)
        n = len(nodes)
        position = {node: i for i, node in enumerate(nodes)}
        edges = list(G.edges(data=weight, default=1.0))
        src = np.array([position[u] for u, _, _ in edges], dtype=np.int32)
        dst = np.array([position[v] for _, v, _ in edges], dtype=np.int32)
        w = np.array([x for _, _, x in edges], dtype=np.float32)
        bad = np.flatnonzero(~((w > 0) & (w <= 1)))
        if bad.size:
            u, v, x = edges[bad[0]]
            raise ValueError(f"edge ({u!r}, {v!r}): {weight} {x!r} is not in (0, 1]")
        labels = None
        if nodes != list(range(n)):
            labels = np.empty(n, dtype=object)  # element-wise, so tuple names stay tuples
            for i, node in enumerate(nodes):
                labels[i] = node
        return _from_edges(n, src, dst, w, directed=G.is_directed(), labels=labels)


def _is_canonical_int(s: str) -> bool:
    """Whether s is how str() writes a non-negative int."""
    return s.isascii() and s.isdigit() and (s == "0" or not s.startswith("0"))


def _from_edges(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, *,
                directed: bool = False, labels: np.ndarray | None = None) -> Graph:
    """A Graph from edge arrays (int32 endpoints; float32 weight per edge, or length 0 for none):
    undirected edges are stored both ways, self-loops dropped, duplicates merged keeping the
    largest weight; `weight` becomes None when every tie is strong."""
    indptr, indices, w = _csr_from_edges(n, src, dst, weight, not directed)
    strong = w.size == 0 or bool((w == 1.0).all())
    return Graph(n, indptr, indices, None if strong else w, directed=directed, labels=labels)


# --------------------------------------------------------------------------------------------
# CSR kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _sort_row(indices, weight, a, b, weighted):
    """Sort indices[a:b] ascending, carrying weight along when weighted."""
    if b - a <= _INSERTION_SORT_MAX:
        for k in range(a + 1, b):
            j = indices[k]
            x = weight[k] if weighted else np.float32(0.0)
            q = k - 1
            while q >= a and indices[q] > j:
                indices[q + 1] = indices[q]
                if weighted:
                    weight[q + 1] = weight[q]
                q -= 1
            indices[q + 1] = j
            if weighted:
                weight[q + 1] = x
    elif weighted:
        order = np.argsort(indices[a:b])
        indices[a:b] = indices[a:b][order]
        weight[a:b] = weight[a:b][order]
    else:
        indices[a:b] = np.sort(indices[a:b])


@njit(cache=True)
def _csr_from_edges(n, src, dst, weight, symmetric):
    """CSR (indptr, indices, weight) of the edges src[e] -> dst[e] (and back when symmetric):
    rows sorted, self-loops dropped, duplicates merged keeping the largest weight. `weight` of
    length 0 means unweighted, and so is the returned weight."""
    weighted = weight.size > 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(src.size):
        if src[e] != dst[e]:
            indptr[src[e] + 1] += 1
            if symmetric:
                indptr[dst[e] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    indices = np.empty(indptr[n], dtype=np.int32)
    w = np.empty(indptr[n] if weighted else 0, dtype=np.float32)
    for e in range(src.size):
        s, d = src[e], dst[e]
        if s == d:
            continue
        indices[fill[s]] = d
        if weighted:
            w[fill[s]] = weight[e]
        fill[s] += 1
        if symmetric:
            indices[fill[d]] = s
            if weighted:
                w[fill[d]] = weight[e]
            fill[d] += 1
    # Sort each row and merge duplicates, compacting in place: the write position never passes
    # the read position, and indptr[i] is rewritten only after the row's old bounds are read.
    out = 0
    start = 0
    for i in range(n):
        end = indptr[i + 1]
        _sort_row(indices, w, start, end, weighted)
        indptr[i] = out
        k = start
        while k < end:
            j = indices[k]
            best = w[k] if weighted else np.float32(0.0)
            k += 1
            while k < end and indices[k] == j:
                if weighted and w[k] > best:
                    best = w[k]
                k += 1
            indices[out] = j
            if weighted:
                w[out] = best
            out += 1
        start = end
    indptr[n] = out
    if out < indices.size:
        indices = indices[:out].copy()
        if weighted:
            w = w[:out].copy()
    return indptr, indices, w


@njit(cache=True)
def _transpose(n, indptr, indices, weight):
    """The transposed CSR (rows come out sorted because sources are visited in order)."""
    weighted = weight.size > 0
    t_indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(indices.size):
        t_indptr[indices[k] + 1] += 1
    for i in range(n):
        t_indptr[i + 1] += t_indptr[i]
    fill = t_indptr[:-1].copy()
    t_indices = np.empty(indices.size, dtype=np.int32)
    t_weight = np.empty(indices.size if weighted else 0, dtype=np.float32)
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            t_indices[fill[j]] = i
            if weighted:
                t_weight[fill[j]] = weight[k]
            fill[j] += 1
    return t_indptr, t_indices, t_weight


@njit(cache=True)
def _row_sums(indptr, weight):
    n = indptr.size - 1
    out = np.zeros(n, dtype=np.float64)
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            out[i] += weight[k]
    return out


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
    """The stream's next uniform in [0, 1) (top 53 bits, as in sim/rng.py)."""
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


def _whole(x: float, what: str) -> int:
    if not float(x).is_integer():
        raise ValueError(f"{what} must be a whole number, not {x!r}")
    return int(x)


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
    return _from_edges(n, src, dst, _no_weight())


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
    return _from_edges(n, src, dst, _no_weight())


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
    return _from_edges(n, src, dst, weight)


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
    graph = _from_edges(n, src, dst, _no_weight())
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
    return _from_edges(n, src, dst, _no_weight())


# --------------------------------------------------------------------------------------------
# Edge lists
# --------------------------------------------------------------------------------------------


def load_edgelist(path: Path, directed: bool = False) -> Graph:
    """A Graph from a CSV edge list whose header names `source` and `target` and optionally
    `weight` (other columns are ignored).

    Labels are read as strings and numbered in order of first appearance (row by row, source
    before target), kept in `labels`. An edge u -> v means v hears u; undirected edges are stored
    both ways. Self-loops are dropped (their node is kept); duplicate edges (for undirected
    lists also reversed ones) are merged keeping the largest weight. Weights must be in (0, 1];
    otherwise ValueError names the file and the row (rows count from 1 after the header).
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    if "source" not in header or "target" not in header:
        raise ValueError(f"{path}: the header must name the columns 'source' and 'target' "
                         f"(found {header})")
    weighted = "weight" in header
    types = {"source": pa.large_string(), "target": pa.large_string()}
    if weighted:
        types["weight"] = pa.float64()
    options = pacsv.ConvertOptions(column_types=types, include_columns=list(types),
                                   strings_can_be_null=False)
    try:
        table = pacsv.read_csv(path, convert_options=options)
    except pa.ArrowInvalid as err:
        if weighted:  # find the row arrow's conversion error does not name
            _raise_for_non_numeric_weight(path, options)
        raise ValueError(f"{path}: {err}") from None
    m = table.num_rows
    if m == 0:
        raise ValueError(f"{path}: no edges")
    for name in ("source", "target"):
        empty = np.flatnonzero(pc.equal(pc.binary_length(table[name]), 0).to_numpy())
        if empty.size:
            raise ValueError(f"{path}: row {empty[0] + 1}: empty {name}")
    # Interleave sources and targets, then dictionary-encode: codes in first-appearance order.
    order = np.empty(2 * m, dtype=np.int64)
    order[0::2] = np.arange(m)
    order[1::2] = np.arange(m, 2 * m)
    ends = pa.chunked_array(table["source"].chunks + table["target"].chunks,
                            type=pa.large_string())
    encoded = pc.dictionary_encode(ends.take(order).combine_chunks())
    codes = encoded.indices.to_numpy()
    labels = encoded.dictionary.to_numpy(zero_copy_only=False)
    weight = _no_weight()
    if weighted:
        weight = table["weight"].to_numpy().astype(np.float32)  # nulls become NaN
        bad = np.flatnonzero(~((weight > 0) & (weight <= 1)))
        if bad.size:
            value = table["weight"][int(bad[0])].as_py()
            shown = "missing" if value is None else f"{value!r} is not in (0, 1]"
            raise ValueError(f"{path}: row {bad[0] + 1}: weight {shown}")
    return _from_edges(len(labels), codes[0::2].copy(), codes[1::2].copy(), weight,
                       directed=directed, labels=labels)


def _raise_for_non_numeric_weight(path: Path, options: pacsv.ConvertOptions) -> None:
    """Re-read the weights as text and raise ValueError naming the first row that is not a
    number (returns if every row is one: the fault was elsewhere)."""
    types = dict(options.column_types) | {"weight": pa.large_string()}
    text = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=types, include_columns=list(types), strings_can_be_null=False))["weight"]
    for row, value in enumerate(text.to_pylist(), start=1):
        try:
            float(value)
        except ValueError:
            raise ValueError(f"{path}: row {row}: weight {value!r} is not a number") from None


# --------------------------------------------------------------------------------------------
# From a scenario
# --------------------------------------------------------------------------------------------


def build_graph(network: NetworkParams, seed: int, base_dir: Path | None = None) -> Graph:
    """The graph a scenario's [network] section describes.

    `network.seed` wins when set, else `seed` is used (the caller passes the graph seed derived
    from the scenario seed); the same parameters and seed always give identical arrays. An edge
    list's path is relative to `base_dir` (the scenario file's folder; default: the working
    directory) unless absolute. Raises ValueError for impossible parameters.
    """
    kind = network.kind
    if network.directed and kind != "edgelist":
        raise ValueError(f"network.directed applies to edge lists only, not to {kind!r}")
    graph_seed = network.seed if network.seed is not None else seed
    if kind == "complete":
        return complete_graph(network.n)
    if kind == "erdos_renyi":
        return erdos_renyi(network.n, network.mean_degree, graph_seed)
    if kind == "barabasi_albert":
        m = _whole(network.mean_degree / 2, "barabasi_albert: m = mean_degree / 2")
        return barabasi_albert(network.n, m, graph_seed)
    if kind == "watts_strogatz":
        k = _whole(network.mean_degree, "watts_strogatz: mean_degree")
        return watts_strogatz(network.n, k, network.rewire, graph_seed, network.weak_tie_weight)
    if kind == "random_regular":
        d = _whole(network.mean_degree, "random_regular: mean_degree")
        return random_regular(network.n, d, graph_seed)
    if kind == "configuration":
        if network.degrees is None:
            raise ValueError("configuration: network.degrees is required")
        return configuration(network.degrees, graph_seed)
    if kind == "edgelist":
        if network.path is None:
            raise ValueError("edgelist: network.path is required")
        path = Path(network.path)
        if not path.is_absolute():
            path = (base_dir if base_dir is not None else Path.cwd()) / path
        return load_edgelist(path, network.directed)
    raise ValueError(f"unknown network kind {kind!r}")
