"""Seeding strategies that rank customers (MODEL.md section 6, `seed` events): k-core,
betweenness, community and greedy influence maximisation.

A ranking strategy orders every customer once per run, best first; a seed event then takes the
first `count` of them who never bought (`sim.core.kernels.choose_ranked_seeds`). Every ranking
here is a permutation of 0..n-1, a pure function of the graph, the run seed and (greedy only) the
scenario, with ties broken by lower id. All work is done by numba kernels over the CSR arrays in
O(n + m) memory, so the strategies scale to 10^6 customers, except greedy, which keeps a
component label per customer per simulated cascade and is refused above GREEDY_MAX_NODES.

On the complete graph every customer is in the same position, so every strategy ranks by id.
Random choices (betweenness pivots, Louvain's visiting order, greedy's live edges) are
counter-based draws (`sim.core.rng`) with purpose codes of their own, so results do not depend on
the machine, the thread count or the order of evaluation.

They are graph algorithms, so they live in `sim.graph`, and may import `sim.graph` and `sim.core`
only: the scenario that greedy reads (its sharing probabilities) is read by attribute, and the
seed events that use the rankings are `sim.scenario.events`' and the kernel's.
"""

from sim.graph.seeding.centrality import (
    BETWEENNESS_EXACT_MAX,
    BETWEENNESS_PIVOTS,
    betweenness,
    core_numbers,
    rank_betweenness,
    rank_kcore,
)
from sim.graph.seeding.communities import (
    LOUVAIN_MAX_SWEEPS,
    LOUVAIN_MIN_GAIN,
    communities,
    rank_community,
)
from sim.graph.seeding.greedy import (
    GREEDY_MAX_NODES,
    GREEDY_WORLDS,
    edge_probability,
    greedy_order,
    greedy_picks,
    influence_spread,
    rank_greedy,
)

# Seed strategy name (a seed event's `strategy`) -> its ranking (graph, seed, scenario).
STRATEGY_RANKINGS = {
    "kcore": rank_kcore,
    "betweenness": rank_betweenness,
    "community": rank_community,
    "greedy": rank_greedy,
}

__all__ = [
    "BETWEENNESS_EXACT_MAX",
    "BETWEENNESS_PIVOTS",
    "GREEDY_MAX_NODES",
    "GREEDY_WORLDS",
    "LOUVAIN_MAX_SWEEPS",
    "LOUVAIN_MIN_GAIN",
    "STRATEGY_RANKINGS",
    "betweenness",
    "communities",
    "core_numbers",
    "edge_probability",
    "greedy_order",
    "greedy_picks",
    "influence_spread",
    "rank_betweenness",
    "rank_community",
    "rank_greedy",
    "rank_kcore",
]
