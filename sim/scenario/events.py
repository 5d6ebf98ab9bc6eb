"""The timeline of what-if events (MODEL.md section 6), turned into what the kernel reads.

Level events (`quality`, `promise`, `owned`) set their lever over [start, end); where two overlap,
the one listed later wins. `campaign` spends add up. `referral` boosts add up; its reward is the
largest of the overlapping ones. `seed` events pick their customers at the start of their week,
among those who never bought, by a strategy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.core.kernels import (
    Levers,
    choose_random_seeds,
    choose_ranked_seeds,
    pass_on_probability,
)
from sim.core.rng import derived_seed
from sim.core.state import Customers
from sim.graph import Graph
from sim.graph.seeding import STRATEGY_RANKINGS
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Event

if TYPE_CHECKING:
    from sim.scenario.load import Scenario


def money_scale(scenario, customers: int) -> float:
    """What the scenario's weekly spends are multiplied by in a market of `customers`: they are
    sized for `economics.sized_for` customers, and paid media reaches people in proportion."""
    return customers / scenario.economics.sized_for


def paid_spend(scenario) -> float:
    """The weekly paid spend before campaigns, as sized for `economics.sized_for` customers: the
    budget's ads share spread evenly over the weeks, or else `media.spend`."""
    budget = scenario.budget
    if budget.total > 0:
        return budget.to_ads * budget.total / scenario.weeks
    return scenario.media.spend


def weekly_paid_spend(scenario, customers: int) -> float:
    """`paid_spend` in a market of `customers`: what a week's paid media costs before campaigns."""
    return paid_spend(scenario) * money_scale(scenario, customers)


def budget_money(scenario, customers: int) -> float:
    """The budget's total in a market of `customers` (0: no budget)."""
    return scenario.budget.total * money_scale(scenario, customers)


def budget_allowances(scenario, customers: int) -> tuple[float, float]:
    """What the budget's referral and quality programmes may pay in a market of `customers`
    (0: no such programme)."""
    budget, money = scenario.budget, budget_money(scenario, customers)
    return budget.to_referral * money, budget.to_quality * money


