"""A disk cache of built graphs, shared between processes.

A graph is stored once, as `.npy` files in a folder named by a hash of everything that decides
its arrays: the generator and its parameters, the graph seed, and the source of the modules that
build graphs (so a changed generator never serves a stale graph). An edge list's key also holds the
resolved path, size and modification time of its file and of its node list's, if any. Later builds
load the arrays memory-mapped (copy-on-write), so every process (sweep workers, dask workers, a
second `womsim run`) maps the same pages of the page cache instead of holding its own copy, and
skips the build.

Entries are written into a temporary folder beside their final place and renamed into it, which
is atomic: a reader sees a complete entry or none. If the cache folder cannot be written, the
graph is built as if there were no cache.

Small graphs are not cached: below CACHE_MIN_NODES nodes a build takes milliseconds (see
CACHE_MIN_NODES), so a cache entry would only add files. The complete graph has no arrays and is
never cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.core.files import staged_folder
from sim.graph import csr, edgelist, generators
from sim.graph import network as build_module
from sim.graph.csr import Graph
from sim.graph.network import build_graph, resolved

if TYPE_CHECKING:
    from sim.scenario.schema import NetworkParams

CACHE_ENV = "WOMSIM_CACHE_DIR"  # overrides the cache folder
DEFAULT_CACHE_DIR = Path("~/.cache/womsim/graphs")
# Graphs with fewer nodes are built every time. Measured on the 2-core development machine
# (load average 5.6, warm page cache): barabasi_albert (m = 4) builds in 2 ms at 10^4 nodes,
# 49 ms at 10^5 and 0.9 s at 10^6; watts_strogatz (k = 10) in 8 ms, 75 ms and 1.0 s; a
# memory-mapped load takes about 1 ms at any size. From 10^5 nodes on a build costs a noticeable
# fraction of a second, which the cache saves in every process; below, it would only add files.
CACHE_MIN_NODES = 100_000
# Edge lists are cached from this file size on (about 10^5 edges; the node list's size counts too):
# their node count is only known after parsing, and parsing a small file is as quick as loading it
# from the cache.
EDGELIST_MIN_BYTES = 1 << 20
_FORMAT = 2  # bump when the layout of an entry changes
_ARRAYS = ("indptr", "indices", "weight", "labels")
_META = "graph.json"
_BUILDERS = (csr, generators, edgelist, build_module)  # their source decides a graph's arrays


def cache_dir() -> Path:
    """The cache folder: $WOMSIM_CACHE_DIR if set, else ~/.cache/womsim/graphs."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


