"""What-if events (MODEL.md section 6): each kind changes what it should and nothing else.

Every test runs a scenario and the same scenario plus one event with the same seed. Draws are
counter-based (MODEL.md section 2), so the two runs see the same random numbers: their histories
are identical, exactly, up to the week the event starts, and in the event's first week the
customers are in identical states, so a lever that raises a probability can only add events
(u < x happens for a superset of customers when x grows). Expected values come from MODEL.md's
formulas, never from a run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario, run_engine

from sim.core.kernels import HISTORY_COLUMNS
from sim.core.rng import replicate_seed
from sim.core.stages import Source, State
from sim.run.engine import Engine, build_scenario_graph

QUALITY, QUALITY_SD, PROMISE = 0.8, 0.1, 0.85  # MODEL.md 4.4-4.5 defaults, set explicitly


# --- helpers -------------------------------------------------------------------------------------


def busy_market(settings: dict | None = None, events: list | None = None, weeks: int = 40):
    """A small market with a lot going on from week 0: 2,000 customers (Watts-Strogatz, mean
    degree 10), 200 random seeds at week 0, p = 0.5/yr, and buyers who come back every 3 weeks
    on average, so every week has many decisions, experiences and shares. Q, sigma_Q and B are
    MODEL.md's defaults."""
    base = {"network.n": 2000, "market.innovation": 0.5, "loyalty.repurchase_weeks": 3.0,
            "product.quality": QUALITY, "product.quality_sd": QUALITY_SD,
            "media.promise": PROMISE}
    base.update(settings or {})
    seeds = [{"kind": "seed", "week": 0, "count": 200}]
    return make_scenario(base, events=seeds + list(events or []), weeks=weeks)


def paired(settings: dict | None, event: dict, replicate: int = 0, weeks: int = 40):
    """(baseline, with the event) histories of one replicate: same seed, same graph."""
    base = busy_market(settings, weeks=weeks)
    what_if = busy_market(settings, [event], weeks=weeks)
    graph = build_scenario_graph(base)
    return (run_engine(base, replicate, graph).history_frame(),
            run_engine(what_if, replicate, graph).history_frame())


def assert_identical_before(base: pd.DataFrame, what_if: pd.DataFrame, week: int) -> None:
    """Common random numbers: nothing differs before the event's first week."""
    assert week > 0
    pd.testing.assert_frame_equal(base.iloc[:week], what_if.iloc[:week], check_exact=True)
    assert not base.iloc[week:].equals(what_if.iloc[week:])


def window_sum(frame: pd.DataFrame, column: str, start: int, end: int) -> float:
    return float(frame[column].iloc[start:end].sum())


def buy_rate(frame: pd.DataFrame, start: int, end: int) -> float:
    """FMOT buys over FMOT decisions, weeks [start, end)."""
    buys = window_sum(frame, "fmot_buy", start, end)
    return buys / (buys + window_sum(frame, "fmot_reject", start, end))


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def clipped_normal_mean(mu: float, sigma: float) -> float:
    """E[clip(mu + sigma xi, 0, 1)], xi ~ N(0, 1): mu + E[(0 - X)+] - E[(X - 1)+], with
    E[(X - a)+] = sigma phi(z) + (mu - a) Phi(z), z = (mu - a)/sigma (and the mirror image)."""
    below = sigma * normal_pdf(-mu / sigma) - mu * normal_cdf(-mu / sigma)
    z = (mu - 1.0) / sigma
    above = sigma * normal_pdf(z) + (mu - 1.0) * normal_cdf(z)
    return mu + below - above


def clipped_normal_sd(mu: float, sigma: float) -> float:
    """sd of clip(mu + sigma xi, 0, 1), by quadrature on a fine grid of xi."""
    xi = np.linspace(-10.0, 10.0, 200_001)
    density = np.exp(-0.5 * xi**2)
    density /= density.sum()
    p = np.clip(mu + sigma * xi, 0.0, 1.0)
    mean = (p * density).sum()
    return float(math.sqrt(((p - mean) ** 2 * density).sum()))


def mean_performance(frame: pd.DataFrame, start: int, end: int) -> tuple[float, int]:
    """Mean perceived performance P over the experiences of weeks [start, end), and their
    number."""
    experiences = window_sum(frame, "experiences", start, end)
    return window_sum(frame, "performance_sum", start, end) / experiences, int(experiences)


