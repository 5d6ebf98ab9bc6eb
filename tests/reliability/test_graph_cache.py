"""The graph cache checks every entry on load: a damaged or tampered entry is built again,
never trusted (out-of-range indices would make the kernels read outside their arrays)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sim.graph.cache as graph_cache
from sim.graph import build_graph
from sim.graph.cache import cached_graph, graph_key
from sim.run.engine import Engine
from sim.scenario.load import Scenario
from sim.scenario.schema import NetworkParams

WS = NetworkParams(kind="watts_strogatz", n=500, mean_degree=4.0, rewire=0.1)


@pytest.fixture()
def entry(monkeypatch, tmp_path):
    """The folder of WS's cache entry, once stored."""
    monkeypatch.setattr(graph_cache, "CACHE_MIN_NODES", 0)
    cached_graph(WS, 7, folder=tmp_path)
    return tmp_path / graph_key(WS, 7)


def _rewrite(path, change):
    array = np.load(path)
    change(array)
    np.save(path, array)


def _same_as_fresh(graph):
    fresh = build_graph(WS, 7)
    np.testing.assert_array_equal(graph.indptr, fresh.indptr)
    np.testing.assert_array_equal(graph.indices, fresh.indices)


def test_out_of_range_indices_are_rebuilt_not_trusted(entry, tmp_path):
    _rewrite(entry / "indices.npy", lambda a: a.__setitem__(0, 10**9))
    graph = cached_graph(WS, 7, folder=tmp_path)
    _same_as_fresh(graph)
    Engine(Scenario.default().with_overrides({"weeks": 2}), 1, graph).run()


def test_flipped_bytes_fail_the_checksum(entry, tmp_path):
    data = bytearray((entry / "indptr.npy").read_bytes())
    data[-1] ^= 0x01
    (entry / "indptr.npy").write_bytes(bytes(data))
    _same_as_fresh(cached_graph(WS, 7, folder=tmp_path))


def test_an_entry_tampered_consistently_is_still_range_checked(entry, tmp_path):
    _rewrite(entry / "indices.npy", lambda a: a.__setitem__(0, -5))
    meta = json.loads((entry / "graph.json").read_text())
    meta["checksums"]["indices"] = graph_cache._checksum(entry / "indices.npy")
    (entry / "graph.json").write_text(json.dumps(meta))
    _same_as_fresh(cached_graph(WS, 7, folder=tmp_path))


def test_an_entry_of_another_format_is_rebuilt(entry, tmp_path):
    meta = json.loads((entry / "graph.json").read_text())
    meta["format"] = 1
    (entry / "graph.json").write_text(json.dumps(meta))
    _same_as_fresh(cached_graph(WS, 7, folder=tmp_path))
    assert json.loads((entry / "graph.json").read_text())["format"] == graph_cache._FORMAT


def test_a_truncated_array_is_rebuilt(entry, tmp_path):
    data = (entry / "indices.npy").read_bytes()
    (entry / "indices.npy").write_bytes(data[: len(data) // 2])
    _same_as_fresh(cached_graph(WS, 7, folder=tmp_path))
