"""The sub-steps of MODEL.md section 4: probabilities 0 and 1 behave exactly, a hand-worked
cascade on a four-customer path (and its directed variant), SMOT timing, the public pool's window
and the E formula, the talk hazard, buy, share and retention probabilities against their formulas
(statistically, from the state before each step), the ZMOT and LOYAL waits, source and recruiter
accounting, and the NPS formula. Expected values are worked out here from MODEL.md, never copied
from a run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario, run_engine

from sim.core.rng import replicate_seed
from sim.core.stages import ADOPTED_COLUMNS, Source, State
from sim.run.engine import Engine, build_scenario_graph

ADOPTED = list(ADOPTED_COLUMNS)
STATES = ["unaware", "zmot", "smot", "loyal", "rejected", "churned"]
LOSS_AVERSION = 2.25  # lambda_L, MODEL.md 4.5
NEVER = 1e6  # repurchase_weeks: nobody comes back within a test's horizon


# --- helpers -------------------------------------------------------------------------------------


def market(settings: dict | None = None, events: list | None = None, weeks: int = 52,
           seeds: int = 20):
    """A small lively market: 1,000 customers (Watts-Strogatz), p = 0.5/yr, returns every 4
    weeks on average, and `seeds` random seeds at week 0 so experiences start at once."""
    base = {"network.n": 1000, "market.innovation": 0.5, "loyalty.repurchase_weeks": 4.0}
    base.update(settings or {})
    seeded = [{"kind": "seed", "week": 0, "count": seeds}] if seeds else []
    return make_scenario(base, events=seeded + list(events or []), weeks=weeks)


def history(scenario, replicate: int = 0) -> pd.DataFrame:
    return run_engine(scenario, replicate).history_frame()


def write_edges(folder: Path, edges: list[tuple[str, str]], name: str = "edges.csv") -> str:
    path = folder / name
    path.write_text("source,target\n" + "".join(f"{u},{v}\n" for u, v in edges))
    return str(path)


def cascade_settings(path: str, directed: bool = False, smot_weeks: int = 1) -> dict:
    """The deterministic cascade of the hand-worked cases: no paid media (spend 0 makes p_t = 0),
    no talk (q = 0), every experience shared (constant s_0 = 1) to every out-neighbour (r = 1)
    and every message recruits (tau- = 1 too), decisions at once (T_Z = 0) and always to buy
    (pi_0 = 1); nobody comes back (T_rep huge, rho_0 = 1)."""
    return {
        "network.kind": "edgelist", "network.path": path, "network.directed": directed,
        "media.spend": 0.0, "market.imitation": 0.0,
        "sharing.mode": "constant", "sharing.base": 1.0, "sharing.reach": 1.0,
        "sharing.negative_recruit": 1.0, "journey.zmot_weeks": 0.0, "journey.conversion": 1.0,
        "journey.smot_weeks": smot_weeks, "loyalty.retention": 1.0,
        "loyalty.repurchase_weeks": NEVER,
    }


def seed_at_week_0(label: str) -> dict:
    return {"kind": "seed", "week": 0, "nodes": [label]}


def entered_this_step(before_state: np.ndarray, engine: Engine, t: int) -> np.ndarray:
    """Who entered ZMOT (or was seeded) in step t, just stepped: UNAWARE or REJECTED before it,
    and since then either in another state or with its state entered at t (a REJECTED customer
    won back and rejecting again in the same step). At t = 0 every `entered` is 0 already, but
    nobody is REJECTED yet."""
    c = engine.customers
    listening = (before_state == State.UNAWARE) | (before_state == State.REJECTED)
    moved = c.state != before_state
    if t > 0:
        moved |= (before_state == State.REJECTED) & (c.entered == t)
    return listening & moved


def felt(gap: np.ndarray) -> np.ndarray:
    """g(D) = D if D >= 0 else lambda_L D (MODEL.md 4.5)."""
    return np.where(gap >= 0, gap, LOSS_AVERSION * gap)


# --- probabilities 0 and 1 -----------------------------------------------------------------------


def test_conversion_zero_never_buys_and_every_decision_rejects():
    scenario = market({"journey.conversion": 0.0, "journey.zmot_weeks": 0.0})
    frame = history(scenario)
    assert (frame.fmot_buy == 0).all()
    assert frame.fmot_reject.sum() > 50
    # T_Z = 0: every entry into ZMOT (paid, talk or share; win-backs included) is decided and
    # rejected in the same step
    entries = frame.stimulus_paid + frame.stimulus_talk + frame.stimulus_share
    np.testing.assert_array_equal(frame.fmot_reject, entries)
    assert (frame.zmot == 0).all()
    assert (frame[["adopted_paid", "adopted_talk", "adopted_share"]] == 0).all().all()
    # revenue only from the seeds' repurchases
    np.testing.assert_array_equal(frame.revenue, scenario.economics.margin * frame.repurchase)


def test_conversion_one_never_rejects():
    frame = history(market({"journey.conversion": 1.0}))
    assert (frame.fmot_reject == 0).all() and (frame.rejected == 0).all()
    assert frame.fmot_buy.sum() > 100


def test_share_base_zero_never_shares_even_with_a_referral_boost():
    # (paid content is passed on by another channel, 4.3: off here, so nothing at all travels)
    frame = history(market({"sharing.base": 0.0, "media.pass_on": 0.0},
                           [{"kind": "referral", "start": 0, "end": 52, "boost": 5.0}]))
    assert frame.experiences.sum() > 100
    for column in ("umot_positive", "umot_negative", "stimulus_share", "adopted_share",
                   "dropped"):
        assert (frame[column] == 0).all(), column


@pytest.mark.parametrize("mode", ["constant", "emotional"])
def test_share_base_one_shares_every_experience(mode):
    frame = history(market({"sharing.base": 1.0, "sharing.mode": mode}))
    assert frame.experiences.sum() > 100
    np.testing.assert_array_equal(frame.umot_positive + frame.umot_negative, frame.experiences)


def test_retention_zero_churns_every_return_and_one_keeps_every_return():
    gone = history(market({"loyalty.retention": 0.0}))
    assert (gone.repurchase == 0).all() and gone.churn.sum() > 20
    kept = history(market({"loyalty.retention": 1.0}))  # whatever the running valence
    assert (kept.churn == 0).all() and (kept.churned == 0).all() and kept.repurchase.sum() > 50


def test_zero_zmot_weeks_decides_in_the_step_of_entry():
    frame = history(market({"journey.zmot_weeks": 0.0}))
    assert (frame.zmot == 0).all()
    entries = frame.stimulus_paid + frame.stimulus_talk + frame.stimulus_share
    np.testing.assert_array_equal(frame.fmot_buy + frame.fmot_reject, entries)
    assert entries.sum() > 100


def test_zmot_wait_is_geometric_with_mean_zmot_weeks():
    """A ZMOT customer decides each step with probability 1/(1 + T_Z), the step of entry
    included: the number of whole steps waited after the entry step has mean T_Z."""
    zmot_weeks = 3.0
    scenario = market({"journey.zmot_weeks": zmot_weeks, "network.n": 4000,
                       "market.innovation": 2.0}, weeks=80, seeds=0)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    c = engine.customers
    entered_at = np.full(engine.n, -1)
    waits = []
    while not engine.done:
        t = engine.week
        before = c.state.copy()
        engine.step()
        new = np.flatnonzero(entered_this_step(before, engine, t))
        entered_at[new] = t
        decided = (entered_at >= 0) & (c.state != State.ZMOT)
        # only entries of the first 40 weeks: a later one may still be waiting at the horizon
        waits.extend((t - entered_at[decided & (entered_at < 40)]).tolist())
        entered_at[decided] = -1
    assert (entered_at[entered_at >= 0] >= 40).all()
    waits = np.array(waits)
    assert waits.size > 500
    # geometric on {0, 1, ...} with success probability 1/4: mean 3, P(0) = 1/4
    assert waits.mean() == pytest.approx(zmot_weeks, abs=4 * math.sqrt(12.0 / waits.size))
    assert (waits == 0).mean() == pytest.approx(0.25, abs=4 * math.sqrt(0.1875 / waits.size))


def test_reach_zero_delivers_no_message():
    frame = history(market({"sharing.reach": 0.0, "sharing.base": 0.5}))
    assert (frame.umot_positive + frame.umot_negative).sum() > 50  # shares are made...
    assert (frame.stimulus_share == 0).all() and (frame.dropped == 0).all()  # ...none arrive
    assert (frame.adopted_share == 0).all()


# --- the hand-worked path a - b - c - d ----------------------------------------------------------


def test_path_cascade_hand_worked(tmp_path):
    """Week 0: a is seeded, judges (d_S = 1) and shares. Week t = 1, 2, 3: the t-th customer
    along the path hears the previous one, is recruited by the share, buys at once, judges and
    shares; its message also goes back to its LOYAL recruiter and is dropped."""
    path = write_edges(tmp_path, [("a", "b"), ("b", "c"), ("c", "d")])
    scenario = make_scenario(cascade_settings(path), events=[seed_at_week_0("a")], weeks=7)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    in_flight = []
    while not engine.done:
        engine.step()
        in_flight.append(engine.messages_in_flight)
    a, b, c, d = engine.graph.index_of(["a", "b", "c", "d"]).tolist()
    cust = engine.customers
    np.testing.assert_array_equal(cust.state[[a, b, c, d]], [State.LOYAL] * 4)
    np.testing.assert_array_equal(cust.adopted_week[[a, b, c, d]], [0, 1, 2, 3])
    np.testing.assert_array_equal(cust.adopted_source[[a, b, c, d]],
                                  [Source.SEED, Source.SHARE, Source.SHARE, Source.SHARE])
    np.testing.assert_array_equal(cust.adopted_recruiter[[a, b, c, d]], [-1, a, b, c])
    np.testing.assert_array_equal(cust.recruiter[[a, b, c, d]], [-1, a, b, c])
    np.testing.assert_array_equal(cust.purchases[[a, b, c, d]], [0, 1, 1, 1])  # a's was free
    np.testing.assert_array_equal(cust.shares[[a, b, c, d]], [1, 1, 1, 1])
    np.testing.assert_array_equal(cust.experiences[[a, b, c, d]], [1, 1, 1, 1])
    assert in_flight == [1, 1, 1, 1, 0, 0, 0]

    frame = engine.history_frame()
    margin, seed_cost = scenario.economics.margin, scenario.economics.seed_cost
    expected = {
        "unaware": [3, 2, 1, 0, 0, 0, 0],
        "loyal": [1, 2, 3, 4, 4, 4, 4],
        "zmot": [0] * 7, "smot": [0] * 7, "rejected": [0] * 7, "churned": [0] * 7,
        "stimulus_seed": [1, 0, 0, 0, 0, 0, 0],
        "stimulus_share": [0, 1, 1, 1, 0, 0, 0],
        "stimulus_paid": [0] * 7, "stimulus_talk": [0] * 7, "winback": [0] * 7,
        "fmot_buy": [0, 1, 1, 1, 0, 0, 0], "fmot_reject": [0] * 7,
        "experiences": [1, 1, 1, 1, 0, 0, 0],
        "dropped": [0, 0, 1, 1, 1, 0, 0],  # b->a, c->b, d->c reach LOYAL customers
        "adopted_seed": [1, 0, 0, 0, 0, 0, 0], "adopted_share": [0, 1, 1, 1, 0, 0, 0],
        "adopted_paid": [0] * 7, "adopted_talk": [0] * 7,
        "repurchase": [0] * 7, "churn": [0] * 7,
        "revenue": [0, margin, margin, margin, 0, 0, 0],
        "cost_seed": [seed_cost, 0, 0, 0, 0, 0, 0], "cost_paid": [0] * 7,
        "cost_referral": [0] * 7, "cost": [seed_cost, 0, 0, 0, 0, 0, 0],
    }
    for column, values in expected.items():
        np.testing.assert_array_equal(frame[column], values, err_msg=column)
    np.testing.assert_array_equal(frame.umot_positive + frame.umot_negative,
                                  [1, 1, 1, 1, 0, 0, 0])

    # 4.4, E = (1 - w) B + w Qbar, w = n/(n + 3). Each buyer reads its one inbox message, then
    # every earlier post in the pool (fewer than n_src = 10 of them).
    promise = scenario.media.promise
    p = cust.performance.astype(np.float64)
    expectations = {
        a: promise,  # a seed: E = B
        b: 0.6 * promise + 0.4 * p[a],  # n = 2: a's message, a's post
        c: 0.5 * promise + 0.5 * (p[b] + p[a] + p[b]) / 3,  # n = 3: b's message; a, b's posts
        d: 3 / 7 * promise + 4 / 7 * (p[c] + p[a] + p[b] + p[c]) / 4,  # n = 4
    }
    for customer, e in expectations.items():
        assert cust.expectation[customer] == pytest.approx(e, abs=1e-6)
    # 4.5: valence, arousal and running valence of each first experience
    gap = felt(p - cust.expectation.astype(np.float64))
    idx = [a, b, c, d]
    np.testing.assert_allclose(cust.valence[idx], np.tanh(2 * ((2 * p - 1) / 2 + gap))[idx],
                               atol=1e-6)
    np.testing.assert_allclose(cust.arousal[idx], (0.2 + 0.8 * (1 - np.exp(-3 * np.abs(gap))))[idx],
                               atol=1e-6)
    np.testing.assert_array_equal(cust.running_valence, cust.valence)
    positive = int((cust.valence >= 0).sum())
    assert frame.umot_positive.sum() == positive and frame.umot_negative.sum() == 4 - positive


def test_directed_edge_is_heard_one_way_only(tmp_path):
    path = write_edges(tmp_path, [("a", "b")])
    # a seeded: its share reaches b, who is recruited at week 1
    forward = Engine(make_scenario(cascade_settings(path, directed=True),
                                   events=[seed_at_week_0("a")], weeks=4), 0).run()
    a, b = forward.graph.index_of(["a", "b"]).tolist()
    assert forward.customers.adopted_week[b] == 1
    assert forward.customers.adopted_recruiter[b] == a
    # ...and b's own share has no out-neighbour to go to: nothing is dropped
    assert forward.history_frame().dropped.sum() == 0
    # b seeded: a never hears of it, by share or by talk
    backward = Engine(make_scenario(cascade_settings(path, directed=True),
                                    events=[seed_at_week_0("b")], weeks=4), 0).run()
    frame = backward.history_frame()
    assert frame.umot_positive.sum() + frame.umot_negative.sum() == 1
    assert frame.stimulus_share.sum() == 0 and frame.dropped.sum() == 0
    assert backward.customers.state[a] == State.UNAWARE

    # talk: q = 520/yr makes the weekly talk probability 1 - e^{-10} for a customer whose every
    # in-neighbour talks (uniform talk: kappa = 1); no shares
    talk = cascade_settings(path, directed=True) | {
        "market.imitation": 520.0, "market.talk": "uniform", "sharing.base": 0.0}
    heard = Engine(make_scenario(talk, events=[seed_at_week_0("a")], weeks=4), 0).run()
    assert heard.customers.adopted_week[b] == 1
    assert heard.customers.adopted_source[b] == Source.TALK
    assert heard.customers.adopted_recruiter[b] == a
    unheard = Engine(make_scenario(talk, events=[seed_at_week_0("b")], weeks=4), 0).run()
    assert unheard.customers.state[a] == State.UNAWARE
    assert unheard.history_frame().stimulus_talk.sum() == 0


# --- SMOT duration ---------------------------------------------------------------------------


def test_smot_weeks_three_judges_two_steps_after_buying(tmp_path):
    path = write_edges(tmp_path, [("a", "b"), ("b", "c"), ("c", "d")])
    scenario = make_scenario(cascade_settings(path, smot_weeks=3),
                             events=[seed_at_week_0("a")], weeks=14)
    engine = Engine(scenario, 0).run()
    a, b, c, d = engine.graph.index_of(["a", "b", "c", "d"]).tolist()
    # a enters SMOT at 0, judges and shares at 2; b hears it at 3, buys, judges at 5; ...
    np.testing.assert_array_equal(engine.customers.adopted_week[[a, b, c, d]], [0, 3, 6, 9])
    frame = engine.history_frame()
    expected_experiences = np.zeros(14, dtype=int)
    expected_experiences[[2, 5, 8, 11]] = 1
    np.testing.assert_array_equal(frame.experiences, expected_experiences)
    np.testing.assert_array_equal(frame.smot, [1, 1, 0] * 4 + [0, 0])
    expected_buys = np.zeros(14, dtype=int)
    expected_buys[[3, 6, 9]] = 1  # b, c, d (a was seeded)
    np.testing.assert_array_equal(frame.fmot_buy, expected_buys)


@pytest.mark.parametrize("smot_weeks", [1, 2, 3, 5])
def test_experiences_follow_purchases_by_smot_weeks(smot_weeks):
    """4.5: an FMOT buyer or a seed (entering SMOT at e in 4.1/4.4) judges at e + d_S - 1; a
    repurchaser (entering in 4.6, after 4.5) at e + max(d_S - 1, 1)."""
    frame = history(market({"journey.smot_weeks": smot_weeks}))
    lag, repurchase_lag = smot_weeks - 1, max(smot_weeks - 1, 1)
    weeks = len(frame)
    first = (frame.fmot_buy + frame.stimulus_seed).to_numpy()
    expected = np.zeros(weeks, dtype=np.int64)
    expected[lag:] += first[:weeks - lag]
    expected[repurchase_lag:] += frame.repurchase.to_numpy()[:weeks - repurchase_lag]
    np.testing.assert_array_equal(frame.experiences, expected)
    assert frame.repurchase.sum() > 20


# --- the public pool -----------------------------------------------------------------------------


def pool_scenario(pool_weeks: int):
    """Posts with a known P: sd 0 (P = Q exactly), Q = 0.9 except 0.2 in week 3; every
    experience posts (s_0 = 1) but no message arrives (r = 0), so a buyer reads the pool only.
    Buyers are talk recruits (q = 52/yr) who decide at once and always buy, and judge (and post)
    in the step they buy (d_S = 1); nobody returns."""
    return make_scenario({
        "network.n": 1000, "market.imitation": 52.0, "media.promise": 0.5,
        "product.quality": 0.9, "product.quality_sd": 0.0,
        "sharing.mode": "constant", "sharing.base": 1.0, "sharing.reach": 0.0,
        "sharing.pool_weeks": pool_weeks,
        "journey.zmot_weeks": 0.0, "journey.conversion": 1.0, "journey.smot_weeks": 1,
        "loyalty.repurchase_weeks": NEVER,
    }, events=[{"kind": "seed", "week": 0, "count": 20},
               {"kind": "quality", "start": 3, "end": 4, "value": 0.2}], weeks=8)


def buyers_expectations(scenario) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Run week by week; each week's FMOT buyers' expectations as set at their purchase."""
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    c = engine.customers
    out = []
    while not engine.done:
        before = c.purchases.copy()
        engine.step()
        out.append(c.expectation[c.purchases > before].astype(np.float64))
    return engine.history_frame(), out


