"""The Mesa face of the simulator: `WomModel(mesa.Model)` and `Customer(mesa.Agent)`.

The engine knows nothing of Mesa; Mesa is a face (DESIGN.md principle 2). A `WomModel` wraps one
`Engine` and steps it a week at a time; its `Customer` agents are thin views whose attributes read
(and, for `state`, write) the engine's arrays, like Mesa's own `PropertyDescriptor`. No dynamics
live here: stepping the model is stepping the engine, so a `WomModel` gives exactly the engine's
history for the same seed.

Views are cheap but not free (about 20 s and 600 MB for 10^6 Mesa agents), so `model.agents`
holds a view of every customer only for graphs of at most `AGENT_VIEW_LIMIT` customers; above it,
`model.customer(i)` makes views on demand (each is then kept, and registered in `model.agents`).

Seeds follow Mesa's conventions (`seed=` or `rng=`, not both). An integer seed from 0 to 2**63 - 1
becomes the market's scenario seed, so `WomModel(path, seed=S)` is replicate 0 of
`womsim run path --seed S` (same graph, unless `network.seed` pins it, and the same draws). Any
other seed, an `rng`, or none at all (Mesa then seeds from the operating system) has the
scenario's seed drawn from the model's `rng`: two models built alike are identical.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import mesa
import numpy as np

from sim.core.kpis import KPI_NAMES
from sim.core.rng import replicate_seed
from sim.core.stages import Source, State
from sim.run.engine import Engine
from sim.scenario import Scenario, ScenarioError, unknown_message
from sim.scenario.schema import SECTIONS, TopParams, section_keys

try:  # Mesa 3.5+ has scenarios of its own, and keeps one as `model.scenario`
    from mesa.experimental.scenarios import Scenario as MesaScenario
except ImportError:  # earlier Mesa
    MesaScenario = None

AGENT_VIEW_LIMIT = 50_000
"""Graphs of at most this many customers get a `Customer` view of everyone in `model.agents` when
the model is built (about 600 bytes and 20 us each); larger ones make views only on demand,
`model.customer(i)`."""

STATE_REPORTERS: tuple[str, ...] = tuple(state.column for state in State)
"""The DataCollector's state-count columns, in `State` order (as in the engine's history)."""

AGENT_REPORTERS: tuple[str, ...] = ("state", "expectation", "valence")
"""The per-customer columns `WomModel(agent_reporters=True)` collects: the state by name
("unaware", "zmot", ...), the expectation E and the valence v of the last experience."""

_MAX_SCENARIO_SEED = 2**63  # scenario seeds are stored in int64 tables


def scenario_keys(scenario: Scenario) -> list[str]:
    """Every key of `scenario` an override can set: the top-level keys, `section.key` for every
    section parameter, and `events[i].key` for the keys its events set."""
    keys = section_keys(TopParams)
    for section, params in SECTIONS.items():
        keys += [f"{section}.{name}" for name in section_keys(params)]
    for index, event in enumerate(scenario.to_dict().get("events", [])):
        keys += [f"events[{index}].{name}" for name in event]
    return keys


def resolve_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword overrides as dotted keys of `scenario`.

    A name with a dot or an index (`product.quality`, `events[0].spend`) is a dotted key, checked
    when applied. Any other name is a leaf: it must end exactly one key of the scenario, looked
    for among the top-level keys, every section's keys and the keys its events set (`quality` is
    `product.quality`; `spend` is `media.spend`, unless a campaign event also sets
    `events[i].spend`, when it is ambiguous). Raises `ScenarioError` for an ambiguous leaf
    (listing the candidates), an unknown one (with a did-you-mean), or a key set twice.
    """
    keys = scenario_keys(scenario)
    resolved: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for name, value in overrides.items():
        if "." in name or "[" in name:
            key = name
        else:
            matches = [k for k in keys if k == name or k.endswith(f".{name}")]
            if not matches:
                leaves = sorted({k.rsplit(".", 1)[-1] for k in keys})
                raise ScenarioError(unknown_message("parameter", name, leaves), key=name)
            if len(matches) > 1:
                raise ScenarioError(f"ambiguous parameter '{name}': it could be "
                                    f"{', '.join(matches)}; give the dotted key", key=name)
            key = matches[0]
        if key in resolved:
            raise ScenarioError(f"set twice, as '{given_as[key]}' and as '{name}'", key=key)
        resolved[key] = value
        given_as[key] = name
    return resolved


