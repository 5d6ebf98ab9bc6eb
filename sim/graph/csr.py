"""The customer graph in CSR form (MODEL.md section 2; DESIGN.md "Data"), and the kernels that
build CSR arrays from edge arrays.

A `Graph` stores the OUT-neighbours of each customer in CSR form: an edge i -> j means j hears i,
and shares go along out-edges. Undirected graphs store every edge both ways, so their in- and
out-neighbours are the same arrays; directed graphs (edge lists only) also carry the transposed
(IN-) CSR, which is what talk reads. Rows are sorted, with no self-loops and no duplicates. Tie
strength omega in (0, 1] is a float32 per CSR entry, or `None` when every tie is strong. The
complete graph is implicit and never materialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

if TYPE_CHECKING:
    import networkx as nx

MAX_NODES = int(np.iinfo(np.int32).max)  # indices are int32
_INSERTION_SORT_MAX = 32  # rows up to this long are sorted in place; longer ones by argsort


def no_weight() -> np.ndarray:
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
            weight = self.weight if self.weight is not None else no_weight()
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
        import networkx as nx  # here: only this conversion needs it

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
        return from_edges(n, src, dst, w, directed=G.is_directed(), labels=labels)


def _is_canonical_int(s: str) -> bool:
    """Whether s is how str() writes a non-negative int."""
    return s.isascii() and s.isdigit() and (s == "0" or not s.startswith("0"))


def from_edges(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, *,
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
