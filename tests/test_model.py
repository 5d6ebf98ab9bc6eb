"""The Mesa face: a WomModel is the engine's run, its Customers are views of the engine's arrays,
writing a state seeds exactly as a seed event does, mesa.batch_run works, and keyword overrides
resolve (or fail) as documented."""

from __future__ import annotations

import inspect
import math

import mesa
import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from packaging.version import Version

import sim.mesa.model
from sim.core.kernels import HISTORY_COLUMNS
from sim.core.kpis import KPI_NAMES
from sim.core.rng import replicate_seed
from sim.core.stages import Source, State
from sim.mesa.model import AGENT_REPORTERS, STATE_REPORTERS, Customer, WomModel
from sim.run.replicates import run_once, simulate
from sim.scenario.load import ScenarioError

MESA_REPORTS_LAST_ROW = Version(mesa.__version__) >= Version("3.4")
"""Mesa 3.4+'s batch_run reports the last collected row; Mesa 3.3's the one before it."""


def small(events: list | None = None, **settings) -> object:
    """The default market on 400 customers with stronger paid media, 40 weeks: quick, and busy
    enough that every state and flow is visited."""
    values = {"network.n": 400, "market.innovation": 0.6, **settings}
    return make_scenario(values, events=events, weeks=40)


def run_to_end(model: WomModel) -> WomModel:
    while model.running:
        model.step()
    return model