def test_pool_of_one_week_shows_only_last_weeks_posts():
    scenario = pool_scenario(pool_weeks=1)
    frame, expectations = buyers_expectations(scenario)
    quality = np.where(np.arange(8) == 3, np.float32(0.2), np.float32(0.9)).astype(np.float64)
    posts = (frame.umot_positive + frame.umot_negative).to_numpy()
    np.testing.assert_array_equal(posts, frame.experiences)
    promise, sources = scenario.media.promise, scenario.journey.sources
    for t in range(1, 8):
        assert expectations[t].size > 0 and posts[t - 1] > 0
        # only the posts of week t - 1 are readable, all with P = Q_{t-1}
        n = min(sources, posts[t - 1])
        w = n / (n + 3)
        np.testing.assert_allclose(expectations[t], (1 - w) * promise + w * quality[t - 1],
                                   atol=1e-6, err_msg=f"week {t}")
    assert expectations[4].max() < promise  # week 4 read only week 3's disappointing posts


def test_pool_of_many_weeks_keeps_older_posts_readable():
    scenario = pool_scenario(pool_weeks=52)
    frame, expectations = buyers_expectations(scenario)
    posts = (frame.umot_positive + frame.umot_negative).to_numpy()
    promise, sources = scenario.media.promise, scenario.journey.sources
    for t in range(1, 4):  # before week 3's posts, every post has P = 0.9
        n = min(sources, posts[:t].sum())
        w = n / (n + 3)
        np.testing.assert_allclose(expectations[t], (1 - w) * promise + w * float(
            np.float32(0.9)), atol=1e-6)
    # from week 5 the week-3 posts (P = 0.2) are still read by some: with one-week pool every
    # week-5 buyer would expect (1 - w) 0.5 + w 0.9 with w = 10/13
    one_week = 3 / 13 * promise + 10 / 13 * float(np.float32(0.9))
    assert (expectations[5] < one_week - 1e-3).any()