def step_through(engine: Engine) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Step `engine` to its horizon; for each week, the customers who bought at FMOT in it
    (their purchases went up, and they were not LOYAL before the week, so it was not a
    repurchase: a LOYAL customer is the only one that can repurchase), and the valences of the
    experiences judged in it."""
    buyers, valences = [], []
    c = engine.customers
    while not engine.done:
        before_state = c.state.copy()
        before_purchases = c.purchases.copy()
        before_experiences = c.experiences.copy()
        engine.step()
        bought = (c.purchases > before_purchases) & (before_state != State.LOYAL)
        buyers.append(np.flatnonzero(bought))
        valences.append(c.valence[c.experiences > before_experiences].astype(np.float64))
    return buyers, valences


def cost_columns(frame: pd.DataFrame) -> list[str]:
    """`cost` and its parts (cost_paid, cost_seed, cost_referral, ...)."""
    return [column for column in frame.columns if column.startswith("cost")]


def assert_cost_is_the_sum_of_its_parts(frame: pd.DataFrame) -> None:
    parts = [column for column in cost_columns(frame) if column != "cost"]
    assert {"cost_paid", "cost_seed", "cost_referral"} <= set(parts)
    np.testing.assert_allclose(frame.cost, frame[parts].sum(axis=1), rtol=1e-12)


def the_week_of(frame: pd.DataFrame, week: int) -> pd.Series:
    return frame.iloc[week]


# --- quality -------------------------------------------------------------------------------------


def test_quality_drop_lowers_performance_only_inside_window():
    start, end = 10, 20
    event = {"kind": "quality", "start": start, "end": end, "value": 0.4}
    base, drop = paired(None, event)
    assert_identical_before(base, drop, start)
    # spend is not quality: paid costs are untouched every week
    pd.testing.assert_series_equal(base["cost_paid"], drop["cost_paid"])

    # expected means of P = clip(Q + 0.1 xi, 0, 1): 0.4 (no clipping to speak of) and 0.79915
    # (the clip at 1 is two sd above 0.8)
    inside, outside = clipped_normal_mean(0.4, QUALITY_SD), clipped_normal_mean(QUALITY, QUALITY_SD)
    assert inside == pytest.approx(0.4, abs=1e-6) and outside == pytest.approx(0.79915, abs=1e-5)

    for (lo, hi), expected in [((1, start), outside), ((start, end), inside),
                               ((end, 40), outside)]:
        mean, count = mean_performance(drop, lo, hi)
        assert count > 300
        # 4 standard errors of a mean of `count` draws of sd <= 0.1
        assert mean == pytest.approx(expected, abs=4 * QUALITY_SD / math.sqrt(count))
    # week by week too (each week's experiences have the window's Q, judged at that week)
    for week in range(start, end):
        row = the_week_of(drop, week)
        assert row.performance_sum / row.experiences == pytest.approx(
            inside, abs=5 * QUALITY_SD / math.sqrt(row.experiences))

    # disappointment (P ~ 0.4 against E ~ 0.85) is shared: more negative shares than the
    # baseline in the same weeks, by far
    assert window_sum(drop, "umot_negative", start, end) > 2 * window_sum(
        base, "umot_negative", start, end)
    # and within the window the drop's shares are mostly negative
    assert window_sum(drop, "umot_negative", start, end) > window_sum(
        drop, "umot_positive", start, end)


def test_quality_event_sd_sets_the_spread_of_performance():
    start, end = 10, 20
    # sd = 0: every experience in the window is perceived at exactly Q
    exact = {"kind": "quality", "start": start, "end": end, "value": 0.6, "sd": 0.0}
    base, flat = paired(None, exact)
    assert_identical_before(base, flat, start)
    p = float(np.float32(0.6))  # P is stored as float32
    window = flat.iloc[start:end]
    assert (window.experiences > 0).all()
    np.testing.assert_allclose(window.performance_sum, window.experiences * p, rtol=1e-12)

    # sd = 0.3 around 0.5: the individual P's of the window's experiences have the clipped
    # normal's mean and sd (by quadrature: clipping at 0 and 1 trims the sd below 0.3)
    wide = busy_market(events=[{"kind": "quality", "start": start, "end": end, "value": 0.5,
                                "sd": 0.3}])
    engine = Engine(wide, replicate_seed(wide.seed, 0))
    c = engine.customers
    inside, after = [], []
    while not engine.done:
        week = engine.week
        judged_before = c.experiences.copy()
        engine.step()
        judged = c.experiences > judged_before
        (inside if start <= week < end else after if week >= end else []).extend(
            c.performance[judged].tolist())
    inside = np.array(inside)
    assert inside.size > 500
    expected_sd = clipped_normal_sd(0.5, 0.3)
    # sanity checks of the quadrature: no clipping to speak of gives sigma back; the clipped
    # mean agrees with the closed form
    assert clipped_normal_sd(0.5, 0.05) == pytest.approx(0.05, rel=1e-6)
    assert expected_sd < 0.3
    assert inside.std() == pytest.approx(expected_sd, rel=0.08)
    assert inside.mean() == pytest.approx(0.5, abs=4 * 0.3 / math.sqrt(inside.size))
    # after the window the default spread returns
    assert np.std(after) == pytest.approx(clipped_normal_sd(QUALITY, QUALITY_SD), rel=0.08)


# --- campaign ------------------------------------------------------------------------------------


def campaign_hazard_multiplier(scenario, start: int, end: int, extra: float) -> np.ndarray:
    """p_t with the campaign over p_t without, per week of the window (MODEL.md 4.2): adstock
    A_t = spend_t + decay A_{t-1} from the baseline's steady state, p_t = p (A_t/A_ref)^eps."""
    media = scenario.media
    steady = media.spend / (1.0 - media.adstock_decay)
    adstock, multipliers = steady, []
    for _ in range(start, end):
        adstock = media.spend + extra + media.adstock_decay * adstock
        multipliers.append((adstock / steady) ** media.elasticity)
    return np.array(multipliers)


