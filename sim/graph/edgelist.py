"""Reading a customer graph from an edge list, and optionally a node list: each a CSV file or a
Parquet file (DESIGN.md "Data").

Every fault in a file is an `InputError` naming the file, the line (a Parquet file: the row)
and the problem; nothing in a file is guessed. Customer ids are normalised before they are
numbered: surrounding spaces are dropped, and when the ids are numbers, "1", " 1", "+1", "1.0"
and "1e0" are all the customer "1" (ids that are numbers but not whole ones are refused), so a
customer is never counted twice because its id was written two ways. A node list's ids are
normalised the same way as its edge list's, so the two files may spell an id differently.

A node list names the whole population: customers without ties cannot appear in an edge list
(a self-loop keeps its node, but nobody should have to invent one), so the node list adds them.
Every customer of the edge list must be in it: a node list that misses one is most likely the
wrong file, or the ids are spelled in another scheme, and a guess would silently change the
population that adoption percentages are of.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.core.errors import InputError, regular_file
from sim.graph.csr import Graph, from_edges, no_weight

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_INTEGER = r"^[+-]?\d+$"
_LARGEST_ID = 2**63 - 1
_THREADED_READ_BYTES = 8 << 20


class _Layout(NamedTuple):
    """The columns a kind of file must have (`required`) or may have (`optional`), and how a
    message describes the file."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    first_line: str  # what the header line must be
    format: str  # the file's format, said after a problem


_EDGES = _Layout(("source", "target"), ("weight",), "'source,target[,weight]'",
                 "an edge list is a CSV file with the header line 'source,target' or "
                 "'source,target,weight' and one line per tie")
_NODES = _Layout(("id",), (), "'id' (other columns may follow)",
                 "a node list is a CSV file with a header line naming the column 'id' and one "
                 "line per customer")

Where = Callable[[int, str], InputError]  # (row, problem) -> the error, located


def load_edgelist(path: Path, directed: bool = False, nodes: Path | None = None) -> Graph:
    """A Graph from an edge list whose columns are `source` and `target` and optionally `weight`
    (other columns are ignored): a UTF-8 CSV file with a header line, or a Parquet file (read
    by its content, whatever its name).

    Ids are normalised (see the module) and numbered in order of first appearance (row by row,
    source before target), kept in `labels`. An edge u -> v means v hears u; undirected edges
    are stored both ways. Self-loops are dropped (their node is kept); duplicate edges (for
    undirected lists also reversed ones) are merged keeping the largest weight. Weights must be
    numbers in (0, 1]. With a node list `nodes` (a file of the same kinds with a column `id`),
    its customers that have no tie follow, in the node list's order, without ties. Raises
    InputError naming the file and line for any fault, in either file; a customer of the edge
    list that the node list lacks is one.
    """
    path = regular_file(path, "edge list")
    columns, where = _read(path, _EDGES)
    m = len(columns["source"])
    if m == 0:
        raise InputError(f"has a header but no ties; {_EDGES.format}", file=path)
    ends = [_trimmed(columns[name], name, where) for name in ("source", "target")]
    numeric = _is_number(ends[0][0])
    interleaved = _normalised(ends, ("source", "target"), where, numeric)
    codes, labels = _number(interleaved)
    if nodes is not None:
        labels = _with_node_list(labels, _node_ids(Path(nodes), numeric), Path(nodes),
                                 lambda code: where(int(np.argmax(codes == code)) // 2, ""))
    weight = no_weight()
    if "weight" in columns:
        weight = _weights(columns["weight"], where)
    return from_edges(len(labels), codes[0::2].copy(), codes[1::2].copy(), weight,
                      directed=directed, labels=labels)


def _node_ids(path: Path, numeric: bool) -> pa.Array:
    """The node list's ids in file order, normalised as its edge list's (`numeric`: the edge
    list's ids are numbers); InputError for an empty list or an id listed twice."""
    path = regular_file(path, "node list")
    columns, where = _read(path, _NODES)
    if len(columns["id"]) == 0:
        raise InputError(f"has a header but no customers; {_NODES.format}", file=path)
    ids = _normalised([_trimmed(columns["id"], "id", where)], ("id",), where, numeric,
                      unlike="the edge list's ids")
    indices = pc.dictionary_encode(ids).indices.to_numpy()
    _, first = np.unique(indices, return_index=True)
    repeated = np.flatnonzero(first[indices] != np.arange(len(indices)))
    if repeated.size:
        at = int(repeated[0])
        earlier = where(int(first[indices[at]]), "")
        raise where(at, f"id {ids[at].as_py()!r} is listed twice (first on "
                        f"{f'line {earlier.line}' if earlier.line else earlier.key})")
    return ids


def _with_node_list(labels: np.ndarray, ids: pa.Array, path: Path,
                    located: Callable[[int], InputError]) -> np.ndarray:
    """The edge list's labels followed by the node list's ids (from the file `path`) that are
    not among them, in the node list's order; InputError naming the first customer of the edge
    list (and where it first appears, `located(code)`) that the node list lacks."""
    edge_ids = pa.array(labels, type=pa.large_string())
    listed = pc.is_in(edge_ids, value_set=ids).to_numpy(zero_copy_only=False)
    if not listed.all():
        code = int(np.flatnonzero(~listed)[0])
        raise InputError(f"customer {labels[code]!r} of the edge list ({_place(located(code))}) "
                         f"is not in the node list; a node list names every customer, with or "
                         f"without ties", file=path)
    tieless = ids.filter(pc.invert(pc.is_in(ids, value_set=edge_ids)))
    return np.concatenate([labels, tieless.to_numpy(zero_copy_only=False)])


def _place(error: InputError) -> str:
    """Where an error is, for a message about another file: "NAME:LINE", or "NAME row N" in a
    Parquet file (the name only: the message's own file is given in full)."""
    place = error.file.name + (f":{error.line}" if error.line else "")
    return f"{place} {error.key}" if error.key else place


def _read(path: Path, layout: _Layout) -> tuple[dict[str, pa.Array], Where]:
    """The file's columns of `layout` as text, and where each row is; Parquet files are told
    by their content."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    return _read_parquet(path, layout) if magic == b"PAR1" else _read_csv(path, layout)


def _read_csv(path: Path, layout: _Layout) -> tuple[dict[str, pa.Array], Where]:
    """The CSV file's columns of `layout` as text, and where each data row is in the file."""
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"is empty; {layout.format}", file=path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError("is not UTF-8 text (a Latin-1 or Windows file?): save it as UTF-8",
                         file=path, line=data.count(b"\n", 0, error.start) + 1) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = _Lines(data)
    first = data.split(b"\n", 1)[0].decode().rstrip("\r")
    header = [name.strip() for name in next(csv.reader([first]), [])]
    _check_header(path, first, header, layout)
    options = pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.large_string()),
                                   strings_can_be_null=False)
    # Arrow's reader threads only pay on large files, and a process that exits (on an input
    # error) right after they ran can abort while they are torn down (apache/arrow#34314).
    read = pacsv.ReadOptions(column_names=header, skip_rows=1,
                             use_threads=len(data) > _THREADED_READ_BYTES)
    try:
        table = pacsv.read_csv(pa.BufferReader(data), read_options=read, convert_options=options)
    except pa.ArrowInvalid as error:
        raise InputError(lines.parse_problem(len(header), str(error)), file=path,
                         line=lines.bad_line(len(header))) from None

    def where(row: int, problem: str) -> InputError:
        return InputError(problem, file=path, line=lines.of_row(int(row)))

    return {name: table[name].combine_chunks() for name in _wanted(header, layout)}, where