# --- the probabilities of sub-steps 4.3 to 4.6, against their formulas -------------------------
#
# Each test steps a run week by week, computes from the state before a step the probability MODEL.md
# gives each customer, and compares the number of events observed with the sum of those
# probabilities: a sum of independent Bernoullis, so within 4 of its standard deviations.


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def assert_bernoulli_sum(observed: int, probabilities: list[float]) -> None:
    p = np.asarray(probabilities, dtype=np.float64)
    sd = math.sqrt((p * (1.0 - p)).sum())
    assert sd > 5, "too few events for a meaningful check"
    assert abs(observed - p.sum()) <= 4 * sd, (observed, p.sum(), sd)


def emotion_log_odds(arousal: np.ndarray, valence: np.ndarray) -> np.ndarray:
    """Berger & Milkman (2012): ln(1.30) per 0.2 of arousal above 0.5, ln(1.13) per 0.5 of
    valence (MODEL.md 4.5; kappa in 4.3 is its exponential)."""
    return (math.log(1.30) * (arousal.astype(np.float64) - 0.5) / 0.2
            + math.log(1.13) * valence.astype(np.float64) / 0.5)


def talk_hazard_check(scenario, q: float) -> tuple[int, int]:
    """Step a run with p_t = 0 and no shares and check 4.3: an UNAWARE customer enters with
    probability 1 - exp(-lambda dt), lambda = q sum_j omega_ij c_j kappa_j / sum_j omega_ij over
    its in-neighbours j; a REJECTED one the same over talkers with v >= 0 only (all in-neighbours
    in the denominator). Returns the entries of UNAWARE and REJECTED customers."""
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    graph, c = engine.graph, engine.customers
    rows = np.repeat(np.arange(graph.n), np.diff(graph.in_indptr))
    omega = (np.ones(len(rows)) if graph.in_weight is None
             else graph.in_weight.astype(np.float64))
    omega_sum = np.bincount(rows, weights=omega, minlength=graph.n)
    p_unaware, p_rejected, entered_unaware, entered_rejected = [], [], 0, 0
    while not engine.done:
        t = engine.week
        state = c.state.copy()
        talking = np.isin(state, [State.SMOT, State.LOYAL])
        kappa = np.exp(emotion_log_odds(c.arousal, c.valence)) * talking
        positive_kappa = kappa * (c.valence >= 0)
        heard = graph.in_indices
        pressure = np.bincount(rows, weights=omega * kappa[heard], minlength=graph.n)
        positive = np.bincount(rows, weights=omega * positive_kappa[heard], minlength=graph.n)
        engine.step()
        moved = entered_this_step(state, engine, t)
        seeded_now = (c.source == Source.SEED) & (c.adopted_week == t)
        unaware = (state == State.UNAWARE) & ~seeded_now & (omega_sum > 0)
        rejected = state == State.REJECTED
        p_unaware.extend(-np.expm1(-q * pressure[unaware] / omega_sum[unaware] / 52))
        p_rejected.extend(-np.expm1(-q * positive[rejected] / omega_sum[rejected] / 52))
        entered_unaware += int((moved & unaware).sum())
        entered_rejected += int((moved & rejected).sum())
        assert not (moved & (state == State.UNAWARE) & ~seeded_now & (omega_sum == 0)).any()
    assert_bernoulli_sum(entered_unaware, p_unaware)
    assert_bernoulli_sum(entered_rejected, p_rejected)
    frame = engine.history_frame()
    assert frame.stimulus_paid.sum() == 0  # p_t = 0 without spend
    assert frame.winback.sum() == entered_rejected
    return entered_unaware, entered_rejected