def test_campaign_adds_its_spend_and_raises_paid_stimulus_only_in_window():
    start, end, extra = 10, 20, 99_000.0
    settings = {"media.spend": 1000.0, "economics.sized_for": 2000}  # spends as given
    spend = busy_market(settings).media.spend
    event = {"kind": "campaign", "start": start, "end": end, "spend": extra}
    multiplier = campaign_hazard_multiplier(busy_market(settings), start, end, extra)
    # first week: A = 100,000 + 0.9 x 10,000 = 10.9 A_ref
    assert multiplier[0] == pytest.approx(10.9 ** 0.12) and multiplier[-1] > 1.6
    paid_base = paid_campaign = predicted = 0.0
    for replicate in range(8):
        base, campaign = paired(settings, event, replicate)
        assert_identical_before(base, campaign, start)
        # cost_paid is the baseline spend plus the campaign's, exactly, inside the window only
        expected = np.full(len(base), spend)
        expected[start:end] += extra
        np.testing.assert_array_equal(campaign["cost_paid"], expected)
        np.testing.assert_array_equal(base["cost_paid"], np.full(len(base), spend))
        assert_cost_is_the_sum_of_its_parts(campaign)
        # in the first week of the window every customer is as in the baseline and the external
        # hazard is higher: entries and paid entries can only be added (common random numbers)
        first_base, first_campaign = the_week_of(base, start), the_week_of(campaign, start)
        assert first_campaign.stimulus_paid >= first_base.stimulus_paid
        assert (first_campaign.stimulus_paid + first_campaign.stimulus_talk
                >= first_base.stimulus_paid + first_base.stimulus_talk)
        paid_base += window_sum(base, "stimulus_paid", start, end)
        paid_campaign += window_sum(campaign, "stimulus_paid", start, end)
        # paid entries in week t ~ U_t p_t dt, U_t = the unaware at the end of week t - 1
        unaware_base = base.unaware.iloc[start - 1:end - 1].to_numpy()
        unaware_campaign = campaign.unaware.iloc[start - 1:end - 1].to_numpy()
        predicted += (unaware_campaign * multiplier).sum() / unaware_base.sum()
    predicted /= 8
    assert paid_campaign / paid_base == pytest.approx(predicted, rel=0.2)
    assert paid_campaign > 1.25 * paid_base