def _check_header(path: Path, first: str, header: list[str], layout: _Layout) -> None:
    """InputError unless the header line names the required columns (once each)."""
    if all(name in header for name in layout.required):
        duplicated = [name for name in _wanted(header, layout) if header.count(name) > 1]
        if duplicated:
            raise InputError(f"the header names '{duplicated[0]}' twice", file=path, line=1)
        return
    if ";" in first and "," not in first:
        problem = "columns are separated by ';'; womsim reads commas (save the file as CSV " \
                  "with ',' as separator)"
    elif "\t" in first and "," not in first:
        problem = "columns are separated by tabs; womsim reads commas"
    elif header and all(pc.match_substring_regex(pa.array(header), _NUMBER).to_pylist()):
        problem = f"has no header line: the first line must be {layout.first_line}"
    else:
        missing = [name for name in layout.required if name not in header]
        problem = (f"the header has no column {' or '.join(repr(n) for n in missing)} "
                   f"(found {', '.join(repr(n) for n in header)})")
    raise InputError(f"{problem}; {layout.format}", file=path, line=1)


def _wanted(columns: list[str], layout: _Layout) -> list[str]:
    return [name for name in (*layout.required, *layout.optional) if name in columns]


class _Lines:
    """Line numbers of a CSV file's data rows (the reader skips empty lines)."""

    def __init__(self, data: bytes) -> None:
        self.lines = data.split(b"\n")

    def of_row(self, row: int) -> int:
        """The line (from 1, the header being line 1) of data row `row` (from 0)."""
        seen = -1
        for number, line in enumerate(self.lines[1:], start=2):
            if line.strip(b"\r"):
                seen += 1
                if seen == row:
                    return number
        return len(self.lines)

    def bad_line(self, fields: int) -> int | None:
        """The first data line that does not have `fields` fields, if any."""
        for number, line in enumerate(self.lines[1:], start=2):
            text = line.decode().rstrip("\r")
            if text and len(next(csv.reader([text]), [])) != fields:
                return number
        return None

    def parse_problem(self, fields: int, arrow_message: str) -> str:
        """A one-line description of a CSV parse error."""
        line = self.bad_line(fields)
        if line is not None:
            text = self.lines[line - 1].decode().rstrip("\r")
            found = len(next(csv.reader([text]), []))
            return f"has {found} field(s) where the header names {fields}"
        return f"cannot be read as CSV: {arrow_message.splitlines()[0]}"