def test_talk_hazard_on_watts_strogatz_with_weak_ties():
    q = 6.0
    scenario = make_scenario({
        "network.n": 2000, "network.rewire": 0.3,  # 30% weak ties of strength 0.25
        "media.spend": 0.0, "market.imitation": q, "sharing.base": 0.0,
    }, events=[{"kind": "seed", "week": 0, "count": 100}], weeks=40)
    assert (build_scenario_graph(scenario).weight < 1).any()
    talk_hazard_check(scenario, q)


def test_talk_hazard_weighs_ties_emotion_and_sign(tmp_path):
    """A designed market where each term of lambda matters: listener L_k hears (directed edges)
    a happy talker A_k (tie 0.2), an unhappy talker B_k (tie 0.6) and a silent Z_k (tie 1.0).
    A's are seeded at week 0 and judge at once P = 1 against E = 0.5 (v = 0.96, a = 0.82:
    kappa = 1.93); B's at week 1 when quality is 0.1 (v = -0.99, a = 0.95: kappa = 1.41).
    So lambda = q (0.2 x 1.93 + 0.6 x 1.41)/1.8, not q 2/3 (unweighted) nor q 0.8/1.8 (kappa = 1);
    a rejected listener hears only A: lambda+ = q 0.2 x 1.93/1.8."""
    k = 400
    rows = []
    for i in range(k):
        rows += [(f"A{i}", f"L{i}", 0.2), (f"B{i}", f"L{i}", 0.6), (f"Z{i}", f"L{i}", 1.0)]
    path = tmp_path / "weighted.csv"
    path.write_text("source,target,weight\n" + "".join(f"{u},{v},{w}\n" for u, v, w in rows))
    q = 20.0
    scenario = make_scenario({
        "network.kind": "edgelist", "network.path": str(path), "network.directed": True,
        "media.spend": 0.0, "market.imitation": q, "sharing.base": 0.0,
        "product.quality": 1.0, "product.quality_sd": 0.0, "media.promise": 0.5,
        "journey.smot_weeks": 1, "journey.zmot_weeks": 0.0, "journey.conversion": 0.3,
        "loyalty.repurchase_weeks": NEVER,
        # emotion measured from the prior typical experience, as emotion_log_odds above does
        "sharing.standardise": "prior",
    }, events=[{"kind": "seed", "week": 0, "nodes": [f"A{i}" for i in range(k)]},
               {"kind": "seed", "week": 1, "nodes": [f"B{i}" for i in range(k)]},
               {"kind": "quality", "start": 1, "end": 2, "value": 0.1}], weeks=25)
    unaware, rejected = talk_hazard_check(scenario, q)
    assert unaware > 200 and rejected > 50