# --- promise -------------------------------------------------------------------------------------


# Promise tests turn repurchases off: a returning customer expects its last P, not the promise.
PROMISE_SETTINGS = {"media.promise": 0.3, "loyalty.repurchase_weeks": 1000.0,
                    "journey.conversion": 0.4}  # enough buyers in one week to compare


def test_higher_promise_converts_more_and_raises_expectations():
    start, end = 10, 25
    settings = PROMISE_SETTINGS
    event = {"kind": "promise", "start": start, "end": end, "value": 1.0}
    base_scenario = busy_market(settings)
    promise_scenario = busy_market(settings, [event])
    graph = build_scenario_graph(base_scenario)
    np.testing.assert_array_equal(
        Engine(promise_scenario, 0, graph).levers.promise,
        np.where((np.arange(40) >= start) & (np.arange(40) < end), 1.0, 0.3))

    rates_base, rates_promise, negative_base, negative_promise = [], [], 0.0, 0.0
    valence_base, valence_promise = [], []
    for replicate in range(3):
        seed = replicate_seed(base_scenario.seed, replicate)
        base_engine = Engine(base_scenario, seed, graph)
        promise_engine = Engine(promise_scenario, seed, graph)
        buyers_base, valences_base = step_through(base_engine)
        buyers_promise, valences_promise = step_through(promise_engine)
        valence_base.extend(np.concatenate(valences_base[start + 1:end + 1]))
        valence_promise.extend(np.concatenate(valences_promise[start + 1:end + 1]))
        base, promise = base_engine.history_frame(), promise_engine.history_frame()
        assert_identical_before(base, promise, start)
        pd.testing.assert_series_equal(base["cost_paid"], promise["cost_paid"])
        # first week: the same customers decide, reading the same sources; a higher promise
        # only adds buyers
        assert the_week_of(promise, start).fmot_buy >= the_week_of(base, start).fmot_buy
        assert (the_week_of(promise, start)[["fmot_buy", "fmot_reject"]].sum()
                == the_week_of(base, start)[["fmot_buy", "fmot_reject"]].sum())
        assert set(buyers_base[start]) <= set(buyers_promise[start])
        rates_base.append(buy_rate(base, start, end))
        rates_promise.append(buy_rate(promise, start, end))
        # experiences of the window's buyers (judged one week later, d_S = 2) disappoint more
        negative_base += window_sum(base, "umot_negative", start + 1, end + 1) / window_sum(
            base, "experiences", start + 1, end + 1)
        negative_promise += window_sum(promise, "umot_negative", start + 1, end + 1) / window_sum(
            promise, "experiences", start + 1, end + 1)
    # logit shift beta_B * 2 * (1.0 - 0.3) = 1.4: a large rise in the buy rate
    assert np.mean(rates_promise) > np.mean(rates_base) + 0.1
    assert all(p > b for p, b in zip(rates_promise, rates_base, strict=True))
    assert negative_promise > 2 * negative_base
    assert np.mean(valence_promise) < np.mean(valence_base) - 0.1


def test_promise_sets_the_expectation_of_buyers_in_window():
    """E = (1 - w) B + w Qbar (MODEL.md 4.4): a customer who buys in the first week of the
    window in both runs read the same sources (same w and Qbar), so its expectation is higher by
    exactly (1 - w)(B' - B), with 1 - w = 3/(n + 3) between 3/13 (n = 10) and 1 (n = 0)."""
    start, end = 10, 25
    settings = PROMISE_SETTINGS
    base_scenario = busy_market(settings)
    promise_scenario = busy_market(settings, [{"kind": "promise", "start": start, "end": end,
                                               "value": 1.0}])
    graph = build_scenario_graph(base_scenario)
    seed = replicate_seed(base_scenario.seed, 0)
    engines = [Engine(base_scenario, seed, graph), Engine(promise_scenario, seed, graph)]
    buyers = []
    for engine in engines:
        for _ in range(start):
            engine.step()
        before = engine.customers.state.copy()
        engine.step()
        c = engine.customers
        buyers.append((c.state == State.SMOT) & (c.entered == start) & (before != State.LOYAL)
                      & (c.source != Source.SEED))
    both = np.flatnonzero(buyers[0] & buyers[1])
    assert both.size > 10
    gap = (engines[1].customers.expectation[both].astype(np.float64)
           - engines[0].customers.expectation[both])
    assert gap.min() >= 0.7 * 3 / 13 - 1e-6 and gap.max() <= 0.7 + 1e-6
    # the gap is (1 - w) * 0.7 with w = n/(n + 3) for a whole n from 0 to 10
    allowed = np.array([0.7 * 3 / (n + 3) for n in range(11)])
    assert np.abs(gap[:, None] - allowed[None, :]).min(axis=1).max() < 1e-6


