"""Reading a customer graph from a CSV edge list (DESIGN.md "Data")."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sim.graph.csr import Graph, from_edges, no_weight


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
    weight = no_weight()
    if weighted:
        weight = table["weight"].to_numpy().astype(np.float32)  # nulls become NaN
        bad = np.flatnonzero(~((weight > 0) & (weight <= 1)))
        if bad.size:
            value = table["weight"][int(bad[0])].as_py()
            shown = "missing" if value is None else f"{value!r} is not in (0, 1]"
            raise ValueError(f"{path}: row {bad[0] + 1}: weight {shown}")
    return from_edges(len(labels), codes[0::2].copy(), codes[1::2].copy(), weight,
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