def test_buy_probability_without_sources_is_the_brand_logit():
    """4.4 with n_src = 0: W = 0, so pi = sigma(logit pi_0 + beta_o (2o - 1) + beta_B (2B - 1))
    for everyone, and a buyer's E is B exactly (n = 0)."""
    conversion, owned, promise = 0.3, 0.8, 0.6
    scenario = market({"journey.sources": 0, "journey.conversion": conversion,
                       "media.owned_quality": owned, "media.promise": promise,
                       "journey.promise_weight": 1.0,
                       "media.credibility_loss": 0.0})  # credibility stays 1
    frame = history(scenario)
    decisions = int(frame.fmot_buy.sum() + frame.fmot_reject.sum())
    pi = float(logistic(logit(conversion) + 0.5 * (2 * owned - 1) + 1.0 * (2 * promise - 1)))
    assert_bernoulli_sum(int(frame.fmot_buy.sum()), [pi] * decisions)
    engine = run_engine(scenario)
    bought = engine.customers.purchases > 0
    first_only = bought & (engine.customers.source != Source.SEED)
    # returning buyers expect their last P instead; those who never came back keep E = B
    never_returned = first_only & (engine.customers.purchases == 1)
    assert never_returned.sum() > 50
    assert (engine.customers.expectation[never_returned] == np.float32(promise)).all()