@cache
def _generator_fingerprint() -> str:
    """A hash of the source of the modules that build graphs: any change to the generators
    changes every key."""
    digest = hashlib.sha256()
    for module in _BUILDERS:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _file_fields(name: str, base_dir: Path | None) -> dict[str, object]:
    """What identifies a network file's content without reading it: its path as build_graph
    resolves it, its size and its modification time; OSError if it cannot be examined."""
    path = resolved(name, base_dir).resolve()
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def graph_key(network: NetworkParams, seed: int, base_dir: Path | None = None) -> str | None:
    """The cache key (a hex digest) of the graph build_graph(network, seed, base_dir) returns, or
    None when that graph is not cached: the complete graph, graphs under CACHE_MIN_NODES nodes,
    edge lists under EDGELIST_MIN_BYTES, and edge lists that cannot be read (build_graph then
    reports the problem). A node list is part of an edge list's key, so editing either file
    misses."""
    if network.kind == "complete":
        return None
    fields = dataclasses.asdict(network)
    # The seed that decides the graph: network.seed wins over the one passed (as in build_graph).
    fields["seed"] = int(network.seed if network.seed is not None else seed)
    if network.kind == "edgelist":
        if network.path is None:
            return None
        try:
            edges = _file_fields(network.path, base_dir)
            nodes = None if network.nodes is None else _file_fields(network.nodes, base_dir)
        except OSError:
            return None
        if edges["size"] + (nodes["size"] if nodes else 0) < EDGELIST_MIN_BYTES:
            return None
        fields.update(edges, nodes=nodes)
        fields.pop("seed")  # an edge list does not depend on the seed
    else:
        configuration = network.kind == "configuration" and network.degrees is not None
        if (len(network.degrees) if configuration else network.n) < CACHE_MIN_NODES:
            return None
    text = json.dumps({"format": _FORMAT, "generator": _generator_fingerprint(),
                       "network": fields}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_graph(network: NetworkParams, seed: int, base_dir: Path | None = None, *,
                 folder: Path | None = None) -> Graph:
    """build_graph(network, seed, base_dir), through the cache in `folder` (default cache_dir()).

    The arrays are identical to an uncached build's. A cached graph's arrays are copy-on-write
    memory maps of the cache's files; graphs that are not cached (see graph_key) are built as
    usual.
    """
    key = graph_key(network, seed, base_dir)
    if key is None:
        return build_graph(network, seed, base_dir)
    entry = Path(folder if folder is not None else cache_dir()) / key
    graph = _load(entry)
    if graph is not None:
        return graph
    graph = build_graph(network, seed, base_dir)
    try:
        _store(graph, entry)
    except OSError:
        return graph  # an unwritable cache folder: go on without the cache
    # Return the memory-mapped copy, so that this process shares its pages like any other.
    loaded = _load(entry)
    return loaded if loaded is not None else graph


def _load(entry: Path) -> Graph | None:
    """The graph stored in `entry`, memory-mapped (copy-on-write); None if there is no such
    entry. An entry that is not sound (another format, a checksum that differs, arrays that do
    not make a graph: a damaged disk, a file changed by hand) is removed, so that the graph is
    built again: a cache entry is never trusted unchecked."""
    try:
        meta = json.loads((entry / _META).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        shutil.rmtree(entry, ignore_errors=True)
        return None
    graph = _read_entry(entry, meta)
    if graph is None:
        shutil.rmtree(entry, ignore_errors=True)
        return None
    return graph


def _read_entry(entry: Path, meta: dict) -> Graph | None:
    """The entry's graph if its format is this one and every file has its stored checksum,
    else None."""
    try:
        if meta.get("format") != _FORMAT or any(
                _checksum(entry / f"{name}.npy") != meta["checksums"][name]
                for name in meta["arrays"]):
            return None
        # Copy-on-write mapping: pages are shared with every process that maps the file, nothing
        # written in memory ever reaches it, and the arrays keep the ordinary (writeable) type,
        # so the kernels need no second compiled version for read-only arrays.
        arrays = {name: np.load(entry / f"{name}.npy", mmap_mode="c", allow_pickle=False)
                  for name in meta["arrays"]}
        if not _valid(int(meta["n"]), arrays):
            return None
        labels = arrays.get("labels")
        if labels is not None:
            # Stored as fixed-width text; the Graph holds Python strings as a fresh build does.
            labels = np.asarray(labels).astype(object)
        return Graph(meta["n"], arrays["indptr"], arrays["indices"], arrays.get("weight"),
                     directed=meta["directed"], labels=labels)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _valid(n: int, arrays: dict[str, np.ndarray]) -> bool:
    """Whether the arrays make a graph of `n` nodes that the kernels can walk without reading
    out of bounds: int64 indptr of n + 1 entries from 0 to len(indices) without going down,
    int32 indices in [0, n), one float32 weight in (0, 1] per index, n labels."""
    indptr, indices, weight = arrays["indptr"], arrays["indices"], arrays.get("weight")
    if indptr.dtype != np.int64 or indices.dtype != np.int32 or indptr.shape != (n + 1,):
        return False
    if "labels" in arrays and arrays["labels"].shape != (n,):
        return False
    if weight is not None and weight.dtype != np.float32:
        return False
    if indptr[0] != 0 or indptr[-1] != indices.size or (np.diff(indptr) < 0).any():
        return False
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        return False
    return weight is None or (weight.shape == indices.shape
                              and bool(((weight > 0) & (weight <= 1)).all()))


def _checksum(path: Path) -> str:
    """A BLAKE2 digest of the file's bytes."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _store(graph: Graph, entry: Path) -> None:
    """Write `graph` as the cache entry `entry`, atomically (`sim.core.files.staged_folder`). If
    another process stored the same entry first, its copy is kept."""
    with staged_folder(entry, replace=False) as staging:
        arrays = {"indptr": graph.indptr, "indices": graph.indices, "weight": graph.weight}
        if graph.labels is not None:
            arrays["labels"] = np.asarray([str(label) for label in graph.labels], dtype=str)
        stored = [name for name in _ARRAYS if arrays.get(name) is not None]
        for name in stored:
            np.save(staging / f"{name}.npy", arrays[name], allow_pickle=False)
        (staging / _META).write_text(json.dumps(
            {"format": _FORMAT, "n": graph.n, "directed": graph.directed, "arrays": stored,
             "checksums": {name: _checksum(staging / f"{name}.npy") for name in stored}}))
