"""Seeding strategies (sim.graph.seeding): each ranks first what it claims on small graphs worked
by hand, agrees with networkx on the quantities it ranks by, is deterministic for a seed, and
runs end to end from a scenario's seed event."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest

from sim.core.rng import derived_seed, replicate_seed
from sim.core.stages import Source
from sim.graph import Graph, barabasi_albert, complete_graph, watts_strogatz
from sim.graph.seeding import (
    betweenness,
    communities,
    core_numbers,
    greedy_order,
    influence_spread,
    rank_betweenness,
    rank_community,
    rank_kcore,
)
from sim.graph.seeding import greedy as seeding
from sim.run.engine import Engine
from sim.scenario.events import RANKING_SEED_LABEL, rank_by_degree
from sim.scenario.load import Scenario, ScenarioError
from sim.scenario.schema import Event

GRAPH_ONLY = {"kcore": rank_kcore, "betweenness": rank_betweenness,
              "community": rank_community}
EVERY = {**GRAPH_ONLY, "greedy": seeding.rank_greedy}


def graph_of(n: int, edges: list[tuple[int, int]], directed: bool = False) -> Graph:
    """An unweighted graph on customers 0..n-1 with the given edges."""
    G = nx.DiGraph() if directed else nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(edges)
    return Graph.from_networkx(G)


def clique(nodes: range) -> list[tuple[int, int]]:
    return [(a, b) for a in nodes for b in nodes if a < b]


# A star whose centre, 3, is not the lowest id: ranking it first is not an accident of ids.
STAR = graph_of(7, [(3, leaf) for leaf in (0, 1, 2, 4, 5, 6)])
STAR_ORDER = [3, 0, 1, 2, 4, 5, 6]  # the centre, then the (equal) leaves by id

# Two 5-cliques {0..4} and {5..9} joined by the bridge 2 - 7.
BRIDGED = graph_of(10, clique(range(0, 5)) + clique(range(5, 10)) + [(2, 7)])


def test_star_centre_first_for_every_strategy():
    assert rank_by_degree(STAR, 0).tolist() == STAR_ORDER
    assert rank_kcore(STAR, 0).tolist() == STAR_ORDER  # all in the 1-core: the degree decides
    assert rank_betweenness(STAR, 0).tolist() == STAR_ORDER  # 15 leaf pairs meet at the centre
    # No split of a star has positive modularity: one community, ranked by degree.
    assert rank_community(STAR, 0).tolist() == STAR_ORDER
    assert greedy_order(STAR, 0.5, 0, count=1)[0] == 3  # leaves' spreads differ by chance


def test_betweenness_ranks_the_bridge_ends_first():
    # Each end lies on the shortest path of the 4 x 5 pairs across the bridge; clique members
    # are adjacent to everyone on their side, so they lie on no shortest path.
    assert betweenness(BRIDGED, 0).tolist() == [0, 0, 20, 0, 0, 0, 0, 20, 0, 0]
    assert rank_betweenness(BRIDGED, 0).tolist() == [2, 7, 0, 1, 3, 4, 5, 6, 8, 9]


def test_community_seeds_one_per_clique_round_robin():
    label = communities(BRIDGED, 0)
    assert label.tolist() == [0] * 5 + [1] * 5  # equal sizes: the one holding 0 comes first
    # The best-connected of each clique (the bridge ends), then the next of each, by id.
    assert rank_community(BRIDGED, 0).tolist() == [2, 7, 0, 5, 1, 6, 3, 8, 4, 9]


def test_community_spreads_seeds_over_communities_by_size():
    # Cliques of 6, 4 and 5 on a ring of bridges 0-6, 7-10, 12-1.
    G = graph_of(15, clique(range(0, 6)) + clique(range(6, 10)) + clique(range(10, 15))
                 + [(0, 6), (7, 10), (12, 1)])
    assert communities(G, 3).tolist() == [0] * 6 + [2] * 4 + [1] * 5
    # 0 and 1 have degree 6 in the largest clique; 10 and 12 degree 5 in the next; 6 and 7
    # degree 4 in the smallest.
    assert rank_community(G, 3)[:6].tolist() == [0, 10, 6, 1, 12, 7]


def test_kcore_ranks_cliques_above_a_pendant_path():
    # The bridged cliques with the path 0 - 10 - 11 - 12 hanging off node 0.
    G = graph_of(13, clique(range(0, 5)) + clique(range(5, 10)) + [(2, 7), (0, 10), (10, 11),
                                                                   (11, 12)])
    assert core_numbers(G).tolist() == [4] * 10 + [1] * 3
    # Core 4 by degree (0, 2, 7 have 5 neighbours, the others 4), then the path by degree.
    assert rank_kcore(G, 0).tolist() == [0, 2, 7, 1, 3, 4, 5, 6, 8, 9, 10, 11, 12]


def test_kcore_ranks_a_dense_core_above_a_peripheral_hub():
    # Hub 0 with 8 leaves, hanging off node 10 of the 5-clique {10..14}.
    G = graph_of(15, [(0, leaf) for leaf in range(1, 9)] + [(0, 10)] + clique(range(10, 15)))
    assert core_numbers(G).tolist() == [1] * 9 + [0] + [4] * 5  # node 9 is isolated
    assert rank_by_degree(G, 0)[0] == 0  # the hub has the most neighbours (9)...
    # ... but the clique is the core; 10 has 5 neighbours, 11-14 have 4.
    assert rank_kcore(G, 0)[:6].tolist() == [10, 11, 12, 13, 14, 0]


def test_kcore_on_directed_graph_is_the_out_core():
    # 0 -> 1 -> 2 -> 0 is a cycle (everyone has 1 out-neighbour in it); 3 only hears 0.
    # 4 shares with all of the cycle but nobody shares back: out-core 1 like the cycle.
    G = graph_of(5, [(0, 1), (1, 2), (2, 0), (0, 3), (4, 0), (4, 1), (4, 2)], directed=True)
    assert core_numbers(G).tolist() == [1, 1, 1, 0, 1]
    assert rank_kcore(G, 0).tolist() == [4, 0, 1, 2, 3]  # 4 has 3 out-neighbours, 0 has 2


def test_greedy_takes_both_star_centres_larger_first():
    # Star of 3 leaves centred on 0, star of 6 leaves centred on 4. With edge probability 1/2
    # the centre of an L-star reaches 1 + L/2 customers, a leaf 1 + (1 + (L - 1)/2)/2, so
    # greedy takes 4 (spread 4), then 0 (2.5: a leaf of 4's star adds at most 1/2).
    G = graph_of(11, [(0, leaf) for leaf in (1, 2, 3)] + [(4, leaf) for leaf in range(5, 11)])
    assert greedy_order(G, 0.5, 7, count=2)[:2].tolist() == [4, 0]


def test_greedy_does_not_double_up_where_degree_does():
    # Hubs 0 and 1 share the same 6 leaves 2..7; hub 8 has 4 leaves of its own, 9..12.
    # Degree takes 0 and 1. Greedy takes 0, then 8 (marginal 3), since 1 is reached from 0
    # unless all 6 two-edge paths are dead (0.75**6 = 0.18): its marginal is about 0.5.
    edges = [(hub, leaf) for hub in (0, 1) for leaf in range(2, 8)]
    G = graph_of(13, edges + [(8, leaf) for leaf in range(9, 13)])
    assert rank_by_degree(G, 0)[:2].tolist() == [0, 1]
    assert greedy_order(G, 0.5, 7, count=2)[:2].tolist() == [0, 8]


def test_influence_spread_is_the_expected_cascade_size():
    # From a star's centre: 1 + 6p customers in expectation; exact at p = 0 and p = 1.
    assert influence_spread(STAR, [3], 0.0, 1) == 1.0
    assert influence_spread(STAR, [3], 1.0, 1) == 7.0
    assert influence_spread(BRIDGED, [0, 9], 1.0, 1) == 10.0
    worlds = 4000
    estimate = influence_spread(STAR, [3], 0.3, 1, worlds=worlds)
    sd = np.sqrt(6 * 0.3 * 0.7 / worlds)  # Binomial(6, 0.3) leaves reached
    assert abs(estimate - (1 + 6 * 0.3)) < 5 * sd


def test_greedy_refuses_directed_and_large_graphs(monkeypatch):
    directed = graph_of(3, [(0, 1), (1, 2)], directed=True)
    with pytest.raises(ValueError, match="undirected"):
        greedy_order(directed, 0.5, 0, count=1)
    monkeypatch.setattr(seeding, "GREEDY_MAX_NODES", 6)
    with pytest.raises(ValueError, match="at most 6 customers, not 7"):
        greedy_order(STAR, 0.5, 0, count=1)


def test_greedy_reads_its_probability_and_picks_from_the_scenario():
    scenario = Scenario.from_dict({"journey": {"conversion": 0.5},
                                   "sharing": {"base": 0.8, "reach": 0.5}})
    assert seeding.edge_probability(scenario) == pytest.approx(0.5 * 0.8 * 0.5)
    events = (Event(kind="seed", week=0, count=2, strategy="greedy"),
              Event(kind="seed", week=3, count=4, strategy="degree"),
              Event(kind="seed", week=5, count=3, strategy="greedy"))
    assert seeding.greedy_picks(SimpleNamespace(events=events)) == 5


def test_greedy_on_too_large_a_network_is_a_validation_error():
    with pytest.raises(ScenarioError, match="events\\[0\\].strategy: greedy runs on graphs"):
        Scenario.from_dict({"network": {"n": seeding.GREEDY_MAX_NODES + 1},
                            "events": [{"kind": "seed", "week": 0, "count": 1,
                                        "strategy": "greedy"}]})


def test_every_strategy_ranks_the_complete_graph_by_id():
    g = complete_graph(6)
    for rank in GRAPH_ONLY.values():
        assert rank(g, 5).tolist() == list(range(6))
    assert greedy_order(g, 0.5, 5, count=3).tolist() == list(range(6))


def test_core_numbers_and_exact_betweenness_agree_with_networkx():
    g = barabasi_albert(200, 2, 5)
    G = g.to_networkx()
    assert core_numbers(g).tolist() == [nx.core_number(G)[i] for i in range(g.n)]
    expected = nx.betweenness_centrality(G, normalized=False)
    np.testing.assert_allclose(betweenness(g, 0), [expected[i] for i in range(g.n)],
                               rtol=1e-9, atol=1e-9)
    D = nx.gnp_random_graph(100, 0.05, seed=2, directed=True)
    expected = nx.betweenness_centrality(D, normalized=False)
    np.testing.assert_allclose(betweenness(Graph.from_networkx(D), 0),
                               [expected[i] for i in range(100)], rtol=1e-9, atol=1e-9)


def test_louvain_partition_is_as_modular_as_networkx():
    g = watts_strogatz(600, 6, 0.05, 4)
    G = g.to_networkx()
    label = communities(g, 9)
    ours = nx.community.modularity(G, [set(np.flatnonzero(label == c).tolist())
                                       for c in range(label.max() + 1)])
    theirs = nx.community.modularity(G, nx.community.louvain_communities(G, seed=9))
    assert ours > theirs - 0.02
    sizes = np.bincount(label)
    assert (np.diff(sizes) <= 0).all()  # numbered by decreasing size


def test_sampled_betweenness_finds_the_exact_top_ranks():
    g = barabasi_albert(1000, 3, 11)
    exact = np.argsort(-betweenness(g, 0, pivots=g.n), kind="stable")
    sampled = np.argsort(-betweenness(g, 0, pivots=100), kind="stable")
    assert set(exact[:5]) <= set(sampled[:10])


@pytest.mark.parametrize("name", [*GRAPH_ONLY, "greedy"])
def test_rankings_are_deterministic_permutations(name):
    g = watts_strogatz(400, 6, 0.1, 2)
    if name == "greedy":
        first, again = (greedy_order(g, 0.2, 3, count=10) for _ in range(2))
    else:
        first, again = GRAPH_ONLY[name](g, 3), GRAPH_ONLY[name](g, 3)
    assert np.array_equal(first, again)
    assert np.array_equal(np.sort(first), np.arange(g.n))


@pytest.mark.parametrize("name", list(EVERY))
def test_seed_event_takes_the_top_of_the_ranking(tmp_path, name):
    path = tmp_path / "seeded.toml"
    path.write_text(f"""
weeks = 2
replications = 1
[network]
kind = "watts_strogatz"
n = 300
mean_degree = 6
[media]
spend = 0.0
[[events]]
kind = "seed"
week = 0
count = 5
strategy = "{name}"
""")
    scenario = Scenario.load(path)
    seed = replicate_seed(scenario.seed, 0)
    engine = Engine(scenario, seed).run()
    seeded = np.flatnonzero(engine.customers.source == int(Source.SEED))
    # Nobody had bought at week 0, so the seeds are the top 5 of the ranking, which is seeded
    # from the scenario seed (shared by every replicate), not from the replicate's run seed.
    ranking_seed = derived_seed(scenario.seed, RANKING_SEED_LABEL)
    expected = EVERY[name](engine.graph, ranking_seed, scenario)[:5]
    assert sorted(seeded.tolist()) == sorted(expected.tolist())
