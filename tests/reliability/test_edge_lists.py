"""Edge lists: every fault in the file is exit status 2 with the file, the line and the
problem; ids written two ways are one customer; Parquet files are read; `validate` reads the
list."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.core.errors import InputError
from sim.graph.edgelist import load_edgelist

BAD = {
    "empty file": (b"", ":", "is empty"),
    "header only": (b"source,target\n", ":", "no ties"),
    "no header": (b"1,2\n2,3\n", ":1:", "no header line"),
    "semicolons": (b"source;target\n1;2\n", ":1:", "separated by ';'"),
    "tabs": (b"source\ttarget\n1\t2\n", ":1:", "separated by tabs"),
    "latin-1": ("source,target\nJosé,Zoë\n".encode("latin-1"), ":2:", "not UTF-8"),
    "missing column": (b"source,weight\n1,0.5\n", ":1:", "no column 'target'"),
    "empty id": (b"source,target\n1,2\n3,\n", ":3:", "empty target id"),
    "non-numeric id": (b"source,target\n1,2\n3,x7\n", ":3:", "'x7' is not a number"),
    "fractional id": (b"source,target\n1,2.5\n", ":2:", "not a whole number"),
    "negative weight": (b"source,target,weight\n1,2,-0.5\n", ":2:", "-0.5 is not in (0, 1]"),
    "infinite weight": (b"source,target,weight\n1,2,inf\n", ":2:", "'inf' is not a number"),
    "nan weight": (b"source,target,weight\n1,2,nan\n", ":2:", "'nan' is not a number"),
    "text weight": (b"source,target,weight\n1,2,strong\n", ":2:", "not a number"),
    "missing weight": (b"source,target,weight\n1,2,\n", ":2:", "weight missing"),
    "ragged row": (b"source,target\n1,2\n\n2,3,4\n", ":4:", "3 field(s)"),
    "duplicated column": (b"source,target,target\n1,2,3\n", ":1:", "'target' twice"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_edge_list_is_exit_2_with_file_line_and_problem(case, tmp_path, womsim):
    content, location, problem = BAD[case]
    (tmp_path / "edges.csv").write_bytes(content)
    scenario = tmp_path / "net.toml"
    scenario.write_text('[network]\nkind = "edgelist"\npath = "edges.csv"\n')
    status, out, err = womsim("validate", scenario)
    assert status == 2, out
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"edges.csv{location}" in err and problem in err


def test_ids_written_differently_are_one_customer(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("source,target\n1,2\n 1,2.0\n1.0, 3\n+3,1e0\n003,2\n")
    graph = load_edgelist(path)
    assert graph.n == 3
    assert sorted(graph.labels) == ["1", "2", "3"]
    assert graph.n_edges == 2 * 3  # 1-2, 1-3, 3-2


def test_names_are_kept_as_names(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("source,target\nann, bob\nbob,cy\n")
    assert load_edgelist(path).labels.tolist() == ["ann", "bob", "cy"]


def test_a_parquet_edge_list_is_read(tmp_path):
    path = tmp_path / "edges.parquet"
    pd.DataFrame({"source": [1, 2, 3], "target": [2, 3, 1],
                  "weight": [0.5, 1.0, 0.25]}).to_parquet(path)
    graph = load_edgelist(path)
    assert graph.n == 3 and graph.labels.tolist() == ["1", "2", "3"]
    assert sorted(graph.weight.tolist()) == [0.25, 0.25, 0.5, 0.5, 1.0, 1.0]


def test_a_parquet_edge_list_with_a_bad_weight_names_the_row(tmp_path):
    path = tmp_path / "edges.parquet"
    pd.DataFrame({"source": [1, 2], "target": [2, 3], "weight": [0.5, -1.0]}).to_parquet(path)
    with pytest.raises(InputError, match="edges.parquet: row 2: weight -1"):
        load_edgelist(path)


def test_a_damaged_parquet_file_is_refused(tmp_path):
    path = tmp_path / "edges.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        load_edgelist(path)


def test_a_folder_is_not_an_edge_list(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        load_edgelist(tmp_path)


def test_a_missing_edge_list_is_named(tmp_path):
    with pytest.raises(InputError, match="edge list not found"):
        load_edgelist(tmp_path / "nowhere.csv")


def test_validate_reads_the_list_and_counts_customers_and_ties(tmp_path, womsim):
    (tmp_path / "edges.csv").write_text("source,target\n1,2\n2,3\n3,1\n3,4\n")
    scenario = tmp_path / "net.toml"
    scenario.write_text('[network]\nkind = "edgelist"\npath = "edges.csv"\n')
    status, out, _ = womsim("validate", scenario)
    assert status == 0 and "4 customers, 4 ties" in out


def test_a_seed_node_missing_from_the_edge_list_is_exit_2(tmp_path, womsim):
    (tmp_path / "edges.csv").write_text("source,target\n1,2\n2,3\n")
    scenario = tmp_path / "net.toml"
    scenario.write_text('weeks = 3\nreplications = 1\n[network]\nkind = "edgelist"\n'
                        'path = "edges.csv"\n[[events]]\nkind = "seed"\nweek = 0\n'
                        'nodes = ["99"]\n')
    for command in ("validate", "run"):
        status, _, err = womsim(command, scenario, *(["--out", tmp_path / "o"]
                                                     if command == "run" else []))
        assert status == 2 and "events[0].nodes" in err and "'99'" in err
