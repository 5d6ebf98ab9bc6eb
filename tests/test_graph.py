"""The customer graph (sim.graph): CSR invariants, each generator's distribution against
theory, determinism, edge lists, and the networkx bridge."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from sim.graph import (
    Graph,
    barabasi_albert,
    build_graph,
    complete_graph,
    configuration,
    erdos_renyi,
    load_edgelist,
    random_regular,
    watts_strogatz,
)
from sim.scenario.schema import NetworkParams

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def adjacency(g: Graph, weighted: bool = False) -> sp.csr_matrix:
    data = g.weight if weighted and g.weight is not None else np.ones(g.n_edges)
    return sp.csr_matrix((data, g.indices, g.indptr), shape=(g.n, g.n))


def assert_valid_csr(g: Graph) -> None:
    """dtypes, shapes, sorted rows without duplicates or self-loops; undirected: symmetric,
    weights included."""
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32
    assert g.indptr.shape == (g.n + 1,) and g.indptr[0] == 0 and g.indptr[-1] == g.n_edges
    assert (np.diff(g.indptr) >= 0).all()
    rows = np.repeat(np.arange(g.n), g.degree())
    assert ((g.indices >= 0) & (g.indices < g.n)).all()
    assert (rows != g.indices).all(), "self-loop"
    same_row = rows[1:] == rows[:-1]
    assert (g.indices[1:][same_row] > g.indices[:-1][same_row]).all(), "unsorted or duplicate"
    if g.weight is not None:
        assert g.weight.dtype == np.float32 and g.weight.shape == g.indices.shape
        assert ((g.weight > 0) & (g.weight <= 1)).all()
    if not g.directed:
        a = adjacency(g, weighted=True)
        assert (a != a.T).nnz == 0, "not symmetric"
        assert g.in_indptr is g.indptr and g.in_indices is g.indices and g.in_weight is g.weight


def transitivity(g: Graph) -> float:
    """3 x triangles / connected triples."""
    a = adjacency(g)
    k = g.degree()
    return float((a @ a).multiply(a).sum() / (k * (k - 1)).sum())


GENERATORS = {
    "erdos_renyi": lambda seed: erdos_renyi(2000, 8.0, seed),
    "barabasi_albert": lambda seed: barabasi_albert(2000, 4, seed),
    "watts_strogatz": lambda seed: watts_strogatz(2000, 8, 0.2, seed),
    "random_regular": lambda seed: random_regular(2000, 5, seed),
    "configuration": lambda seed: configuration([1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 200, seed),
}


# --------------------------------------------------------------------------------------------
# invariants and determinism, every generator
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", GENERATORS)
def test_generated_graphs_are_simple_sorted_and_symmetric(kind):
    g = GENERATORS[kind](7)
    assert_valid_csr(g)
    assert not g.directed and not g.complete and g.labels is None
    assert g.degree().sum() == g.n_edges
    weight_sum = g.in_weight_sum()
    assert weight_sum.dtype == np.float64
    expected = adjacency(g, weighted=True).sum(axis=0).A1
    np.testing.assert_allclose(weight_sum, expected, rtol=1e-6)


@pytest.mark.parametrize("kind", GENERATORS)
def test_same_seed_same_graph_other_seed_other_graph(kind):
    a, b, c = GENERATORS[kind](11), GENERATORS[kind](11), GENERATORS[kind](12)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    if a.weight is not None:
        np.testing.assert_array_equal(a.weight, b.weight)
    assert a.n_edges != c.n_edges or not np.array_equal(a.indices, c.indices)


def test_seeds_use_all_64_bits():
    a = erdos_renyi(500, 6.0, 2**40 + 5)
    b = erdos_renyi(500, 6.0, 5)
    assert not np.array_equal(a.indices, b.indices)
    erdos_renyi(10, 2.0, 2**64 - 1)
    with pytest.raises(ValueError, match="seed"):
        erdos_renyi(10, 2.0, -1)


# --------------------------------------------------------------------------------------------
# complete
# --------------------------------------------------------------------------------------------


def test_complete_graph_is_implicit():
    g = complete_graph(6)
    assert g.complete and g.n_edges == 0 and g.weight is None
    assert g.indptr.shape == (7,) and not g.indptr.any() and g.indices.size == 0
    np.testing.assert_array_equal(g.degree(), np.full(6, 5))
    np.testing.assert_array_equal(g.in_weight_sum(), np.full(6, 5.0))
    assert nx.utils.graphs_equal(g.to_networkx(), nx.complete_graph(6))
    assert complete_graph(1).degree().tolist() == [0]


# --------------------------------------------------------------------------------------------
# Erdos-Renyi
# --------------------------------------------------------------------------------------------


def test_erdos_renyi_degrees_are_binomial():
    n, mean = 20_000, 10.0
    g = erdos_renyi(n, mean, 3)
    p = mean / (n - 1)
    k = g.degree()
    # Edge count ~ Binomial(n(n-1)/2, p): the mean degree's sd is 2 sqrt(N p (1-p)) / n ~ 0.03.
    sd = 2 * np.sqrt(n * (n - 1) / 2 * p * (1 - p)) / n
    assert abs(k.mean() - mean) < 4 * sd
    # Chi-square of the degree histogram against Binomial(n - 1, p), tails pooled so every
    # expected count is >= 5. Degrees are only weakly dependent, so the usual df applies.
    lo, hi = 1, 22
    observed = np.array([(k <= lo).sum()] + [(k == d).sum() for d in range(lo + 1, hi)]
                        + [(k >= hi).sum()])
    dist = stats.binom(n - 1, p)
    expected = n * np.array([dist.cdf(lo)] + [dist.pmf(d) for d in range(lo + 1, hi)]
                            + [dist.sf(hi - 1)])
    assert expected.min() >= 5
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, len(observed) - 1) > 0.001


def test_erdos_renyi_extremes():
    assert erdos_renyi(100, 0.0, 1).n_edges == 0
    full = erdos_renyi(30, 29.0, 1)  # p = 1: every pair
    assert full.n_edges == 30 * 29
    assert_valid_csr(full)
    assert erdos_renyi(1, 0.0, 1).n_edges == 0
    with pytest.raises(ValueError, match="mean_degree"):
        erdos_renyi(10, 9.5, 1)


# --------------------------------------------------------------------------------------------
# Barabasi-Albert
# --------------------------------------------------------------------------------------------


def test_barabasi_albert_mean_degree_and_power_law_tail():
    n, m = 50_000, 3
    g = barabasi_albert(n, m, 5)
    k = g.degree()
    # Exactly m edges per node after the star on m + 1 nodes: m(n - m) edges.
    assert g.n_edges == 2 * m * (n - m)
    assert k.min() == m
    # P(K >= k) = m(m + 1) / (k(k + 1)) for the BA model (Dorogovtsev, Mendes & Samukhin 2000;
    # Bollobas et al. 2001): a tail exponent of 3. Binomial sampling sd at k = 24 is ~6e-4.
    for kk in (2 * m, 4 * m, 8 * m, 16 * m):
        theory = m * (m + 1) / (kk * (kk + 1))
        observed = (k >= kk).mean()
        sd = np.sqrt(theory * (1 - theory) / n)
        assert abs(observed - theory) < max(5 * sd, 0.05 * theory), kk
    # Continuous MLE of the exponent over the tail k >= 8m (Clauset, Shalizi & Newman 2009).
    tail = k[k >= 8 * m]
    alpha = 1 + tail.size / np.log(tail / (8 * m - 0.5)).sum()
    assert 2.7 < alpha < 3.3


def test_barabasi_albert_rejects_bad_m():
    with pytest.raises(ValueError, match="m = mean_degree / 2"):
        barabasi_albert(10, 0, 1)
    with pytest.raises(ValueError, match="m = mean_degree / 2"):
        barabasi_albert(10, 10, 1)
    with pytest.raises(ValueError, match="whole number"):
        build_graph(NetworkParams(kind="barabasi_albert", n=100, mean_degree=7.0), 1)
    small = barabasi_albert(4, 3, 1)  # just the star
    assert small.degree().tolist() == [3, 1, 1, 1]


# --------------------------------------------------------------------------------------------
# Watts-Strogatz
# --------------------------------------------------------------------------------------------


def test_watts_strogatz_lattice_without_rewiring():
    g = watts_strogatz(100, 6, 0.0, 1)
    assert g.weight is None
    assert (g.degree() == 6).all()
    assert g.indices[g.indptr[0]:g.indptr[1]].tolist() == [1, 2, 3, 97, 98, 99]
    # C(0) = 3(k - 2) / (4(k - 1)) exactly for the ring lattice.
    assert transitivity(g) == pytest.approx(3 * 4 / (4 * 5))


@pytest.mark.parametrize("beta", [0.05, 0.2])
def test_watts_strogatz_clustering_and_weak_ties(beta):
    n, k = 20_000, 10
    g = watts_strogatz(n, k, beta, 2, weak_tie_weight=0.25)
    assert_valid_csr(g)
    assert g.n_edges == n * k
    assert g.degree().min() >= k // 2  # a node keeps the k/2 edges it rewires
    # Barrat & Weigt (2000): C(beta) ~ C(0)(1 - beta)^3, C(0) = 3(k - 2)/(4(k - 1)); the formula
    # ignores O(beta^2 k / n)-rare triangles closed by rewired edges, so it is ~1% high.
    c0 = 3 * (k - 2) / (4 * (k - 1))
    assert transitivity(g) == pytest.approx(c0 * (1 - beta) ** 3, abs=0.01)
    # Rewired (weak) edges ~ Binomial(nk/2, beta); each weak edge has two CSR entries.
    assert set(np.unique(g.weight).tolist()) == {0.25, 1.0}
    weak = (g.weight < 1).mean()
    assert abs(weak - beta) < 4 * np.sqrt(beta * (1 - beta) / (n * k / 2))


def test_watts_strogatz_full_rewiring_and_strong_weak_ties():
    g = watts_strogatz(500, 4, 1.0, 3)
    assert_valid_csr(g)
    assert g.n_edges == 2000 and (g.weight == 0.25).all()
    assert watts_strogatz(500, 4, 0.3, 3, weak_tie_weight=1.0).weight is None


def test_watts_strogatz_rejects_bad_k():
    for k in (3, 10, -2):
        with pytest.raises(ValueError, match="even whole number"):
            watts_strogatz(10, k, 0.1, 1)


# --------------------------------------------------------------------------------------------
# random regular and configuration
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, d", [(1000, 3), (1000, 4), (50, 20), (20, 15), (11, 10), (7, 0)])
def test_random_regular_every_degree_is_d(n, d):
    # (50, 20) needs many repairs; (20, 15) and (11, 10) take the complement path.
    g = random_regular(n, d, 9)
    assert_valid_csr(g)
    assert (g.degree() == d).all()


def test_random_regular_rejects_impossible():
    with pytest.raises(ValueError, match="n \\* d even"):
        random_regular(11, 3, 1)
    with pytest.raises(ValueError, match="n \\* d even"):
        random_regular(10, 10, 1)


def test_configuration_keeps_degrees_but_erases_loops_and_multiedges():
    rng = np.random.default_rng(1)
    degrees = rng.integers(1, 10, 10_000)
    degrees[-1] += degrees.sum() % 2
    g = configuration(degrees.tolist(), 4)
    assert g.n == degrees.size
    k = g.degree()
    assert (k <= degrees).all()
    # Expected erased stubs: 2 x (loops + surplus parallel edges) with loops ~ nu/2 and
    # parallel pairs ~ nu^2/4, nu = E[k(k-1)]/E[k] ~ 7: about 0.01% of 50,000 stubs.
    assert 0 < (degrees - k).sum() < 0.002 * degrees.sum()


def test_configuration_erases_forced_loops():
    # Stubs 0, 0, 0, 1: every matching is a loop at 0 plus the edge 0-1.
    g = configuration([3, 1], 1)
    assert g.degree().tolist() == [1, 1]
    with pytest.raises(ValueError, match="even sum"):
        configuration([1, 2], 1)
    with pytest.raises(ValueError, match="even sum"):
        configuration([-2, 2], 1)
    with pytest.raises(ValueError, match="whole numbers"):
        configuration([1.5, 0.5], 1)


# --------------------------------------------------------------------------------------------
# build_graph
# --------------------------------------------------------------------------------------------


def test_build_graph_maps_parameters_and_prefers_network_seed():
    net = NetworkParams(kind="watts_strogatz", n=300, mean_degree=6.0, rewire=0.3,
                        weak_tie_weight=0.5)
    g = build_graph(net, 17)
    direct = watts_strogatz(300, 6, 0.3, 17, weak_tie_weight=0.5)
    np.testing.assert_array_equal(g.indices, direct.indices)
    np.testing.assert_array_equal(g.weight, direct.weight)
    seeded = build_graph(dataclasses.replace(net, seed=17), 99)
    np.testing.assert_array_equal(seeded.indices, direct.indices)
    assert build_graph(NetworkParams(kind="complete", n=5), 1).complete
    assert build_graph(NetworkParams(kind="barabasi_albert", n=50, mean_degree=4.0), 1).n == 50
    assert (build_graph(NetworkParams(kind="random_regular", n=50, mean_degree=4.0), 1)
            .degree() == 4).all()
    assert build_graph(NetworkParams(kind="configuration", degrees=(2, 2, 2)), 1).n == 3
    with pytest.raises(ValueError, match="degrees is required"):
        build_graph(NetworkParams(kind="configuration"), 1)
    with pytest.raises(ValueError, match="edge lists only"):
        build_graph(NetworkParams(kind="erdos_renyi", directed=True), 1)


# --------------------------------------------------------------------------------------------
# edge lists
# --------------------------------------------------------------------------------------------

EDGES = """source,target,weight,note
alice,bob,0.5,first
bob,alice,0.8,reverse of the first
bob,carol,1,
carol,carol,0.3,self-loop
dave,alice,0.25,
alice,bob,0.1,duplicate
eve,eve,1,self-loop of a node seen nowhere else
"""


def write(tmp_path: Path, text: str, name: str = "edges.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def row(g: Graph, label: str) -> dict[str, float]:
    """Out-neighbours of a node as {label: weight} (weights approximate: they are float32)."""
    i = int(g.index_of([label])[0])
    a, b = g.indptr[i], g.indptr[i + 1]
    w = g.weight[a:b] if g.weight is not None else np.ones(b - a)
    return {str(g.labels[j]): pytest.approx(float(x))
            for j, x in zip(g.indices[a:b], w, strict=True)}


def test_undirected_edgelist_merges_duplicates_and_drops_self_loops(tmp_path):
    g = load_edgelist(write(tmp_path, EDGES))
    assert_valid_csr(g)
    # Nodes in order of first appearance, self-loop-only nodes kept as isolated customers.
    assert g.labels.tolist() == ["alice", "bob", "carol", "dave", "eve"]
    assert row(g, "alice") == {"bob": 0.8, "dave": 0.25}  # duplicates keep the largest weight
    assert row(g, "bob") == {"alice": 0.8, "carol": 1.0}
    assert row(g, "carol") == {"bob": 1.0}
    assert row(g, "eve") == {}
    np.testing.assert_allclose(g.in_weight_sum(), [1.05, 1.8, 1.0, 0.25, 0.0], rtol=1e-6)


def test_directed_edgelist_and_its_in_csr(tmp_path):
    g = load_edgelist(write(tmp_path, EDGES), directed=True)
    assert_valid_csr(g)
    assert g.directed
    assert row(g, "alice") == {"bob": 0.5}
    assert row(g, "bob") == {"alice": 0.8, "carol": 1.0}
    assert row(g, "dave") == {"alice": 0.25}
    G = g.to_networkx()
    for i, name in enumerate(g.labels):
        heard = g.in_indices[g.in_indptr[i]:g.in_indptr[i + 1]]
        assert sorted(g.labels[heard].tolist()) == sorted(G.predecessors(name))
        ws = {str(g.labels[j]): float(x) for j, x in zip(
            heard, g.in_weight[g.in_indptr[i]:g.in_indptr[i + 1]], strict=True)}
        assert ws == pytest.approx({u: G[u][name]["weight"] for u in G.predecessors(name)})
    np.testing.assert_allclose(g.in_weight_sum(), [1.05, 0.5, 1.0, 0.0, 0.0], rtol=1e-6)


def test_in_csr_matches_networkx_predecessors():
    G = nx.gnp_random_graph(300, 0.03, seed=2, directed=True)
    rng = np.random.default_rng(3)
    for u, v in G.edges:
        G[u][v]["weight"] = float(rng.choice([0.25, 0.5, 1.0]))
    g = Graph.from_networkx(G)
    assert g.directed and g.labels is None
    assert_valid_csr(g)
    for i in range(g.n):
        heard = g.in_indices[g.in_indptr[i]:g.in_indptr[i + 1]].tolist()
        assert heard == sorted(G.predecessors(i))
        np.testing.assert_allclose(g.in_weight[g.in_indptr[i]:g.in_indptr[i + 1]],
                                   [G[j][i]["weight"] for j in heard])
        assert g.in_weight_sum()[i] == pytest.approx(G.in_degree(i, weight="weight"))


def test_edgelist_without_weights_and_with_numeric_labels(tmp_path):
    path = write(tmp_path, "target,source,extra\n2,1,x\n3,1,y\n01,2,z\n")
    g = load_edgelist(path)
    assert g.weight is None
    assert g.labels.tolist() == ["1", "2", "3"]  # numeric ids are normalised: 01 is 1
    np.testing.assert_array_equal(g.index_of([1, "2", "3"]), [0, 1, 2])
    with pytest.raises(KeyError, match="'4'"):
        g.index_of(["4"])


def test_edgelist_long_and_unicode_labels_are_told_apart(tmp_path):
    # Labels sharing their first 16 bytes, differing in length or only near the end.
    long = "customer-0000000000-"
    text = (f"source,target\n{long}a,{long}b\n{long}b,{long}ab\n\"q,uoted\",Zoë\n"
            f"Zoë,{long}a\n{long}ab,{long}b\n")
    g = load_edgelist(write(tmp_path, text))
    assert g.labels.tolist() == [f"{long}a", f"{long}b", f"{long}ab", "q,uoted", "Zoë"]
    assert g.n_edges == 2 * 4
    np.testing.assert_array_equal(g.index_of(["Zoë", f"{long}ab"]), [4, 2])
    with pytest.raises(ValueError, match="holes.csv:3: empty target"):
        load_edgelist(write(tmp_path, "source,target\na,b\nc,\n", "holes.csv"))


def test_edgelist_weights_all_one_mean_strong_ties(tmp_path):
    assert load_edgelist(write(tmp_path, "source,target,weight\na,b,1\nb,c,1.0\n")).weight is None


@pytest.mark.parametrize("bad, shown", [("1.5", "1.5 is not in"), ("0", "0 is not in"),
                                        ("-0.2", "-0.2 is not in"), ("", "missing"),
                                        ("abc", "'abc' is not a number")])
def test_edgelist_bad_weight_names_file_and_row(tmp_path, bad, shown):
    path = write(tmp_path, f"source,target,weight\na,b,0.5\nb,c,1\nc,d,{bad}\n", "bad.csv")
    with pytest.raises(ValueError, match=f"bad.csv:4: weight .*{shown}"):
        load_edgelist(path)


def test_edgelist_needs_source_and_target_columns(tmp_path):
    with pytest.raises(ValueError, match="no column 'source' or 'target'"):
        load_edgelist(write(tmp_path, "src,dst\na,b\n"))
    with pytest.raises(ValueError, match="no ties"):
        load_edgelist(write(tmp_path, "source,target\n"))


def test_build_graph_reads_edgelist_relative_to_base_dir(tmp_path):
    write(tmp_path, EDGES, "net.csv")
    net = NetworkParams(kind="edgelist", path="net.csv", directed=True)
    g = build_graph(net, 1, base_dir=tmp_path)
    assert g.directed and g.n == 5
    absolute = NetworkParams(kind="edgelist", path=str(tmp_path / "net.csv"))
    assert not build_graph(absolute, 1).directed
    with pytest.raises(ValueError, match="path is required"):
        build_graph(NetworkParams(kind="edgelist"), 1)


# --------------------------------------------------------------------------------------------
# labels and the networkx bridge
# --------------------------------------------------------------------------------------------


def test_index_of_generated_graph_uses_ints_and_names_missing_labels():
    g = erdos_renyi(10, 2.0, 1)
    np.testing.assert_array_equal(g.index_of([3, np.int64(0), "9"]), [3, 0, 9])
    with pytest.raises(KeyError) as err:
        g.index_of([1, 10, "x", "07"])
    assert "10" in str(err.value) and "'x'" in str(err.value) and "'07'" in str(err.value)
    assert "1," not in str(err.value)


def test_networkx_round_trip_weighted_undirected():
    g = watts_strogatz(200, 6, 0.3, 5)
    G = g.to_networkx()
    assert G.number_of_edges() == g.n_edges // 2
    assert {w for _, _, w in G.edges(data="weight")} == {0.25, 1.0}
    back = Graph.from_networkx(G)
    assert back.labels is None and back.weight is not None
    np.testing.assert_array_equal(back.indptr, g.indptr)
    np.testing.assert_array_equal(back.indices, g.indices)
    np.testing.assert_array_equal(back.weight, g.weight)
    assert "weight" not in next(iter(erdos_renyi(20, 4.0, 1).to_networkx().edges(data=True)))[2]


def test_networkx_round_trip_directed_labelled(tmp_path):
    g = load_edgelist(write(tmp_path, EDGES), directed=True)
    back = Graph.from_networkx(g.to_networkx())
    assert back.directed and back.labels.tolist() == g.labels.tolist()
    for name in ("indptr", "indices", "weight", "in_indptr", "in_indices", "in_weight"):
        np.testing.assert_array_equal(getattr(back, name), getattr(g, name))
    np.testing.assert_array_equal(back.index_of(["dave"]), [3])


def test_graph_pickles_for_worker_processes(tmp_path):
    g = load_edgelist(write(tmp_path, EDGES), directed=True)
    g.index_of(["bob"])  # fills the cached label index, which must pickle too
    back = pickle.loads(pickle.dumps(g))
    for name in ("indptr", "indices", "weight", "in_indptr", "in_indices", "in_weight"):
        np.testing.assert_array_equal(getattr(back, name), getattr(g, name))
    assert back.labels.tolist() == g.labels.tolist() and back.index_of(["eve"]).tolist() == [4]


def test_from_networkx_checks_weights_and_keeps_odd_labels():
    G = nx.Graph()
    G.add_edge((0, 1), "b", weight=2.0)
    with pytest.raises(ValueError, match="not in \\(0, 1\\]"):
        Graph.from_networkx(G)
    G[(0, 1)]["b"]["weight"] = 0.5
    g = Graph.from_networkx(G)
    assert g.labels[0] == (0, 1) and g.index_of(["b"]).tolist() == [1]
    with pytest.raises(ValueError, match="multigraphs"):
        Graph.from_networkx(nx.MultiGraph(G))