@pytest.mark.parametrize("quality, sentiment", [(1.0, 1.0), (0.0, -1.0)])
def test_unanimous_sources_shift_the_buy_logit_by_beta_w(quality, sentiment):
    """4.4: when every source read has one sign, W = +1 or -1 whatever lambda_N, and
    pi = sigma(logit pi_0 + beta_W W + beta_o (2o - 1) + beta_B (2B - 1)), beta_W = ln 3.
    With sd 0 every P is Q: Q = 1 makes every experience positive (P >= E), Q = 0 every one
    negative. Seeds post at week 0, so from week 1 every decider reads at least one post;
    at week 0 nothing has been posted yet (W = 0)."""
    conversion, promise = 0.3, 0.5
    scenario = market({"product.quality": quality, "product.quality_sd": 0.0,
                       "media.promise": promise, "journey.conversion": conversion,
                       "journey.negativity_weight": 2.0, "journey.smot_weeks": 1,
                       "sharing.mode": "constant", "sharing.base": 1.0,
                       "loyalty.repurchase_weeks": NEVER}, weeks=30, seeds=50)
    frame = history(scenario)
    assert (frame.umot_positive if sentiment < 0 else frame.umot_negative).sum() == 0
    decisions = (frame.fmot_buy + frame.fmot_reject).to_numpy()
    brand = 0.5 * (2 * 0.5 - 1) + 1.0 * (2 * promise - 1)  # o = 0.5, B = 0.5: both 0
    pi_week_0 = float(logistic(logit(conversion) + brand))
    pi = float(logistic(logit(conversion) + math.log(3) * sentiment + brand))
    assert_bernoulli_sum(int(frame.fmot_buy.sum()),
                         [pi_week_0] * int(decisions[0]) + [pi] * int(decisions[1:].sum()))


