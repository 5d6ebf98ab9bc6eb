"""What the seeding strategies share: the purpose codes of their random draws, and the order of
customers by keys."""

from __future__ import annotations

import numpy as np

from sim.graph.csr import Graph

# Purpose codes of the draws made by the strategies. They lie above sim.core.stages.Purpose's
# codes (all below 100), so no draw here ever coincides with a draw of the dynamics.
PIVOT = 101  # which customers are betweenness pivots
VISIT = 102  # Louvain's visiting order at each level
LIVE_EDGE = 103  # is an edge live in a simulated cascade (keyed by its two ends)


def by_id(graph: Graph) -> np.ndarray:
    """Every customer, by id: the ranking when all are in the same position."""
    return np.arange(graph.n, dtype=np.int64)


def ranked(*keys: np.ndarray) -> np.ndarray:
    """Customers ordered by decreasing keys[0], then keys[1], ..., then increasing id."""
    n = len(keys[0])
    return np.lexsort((np.arange(n),) + tuple(-k for k in reversed(keys))).astype(np.int64)