def _read_parquet(path: Path, layout: _Layout) -> tuple[dict[str, pa.Array], Where]:
    """The Parquet file's columns of `layout` (ids as text), and where each row is (by row
    number)."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"is not a readable Parquet file: {str(error).splitlines()[0]}",
                         file=path) from None
    names = [name.strip() for name in table.column_names]
    missing = [name for name in layout.required if name not in names]
    if missing:
        raise InputError(f"the Parquet file has no column {' or '.join(map(repr, missing))} "
                         f"(found {', '.join(map(repr, names))})", file=path)
    columns = {}
    for name in _wanted(names, layout):
        column = table.column(names.index(name)).combine_chunks()
        try:
            columns[name] = pc.cast(column, pa.large_string())
        except pa.ArrowException:
            raise InputError(f"column '{name}' has values of type {column.type}, which are "
                             f"not ids or numbers", file=path) from None

    def where(row: int, problem: str) -> InputError:
        return InputError(problem, file=path, key=f"row {int(row) + 1}")

    return columns, where


def _trimmed(column: pa.Array, name: str, where: Where) -> pa.Array:
    """The ids without surrounding spaces; InputError at the first empty (or missing) one."""
    trimmed = pc.utf8_trim_whitespace(column.fill_null(""))
    empty = np.flatnonzero(pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False))
    if empty.size:
        raise where(empty[0], f"empty {_id_in(name)}")
    return trimmed


def _is_number(first_id: pa.Scalar) -> bool:
    """Whether an id is written as a number (the first id of an edge list decides whether all
    its ids are numbers or names)."""
    return bool(pc.match_substring_regex(pa.array([first_id.as_py()]), _NUMBER)[0].as_py())


def _normalised(ends: list[pa.Array], names: tuple[str, ...], where: Where, numeric: bool,
                unlike: str = "the ids before it") -> pa.Array:
    """The id columns `ends` (named `names`) interleaved row by row (for an edge list source,
    target, source, ...), each id in one spelling.

    If `numeric`, every id must be a whole number and is written as one ("1.0" -> "1"); an id
    that is not a number is refused as `unlike` the others; otherwise ids are names, kept as
    they are."""
    k, m = len(ends), len(ends[0])
    interleaved = pa.concat_arrays(ends).take(pa.array(
        (np.arange(k)[None, :] * m + np.arange(m)[:, None]).ravel()))
    if not numeric:
        return interleaved
    is_number = pc.match_substring_regex(interleaved, _NUMBER).to_numpy(zero_copy_only=False)
    if not is_number.all():
        at = int(np.flatnonzero(~is_number)[0])
        raise where(at // k, f"{_id_in(names[at % k])} {interleaved[at].as_py()!r} is not a "
                             f"number, unlike {unlike}")
    integral = pc.match_substring_regex(interleaved, _INTEGER).to_numpy(zero_copy_only=False)
    values = np.zeros(k * m, dtype=np.int64)
    try:
        if integral.any():
            whole = pc.replace_substring_regex(interleaved.filter(pa.array(integral)),
                                               r"^\+", "")
            values[integral] = pc.cast(whole, pa.int64()).to_numpy()
    except pa.ArrowInvalid:
        raise where(0, f"an id is larger than {_LARGEST_ID}") from None
    if not integral.all():
        reals = pc.cast(interleaved.filter(pa.array(~integral)), pa.float64()).to_numpy()
        bad = ~(np.isfinite(reals) & (reals == np.round(reals)) & (np.abs(reals) < 2.0**53))
        if bad.any():
            at = int(np.flatnonzero(~integral)[np.flatnonzero(bad)[0]])
            raise where(at // k, f"{_id_in(names[at % k])} {interleaved[at].as_py()!r} is not "
                                 f"a whole number")
        values[~integral] = reals.astype(np.int64)
    return pc.cast(pa.array(values), pa.large_string())


def _id_in(column: str) -> str:
    """What a message calls an id in `column`: "source id", "target id", or just "id"."""
    return column if column == "id" else f"{column} id"


def _number(ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance, and the labels they stand for."""
    encoded = pc.dictionary_encode(ids)
    return (encoded.indices.to_numpy().astype(np.int32),
            encoded.dictionary.to_numpy(zero_copy_only=False))


def _weights(column: pa.Array, where: Where) -> np.ndarray:
    """The weights as float32; InputError at the first that is not a number in (0, 1]."""
    text = pc.utf8_trim_whitespace(column.fill_null(""))
    numeric = pc.match_substring_regex(text, _NUMBER).to_numpy(zero_copy_only=False)
    if not numeric.all():
        at = int(np.flatnonzero(~numeric)[0])
        value = text[at].as_py()
        raise where(at, "weight missing" if not value else
                    f"weight {value!r} is not a number")
    weight = pc.cast(text, pa.float64()).to_numpy()
    bad = np.flatnonzero(~((weight > 0) & (weight <= 1)))
    if bad.size:
        raise where(bad[0], f"weight {text[int(bad[0])].as_py()} is not in (0, 1]")
    return weight.astype(np.float32)
