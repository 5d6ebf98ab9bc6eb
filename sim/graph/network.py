"""The graph a scenario's [network] section describes, built by the generator or edge-list reader
its `kind` names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sim.graph import generators
from sim.graph.csr import Graph
from sim.graph.edgelist import load_edgelist

if TYPE_CHECKING:
    from sim.scenario.schema import NetworkParams


def _whole(x: float, what: str) -> int:
    """x as an int; ValueError naming `what` unless it is a whole number."""
    if not float(x).is_integer():
        raise ValueError(f"{what} must be a whole number, not {x!r}")
    return int(x)


def build_graph(network: NetworkParams, seed: int, base_dir: Path | None = None) -> Graph:
    """The graph a scenario's [network] section describes.

    `network.seed` wins when set, else `seed` is used (the caller passes the graph seed derived
    from the scenario seed); the same parameters and seed always give identical arrays. An edge
    list's path is relative to `base_dir` (the scenario file's folder; default: the working
    directory) unless absolute, and so is its node list's (`nodes`). Raises ValueError for
    impossible parameters.

    `network` is read by attribute only (`kind`, `n`, `mean_degree`, `rewire`, `weak_tie_weight`,
    `degrees`, `path`, `nodes`, `directed`, `seed`), as `sim.scenario.schema.NetworkParams` holds
    them.
    """
    kind = network.kind
    if network.directed and kind != "edgelist":
        raise ValueError(f"network.directed applies to edge lists only, not to {kind!r}")
    if network.nodes is not None and kind != "edgelist":
        raise ValueError(f"network.nodes applies to edge lists only, not to {kind!r}")
    graph_seed = network.seed if network.seed is not None else seed
    if kind == "complete":
        return generators.complete_graph(network.n)
    if kind == "erdos_renyi":
        return generators.erdos_renyi(network.n, network.mean_degree, graph_seed)
    if kind == "barabasi_albert":
        m = _whole(network.mean_degree / 2, "barabasi_albert: m = mean_degree / 2")
        return generators.barabasi_albert(network.n, m, graph_seed)
    if kind == "watts_strogatz":
        k = _whole(network.mean_degree, "watts_strogatz: mean_degree")
        return generators.watts_strogatz(network.n, k, network.rewire, graph_seed,
                                         network.weak_tie_weight)
    if kind == "random_regular":
        d = _whole(network.mean_degree, "random_regular: mean_degree")
        return generators.random_regular(network.n, d, graph_seed)
    if kind == "configuration":
        if network.degrees is None:
            raise ValueError("configuration: network.degrees is required")
        return generators.configuration(network.degrees, graph_seed)
    if kind == "edgelist":
        if network.path is None:
            raise ValueError("edgelist: network.path is required")
        nodes = None if network.nodes is None else resolved(network.nodes, base_dir)
        return load_edgelist(resolved(network.path, base_dir), network.directed, nodes)
    raise ValueError(f"unknown network kind {kind!r}")


def resolved(name: str | Path, base_dir: Path | None) -> Path:
    """A network file's path: `name` itself if absolute, else relative to `base_dir` (default:
    the working directory)."""
    path = Path(name)
    if not path.is_absolute():
        path = (Path(base_dir) if base_dir is not None else Path.cwd()) / path
    return path