def _state_reporter(state: State, model: WomModel) -> int:
    return model.state_counts()[state.column]


def _is_mesa_scenario(value: Any) -> bool:
    """Whether `value` is one of Mesa's own scenarios (Mesa 3.5+), not a womsim one."""
    return MesaScenario is not None and isinstance(value, MesaScenario)


def _kpi_reporter(name: str, model: WomModel) -> float:
    return model.kpis()[name]


def _state_name(agent: Customer) -> str:
    return agent.state.column


def agent_reporter_table(chosen: bool | Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    """The DataCollector's agent reporters for `WomModel(agent_reporters=chosen)`: True for
    `AGENT_REPORTERS`, an iterable of `Customer` attribute names, or a mapping of column ->
    attribute name or function of a customer, as Mesa's `DataCollector` takes it. `state` is
    reported by name. Raises ValueError for a name that is not a customer attribute."""
    if chosen is True:
        chosen = AGENT_REPORTERS
    table = dict(chosen) if isinstance(chosen, Mapping) else {name: name for name in chosen}
    for column, reporter in table.items():
        if isinstance(reporter, str):
            if not hasattr(Customer, reporter):
                raise ValueError(f"agent reporter {column!r}: a customer has no attribute "
                                 f"{reporter!r}")
            if reporter == "state":
                table[column] = _state_name
    return table


class WomModel(mesa.Model):
    """A word-of-mouth market as a Mesa model: one `Engine` run, stepped a week at a time.

    `market` is a scenario file, a womsim `Scenario`, or None for the default market (MODEL.md);
    the resolved one is `model.market`. Keyword arguments override its parameters by dotted key
    (`**{"product.quality": 0.7}`) or unambiguous leaf name (`quality=0.7`; see
    `resolve_overrides`). `seed` and `rng` are Mesa's (see the module docstring for how they
    seed the run); use `network.seed` for the graph's. `scenario` is Mesa's own (Mesa 3.5+
    scenarios, kept as `model.scenario` there); a womsim scenario or file given as `scenario`
    is taken as the `market`, as earlier versions of this class named it.

    `step()` simulates one week; `running` turns False at the horizon. `datacollector` records,
    when the model is built and after each week, the state counts (`unaware`, `zmot`, ...) and
    every KPI of `KPI_NAMES` from the engine's arrays: as in Mesa, row k of its model-vars
    table is the market after k steps (row 0 before any week, row k the engine's history row
    k - 1), and `mesa.batch_run`'s `Step` is the number of weeks simulated. `agent_reporters`
    adds per-customer columns (`agent_reporter_table`; True for `AGENT_REPORTERS`); they need
    the customer views, so at most `AGENT_VIEW_LIMIT` customers.
    """

    def __init__(
        self,
        market: Scenario | str | os.PathLike | None = None,
        *,
        seed: float | None = None,
        rng: Any = None,
        scenario: Any = None,
        agent_reporters: bool | Iterable[str] | Mapping[str, Any] = False,
        **kwargs: Any,
    ) -> None:
        # Mesa's visualisation checks model parameters against this signature: the var-keyword
        # parameter must be called `kwargs` for it to accept the dotted-key sliders.
        if scenario is not None and not _is_mesa_scenario(scenario):
            if market is not None:
                raise ValueError("give the womsim scenario once, as `market`")
            market, scenario = scenario, None
        mesa_options = {"scenario": scenario} if scenario is not None else {}
        if (rng is None and scenario is None and isinstance(seed, numbers.Integral)
                and not isinstance(seed, bool)):
            # the same generators as seed= (Mesa seeds both from it), without Mesa 3.5's
            # deprecation warning for seed= (a Mesa scenario must come with seed= as given)
            super().__init__(rng=int(seed), **mesa_options)
        else:
            super().__init__(seed=seed, rng=rng, **mesa_options)
        if market is None:
            market = Scenario.default()
        elif not isinstance(market, Scenario):
            market = Scenario.load(market)
        overrides = resolve_overrides(market, kwargs)
        overrides["seed"] = self._scenario_seed(seed)
        self.market: Scenario = market.with_overrides(overrides)
        self.engine = Engine(self.market, replicate_seed(self.market.seed, 0))
        self.running = not self.engine.done
        self._kpis: tuple[int, dict[str, float]] | None = None
        self._views: dict[int, Customer] = {}
        if self.engine.n <= AGENT_VIEW_LIMIT:
            self._views = {i: Customer(self, i) for i in range(self.engine.n)}
        self.datacollector = self._data_collector(agent_reporters)
        self.datacollector.collect(self)

    def _data_collector(self, agent_reporters: bool | Iterable[str] | Mapping[str, Any]
                        ) -> mesa.DataCollector:
        """The DataCollector: state counts and KPIs, and the agent reporters asked for."""
        reporters: dict[str, Callable] = {
            state.column: partial(_state_reporter, state) for state in State}
        reporters.update({name: partial(_kpi_reporter, name) for name in KPI_NAMES})
        agents = agent_reporter_table(agent_reporters) if agent_reporters else {}
        if agents and not self._views:
            raise ValueError(f"agent reporters need the customer views, made for at most "
                             f"{AGENT_VIEW_LIMIT:,} customers; this market has {self.n:,}")
        return mesa.DataCollector(model_reporters=reporters, agent_reporters=agents)

    def _scenario_seed(self, seed: Any) -> int:
        """The Mesa seed itself when it is a usable scenario seed, else a draw from `self.rng`
        (which Mesa seeded from `seed`, `rng` or the operating system)."""
        if (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                and 0 <= seed < _MAX_SCENARIO_SEED):
            return int(seed)
        return int(self.rng.integers(0, _MAX_SCENARIO_SEED))

    @property
    def n(self) -> int:
        """The number of customers."""
        return self.engine.n

    @property
    def week(self) -> int:
        """The week `step()` simulates next (0 before the first step)."""
        return self.engine.week

    @property
    def run_seed(self) -> int:
        """The engine's run seed: `rng.replicate_seed(scenario.seed, 0)`."""
        return self.engine.seed

    def step(self) -> None:
        """Simulate the next week in the engine, then collect the DataCollector's row."""
        self.engine.step()
        self.running = not self.engine.done
        self.datacollector.collect(self)

    def state_counts(self) -> dict[str, int]:
        """Customers in each state (keys `STATE_REPORTERS`) at the end of the last simulated
        week, from the engine's history; before the first week, as they are now."""
        if self.engine.week > 0:
            row = self.engine.history[self.engine.week - 1, : len(State)]
        else:
            row = np.bincount(self.engine.customers.state, minlength=len(State))
        return {column: int(count) for column, count in zip(STATE_REPORTERS, row, strict=True)}

    def kpis(self) -> dict[str, float]:
        """The run's KPIs (`KPI_NAMES`) over the weeks simulated so far, computed once per
        week from the engine's arrays."""
        if self._kpis is None or self._kpis[0] != self.engine.week:
            self._kpis = (self.engine.week, self.engine.kpis())
        return self._kpis[1]

    def customer(self, i: int) -> Customer:
        """The view of customer `i` (0 <= i < n): the one in `model.agents`, or, above
        `AGENT_VIEW_LIMIT`, one made now and kept (so the same customer is the same object)."""
        if not (isinstance(i, numbers.Integral) and 0 <= i < self.engine.n):
            raise IndexError(f"no customer {i!r}: ids run from 0 to {self.engine.n - 1}")
        i = int(i)
        view = self._views.get(i)
        if view is None:
            view = self._views[i] = Customer(self, i)
        return view

    def seed_customers(self, ids: Iterable[int]) -> None:
        """Give the product to customers who never bought, now: as a seed event in week
        `self.week` would (MODEL.md 6; see `Engine.seed_now`). Raises ValueError if one of them
        bought before, and RuntimeError once the run is over."""
        if self.engine.done:
            raise RuntimeError(f"the run is over: all {self.engine.weeks} weeks are simulated")
        chosen = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
        if chosen.size and (chosen[0] < 0 or chosen[-1] >= self.engine.n):
            raise IndexError(f"customer ids run from 0 to {self.engine.n - 1}")
        adopted = self.engine.customers.adopted_week[chosen]
        if (adopted >= 0).any():
            first = int(chosen[np.argmax(adopted >= 0)])
            raise ValueError(f"customer {first} first bought in week "
                             f"{self.engine.customers.adopted_week[first]}: only customers who "
                             "never bought can be seeded")
        self.engine.seed_now(chosen)


class _Attribute:
    """One customer's entry of an engine array, read-only (Mesa's PropertyDescriptor pattern)."""

    def __init__(self, field: str, convert: Callable[[Any], Any], doc: str) -> None:
        self.field = field
        self.convert = convert
        self.__doc__ = doc

    def __set_name__(self, _owner: type, name: str) -> None:
        self.name = name

    def __get__(self, view: Customer | None, _owner: type) -> Any:
        if view is None:
            return self
        return self.convert(getattr(view.model.engine.customers, self.field)[view.customer_id])

    def __set__(self, view: Customer, value: Any) -> None:
        raise AttributeError(f"'{self.name}' is read-only: the engine decides it (only `state` "
                             "can be written, to seed a customer)")


def _none_if_negative(value: Any) -> int | None:
    return None if value < 0 else int(value)


class Customer(mesa.Agent):
    """A view of customer `customer_id` in its model's engine: attributes are read from (and
    `state` written to) the engine's arrays; the view holds no state of its own.

    Writing `state = State.SMOT` to a customer who never bought seeds them in the week the model
    simulates next (exactly as a seed event would, see `WomModel.seed_customers`); writing the
    state it already has does nothing; any other write raises ValueError: the other moves are
    the model's to make (what-ifs are scenario events). `step()` does nothing: the model steps
    every customer at once in the engine.
    """

    def __init__(self, model: WomModel, customer_id: int) -> None:
        super().__init__(model)
        self.customer_id = customer_id

    entered = _Attribute("entered", int, "The week the current state was entered.")
    expectation = _Attribute("expectation", float, "E, the expectation of the last purchase.")
    performance = _Attribute("performance", float, "P, the last perceived performance.")
    valence = _Attribute("valence", float, "v of the last experience (0 before any).")
    arousal = _Attribute("arousal", float, "a of the last experience (0.5 before any).")
    running_valence = _Attribute("running_valence", float, "v-bar, the running valence.")
    experiences = _Attribute("experiences", int, "Experiences judged so far.")
    source = _Attribute("source", Source, "What started the current (or last) ZMOT episode.")
    recruiter = _Attribute("recruiter", _none_if_negative,
                           "Who recruited that episode (a customer id), or None.")
    adopted_week = _Attribute("adopted_week", _none_if_negative,
                              "The week of the first purchase or seeding, or None.")
    adopted_source = _Attribute("adopted_source", Source,
                                "The source of the episode that ended in the first purchase.")
    purchases = _Attribute("purchases", int, "Paid purchases so far.")
    shares = _Attribute("shares", int, "UMOT shares made so far.")

    @property
    def state(self) -> State:
        """Where the customer is on the circle of life now."""
        return State(int(self.model.engine.customers.state[self.customer_id]))

    @state.setter
    def state(self, value: State | int) -> None:
        new = State(value)
        if new == self.state:
            return
        if new != State.SMOT:
            raise ValueError(f"customer {self.customer_id}: only seeding can be written "
                             f"(state = State.SMOT), not {new.name}; the other moves are the "
                             "model's to make")
        self.model.seed_customers([self.customer_id])

    @property
    def label(self) -> Any:
        """The customer's node label in the graph (its id, unless an edge list named it)."""
        labels = self.model.engine.graph.labels
        return self.customer_id if labels is None else labels[self.customer_id]

    @property
    def neighbor_ids(self) -> np.ndarray:
        """Ids of the customers this one talks and shares to (out-neighbours; for undirected
        graphs, simply the neighbours), sorted."""
        graph = self.model.engine.graph
        i = self.customer_id
        if graph.complete:
            return np.delete(np.arange(graph.n), i)
        return graph.indices[graph.indptr[i]: graph.indptr[i + 1]].astype(np.int64)

    @property
    def neighbors(self) -> list[Customer]:
        """Views of `neighbor_ids` (made on demand above AGENT_VIEW_LIMIT)."""
        return [self.model.customer(j) for j in self.neighbor_ids]

    def __repr__(self) -> str:
        return f"Customer({self.customer_id}, {self.state.name})"
