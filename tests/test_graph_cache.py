"""The graph cache (sim/graph_cache.py): cached graphs equal fresh builds, hits load memory-mapped
read-only arrays, keys separate what differs, writes are atomic, and runs do not change.

The size threshold is lowered in most tests so that small graphs exercise the cache quickly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_scenario

import sim.graph.cache as graph_cache
from sim.graph import Graph, build_graph
from sim.graph.cache import cache_dir, cached_graph, graph_key
from sim.run.engine import build_scenario_graph, graph_seed
from sim.run.replicates import simulate
from sim.scenario.schema import NetworkParams

WS = NetworkParams(kind="watts_strogatz", n=2_000, mean_degree=6.0, rewire=0.2)
BA = NetworkParams(kind="barabasi_albert", n=2_000, mean_degree=4.0)


@pytest.fixture
def cache_everything(monkeypatch):
    """Cache graphs and edge lists of any size."""
    monkeypatch.setattr(graph_cache, "CACHE_MIN_NODES", 0)
    monkeypatch.setattr(graph_cache, "EDGELIST_MIN_BYTES", 0)


@pytest.fixture
def builds(monkeypatch):
    """Counts the calls the cache makes to build_graph."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return build_graph(*args, **kwargs)

    monkeypatch.setattr(graph_cache, "build_graph", counting)
    return calls