# --- owned media ---------------------------------------------------------------------------------


def test_owned_media_quality_raises_buy_rate_only_in_window():
    start, end = 10, 20
    event = {"kind": "owned", "start": start, "end": end, "value": 1.0}
    scenario = busy_market(events=[event])
    np.testing.assert_array_equal(
        Engine(scenario, 0).levers.owned,
        np.where((np.arange(40) >= start) & (np.arange(40) < end), 1.0, 0.5))
    inside_gain, after_gain = [], []
    for replicate in range(3):
        base, owned = paired(None, event, replicate)
        assert_identical_before(base, owned, start)
        assert the_week_of(owned, start).fmot_buy >= the_week_of(base, start).fmot_buy
        assert the_week_of(owned, start).fmot_buy + the_week_of(owned, start).fmot_reject == (
            the_week_of(base, start).fmot_buy + the_week_of(base, start).fmot_reject)
        inside_gain.append(buy_rate(owned, start, end) - buy_rate(base, start, end))
        after_gain.append(buy_rate(owned, end, 40) - buy_rate(base, end, 40))
    # logit shift beta_o (2 * 1.0 - 1) = 0.5 near pi ~ 0.4-0.6: about +0.1 to +0.12
    assert min(inside_gain) > 0.05
    # after the window the owned lever is back at 0.5: only the knock-on effects of the extra
    # buyers remain, much smaller than the direct effect
    assert abs(np.mean(after_gain)) < 0.4 * np.mean(inside_gain)


# --- seed ----------------------------------------------------------------------------------------


def quiet_market(events: list, settings: dict | None = None, weeks: int = 10):
    """No paid media (spend 0, so p_t = 0): nobody moves before the first seed."""
    base = {"network.kind": "barabasi_albert", "network.n": 600, "network.mean_degree": 4,
            "media.spend": 0.0}
    base.update(settings or {})
    return make_scenario(base, events=events, weeks=weeks)


def highest_degree(indptr: np.ndarray, count: int, eligible: np.ndarray | None = None) -> list:
    """The `count` customers of highest degree (ties: lower id first), computed from the CSR."""
    degree = np.diff(indptr)
    order = sorted(range(len(degree)), key=lambda i: (-degree[i], i))
    if eligible is not None:
        order = [i for i in order if eligible[i]]
    return order[:count]


def test_degree_seeding_seeds_the_highest_degree_customers_at_the_event_week():
    week = 2
    graph = build_scenario_graph(quiet_market([]))
    degree = np.diff(graph.indptr)
    ranked = highest_degree(graph.indptr, graph.n)
    # a count that cuts through a group of equal degrees, so the tie-break by id matters
    count = next(k for k in range(20, graph.n) if degree[ranked[k - 1]] == degree[ranked[k]])
    expected = ranked[:count]
    tied = np.flatnonzero(degree == degree[expected[-1]])
    assert tied.min() in expected and tied.max() not in expected
    scenario = quiet_market([{"kind": "seed", "week": week, "count": count,
                              "strategy": "degree"}])
    engine = Engine(scenario, replicate_seed(scenario.seed, 0), graph)
    for _ in range(week + 1):
        engine.step()
    c = engine.customers
    seeded = np.flatnonzero(c.adopted_source == Source.SEED)
    assert sorted(seeded.tolist()) == sorted(expected)
    assert (c.adopted_week[seeded] == week).all()
    assert (c.state[seeded] == State.SMOT).all() and (c.entered[seeded] == week).all()
    assert (c.expectation[seeded] == np.float32(scenario.media.promise)).all()  # E = B for seeds
    assert (c.recruiter[seeded] == -1).all() and (c.purchases[seeded] == 0).all()
    assert (c.state[np.setdiff1d(np.arange(engine.n), seeded)] == State.UNAWARE).all()

    frame = engine.history_frame()
    # credibility stays 1; the weekly outcomes are undefined without experiences
    quiet = frame.iloc[:week][list(HISTORY_COLUMNS)].drop(columns="credibility")
    assert (quiet.to_numpy() == np.where(np.isin(quiet.columns, ["unaware"]), engine.n, 0)).all()
    row = the_week_of(frame, week)
    assert row.stimulus_seed == count and row.adopted_seed == count
    assert row.revenue == 0.0 and row.fmot_buy == 0  # seeds get their unit free
    seed_cost = scenario.economics.seed_cost
    assert seed_cost > 0
    assert row.cost_seed == count * seed_cost and row.cost == count * seed_cost
    assert row.smot == count and row.unaware == engine.n - count