def test_share_probability_follows_arousal_valence_and_referral_boost():
    """4.5: s = sigma(logit s_0 + ln 1.30 (a - 0.5)/0.2 + ln 1.13 v/0.5 + boost)."""
    base, boost, start, end = 0.18, 0.8, 10, 25
    scenario = market({"sharing.base": base, "network.n": 3000},
                      [{"kind": "referral", "start": start, "end": end, "boost": boost}],
                      weeks=40, seeds=100)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    c = engine.customers
    expected, shares = [], 0
    while not engine.done:
        t = engine.week
        experiences, shared = c.experiences.copy(), c.shares.copy()
        engine.step()
        judged = c.experiences > experiences
        shift = emotion_log_odds(c.arousal[judged], c.valence[judged])
        shift += boost if start <= t < end else 0.0
        expected.extend(logistic(logit(base) + shift))
        shares += int((c.shares[judged] > shared[judged]).sum())
    assert_bernoulli_sum(shares, expected)


def test_retention_follows_running_valence():
    """4.6: a returning customer is retained with probability sigma(logit rho_0 + gamma_v v-bar);
    and returns come each step after becoming LOYAL with probability 1/T_rep (wait >= 1, mean
    T_rep)."""
    retention, gamma, t_rep = 0.7, 1.5, 4.0
    scenario = market({"loyalty.retention": retention, "loyalty.valence_effect": gamma,
                       "loyalty.repurchase_weeks": t_rep, "network.n": 3000}, weeks=60, seeds=300)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    c = engine.customers
    loyal_since = np.full(engine.n, -1)
    expected, retained, waits = [], 0, []
    while not engine.done:
        t = engine.week
        state, running = c.state.copy(), c.running_valence.astype(np.float64)
        engine.step()
        returned = (state == State.LOYAL) & (c.state != State.LOYAL)
        expected.extend(logistic(logit(retention) + gamma * running[returned]))
        retained += int((c.state[returned] == State.SMOT).sum())
        counted = returned & (loyal_since >= 0) & (loyal_since < 30)  # no censoring
        waits.extend((t - loyal_since[counted]).tolist())
        loyal_since[returned] = -1
        loyal_since[(state != State.LOYAL) & (c.state == State.LOYAL)] = t
    assert_bernoulli_sum(retained, expected)
    waits = np.array(waits)
    assert waits.min() >= 1 and waits.size > 500
    # geometric on {1, 2, ...} with p = 1/T_rep: mean T_rep, sd sqrt(T_rep (T_rep - 1))
    assert waits.mean() == pytest.approx(t_rep, abs=4 * math.sqrt(t_rep * (t_rep - 1) / waits.size))
    assert (waits == 1).mean() == pytest.approx(1 / t_rep, abs=4 * math.sqrt(
        0.1875 / waits.size))


# --- sources and recruiters ----------------------------------------------------------------------