def assert_same_graph(a: Graph, b: Graph) -> None:
    assert (a.n, a.directed, a.complete) == (b.n, b.directed, b.complete)
    for name in ("indptr", "indices", "in_indptr", "in_indices"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("weight", "in_weight", "labels"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def is_mapped(graph: Graph) -> bool:
    """Whether the graph's CSR arrays are copy-on-write views of memory-mapped files (shared
    pages; nothing written in memory reaches the cache)."""
    arrays = [graph.indptr, graph.indices] + ([graph.weight] if graph.weight is not None else [])
    return all(isinstance(a.base, np.memmap) and a.base.mode == "c" for a in arrays)


def entries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write_edgelist(path, rows) -> None:
    path.write_text("source,target,weight\n" + "".join(f"{u},{v},{w}\n" for u, v, w in rows))


@pytest.mark.usefixtures("cache_everything")
@pytest.mark.parametrize("network", [
    WS, BA,
    NetworkParams(kind="erdos_renyi", n=2_000, mean_degree=5.0),
    NetworkParams(kind="configuration", degrees=(3, 2, 2, 1, 1, 1)),
])
def test_a_hit_loads_the_same_arrays_memory_mapped(tmp_path, builds, network):
    fresh = build_graph(network, 11)
    first = cached_graph(network, 11, folder=tmp_path)
    second = cached_graph(network, 11, folder=tmp_path)
    assert len(builds) == 1  # the second call did not build
    assert len(entries(tmp_path)) == 1
    for graph in (first, second):
        assert_same_graph(graph, fresh)
        assert is_mapped(graph)


@pytest.mark.usefixtures("cache_everything")
@pytest.mark.parametrize("directed", [False, True])
def test_edge_lists_keep_their_labels_and_miss_when_the_file_changes(tmp_path, builds, directed):
    path = tmp_path / "edges.csv"
    write_edgelist(path, [("ann", "bob", 1.0), ("bob", "cy", 0.5), ("cy", "ann", 0.25)])
    network = NetworkParams(kind="edgelist", path="edges.csv", directed=directed)
    folder = tmp_path / "cache"
    cached = cached_graph(network, 1, tmp_path, folder=folder)
    assert_same_graph(cached, build_graph(network, 1, tmp_path))
    assert cached.labels.dtype == object and list(cached.labels) == ["ann", "bob", "cy"]
    assert_same_graph(cached_graph(network, 99, tmp_path, folder=folder), cached)  # seed unused
    assert len(builds) == 1
    write_edgelist(path, [("ann", "bob", 1.0), ("bob", "dee", 1.0)])  # size and mtime change
    changed = cached_graph(network, 1, tmp_path, folder=folder)
    assert list(changed.labels) == ["ann", "bob", "dee"]
    assert len(builds) == 2 and len(entries(folder)) == 2


@pytest.mark.usefixtures("cache_everything")
def test_a_different_seed_or_parameter_misses(tmp_path, builds):
    cached_graph(WS, 1, folder=tmp_path)
    cached_graph(WS, 2, folder=tmp_path)
    cached_graph(dataclasses.replace(WS, rewire=0.3), 1, folder=tmp_path)
    cached_graph(dataclasses.replace(WS, kind="random_regular"), 1, folder=tmp_path)
    assert len(builds) == 4 and len(entries(tmp_path)) == 4
    # network.seed wins over the seed passed, as in build_graph: the same graph, the same entry
    assert graph_key(dataclasses.replace(WS, seed=2), 1) == graph_key(WS, 2)
    assert graph_key(WS, 1) != graph_key(WS, 2)


def test_small_and_complete_graphs_are_not_cached(tmp_path, builds):
    small = dataclasses.replace(WS, n=graph_cache.CACHE_MIN_NODES - 2)
    assert graph_key(small, 1) is None
    assert graph_key(NetworkParams(kind="complete", n=10**6), 1) is None
    graph = cached_graph(small, 1, folder=tmp_path)
    assert not is_mapped(graph) and entries(tmp_path) == []
    assert graph_key(dataclasses.replace(WS, n=graph_cache.CACHE_MIN_NODES), 1) is not None


def test_the_cache_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(graph_cache.CACHE_ENV, str(tmp_path / "graphs"))
    assert cache_dir() == tmp_path / "graphs"
    monkeypatch.delenv(graph_cache.CACHE_ENV)
    assert cache_dir() == graph_cache.DEFAULT_CACHE_DIR.expanduser()


@pytest.mark.usefixtures("cache_everything")
def test_an_interrupted_write_leaves_no_files(tmp_path, monkeypatch):
    real_save = np.save

    def save_then_fail(file, array, **kwargs):
        real_save(file, array[: len(array) // 2], **kwargs)  # a partial file, then the failure
        raise KeyboardInterrupt

    monkeypatch.setattr(graph_cache.np, "save", save_then_fail)
    with pytest.raises(KeyboardInterrupt):
        cached_graph(WS, 1, folder=tmp_path)
    assert entries(tmp_path) == []
    monkeypatch.setattr(graph_cache.np, "save", real_save)
    assert_same_graph(cached_graph(WS, 1, folder=tmp_path), build_graph(WS, 1))
    assert len(entries(tmp_path)) == 1


@pytest.mark.usefixtures("cache_everything")
def test_an_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(graph_cache.np, "save", full_disk)
    graph = cached_graph(WS, 1, folder=tmp_path)
    assert_same_graph(graph, build_graph(WS, 1))
    assert not is_mapped(graph) and entries(tmp_path) == []


@pytest.mark.usefixtures("cache_everything")
def test_a_damaged_entry_is_rebuilt(tmp_path, builds):
    cached_graph(WS, 1, folder=tmp_path)
    (entry,) = tmp_path.iterdir()
    (entry / "indices.npy").write_bytes(b"not an array")
    assert_same_graph(cached_graph(WS, 1, folder=tmp_path), build_graph(WS, 1))
    assert len(builds) == 2
    assert is_mapped(cached_graph(WS, 1, folder=tmp_path)) and len(builds) == 2


@pytest.mark.usefixtures("cache_everything")
@pytest.mark.parametrize("network", [WS, BA])
def test_runs_are_identical_with_and_without_the_cache(tmp_path, monkeypatch, network):
    """The kernel reads the mapped arrays (it never writes to the graph) and gives bit-identical
    tables."""
    monkeypatch.setenv(graph_cache.CACHE_ENV, str(tmp_path))
    scenario = make_scenario({"network.kind": network.kind, "network.n": network.n,
                              "network.mean_degree": network.mean_degree,
                              "network.rewire": network.rewire}, weeks=30, replications=2)
    graph = build_scenario_graph(scenario)
    assert is_mapped(graph) and len(entries(tmp_path)) == 1
    uncached = build_graph(scenario.network, graph_seed(scenario))
    with_cache = simulate(scenario, workers=1)
    without = simulate(scenario, workers=1, graph=uncached)
    assert with_cache.runs.equals(without.runs)
    assert with_cache.timeseries.equals(without.timeseries)