def test_random_seeding_picks_distinct_non_buyers_reproducibly():
    week, count = 12, 40
    scenario = busy_market(events=[{"kind": "seed", "week": week, "count": count}])

    def seeded_at_week(replicate: int) -> tuple[np.ndarray, np.ndarray]:
        engine = Engine(scenario, replicate_seed(scenario.seed, replicate))
        for _ in range(week):
            engine.step()
        bought_before = engine.customers.adopted_week >= 0
        engine.step()
        c = engine.customers
        chosen = np.flatnonzero((c.adopted_source == Source.SEED) & (c.adopted_week == week))
        return chosen, bought_before

    chosen, bought_before = seeded_at_week(0)
    assert chosen.size == count  # distinct by construction of flatnonzero
    assert not bought_before[chosen].any()
    assert bought_before.sum() > 200  # many had bought, and none of them was picked
    again, _ = seeded_at_week(0)
    np.testing.assert_array_equal(chosen, again)
    other, _ = seeded_at_week(1)
    assert other.size == count and set(other.tolist()) != set(chosen.tolist())


def test_two_random_seed_events_in_one_week_pick_different_customers():
    week = 3
    scenario = busy_market(events=[{"kind": "seed", "week": week, "count": 30},
                                   {"kind": "seed", "week": week, "count": 50}])
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    for _ in range(week + 1):
        engine.step()
    c = engine.customers
    assert ((c.adopted_source == Source.SEED) & (c.adopted_week == week)).sum() == 80
    assert the_week_of(engine.history_frame(), week).cost_seed == 80 * scenario.economics.seed_cost


def test_explicit_seed_nodes_on_labelled_edge_list(tmp_path):
    # a star around "hub" and a path of named customers
    rows = [("hub", name) for name in ("ann", "bob", "cat", "dan")]
    rows += [("dan", "eve"), ("eve", "fay"), ("fay", "gus")]
    path = tmp_path / "edges.csv"
    path.write_text("source,target\n" + "".join(f"{u},{v}\n" for u, v in rows))
    nodes = ["fay", "bob", "hub"]
    scenario = make_scenario({"network.kind": "edgelist", "network.path": str(path),
                              "media.spend": 0.0},
                             events=[{"kind": "seed", "week": 1, "nodes": nodes}], weeks=4)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    engine.step()
    engine.step()
    c = engine.customers
    seeded = np.flatnonzero(c.adopted_source == Source.SEED)
    expected = engine.graph.index_of(nodes)
    assert sorted(seeded.tolist()) == sorted(expected.tolist())
    assert sorted(engine.graph.labels[seeded].tolist()) == sorted(nodes)
    assert (c.adopted_week[seeded] == 1).all() and (c.state[seeded] == State.SMOT).all()
    assert engine.history_frame().cost_seed.tolist() == [0.0, 3 * scenario.economics.seed_cost]