def random_directed_edges(folder: Path, n: int, m: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = src != dst
    return write_edges(folder, [(f"n{u}", f"n{v}") for u, v in zip(src[keep], dst[keep],
                                                                       strict=True)])


def accounting_scenario(kind: str, folder: Path):
    settings = {"market.innovation": 0.3, "loyalty.repurchase_weeks": 6.0}
    if kind == "watts_strogatz":
        settings["network.n"] = 2000
    else:
        settings |= {"network.kind": "edgelist", "network.directed": True,
                     "network.path": random_directed_edges(folder, 1500, 12_000, 7)}
    return make_scenario(settings, events=[{"kind": "seed", "week": 0, "count": 10}], weeks=52)


@pytest.mark.parametrize("kind", ["watts_strogatz", "directed_edgelist"])
def test_every_adopter_has_a_source_and_a_plausible_recruiter(kind, tmp_path):
    engine = run_engine(accounting_scenario(kind, tmp_path))
    frame, c, graph = engine.history_frame(), engine.customers, engine.graph
    adopters = np.flatnonzero(c.adopted_week >= 0)
    assert adopters.size > 100
    sources = c.adopted_source[adopters]
    assert np.isin(sources, [Source.PAID, Source.TALK, Source.SHARE, Source.SEED]).all()
    assert (c.adopted_source[c.adopted_week < 0] == Source.NONE).all()
    # the adopted_* columns count exactly these adopters, week by week and by source
    assert frame[ADOPTED].to_numpy().sum() == adopters.size
    for code, column in zip((Source.PAID, Source.TALK, Source.SHARE, Source.SEED), ADOPTED,
                            strict=True):
        weeks = c.adopted_week[adopters][sources == code]
        np.testing.assert_array_equal(frame[column], np.bincount(weeks, minlength=len(frame)))
    assert (frame[["adopted_paid", "adopted_talk", "adopted_share"]].sum() > 0).all()
    # every FMOT buy is a first purchase: a buyer never returns to ZMOT
    np.testing.assert_array_equal(
        frame.fmot_buy, frame.adopted_paid + frame.adopted_talk + frame.adopted_share)
    assert engine.kpis()["adopted_fraction"] == adopters.size / engine.n
    # state counts cover everyone every week
    assert (frame[STATES].sum(axis=1) == engine.n).all()
    # KPIs of MODEL.md section 7 from the same customers
    kpis = engine.kpis()
    by_source = np.bincount(sources + 1, minlength=5)[1:]  # Source codes start at -1
    assert kpis["wom_share"] == pytest.approx(
        (by_source[Source.TALK] + by_source[Source.SHARE]) / adopters.size)
    assert kpis["viral_coefficient"] == pytest.approx(
        by_source[Source.SHARE] / np.count_nonzero(c.shares > 0))
    assert kpis["positive_negative_ratio"] == pytest.approx(
        frame.umot_positive.sum() / frame.umot_negative.sum())

    recruiter = c.adopted_recruiter
    paid_or_seed = adopters[np.isin(sources, [Source.PAID, Source.SEED])]
    assert (recruiter[paid_or_seed] == -1).all()
    for i in adopters[sources == Source.SHARE]:
        r = recruiter[i]
        # a share goes from r to its out-neighbours; r shared before i adopted
        assert i in graph.indices[graph.indptr[r]:graph.indptr[r + 1]]
        assert c.shares[r] >= 1 and 0 <= c.adopted_week[r] < c.adopted_week[i]
    for i in adopters[sources == Source.TALK]:
        r = recruiter[i]
        # talk is heard from in-neighbours that had bought (or been seeded) before
        assert r in graph.in_indices[graph.in_indptr[i]:graph.in_indptr[i + 1]]
        assert 0 <= c.adopted_week[r] < c.adopted_week[i]


def test_talk_recruiter_is_an_in_neighbour_who_was_talking(tmp_path):
    """q large, no paid media, no shares: every entry is by talk, and its recruiter is an
    in-neighbour that was SMOT or LOYAL before sub-step 1 (positive too, for a win-back)."""
    path = random_directed_edges(tmp_path, 400, 2400, 11)
    scenario = make_scenario({
        "network.kind": "edgelist", "network.path": path, "network.directed": True,
        "media.spend": 0.0, "market.imitation": 20.0, "sharing.base": 0.0,
    }, events=[{"kind": "seed", "week": 0, "count": 10}], weeks=30)
    engine = Engine(scenario, replicate_seed(scenario.seed, 0))
    graph, c = engine.graph, engine.customers
    checked = winbacks = 0
    while not engine.done:
        t = engine.week
        before_state, before_valence = c.state.copy(), c.valence.copy()
        engine.step()
        entered = entered_this_step(before_state, engine, t) & (c.source != Source.SEED)
        for i in np.flatnonzero(entered):
            assert c.source[i] == Source.TALK
            r = c.recruiter[i]
            assert r in graph.in_indices[graph.in_indptr[i]:graph.in_indptr[i + 1]]
            assert before_state[r] in (State.SMOT, State.LOYAL)
            if before_state[i] == State.REJECTED:
                assert before_valence[r] >= 0
                winbacks += 1
            checked += 1
    assert checked > 100 and winbacks > 0


# --- NPS -----------------------------------------------------------------------------------------


def test_nps_follows_its_formula():
    engine = run_engine(market(weeks=52))
    c = engine.customers
    judged = c.experiences > 0
    assert judged.sum() > 100
    v = c.running_valence[judged].astype(np.float64)  # the whole relationship so far
    likelihood = np.where(v >= 0, np.minimum(10, 7 + 4 * v), 7 + 7 * v)  # 0-10, neutral is 7
    promoters = np.count_nonzero(likelihood >= 9 - 1e-12)  # v >= 1/2
    detractors = np.count_nonzero(likelihood <= 6 + 1e-12)  # v <= -1/7
    assert promoters > 0 and detractors > 0
    expected = 100 * (promoters - detractors) / judged.sum()
    assert engine.kpis()["nps"] == pytest.approx(expected, abs=1e-9)