def budget_seed_event(scenario, customers: int) -> Event | None:
    """The budget's seeding share as a seed event in week 0: as many customers as its money
    buys at `economics.seed_cost` each in a market of `customers` (None: no seeding share)."""
    budget = scenario.budget
    if budget.total <= 0 or budget.to_seeding <= 0:
        return None
    money = budget.to_seeding * budget_money(scenario, customers)
    count = min(int(money // scenario.economics.seed_cost), customers)
    return Event(kind="seed", week=0, count=count, strategy=budget.seed_strategy)


def build_levers(scenario, customers: int) -> Levers:
    """Per-week arrays of every lever over the scenario's horizon for a market of `customers`,
    events applied, spends scaled by `money_scale`."""
    weeks = scenario.weeks
    spend = paid_spend(scenario)
    levers = Levers(
        spend=np.full(weeks, spend, dtype=np.float64),
        quality=np.full(weeks, scenario.product.quality, dtype=np.float64),
        quality_sd=np.full(weeks, scenario.product.quality_sd, dtype=np.float64),
        promise=np.full(weeks, scenario.media.promise, dtype=np.float64),
        owned=np.full(weeks, scenario.media.owned_quality, dtype=np.float64),
        share_boost=np.zeros(weeks, dtype=np.float64),
        referral_reward=np.zeros(weeks, dtype=np.float64),
        quality_unit_cost=np.zeros(weeks, dtype=np.float64),
        pass_on=np.zeros(weeks, dtype=np.float64),
        funded_share_boost=np.zeros(weeks, dtype=np.float64),
        funded_referral_reward=np.zeros(weeks, dtype=np.float64),
        funded_quality=np.zeros(weeks, dtype=np.float64),
        funded_quality_unit_cost=np.zeros(weeks, dtype=np.float64),
    )
    media = scenario.media
    # Spend-weighted brand heaviness of the week's paid content (4.3).
    heaviness_spend = np.full(weeks, spend * media.brand_heaviness, dtype=np.float64)
    for event in scenario.events:
        window = slice(event.start, event.end)
        if event.kind == "campaign":
            levers.spend[window] += event.spend
            heaviness = (event.brand_heaviness if event.brand_heaviness is not None
                         else media.brand_heaviness)
            heaviness_spend[window] += event.spend * heaviness
        elif event.kind == "quality":
            levers.quality[window] = event.value
            if event.sd is not None:
                levers.quality_sd[window] = event.sd
        elif event.kind == "promise":
            levers.promise[window] = event.value
        elif event.kind == "owned":
            levers.owned[window] = event.value
        elif event.kind == "referral":
            levers.share_boost[window] += event.boost or 0.0
            np.maximum(levers.referral_reward[window], event.reward or 0.0,
                       out=levers.referral_reward[window])
    heaviness = np.divide(heaviness_spend, levers.spend, out=np.full(weeks, media.brand_heaviness),
                          where=levers.spend > 0)
    levers.pass_on[:] = pass_on_probability(media.pass_on, media.brand_odds, heaviness)
    levers.spend[:] *= money_scale(scenario, customers)
    economics = scenario.economics
    levers.quality_unit_cost[:] = economics.quality_cost * np.maximum(
        levers.quality - economics.quality_cost_base, 0.0)
    # While the budget's programmes run (section 6): its boost on top of the events', its
    # reward if larger, and quality lifted (the lift's cost priced as any quality's).
    budget = scenario.budget
    levers.funded_share_boost[:] = levers.share_boost + budget.referral_boost
    np.maximum(levers.referral_reward, budget.referral_reward, out=levers.funded_referral_reward)
    np.minimum(levers.quality + budget.quality_lift, 1.0, out=levers.funded_quality)
    levers.funded_quality_unit_cost[:] = economics.quality_cost * np.maximum(
        levers.funded_quality - economics.quality_cost_base, 0.0)
    return levers


def rank_by_degree(graph: Graph, seed: int, scenario: Scenario | None = None) -> np.ndarray:
    """Customers by decreasing (out-)degree, ties broken by lower id."""
    degree = graph.degree()
    return np.lexsort((np.arange(graph.n), -degree)).astype(np.int64)


# Seeding strategies that rank customers once per run, from (graph, run seed, scenario);
# `random` draws anew at each event.
RANKINGS: dict[str, Callable[[Graph, int, Scenario], np.ndarray]] = {
    "degree": rank_by_degree,
    **STRATEGY_RANKINGS,
}


# Rankings depend only on the graph, the strategy and the scenario, not on the replicate: they are
# computed once per graph (betweenness or greedy can take seconds) and shared by every replicate.
_RANKING_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
RANKING_SEED_LABEL = 2  # the rankings' seed is derived from the scenario seed under this label


def ranking(strategy: str, graph: Graph, scenario: Scenario) -> np.ndarray:
    """Customers ranked best first by a seeding strategy, cached per graph and scenario."""
    per_graph = _RANKING_CACHE.setdefault(graph, {})
    key = (strategy, scenario.stable_hash())
    if key not in per_graph:
        seed = derived_seed(scenario.seed, RANKING_SEED_LABEL)
        per_graph[key] = RANKINGS[strategy](graph, seed, scenario)
    return per_graph[key]


class SeedingSchedule:
    """The seed events of a scenario, ready to pick customers week by week."""

    def __init__(self, scenario: Scenario, graph: Graph, seed: int) -> None:
        self._by_week: dict[int, list[Event]] = {}
        budget_seeds = budget_seed_event(scenario, graph.n)
        for event in (*scenario.events, *([budget_seeds] if budget_seeds else [])):
            if event.kind == "seed":
                self._by_week.setdefault(event.week, []).append(event)
        self._scenario = scenario
        self._graph = graph
        self._seed = seed
        self._explicit: dict[Event, np.ndarray] = {}

    def next_week(self, week: int) -> int | None:
        """The first week at or after `week` with a seed event (None: no more)."""
        return min((w for w in self._by_week if w >= week), default=None)

    def customers_for(self, week: int, customers: Customers) -> np.ndarray:
        """Who is seeded at the start of `week` (ids of customers who never bought)."""
        events = self._by_week.get(week, ())
        if not events:
            return np.empty(0, dtype=np.int64)
        taken = np.zeros(self._graph.n, dtype=np.bool_)
        return np.concatenate([self._choose(event, customers, taken) for event in events])

    def _choose(self, event: Event, customers: Customers, taken: np.ndarray) -> np.ndarray:
        if event.nodes is not None:
            if event not in self._explicit:
                self._explicit[event] = explicit_seeds(self._scenario, self._graph, event)
            count = event.count if event.count is not None else len(event.nodes)
            return choose_ranked_seeds(self._explicit[event], count, customers, taken)
        strategy = event.strategy or "random"
        if strategy == "random":
            return choose_random_seeds(self._seed, event.week, event.count, customers, taken)
        return choose_ranked_seeds(ranking(strategy, self._graph, self._scenario), event.count,
                                   customers, taken)


def explicit_seeds(scenario: Scenario, graph: Graph, event: Event) -> np.ndarray:
    """The customer indices of a seed event's `nodes` on `graph`; ScenarioError naming the
    event's key when a label is not a node of the graph."""
    try:
        return graph.index_of(list(event.nodes or ())).astype(np.int64)
    except KeyError as error:
        raise ScenarioError(str(error.args[0]), file=scenario.path,
                            key=f"events[{scenario.events.index(event)}].nodes") from None