def test_later_seed_event_skips_customers_who_already_bought():
    week, count = 15, 60
    settings = {"network.kind": "barabasi_albert", "network.mean_degree": 6}
    degree_event = {"kind": "seed", "week": week, "count": count, "strategy": "degree"}
    scenario = busy_market(settings, [degree_event])
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    for _ in range(week):
        engine.step()
    never_bought = engine.customers.adopted_week < 0
    top = highest_degree(engine.graph.indptr, count)
    assert not never_bought[top].all(), "some hubs must have bought already for this test"
    expected = highest_degree(engine.graph.indptr, count, eligible=never_bought)
    engine.step()
    c = engine.customers
    seeded = np.flatnonzero((c.adopted_source == Source.SEED) & (c.adopted_week == week))
    assert sorted(seeded.tolist()) == sorted(expected)
    assert the_week_of(engine.history_frame(), week).stimulus_seed == count

    # an explicit list: the one who already bought is skipped, the others are seeded
    buyer = int(np.flatnonzero(~never_bought & (c.adopted_source != Source.SEED))[0])
    fresh = [int(i) for i in np.flatnonzero(never_bought) if i not in seeded][:2]
    explicit = busy_market(settings, [{"kind": "seed", "week": week,
                                       "nodes": [fresh[0], buyer, fresh[1]]}])
    engine = Engine(explicit, replicate_seed(explicit.seed, 0))
    for _ in range(week + 1):
        engine.step()
    c = engine.customers
    seeded = np.flatnonzero((c.adopted_source == Source.SEED) & (c.adopted_week == week))
    assert sorted(seeded.tolist()) == sorted(fresh)
    assert c.adopted_week[buyer] < week and c.adopted_source[buyer] != Source.SEED
    assert the_week_of(engine.history_frame(), week).cost_seed == 2 * explicit.economics.seed_cost


# --- referral ------------------------------------------------------------------------------------


def test_referral_boost_raises_share_rate_only_in_window():
    start, end = 10, 20
    event = {"kind": "referral", "start": start, "end": end, "boost": 1.5}
    base_rate, boost_rate = [], []
    for replicate in range(3):
        base, boosted = paired(None, event, replicate)
        assert_identical_before(base, boosted, start)
        first_base, first_boost = the_week_of(base, start), the_week_of(boosted, start)
        # the same experiences are judged in the first week; a higher share logit only adds
        assert first_boost.experiences == first_base.experiences
        assert (first_boost.umot_positive + first_boost.umot_negative
                >= first_base.umot_positive + first_base.umot_negative)
        for frame, rates in ((base, base_rate), (boosted, boost_rate)):
            shares = (window_sum(frame, "umot_positive", start, end)
                      + window_sum(frame, "umot_negative", start, end))
            rates.append(shares / window_sum(frame, "experiences", start, end))
        # no reward was set: nothing is paid
        assert (boosted.cost_referral == 0).all()
    # +1.5 on the logit of a share probability of about 0.2: about 0.5
    assert min(b - a for a, b in zip(base_rate, boost_rate, strict=True)) > 0.15


def test_referral_reward_pays_for_share_sourced_purchases_in_window():
    start, end, reward = 10, 20, 7.0
    event = {"kind": "referral", "start": start, "end": end, "reward": reward}
    base_scenario = busy_market()
    reward_scenario = busy_market(events=[event])
    seed = replicate_seed(base_scenario.seed, 0)
    graph = build_scenario_graph(base_scenario)
    base = run_engine(base_scenario, 0, graph).history_frame()
    engine = Engine(reward_scenario, seed, graph)
    # count, week by week, FMOT purchases whose ZMOT episode came from a share
    share_buys = []
    c = engine.customers
    while not engine.done:
        before_state, before_purchases = c.state.copy(), c.purchases.copy()
        engine.step()
        bought = (c.purchases > before_purchases) & (before_state != State.LOYAL)
        share_buys.append(int(((c.source == Source.SHARE) & bought).sum()))
    rewarded = engine.history_frame()
    # a reward without boost changes no behaviour: everything but the costs is identical
    pd.testing.assert_frame_equal(base.drop(columns=cost_columns(base)),
                                  rewarded.drop(columns=cost_columns(rewarded)), check_exact=True)
    expected = np.zeros(len(rewarded))
    expected[start:end] = reward * np.array(share_buys[start:end])
    np.testing.assert_array_equal(rewarded.cost_referral, expected)
    assert expected[start:end].sum() > 0
    # every FMOT purchase is a first purchase, so the count is also the week's adopted_share
    np.testing.assert_array_equal(share_buys, rewarded.adopted_share)
    np.testing.assert_allclose(rewarded.cost, base.cost + rewarded.cost_referral, rtol=1e-12)
    assert_cost_is_the_sum_of_its_parts(rewarded)
