"""Node lists (`network.nodes`): customers without ties join an edge list's population, ids are
matched across the two files as the edge list matches its own, every fault is exit status 2
naming the file and line, the graph cache sees a changed node list, and `womsim run` uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sim.graph.cache as graph_cache
from sim.app.cli import main
from sim.core.errors import InputError
from sim.graph import build_graph, cached_graph
from sim.graph.edgelist import load_edgelist
from sim.scenario.schema import NetworkParams

EDGES = "source,target\n1,2\n1,3\n3,4\n"  # 1-2, 1-3, 3-4: degrees 2, 1, 2, 1


@pytest.fixture()
def womsim(capsys):
    """Run `womsim ARGS` in-process: (exit status, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def write_scenario(folder: Path, edges: str = EDGES, nodes: str | None = None,
                   extra: str = "") -> Path:
    """folder/net.toml on folder/edges.csv and, if given, folder/nodes.csv."""
    (folder / "edges.csv").write_text(edges)
    network = '[network]\nkind = "edgelist"\npath = "edges.csv"\n'
    if nodes is not None:
        (folder / "nodes.csv").write_text(nodes)
        network += 'nodes = "nodes.csv"\n'
    path = folder / "net.toml"
    path.write_text('name = "net"\nweeks = 4\nreplications = 1\n' + extra + network)
    return path


def test_tieless_customers_follow_the_edge_list_in_node_list_order(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    (tmp_path / "nodes.csv").write_text("id,village\n6,x\n3,x\n1,y\n5,y\n2,x\n4,z\n")
    graph = load_edgelist(tmp_path / "edges.csv", nodes=tmp_path / "nodes.csv")
    assert graph.n == 6
    assert graph.labels.tolist() == ["1", "2", "3", "4", "6", "5"]  # 6 before 5: file order
    np.testing.assert_array_equal(graph.degree(), [2, 1, 2, 1, 0, 0])
    np.testing.assert_array_equal(graph.in_weight_sum(), [2, 1, 2, 1, 0, 0])
    assert graph.n_edges == 2 * 3
    np.testing.assert_array_equal(graph.index_of(["6", "5", 4]), [4, 5, 3])
    directed = load_edgelist(tmp_path / "edges.csv", directed=True, nodes=tmp_path / "nodes.csv")
    np.testing.assert_array_equal(directed.degree(), [2, 0, 1, 0, 0, 0])
    np.testing.assert_array_equal(np.diff(directed.in_indptr), [0, 1, 1, 1, 0, 0])
    without = load_edgelist(tmp_path / "edges.csv")
    assert without.n == 4 and without.labels.tolist() == ["1", "2", "3", "4"]


def test_ids_are_normalised_alike_in_both_files(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target\n 1,2.0\n+3,1e0\n")
    (tmp_path / "nodes.csv").write_text("id\n1.0\n 2\n3\n004\n+5\n")
    graph = load_edgelist(tmp_path / "edges.csv", nodes=tmp_path / "nodes.csv")
    assert graph.labels.tolist() == ["1", "2", "3", "4", "5"]
    (tmp_path / "edges.csv").write_text("source,target\nann, bob\n")
    (tmp_path / "nodes.csv").write_text("id\n bob\nann \ncy\n")
    graph = load_edgelist(tmp_path / "edges.csv", nodes=tmp_path / "nodes.csv")
    assert graph.labels.tolist() == ["ann", "bob", "cy"]


def test_a_parquet_node_list_is_read(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    pq.write_table(pa.table({"name": ["e", "d", "c", "b", "a", "f"],
                             "id": pa.array([5, 4, 3, 2, 1, 6], pa.int64())}),
                   tmp_path / "nodes.parquet")
    graph = load_edgelist(tmp_path / "edges.csv", nodes=tmp_path / "nodes.parquet")
    assert graph.labels.tolist() == ["1", "2", "3", "4", "5", "6"]


BAD = {
    "empty file": (b"", "nodes.csv: is empty"),
    "header only": (b"id\n", "nodes.csv: has a header but no customers"),
    "no id column": (b"name\n1\n", "nodes.csv:1: the header has no column 'id'"),
    "no header": (b"1\n2\n", "nodes.csv:1: has no header line"),
    "semicolons": (b"id;name\n1;a\n", "nodes.csv:1: columns are separated by ';'"),
    "id twice": (b"id\n1\n2\n3\n4\n2.0\n", "nodes.csv:6: id '2' is listed twice (first on line 3)"),
    "empty id": (b"id,name\n1,a\n,b\n", "nodes.csv:3: empty id"),
    "name among numbers": (b"id\n1\nx7\n", "nodes.csv:3: id 'x7' is not a number, unlike the "
                                           "edge list's ids"),
    "fractional id": (b"id\n1\n2.5\n", "nodes.csv:3: id '2.5' is not a whole number"),
    "latin-1": ("id\n1\nJosé\n".encode("latin-1"), "nodes.csv:3: is not UTF-8 text"),
    "edge-list customer missing": (
        b"id\n1\n2\n3\n5\n", "nodes.csv: customer '4' of the edge list (edges.csv:4) is not in "
                             "the node list"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_node_list_is_exit_2_with_file_line_and_problem(case, tmp_path, womsim):
    content, shown = BAD[case]
    scenario = write_scenario(tmp_path, nodes="")
    (tmp_path / "nodes.csv").write_bytes(content)
    for command in (["validate"], ["run", "--out", tmp_path / "o"]):
        status, out, err = womsim(command[0], scenario, *command[1:])
        assert status == 2, out
        assert err.count("\n") == 1 and "Traceback" not in err
        assert shown in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["folder", "missing"])
def test_a_node_list_that_is_not_a_file_is_named(kind, tmp_path, womsim):
    scenario = write_scenario(tmp_path, nodes="id\n1\n")
    (tmp_path / "nodes.csv").unlink()
    if kind == "folder":
        (tmp_path / "nodes.csv").mkdir()
    status, _, err = womsim("validate", scenario)
    assert status == 2 and "net.toml:7: network.nodes: " in err
    assert ("is a folder, not a node-list file" if kind == "folder" else
            "node-list file not found") in err and "nodes.csv" in err
    with pytest.raises(InputError, match="is a folder, not a node list" if kind == "folder"
                       else "node list not found"):
        load_edgelist(tmp_path / "edges.csv", nodes=tmp_path / "nodes.csv")


def test_a_node_list_with_a_generated_network_is_refused(tmp_path, womsim):
    (tmp_path / "nodes.csv").write_text("id\n1\n")
    scenario = tmp_path / "ws.toml"
    scenario.write_text('weeks = "4"\n[network]\nkind = "watts_strogatz"\nnodes = "nodes.csv"\n')
    status, _, err = womsim("validate", scenario)
    assert status == 2
    lines = err.splitlines()  # reported together with the file's other problems
    assert "ws.toml:1: weeks: " in lines[0]
    assert lines[1].endswith("ws.toml:4: network.nodes: a node list applies to edge lists only "
                             "(network.kind = 'edgelist'), not to 'watts_strogatz'")


@pytest.mark.usefixtures("cache_everything")
def test_the_cache_misses_when_the_node_list_changes(tmp_path):
    (tmp_path / "edges.csv").write_text(EDGES)
    (tmp_path / "nodes.csv").write_text("id\n1\n2\n3\n4\n5\n")
    network = NetworkParams(kind="edgelist", path="edges.csv", nodes="nodes.csv")
    folder = tmp_path / "cache"
    first = cached_graph(network, 1, tmp_path, folder=folder)
    assert first.labels.tolist() == ["1", "2", "3", "4", "5"]
    assert cached_graph(network, 1, tmp_path, folder=folder).n == 5  # a hit
    (tmp_path / "nodes.csv").write_text("id\n1\n2\n3\n4\n5\n6\n77\n")
    changed = cached_graph(network, 1, tmp_path, folder=folder)
    assert changed.labels.tolist() == ["1", "2", "3", "4", "5", "6", "77"]
    assert changed.labels.tolist() == build_graph(network, 1, tmp_path).labels.tolist()
    without = cached_graph(NetworkParams(kind="edgelist", path="edges.csv"), 1, tmp_path,
                           folder=folder)
    assert without.n == 4
    assert len(list(folder.iterdir())) == 3


@pytest.fixture()
def cache_everything(monkeypatch):
    """Cache edge lists of any size."""
    monkeypatch.setattr(graph_cache, "EDGELIST_MIN_BYTES", 0)


def test_run_and_validate_count_the_tieless_customers(tmp_path, womsim):
    seed = '[[events]]\nkind = "seed"\nweek = 0\nnodes = ["6"]\n'
    scenario = write_scenario(tmp_path, nodes="id\n1\n2\n3\n4\n5\n6\n")
    scenario.write_text(scenario.read_text() + seed)
    status, out, _ = womsim("validate", scenario)
    assert status == 0
    assert "6 customers (2 without ties), 3 ties" in out and "nodes.csv" in out
    status, out, err = womsim("run", scenario, "--out", tmp_path / "o")
    assert status == 0, err
    assert "6 customers" in out
    assert (tmp_path / "o" / "summary.json").exists()
