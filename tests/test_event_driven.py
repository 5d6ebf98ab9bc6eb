"""The event-driven kernel (DESIGN.md principle 5) against a full recount.

Talk pressure is not recomputed over every edge each week: a talker pushes the change of its weight
to its listeners when it starts, stops or changes emotion. These tests recount the pressure from
scratch after every week, over all in-edges of every customer who can still be stimulated, and
require bit-for-bit equality on every shipped scenario (at a reduced size) and on directed,
weighted and complete graphs; likewise each talker's count of ties to customers still listening,
by which the push skips talkers whose listeners have all bought.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario

from sim.core.rng import replicate_seed
from sim.core.stages import State
from sim.core.state import TALK_SCALE
from sim.run.engine import Engine
from sim.scenario.load import Scenario

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))
LISTENING = (State.UNAWARE, State.ZMOT, State.REJECTED)


def recount_pressure(engine: Engine) -> np.ndarray:
    """Sum over in-edges of round(omega * kappa * 2^32) for all talkers and positive talkers,
    computed with numpy from the graph and the talkers' weights, nothing incremental."""
    graph, customers = engine.graph, engine.customers
    sources = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
    omega = (graph.weight.astype(np.float64) if graph.weight is not None
             else np.ones(len(graph.indices)))
    pressure = np.zeros((graph.n, 2), dtype=np.int64)
    for column, kappa in enumerate((customers.talk_kappa, customers.talk_kappa_positive)):
        terms = np.round(omega * kappa[sources].astype(np.float64) * TALK_SCALE).astype(np.int64)
        np.add.at(pressure[:, column], graph.indices, terms)
    return pressure


def assert_pressure_exact_every_week(scenario) -> None:
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    talkers_seen = 0
    while not engine.done:
        engine.step()
        customers = engine.customers
        # the talkers' weights are what their state says (the push is complete)
        talking = np.isin(customers.state, (State.SMOT, State.LOYAL))
        assert np.all((customers.talk_kappa > 0) == talking)
        talkers_seen += int(talking.sum())
        listening = np.isin(customers.state, LISTENING)
        expected = recount_pressure(engine)
        np.testing.assert_array_equal(customers.talk_pressure[listening], expected[listening])
        # each talker's count of ties to listeners, which lets the push skip a talker whose
        # listeners all bought, is the recount too
        graph = engine.graph
        if not graph.complete and engine.params.imitation_local > 0.0:
            sources = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
            ties = np.bincount(sources, weights=listening[graph.indices], minlength=graph.n)
            np.testing.assert_array_equal(customers.listening_ties, ties.astype(np.int32))
        else:  # talk is not pushed along ties: the count is not kept
            assert not customers.listening_ties.any()
    assert talkers_seen > 0, "the scenario must have talkers for the check to mean anything"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_pressure_equals_full_recount_on_shipped_scenarios(path):
    scenario = Scenario.load(path, {"network.n": 1500, "weeks": 60, "market.innovation": 0.3})
    assert_pressure_exact_every_week(scenario)


def test_pressure_equals_full_recount_on_directed_weighted_edge_list(tmp_path):
    rng = np.random.default_rng(5)
    edges = rng.integers(0, 400, size=(2400, 2))
    weights = rng.choice([1.0, 0.5, 0.25], size=len(edges))
    lines = ["source,target,weight"] + [f"c{a},c{b},{w}" for (a, b), w in zip(edges, weights,
                                                                              strict=True)]
    (tmp_path / "ties.csv").write_text("\n".join(lines) + "\n")
    scenario = make_scenario({"network.kind": "edgelist", "network.directed": True,
                              "network.path": str(tmp_path / "ties.csv"),
                              "market.innovation": 0.5}, weeks=50)
    assert scenario.network.directed
    assert_pressure_exact_every_week(scenario)


def test_complete_graph_total_equals_full_recount():
    scenario = make_scenario({"network.kind": "complete", "network.n": 800, "sharing.base": 0.0,
                              "market.innovation": 0.3}, weeks=40)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    while not engine.done:
        engine.step()
        kappa = engine.customers.talk_kappa.astype(np.float64)
        expected = np.round(kappa * TALK_SCALE).astype(np.int64).sum()
        assert engine.market.totals[4] == expected
