"""The engine: one run of a scenario, stepped week by week (DESIGN.md principle 2).

`Engine` owns the graph, the customer arrays, the packed parameters and the history, and calls the
kernel once per week. It knows nothing of Mesa; `sim.mesa.model.WomModel` wraps it.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from sim.core.kernels import (
    EMOTION_PRIOR,
    HISTORY_COLUMNS,
    Net,
    Params,
    apply_seeds,
    keeps_listening_ties,
    market_draws,
    run_weeks,
    run_weeks_serial,
    step,
    step_serial,
)
from sim.core.metrics import compute_kpis
from sim.core.rng import derived_seed
from sim.core.state import Customers, Market, new_customers, new_market
from sim.graph import Graph
from sim.graph.cache import cached_graph
from sim.run.results import history_table
from sim.scenario.events import (
    SeedingSchedule,
    budget_allowances,
    build_levers,
    money_scale,
    weekly_paid_spend,
)

GRAPH_SEED_LABEL = 1  # the graph seed is derived from the scenario seed under this label
# Below this many customers a week's passes run on one thread: starting a parallel region costs
# about 0.05 ms per pass on 2 cores, more than splitting a small market saves (measured by
# benchmarks/targets.py; the results are the same bit for bit either way).
PARALLEL_MIN_CUSTOMERS = 50_000


def graph_seed(scenario) -> int:
    """The graph's seed: `network.seed` if set, else derived from the scenario seed, so every
    replicate (and every scenario with the same seed and network) runs on the same graph."""
    if scenario.network.seed is not None:
        return scenario.network.seed
    return derived_seed(scenario.seed, GRAPH_SEED_LABEL)


def build_scenario_graph(scenario) -> Graph:
    """The customer graph a scenario describes, through the graph cache (sim/graph/cache.py):
    large graphs are built once and then memory-mapped read-only from ~/.cache/womsim/graphs."""
    base_dir = scenario.path.parent if scenario.path is not None else None
    return cached_graph(scenario.network, graph_seed(scenario), base_dir)


def pack_params(scenario, market_size: int, customers: int) -> Params:
    """The scenario's scalar parameters as the kernel takes them, for a run of `customers` with
    `market_size` of them in the market (M, see `in_market_flags`)."""
    media, journey, sharing, loyalty = (
        scenario.media, scenario.journey, scenario.sharing, scenario.loyalty)
    imitation, mixing = float(scenario.market.imitation), float(scenario.market.mixing)
    referral_allowance, quality_allowance = budget_allowances(scenario, customers)
    return Params(
        innovation=float(scenario.market.innovation),
        imitation=imitation,
        imitation_local=imitation * (1.0 - mixing),
        imitation_market=imitation * mixing,
        mixing=mixing,
        market_size=float(max(market_size, 1)),
        emotional_talk=scenario.market.talk == "emotional",
        adstock_decay=float(media.adstock_decay),
        elasticity=float(media.elasticity),
        reference_adstock=(media.reference_spend * money_scale(scenario, customers)
                           / (1.0 - media.adstock_decay)),
        decide_probability=1.0 / (1.0 + journey.zmot_weeks),
        sources=int(journey.sources),
        conversion=float(journey.conversion),
        review_weight=float(journey.review_weight),
        owned_weight=float(journey.owned_weight),
        promise_weight=float(journey.promise_weight),
        negativity_weight=float(journey.negativity_weight),
        wom_anchor=float(journey.wom_anchor),
        repeat_promise_weight=float(journey.repeat_promise_weight),
        smot_weeks=int(journey.smot_weeks),
        loss_aversion=float(scenario.product.loss_aversion),
        emotional_sharing=sharing.mode == "emotional",
        share_base=float(sharing.base),
        log_arousal_odds=math.log(sharing.arousal_odds),
        log_valence_odds=math.log(sharing.valence_odds),
        standardise_emotion=sharing.standardise == "experiences",
        emotion_prior_weight=float(sharing.prior_experiences),
        reach=float(sharing.reach),
        negative_recruit=float(sharing.negative_recruit),
        pool_weeks=int(sharing.pool_weeks),
        repurchase_probability=1.0 / loyalty.repurchase_weeks,
        retention=float(loyalty.retention),
        valence_effect=float(loyalty.valence_effect),
        memory_better=float(loyalty.memory_better),
        memory_worse=float(loyalty.memory_worse),
        tolerance=float(media.tolerance),
        credibility_gap=float(media.credibility_gap),
        credibility_loss=float(media.credibility_loss),
        credibility_gain=float(media.credibility_gain),
        margin=float(scenario.economics.margin),
        seed_cost=float(scenario.economics.seed_cost),
        referral_allowance=referral_allowance,
        quality_allowance=quality_allowance,
    )


def in_market_flags(potential: float, seed: int, n: int) -> np.ndarray | None:
    """Who of the n customers of the run seeded `seed` is in the market (MODEL.md section 3): a
    uint8 flag per customer, 1 when its once-per-run draw u_i < `potential`; None (everybody, and
    no draw made) when the potential is 1. The same seed gives nested markets as the potential
    grows."""
    if potential >= 1.0:
        return None
    return (market_draws(seed, n) < potential).astype(np.uint8)


def kernel_net(graph: Graph) -> Net:
    """The graph's arrays as the kernel reads them."""
    empty_weight = np.empty(0, dtype=np.float32)
    return Net(
        out_indptr=graph.indptr,
        out_indices=graph.indices,
        out_weight=graph.weight if graph.weight is not None else empty_weight,
        in_indptr=graph.in_indptr,
        in_indices=graph.in_indices,
        in_weight=graph.in_weight if graph.in_weight is not None else empty_weight,
        in_weight_sum=graph.in_weight_sum(),
        complete=graph.complete,
        weighted=graph.weight is not None,
    )


