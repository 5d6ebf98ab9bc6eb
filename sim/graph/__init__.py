"""Customer graphs: the CSR `Graph`, native generators, edge-list (and node-list) reading, the
graph a scenario's [network] section describes, a disk cache of built graphs, and the seeding
strategies that rank customers by their position in a graph.

May import `sim.core` only. Network parameters are read by attribute (duck-typed), so this layer
needs nothing from `sim.scenario`.
"""

from sim.graph.cache import cached_graph
from sim.graph.csr import MAX_NODES, Graph
from sim.graph.edgelist import load_edgelist
from sim.graph.generators import (
    barabasi_albert,
    complete_graph,
    configuration,
    erdos_renyi,
    random_regular,
    watts_strogatz,
)
from sim.graph.network import build_graph

__all__ = [
    "MAX_NODES",
    "Graph",
    "barabasi_albert",
    "build_graph",
    "cached_graph",
    "complete_graph",
    "configuration",
    "erdos_renyi",
    "load_edgelist",
    "random_regular",
    "watts_strogatz",
]