def same_floats(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_model_stepped_to_the_horizon_is_the_engines_run_for_the_same_seed():
    scenario = small(events=[{"kind": "campaign", "start": 5, "end": 15, "spend": 20_000.0},
                             {"kind": "seed", "week": 3, "count": 5}])
    model = run_to_end(WomModel(scenario, seed=11))
    assert model.steps == scenario.weeks and model.week == scenario.weeks
    # WomModel(seed=S) is replicate 0 of `womsim run --seed S`: the same graph and draws.
    reference = simulate(scenario, replications=1, seed=11, workers=1)
    expected = reference.timeseries[list(HISTORY_COLUMNS)].to_numpy(dtype=np.float64)
    assert np.array_equal(model.engine.history, expected)  # every column, every week
    assert model.run_seed == reference.seeds[0]
    # As in Mesa, row k of the DataCollector is the market after k steps: row 0 before any
    # week (everyone unaware), row k the engine's history row k - 1; the last row's KPIs are
    # the run's.
    table = model.datacollector.get_model_vars_dataframe()
    assert len(table) == scenario.weeks + 1
    assert table.loc[0, "unaware"] == model.n  # nobody has heard of the product yet
    assert np.array_equal(table[list(STATE_REPORTERS)].to_numpy()[1:], expected[:, : len(State)])
    final = reference.runs.iloc[0]
    assert all(same_floats(table[name].iloc[-1], final[name]) for name in KPI_NAMES)


def test_the_same_seed_or_rng_gives_the_same_model_and_mesa_picks_one_without():
    scenario = small()
    a, b = (run_to_end(WomModel(scenario, seed=5)) for _ in range(2))
    assert np.array_equal(a.engine.history, b.engine.history)
    c, d = (WomModel(scenario, rng=np.random.default_rng(9)) for _ in range(2))
    assert c.market.seed == d.market.seed and c.run_seed == d.run_seed
    # Without a seed Mesa seeds from the operating system: a 63-bit scenario seed each time.
    assert WomModel(scenario).market.seed != WomModel(scenario).market.seed
    with pytest.raises(ValueError, match="either rng or seed"):
        WomModel(scenario, seed=1, rng=2)


def test_customer_views_read_the_engines_arrays():
    model = WomModel(small(), seed=2)
    for _ in range(25):
        model.step()
    c = model.engine.customers
    assert [view.customer_id for view in model.agents] == list(range(model.n))
    for view in model.agents:
        i = view.customer_id
        assert view.state == State(c.state[i]) and isinstance(view.state, State)
        assert view.entered == c.entered[i] and view.experiences == c.experiences[i]
        assert view.expectation == float(c.expectation[i])
        assert view.performance == float(c.performance[i])
        assert view.valence == float(c.valence[i]) and view.arousal == float(c.arousal[i])
        assert view.running_valence == float(c.running_valence[i])
        assert view.source == Source(c.source[i]) and view.adopted_source == c.adopted_source[i]
        assert view.recruiter == (None if c.recruiter[i] < 0 else c.recruiter[i])
        assert view.adopted_week == (None if c.adopted_week[i] < 0 else c.adopted_week[i])
        assert view.purchases == c.purchases[i] and view.shares == c.shares[i]
        graph = model.engine.graph
        expected = graph.indices[graph.indptr[i]: graph.indptr[i + 1]].tolist()
        assert view.neighbor_ids.tolist() == expected
        assert [other.customer_id for other in view.neighbors] == expected
    # The run visited the states and sources these checks compare.
    assert {view.state for view in model.agents} >= {State.UNAWARE, State.LOYAL, State.REJECTED}
    assert any(view.recruiter is not None for view in model.agents)


def test_view_attributes_other_than_state_are_read_only():
    view = WomModel(small(), seed=2).customer(0)
    with pytest.raises(AttributeError, match="read-only"):
        view.valence = 0.5


@pytest.mark.parametrize("week", [0, 7])
def test_writing_smot_seeds_the_customer_exactly_as_a_seed_event_would(week):
    by_view = WomModel(small(), seed=4)
    for _ in range(week):
        by_view.step()
    customer = int(np.flatnonzero(by_view.engine.customers.adopted_week < 0)[0])
    by_view.customer(customer).state = State.SMOT
    view = by_view.customer(customer)
    assert view.state == State.SMOT and view.source == Source.SEED and view.adopted_week == week
    by_event = WomModel(small(events=[{"kind": "seed", "week": week, "nodes": [customer]}]),
                        seed=4)
    run_to_end(by_view)
    run_to_end(by_event)
    assert np.array_equal(by_view.engine.history, by_event.engine.history)
    for field in by_view.engine.customers._fields:
        assert np.array_equal(getattr(by_view.engine.customers, field),
                              getattr(by_event.engine.customers, field)), field
    assert by_view.engine.history[week, HISTORY_COLUMNS.index("stimulus_seed")] == 1


def test_only_seeding_a_customer_who_never_bought_can_be_written():
    model = WomModel(small(), seed=4)
    view = model.customer(3)
    view.state = State.UNAWARE  # the state it has: nothing happens
    assert model.state_counts()["unaware"] == model.n
    with pytest.raises(ValueError, match="only seeding"):
        view.state = State.LOYAL
    view.state = State.SMOT
    model.step()
    with pytest.raises(ValueError, match="customer 3 first bought in week 0"):
        model.seed_customers([3])
    run_to_end(model)
    with pytest.raises(RuntimeError, match="over"):
        model.seed_customers([4])


def test_views_are_made_on_demand_above_the_limit(monkeypatch):
    monkeypatch.setattr(sim.mesa.model, "AGENT_VIEW_LIMIT", 100)
    model = WomModel(small(), seed=1)
    assert len(model.agents) == 0
    view = model.customer(7)
    assert isinstance(view, Customer) and model.customer(7) is view
    neighbours = view.neighbors
    assert len(model.agents) == 1 + len(neighbours)
    with pytest.raises(IndexError):
        model.customer(model.n)
    at_limit = WomModel(small(**{"network.n": 100}), seed=1)
    assert len(at_limit.agents) == 100


def batch_run(parameters: dict, seeds: list[int]) -> pd.DataFrame:
    """`mesa.batch_run` with one iteration per seed, as each Mesa version takes it: Mesa 3.5+
    seeds iteration i with `rng=seeds` (and replaces any `seed` parameter); earlier Mesa with a
    `seed` parameter, the same for every iteration (so only equal seeds can be given)."""
    if "rng" in inspect.signature(mesa.batch_run).parameters:
        options = {"rng": seeds}
    else:
        assert len(set(seeds)) == 1
        parameters, options = {**parameters, "seed": seeds[0]}, {"iterations": len(seeds)}
    return pd.DataFrame(mesa.batch_run(WomModel, parameters=parameters, max_steps=100,
                                       display_progress=False, **options))


def test_batch_run_returns_a_row_per_run_with_the_kpis_reproducibly():
    parameters = {"quality": [0.5, 0.9], "network.n": 300, "weeks": 30}

    def batch():
        return batch_run(parameters, [3, 3])

    rows = batch()
    # Mesa orders runs by iteration, then parameter combination.
    assert rows["RunId"].tolist() == [0, 1, 2, 3]
    assert rows["iteration"].tolist() == [0, 0, 1, 1]
    assert rows["quality"].tolist() == [0.5, 0.9, 0.5, 0.9]
    # Step counts the weeks simulated; Mesa 3.4+ reports the last row, Mesa 3.3 (Python 3.11)
    # the row before it
    assert (rows["Step"] == (30 if MESA_REPORTS_LAST_ROW else 29)).all()
    assert set(KPI_NAMES) | set(STATE_REPORTERS) <= set(rows.columns)
    pd.testing.assert_frame_equal(rows, batch())
    # With the seed fixed, both iterations are the same runs, and each is the engine's run.
    kpis = rows[list(KPI_NAMES)]
    pd.testing.assert_frame_equal(kpis.iloc[:2].reset_index(drop=True),
                                  kpis.iloc[2:].reset_index(drop=True))
    for _, row in rows.iloc[:2].iterrows():
        scenario = make_scenario({"product.quality": row["quality"], "network.n": 300},
                                 weeks=30, seed=3)
        model = run_to_end(WomModel(scenario, seed=3))
        collected = model.datacollector.get_model_vars_dataframe().loc[row["Step"]]
        assert all(same_floats(row[name], collected[name]) for name in KPI_NAMES)
        assert row["unaware"] == collected["unaware"]
        if MESA_REPORTS_LAST_ROW:  # the last week's row holds the engine's run's KPIs
            _, expected = run_once(scenario, replicate_seed(3, 0))
            assert all(same_floats(row[name], expected[name]) for name in KPI_NAMES)
    assert rows.loc[1, "adopted_fraction"] != rows.loc[0, "adopted_fraction"]


def test_agent_reporters_collect_each_customers_state_by_name_and_its_numbers():
    model = run_to_end(WomModel(small(), seed=6, agent_reporters=True))
    table = model.datacollector.get_agent_vars_dataframe()
    assert list(table.columns) == list(AGENT_REPORTERS)
    assert table.index.names == ["Step", "AgentID"]
    last = table.xs(model.steps, level="Step")
    c = model.engine.customers
    by_id = {view.unique_id: view.customer_id for view in model.agents}
    ids = [by_id[agent] for agent in last.index]
    assert last["state"].tolist() == [State(c.state[i]).name.lower() for i in ids]
    assert np.array_equal(last["expectation"].to_numpy(), c.expectation[ids].astype(float))
    assert np.array_equal(last["valence"].to_numpy(), c.valence[ids].astype(float))
    # the names tally as the model's state counts
    counts = last["state"].value_counts()
    assert {state: int(counts.get(state, 0)) for state in STATE_REPORTERS} == \
        model.state_counts()
    assert set(table.index.get_level_values("Step")) == set(range(model.steps + 1))


def test_agent_reporters_of_ones_choice_and_their_limits(monkeypatch):
    model = WomModel(small(), seed=6, agent_reporters={"bought": "purchases",
                                                       "id": lambda a: a.customer_id})
    model.step()
    table = model.datacollector.get_agent_vars_dataframe()
    assert list(table.columns) == ["bought", "id"] and len(table) == 2 * model.n
    with pytest.raises(ValueError, match="no attribute 'mood'"):
        WomModel(small(), seed=6, agent_reporters=["mood"])
    monkeypatch.setattr(sim.mesa.model, "AGENT_VIEW_LIMIT", 100)
    with pytest.raises(ValueError, match="at most 100 customers; this market has 400"):
        WomModel(small(), seed=6, agent_reporters=True)


def test_batch_run_with_agent_reporters_gives_states_by_name():
    rows = batch_run({"network.n": 120, "weeks": 8, "agent_reporters": True,
                      "market.innovation": 0.6}, [2])
    assert len(rows) == 120 and set(rows["state"]) <= set(STATE_REPORTERS)
    assert rows["state"].nunique() > 1


def test_the_market_may_be_given_as_scenario_as_before_but_not_twice():
    scenario = small()
    assert WomModel(scenario=scenario, seed=3).market == WomModel(scenario, seed=3).market
    with pytest.raises(ValueError, match="once"):
        WomModel(scenario, scenario=scenario, seed=3)


def test_keyword_overrides_by_dotted_key_and_by_leaf_name():
    dotted = WomModel(small(), seed=1, **{"product.quality": 0.7, "sharing.base": 0.3})
    leaf = WomModel(small(), seed=1, quality=0.7, base=0.3)
    assert dotted.market == leaf.market
    assert leaf.market.product.quality == 0.7 and leaf.market.sharing.base == 0.3
    assert WomModel(small(), seed=1, n=150, weeks=12).market.network.n == 150


def test_an_ambiguous_leaf_name_is_an_error_naming_the_candidates():
    with_campaign = small(events=[{"kind": "campaign", "start": 0, "end": 4, "spend": 100.0}])
    with pytest.raises(ScenarioError, match=r"ambiguous.*media\.spend, events\[0\]\.spend"):
        WomModel(with_campaign, seed=1, spend=1.0)
    model = WomModel(with_campaign, seed=1, **{"events[0].spend": 50.0, "media.spend": 10.0})
    assert model.market.events[0].spend == 50.0 and model.market.media.spend == 10.0
    assert WomModel(small(), seed=1, spend=10.0).market.media.spend == 10.0  # no event: one


def test_an_unknown_name_is_an_error_with_a_did_you_mean():
    with pytest.raises(ScenarioError, match="unknown parameter 'qualty'; did you mean 'quality'"):
        WomModel(small(), seed=1, qualty=0.5)
    with pytest.raises(ScenarioError, match="did you mean 'quality'"):
        WomModel(small(), seed=1, **{"product.qualty": 0.5})
    with pytest.raises(ScenarioError, match="set twice"):
        WomModel(small(), seed=1, quality=0.5, **{"product.quality": 0.6})
    with pytest.raises(ScenarioError, match="product.quality"):
        WomModel(small(), seed=1, quality=1.5)