class Engine:
    """One run: a scenario, a run seed, and the state of every customer, stepped a week at a time.

    The same scenario, graph and seed always give bit-identical histories.
    """

    def __init__(self, scenario, seed: int, graph: Graph | None = None) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self.graph = graph if graph is not None else build_scenario_graph(scenario)
        self.n = self.graph.n
        self.weeks = scenario.weeks
        in_market = in_market_flags(float(scenario.market.potential), self.seed, self.n)
        self.params = pack_params(
            scenario, self.n if in_market is None else int(in_market.sum()), self.n)
        self.levers = build_levers(scenario, self.n)
        self.net = kernel_net(self.graph)
        self.seeding = SeedingSchedule(scenario, self.graph, self.seed)
        self.customers: Customers = new_customers(
            self.n, np.diff(self.net.out_indptr)
            if keeps_listening_ties(self.params, self.net) else None)
        media = scenario.media
        self.market: Market = new_market(
            self.n, scenario.sharing.pool_weeks,
            weekly_paid_spend(scenario, self.n) / (1.0 - media.adstock_decay),
            EMOTION_PRIOR, in_market,
            programmes=(self.params.referral_allowance > 0, self.params.quality_allowance > 0))
        self.history = np.zeros((self.weeks, len(HISTORY_COLUMNS)), dtype=np.float64)
        self.week = 0  # the next week to simulate
        self.messages_in_flight = 0

    @property
    def done(self) -> bool:
        """True once every week of the horizon has been simulated."""
        return self.week >= self.weeks

    def step(self) -> None:
        """Simulate the next week (MODEL.md section 4) and record its row of history."""
        if self.done:
            raise RuntimeError(f"the run is over: all {self.weeks} weeks have been simulated")
        t = self.week
        seeded = self.seeding.customers_for(t, self.customers)
        one_week = step if self._parallel() else step_serial
        self.messages_in_flight = one_week(
            self.seed, t, self.params, self.levers, self.net, self.customers, self.market,
            self.history[t], seeded)
        self.week += 1

    def _parallel(self) -> bool:
        """Whether this week's passes over customers run on Numba's threads (the kernel's
        threaded chain) or on this one (its serial copies, all a small market compiles)."""
        return self.n >= PARALLEL_MIN_CUSTOMERS and numba.get_num_threads() > 1

    def seed_now(self, customers: np.ndarray) -> None:
        """Seed `customers` (ids of customers who never bought) in the week simulated next,
        exactly as a seed event of that week would (MODEL.md section 6): SMOT with E = B, source
        seed, seed_cost, counted in that week's row; neighbours hear them from the week after.
        History rows are only ever added to, so doing this before the step equals sub-step 4.1."""
        if self.done:
            raise RuntimeError(f"the run is over: all {self.weeks} weeks have been simulated")
        apply_seeds(self.week, self.params, self.levers, self.net, self.customers, self.market,
                    self.history[self.week], np.asarray(customers, dtype=np.int64))

    def run(self) -> Engine:
        """Simulate every remaining week of the horizon: the weeks between seed events in one
        compiled loop, a week with seed events as `step` does (the same results, bit for bit)."""
        while not self.done:
            seed_week = self.seeding.next_week(self.week)
            if seed_week == self.week:
                self.step()
                continue
            last = self.weeks if seed_week is None else seed_week
            weeks = run_weeks if self._parallel() else run_weeks_serial
            self.messages_in_flight = weeks(
                self.seed, self.week, last, self.params, self.levers, self.net, self.customers,
                self.market, self.history)
            self.week = last
        return self

    def history_frame(self) -> pd.DataFrame:
        """The weeks simulated so far, one row each (columns: `week` and HISTORY_COLUMNS)."""
        return history_table(self.history[: self.week])

    def kpis(self) -> dict[str, float]:
        """The per-run KPIs of MODEL.md section 7 over the weeks simulated so far."""
        return compute_kpis(self.history[: self.week], self.customers, self.scenario)
