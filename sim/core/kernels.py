"""The dynamics: one step of MODEL.md section 4, compiled by Numba, over arrays only.

Nothing else in the project decides what a customer does (DESIGN.md principle 1). Functions are
named and ordered by MODEL.md's sub-steps (4.1 events ... 4.7 record), so the two can be read side
by side. Every random decision is a counter-based draw from `rng.py`: results do not depend on
iteration order, and scenarios with the same seed share their draws.

Work follows events where it can (DESIGN.md principle 5): a customer's talk pressure is kept up to
date by pushing changes from a neighbour when it starts or stops talking or its emotion changes,
and share messages travel only along the sharers' edges.

The passes over customers (4.3 paid media and talk, 4.4, 4.5, 4.6 and 4.7's counts) run on Numba's
threads, chunk by chunk (`state.CHUNK`): each customer's decision writes only its own arrays, and
what the deciders add to shared totals (the history row, the outbox, the pool, work lists) is
added afterwards in customer order, so results are bit-identical at any number of threads. Share
delivery (4.3) and the talk push after the step stay serial: their writes go to neighbours.
"""

from __future__ import annotations

import math
import os
import types
from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from sim.core.atomic import atomic_add, compare_and_swap
from sim.core.rng import customer_key, draw, geometric, normal, step_key, uniform, uniform_pair
from sim.core.stages import Purpose, Source, State
from sim.core.state import (
    CHUNK,
    PERFORMANCE_SCALE,
    TALK_SCALE,
    Brand,
    Emotion,
    Message,
    Outbox,
    Total,
    WorkList,
)

UNAWARE = int(State.UNAWARE)
ZMOT = int(State.ZMOT)
SMOT = int(State.SMOT)
LOYAL = int(State.LOYAL)
REJECTED = int(State.REJECTED)
CHURNED = int(State.CHURNED)
PAID = int(Source.PAID)
TALK = int(Source.TALK)
SHARE = int(Source.SHARE)
SEED = int(Source.SEED)

ENTRY = int(Purpose.ENTRY)
SPLIT = int(Purpose.SPLIT)
DELIVERY = int(Purpose.DELIVERY)
RECRUIT = int(Purpose.RECRUIT)
RECRUITER_CHOICE = int(Purpose.RECRUITER_CHOICE)
FMOT_TIMING = int(Purpose.FMOT_TIMING)
READ_INBOX = int(Purpose.READ_INBOX)
READ_POOL = int(Purpose.READ_POOL)
BUY = int(Purpose.BUY)
PERFORMANCE_A = int(Purpose.PERFORMANCE_A)
PERFORMANCE_B = int(Purpose.PERFORMANCE_B)
SHARE_DRAW = int(Purpose.SHARE)
REPURCHASE = int(Purpose.REPURCHASE)
RETENTION = int(Purpose.RETENTION)
TALK_RECRUITER = int(Purpose.TALK_RECRUITER)
PASS_ON = int(Purpose.PASS_ON)
SEEDING = int(Purpose.SEEDING)
MARKET = int(Purpose.MARKET)
TALK_REACH = int(Purpose.TALK_REACH)

# Numba's OpenMP threads wait for work asleep, not spinning: on a machine shared with other
# processes a spinning thread takes a core from the thread it waits for (measured here: 2 threads
# 5x slower than 1 with spinning, 1.3x faster without). Read when the threading layer starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

WEEK = 1.0 / 52.0  # one step, in years: rates p and q are per year (MODEL.md section 2)

class Column(IntEnum):
    """Columns of a run's weekly history (MODEL.md section 7). The state counts come first in State
    order; stimulus and adoption columns are in Source order, so `STIMULUS_PAID + source` and
    `ADOPTED_PAID + source` index them directly."""

    UNAWARE = 0
    ZMOT = 1
    SMOT = 2
    LOYAL = 3
    REJECTED = 4
    CHURNED = 5
    STIMULUS_PAID = 6
    STIMULUS_TALK = 7
    STIMULUS_SHARE = 8
    STIMULUS_SEED = 9
    WINBACK = 10
    FMOT_BUY = 11
    FMOT_REJECT = 12
    EXPERIENCES = 13
    UMOT_POSITIVE = 14
    UMOT_NEGATIVE = 15
    REPURCHASE = 16
    CHURN = 17
    DROPPED = 18
    ADOPTED_PAID = 19
    ADOPTED_TALK = 20
    ADOPTED_SHARE = 21
    ADOPTED_SEED = 22
    REVENUE = 23
    COST = 24
    COST_PAID = 25
    COST_SEED = 26
    COST_REFERRAL = 27
    COST_QUALITY = 28
    PERFORMANCE_SUM = 29  # sum of perceived performance P over the week's experiences
    VALENCE_SUM = 30  # sum of valence v over the week's experiences
    VALENCE_SQUARES = 31
    AROUSAL_SUM = 32
    AROUSAL_SQUARES = 33
    PROMOTERS = 34  # the week's experiences whose valence makes a promoter (4.5)
    DETRACTORS = 35
    PROMISE_SHORTFALL = 36  # sum over the week's experiences of max(0, B - delta - P)
    CREDIBILITY = 37  # C at the end of the week (4.7)
    CONTENT_PASSED = 38  # paid content passed on by the customers it reached (4.3)
    # shares of a customer's first experience after buying at FMOT (seeds' excluded): the last
    # stage of the journey funnel, a subset of FMOT_BUY (4.5)
    UMOT_FIRST_POSITIVE = 39
    UMOT_FIRST_NEGATIVE = 40


HISTORY_COLUMNS: tuple[str, ...] = tuple(column.name.lower() for column in Column)
# Columns that hold money, sums of real measures or levels; every other column is a count.
REAL_COLUMNS = frozenset(column.name.lower() for column in (
    Column.REVENUE, Column.COST, Column.COST_PAID, Column.COST_SEED, Column.COST_REFERRAL,
    Column.COST_QUALITY, Column.PERFORMANCE_SUM, Column.VALENCE_SUM, Column.VALENCE_SQUARES,
    Column.AROUSAL_SUM, Column.AROUSAL_SQUARES, Column.PROMISE_SHORTFALL, Column.CREDIBILITY))


class Params(NamedTuple):
    """Scalar parameters, packed once per run (changing one never recompiles)."""

    innovation: float  # p, per year
    imitation: float  # q, per year
    # q (1 - mu_m), the local part's rate: exactly q when mixing is 0, so the neutral setting
    # computes the local talk hazard with the same operations as without mixing.
    imitation_local: float
    imitation_market: float  # q mu_m, the market-wide part's rate
    mixing: float  # mu_m, the share of talk that is market-wide (0: from one's ties only)
    market_size: float  # M, customers in the market (at least 1)
    emotional_talk: bool
    adstock_decay: float
    elasticity: float  # eps, the media response's elasticity at the reference spend
    reference_adstock: float  # A_ref = reference_spend / (1 - decay)
    decide_probability: float  # 1 / (1 + T_Z)
    sources: int  # n_src
    conversion: float  # pi_0
    review_weight: float  # beta_W
    owned_weight: float  # beta_o
    promise_weight: float  # beta_B
    negativity_weight: float  # lambda_N
    wom_anchor: float
    repeat_promise_weight: float  # mu
    smot_weeks: int  # d_S
    loss_aversion: float  # lambda_L
    emotional_sharing: bool
    share_base: float  # s_0
    log_arousal_odds: float
    log_valence_odds: float
    standardise_emotion: bool  # against the experiences so far, or the prior alone
    emotion_prior_weight: float  # n_0, pseudo-experiences behind the prior
    reach: float  # r
    negative_recruit: float  # tau-
    pool_weeks: int
    repurchase_probability: float  # 1 / T_rep
    retention: float  # rho_0
    valence_effect: float  # gamma_v
    memory_better: float  # alpha+, weight of an experience better than the running valence
    memory_worse: float  # alpha-, weight of a worse one
    tolerance: float  # delta, the zone of tolerance below the promise
    credibility_gap: float  # g_0, the mean shortfall that leaves no credibility
    credibility_loss: float  # alpha_C-, per week
    credibility_gain: float  # alpha_C+, per week
    margin: float
    seed_cost: float
    # the budget's programmes: what each may pay before it stops (0: no such programme; 6)
    referral_allowance: float
    quality_allowance: float


class Levers(NamedTuple):
    """What the brand controls, per week, after the events are applied (one array each)."""

    spend: np.ndarray
    quality: np.ndarray
    quality_sd: np.ndarray
    promise: np.ndarray
    owned: np.ndarray
    share_boost: np.ndarray
    referral_reward: np.ndarray
    quality_unit_cost: np.ndarray  # cost of the quality delivered with one paid purchase
    pass_on: np.ndarray  # probability a customer reached by paid media passes its content on
    # the same levers while the budget's referral and quality programmes run (section 6)
    funded_share_boost: np.ndarray
    funded_referral_reward: np.ndarray
    funded_quality: np.ndarray
    funded_quality_unit_cost: np.ndarray


def pass_on_probability(base: float, brand_odds: float, heaviness: np.ndarray) -> np.ndarray:
    """4.3 The probability that a customer reached by paid content passes it on, per week:
    sigma(logit s_c + ln(brand_odds) h), h the content's brand heaviness (0 customer-voiced,
    1 brand-heavy); s_c = 0 and 1 mean never and always."""
    if base <= 0.0 or base >= 1.0:
        return np.full(heaviness.shape, float(base >= 1.0))
    log_odds = np.log(base / (1.0 - base)) + np.log(brand_odds) * heaviness
    return 1.0 / (1.0 + np.exp(-log_odds))


class Net(NamedTuple):
    """The graph as the kernel sees it (see graph.Graph)."""

    out_indptr: np.ndarray  # int64: who hears i
    out_indices: np.ndarray  # int32
    out_weight: np.ndarray  # float32, empty when every tie is strong
    in_indptr: np.ndarray  # int64: whom i hears
    in_indices: np.ndarray
    in_weight: np.ndarray
    in_weight_sum: np.ndarray  # float64: sum of omega over in-neighbours
    complete: bool
    weighted: bool


@njit(cache=True, inline="always")
def _logistic(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, inline="always")
def _logit(p):
    return math.log(p / (1.0 - p))


@njit(cache=True, inline="always")
def _emotion_log_odds(prm, emotion, arousal, valence):
    """Berger & Milkman (2012): log odds per standard deviation of arousal and of positivity,
    both measured from the typical experience (4.5), `emotion` (m.emotion)."""
    e = emotion
    return (prm.log_arousal_odds * (arousal - e[Emotion.AROUSAL_MEAN]) / e[Emotion.AROUSAL_SD]
            + prm.log_valence_odds * (valence - e[Emotion.VALENCE_MEAN]) / e[Emotion.VALENCE_SD])


# Promoters and detractors from the running valence (4.5, section 7): likelihood to recommend
# LTR = min(10, 7 + 4v) for v >= 0 and 7 + 7v below, so a neutral relationship is a passive (7),
# promoters (LTR >= 9) have v >= 1/2 and detractors (LTR <= 6) v <= -1/7.
PROMOTER_VALENCE = 0.5
DETRACTOR_VALENCE = -1.0 / 7.0


@njit(cache=True, inline="always")
def _probability_with_log_odds(base, shift):
    """sigma(logit base + shift), where base 0 and 1 mean never and always."""
    if base <= 0.0:
        return 0.0
    if base >= 1.0:
        return 1.0
    return _logistic(_logit(base) + shift)


@njit(cache=True, inline="always")
def _fixed(x, scale):
    return np.int64(round(x * scale))


@njit(cache=True, inline="always")
def _tie(weights, weighted, e):
    """Tie strength omega of CSR entry e (1 when every tie is strong), as float64."""
    return np.float64(weights[e]) if weighted else 1.0


@njit(cache=True, inline="always")
def _talk_term(omega, kappa):
    """One talker's contribution omega * kappa to a listener's talk pressure, in fixed point: the
    one formula used to add it, remove it and pick a talk recruiter, so they agree exactly."""
    return _fixed(omega * np.float64(kappa), TALK_SCALE)


# --- 3 Customers in the market ------------------------------------------------------------------


# The key of the draws made once per run before week 0 (step -1 is no week of the run; its only
# other draws are DELIVERY ones, of messages that never exist).
SETUP_STEP = -1


@njit(cache=True)
def market_draws(seed, n):
    """3 The uniforms u_i deciding who is in the market (u_i < m), one per customer, keyed by
    (run seed, customer, MARKET) alone: the same for every potential m (common random numbers)."""
    key = step_key(seed, SETUP_STEP)
    draws = np.empty(n, dtype=np.float64)
    for i in range(n):
        draws[i] = uniform(key, i, MARKET)
    return draws


@njit(cache=True, inline="always")
def _in_market(in_market, i):
    """3 Whether customer i is in the market, given the flags `m.in_market` (everybody when no
    flags are kept). It takes the array, not the market: passing a tuple of arrays costs a
    reference count per array, which in a loop over customers doubled a week's time."""
    return in_market.shape[0] == 0 or in_market[i] != 0


# --- 4.1 Events ----------------------------------------------------------------------------------


@njit(cache=True)
def choose_random_seeds(seed, t, count, c, taken):
    """4.1 seed event, strategy `random`: the `count` customers who never bought (and are not
    `taken` by another event this week) with the smallest seeding draws: a uniform choice,
    independent of iteration order."""
    key = step_key(seed, t)
    n = c.state.shape[0]
    eligible = np.empty(n, dtype=np.int64)
    draws = np.empty(n, dtype=np.float64)
    k = 0
    for i in range(n):
        if c.adopted_week[i] < 0 and not taken[i]:
            eligible[k] = i
            draws[k] = uniform(key, i, SEEDING)
            k += 1
    order = np.argsort(draws[:k], kind="mergesort")
    chosen = eligible[order[: min(count, k)]]
    taken[chosen] = True
    return chosen


@njit(cache=True)
def choose_ranked_seeds(ranking, count, c, taken):
    """4.1 seed event, strategies that rank customers (degree, an explicit list, ...): the first
    `count` customers of `ranking` who never bought and are not `taken` this week."""
    chosen = np.empty(min(count, ranking.shape[0]), dtype=np.int64)
    k = 0
    for i in ranking:
        if k == chosen.shape[0]:
            break
        if c.adopted_week[i] < 0 and not taken[i]:
            chosen[k] = i
            taken[i] = True
            k += 1
    return chosen[:k]


@njit(cache=True)
def review_budget(prm, m):
    """4.1 A budget programme whose payments so far reached its allowance stops from this week
    (section 6: budgets are reviewed weekly, so one week's payments may overshoot)."""
    if m.brand[Brand.REFERRAL_ON] > 0.0 and m.brand[Brand.REFERRAL_PAID] >= prm.referral_allowance:
        m.brand[Brand.REFERRAL_ON] = 0.0
    if m.brand[Brand.QUALITY_ON] > 0.0 and m.brand[Brand.QUALITY_PAID] >= prm.quality_allowance:
        m.brand[Brand.QUALITY_ON] = 0.0


@njit(cache=True, inline="always")
def _quality_costs(t, lev):
    """Week t's quality cost of one paid purchase: the lifted quality's, paid while the budget's
    quality programme runs (counted against it), and the week's otherwise (see `_pay`)."""
    return lev.funded_quality_unit_cost[t], lev.quality_unit_cost[t]


@njit(cache=True, inline="always")
def _referral_rewards(t, lev):
    """Week t's reward for one purchase by a share-recruited customer: the budget programme's,
    paid while it runs (counted against it), and the week's referral events' otherwise."""
    return lev.funded_referral_reward[t], lev.referral_reward[t]


@njit(cache=True, inline="always")
def _pay(brand, row, column, running, paid, costs):
    """One payment into row[column]: costs[0] while the budget programme flagged at
    brand[running] runs (and added to what it paid, brand[paid]), else costs[1]."""
    if brand[running] > 0.0:
        brand[paid] += costs[0]
        row[column] += costs[0]
    else:
        row[column] += costs[1]


@njit(cache=True)
def apply_seeds(t, prm, lev, net, c, m, row, seeded):
    """4.1 Seeded customers enter SMOT now, with E = B, source seed, at seed_cost each."""
    for i in seeded:
        if c.adopted_week[i] >= 0:
            continue
        c.state[i] = SMOT
        if keeps_listening_ties(prm, net):
            _stop_listening(net.in_indptr, net.in_indices, c.listening_ties, i)
        c.entered[i] = t
        c.expectation[i] = lev.promise[t]
        c.source[i] = SEED
        c.recruiter[i] = -1
        _empty_inbox(c.inbox_positive, c.inbox_negative, c.inbox_positive_p, c.inbox_negative_p,
                     i)
        _adopt(t, i, c.source, c.recruiter, c.adopted_week, c.adopted_source,
               c.adopted_recruiter, row)
        row[Column.STIMULUS_PAID + SEED] += 1
        row[Column.COST_SEED] += prm.seed_cost
        _mark_talk_changed(m.talk_changed, m.counts, i)


# The helpers called once per customer or per tie take the arrays they use, never the Customers,
# Market, Levers or Net tuples: Numba takes (and drops) a reference on every array of a tuple
# passed to a function, inlined or not, so a tuple per call cost more than the work
# (measured: a talker's weight in the talk push, 150 ns with the tuples against 14 ns).


@njit(cache=True, inline="always")
def _adopt(t, i, source, recruiter, adopted_week, adopted_source, adopted_recruiter, row):
    """Customer i's first purchase (or seeding) in week t, credited to its episode's source."""
    adopted_week[i] = t
    adopted_source[i] = source[i]
    adopted_recruiter[i] = recruiter[i]
    row[Column.ADOPTED_PAID + source[i]] += 1


@njit(cache=True, inline="always")
def _empty_inbox(positive, negative, positive_p, negative_p, i):
    positive[i] = 0
    negative[i] = 0
    positive_p[i] = 0
    negative_p[i] = 0


@njit(cache=True, inline="always")
def keeps_listening_ties(prm, net):
    """Whether the talk push walks ties (and so reads `listening_ties`): a graph that is not
    complete, with talk heard along ties."""
    return not net.complete and prm.imitation_local > 0.0


@njit(cache=True, inline="always")
def _stop_listening(in_indptr, in_indices, listening_ties, j):
    """j has just stopped listening to talk (it bought, or was seeded): one fewer listening tie
    for each customer j hears."""
    for e in range(in_indptr[j], in_indptr[j + 1]):
        listening_ties[in_indices[e]] -= 1


@njit(cache=True, inline="always")
def _mark_talk_changed(talk_changed, counts, i):
    talk_changed[counts[WorkList.TALK_CHANGED]] = i
    counts[WorkList.TALK_CHANGED] += 1


# --- 4.2 Paid media ------------------------------------------------------------------------------


@njit(cache=True)
def paid_media(t, prm, lev, m):
    """4.2 Adstock A_t = spend_t + decay * A_{t-1}; external hazard
    p_t = p (1 + gamma) x / (gamma + x), x = A_t / A_ref: zero at zero, concave, elasticity eps
    at the reference."""
    adstock = lev.spend[t] + prm.adstock_decay * m.brand[Brand.ADSTOCK]
    m.brand[Brand.ADSTOCK] = adstock
    if adstock <= 0.0:
        return 0.0
    x = adstock / prm.reference_adstock
    saturation = prm.elasticity / (1.0 - prm.elasticity)  # gamma, in units of A_ref
    return prm.innovation * (1.0 + saturation) * x / (saturation + x)


# --- 4.3 Stimulus --------------------------------------------------------------------------------


# Messages per block of the parallel share delivery: small enough that a block of well-connected
# senders does not leave the other threads idle, large enough that a block's start is nothing.
MESSAGE_BLOCK = 256


@njit(cache=True, parallel=True)
def deliver_shares(seed, t, prm, lev, net, c, m, row):
    """4.3 Messages sent at t-1 arrive: each reaches out-neighbour j with probability r*omega.
    Shares arriving at UNAWARE, ZMOT or REJECTED customers in the market go to their inbox
    (others, and passed-on content reaching customers outside the market, are dropped);
    each may recruit an UNAWARE receiver (tau+ = 1, tau-) or a REJECTED one (positive messages
    only). Passed-on paid content is no review: it recruits UNAWARE receivers only (tau+), as
    paid media. The recruiter is the successful sender with the smallest recruiter-choice draw
    (the earlier message on a tie). Blocks of messages are delivered in parallel: inboxes change
    by atomic integer additions, the recruiting message is kept by compare-and-swap, and the
    recruited customers enter ZMOT afterwards in id order, so nothing depends on the threads."""
    sent_key = step_key(seed, t - 1)
    key = step_key(seed, t)
    messages = m.outbox_count[Outbox.LAST_STEP]
    dropped = np.zeros((messages + MESSAGE_BLOCK - 1) // MESSAGE_BLOCK, dtype=np.int64)
    for b in prange(dropped.shape[0]):
        dropped[b] = _deliver_block(sent_key, key, prm, net, c, m, b, messages)
    row[Column.DROPPED] += dropped.sum()
    recruited = m.touched[:m.counts[WorkList.TOUCHED]]
    recruited.sort()  # the threads listed them in the order they got there
    pass_on = lev.pass_on[t]
    for j in recruited:
        k = m.recruit_message[j]
        if c.state[j] == REJECTED:
            row[Column.WINBACK] += 1
        content = m.inbox_kind[k] == Message.CONTENT
        source = PAID if content else SHARE
        passes_on = _become_zmot(key, t, prm, pass_on, c.state, c.entered, c.due, c.source,
                                 c.recruiter, j, source, -1 if content else m.inbox_sender[k])
        _count_zmot(m.outbox_sender, m.outbox_kind, m.outbox_performance, m.outbox_count, j,
                    source, passes_on, row)
        m.recruit_message[j] = -1
    m.counts[WorkList.TOUCHED] = 0


@njit(cache=True)
def _deliver_block(sent_key, key, prm, net, c, m, b, messages):
    """4.3 for the messages of block b (see `deliver_shares`); returns how many were dropped."""
    dropped = 0
    for k in range(b * MESSAGE_BLOCK, min(messages, (b + 1) * MESSAGE_BLOCK)):
        sender = m.inbox_sender[k]
        kind = m.inbox_kind[k]
        positive = kind != Message.NEGATIVE
        p_fixed = _fixed(m.inbox_performance[k], PERFORMANCE_SCALE)
        for e in range(net.out_indptr[sender], net.out_indptr[sender + 1]):
            j = net.out_indices[e]
            reach = prm.reach * _tie(net.out_weight, net.weighted, e)
            if not uniform_pair(sent_key, sender, DELIVERY, j) < reach:
                continue
            s = c.state[j]
            if not _listening(s) or not _in_market(m.in_market, j):
                dropped += 1
                continue
            if kind == Message.CONTENT:
                if s != UNAWARE:
                    continue
            elif positive:
                atomic_add(c.inbox_positive, j, 1)
                atomic_add(c.inbox_positive_p, j, p_fixed)
            else:
                atomic_add(c.inbox_negative, j, 1)
                atomic_add(c.inbox_negative_p, j, p_fixed)
            if s == ZMOT or (s == REJECTED and not positive):
                continue
            recruit_probability = 1.0 if positive else prm.negative_recruit
            if not uniform_pair(key, j, RECRUIT, sender) < recruit_probability:
                continue
            _offer_recruit(key, j, k, uniform_pair(key, j, RECRUITER_CHOICE, sender),
                           m.recruit_message, m.inbox_sender, m.touched, m.counts)
    return dropped


@njit(cache=True, inline="always")
def _offer_recruit(key, j, k, choice, recruit_message, inbox_sender, touched, counts):
    """Message k, whose recruiter-choice draw for j is `choice`, becomes j's recruiting message
    if it beats the one held (smaller draw; on a tie, the earlier message); the first message
    held lists j among this week's recruits."""
    held = recruit_message[j]
    while True:
        if held >= 0:
            held_choice = uniform_pair(key, j, RECRUITER_CHOICE, inbox_sender[held])
            if held_choice < choice or (held_choice == choice and held < k):
                return
        found = compare_and_swap(recruit_message, j, held, k)
        if found == held:
            if held < 0:
                touched[atomic_add(counts, WorkList.TOUCHED, 1)] = j
            return
        held = found  # another thread got there first: compare with its message


@njit(cache=True, inline="always")
def _listening(state):
    """Customers who can still be stimulated: they keep messages and read talk."""
    return state == UNAWARE or state == ZMOT or state == REJECTED


@njit(cache=True, inline="always")
def _become_zmot(key, t, prm, pass_on, state, entered, due, sources, recruiters, i, source,
                 recruiter):
    """Customer i into ZMOT (the customer arrays it changes are passed); the step it will decide
    in (4.4) is drawn now: it decides each step, from this one on, with probability 1/(1 + T_Z),
    so the wait is geometric. Returns whether it passes the content on (a customer reached by
    paid media, with the week's pass-on probability `pass_on`)."""
    state[i] = ZMOT
    entered[i] = t
    due[i] = t + geometric(customer_key(key, i), FMOT_TIMING, prm.decide_probability)
    sources[i] = source
    recruiters[i] = recruiter
    return source == PAID and uniform(key, i, PASS_ON) < pass_on


@njit(cache=True, inline="always")
def _count_zmot(outbox_sender, outbox_kind, outbox_performance, outbox_count, i, source,
                passes_on, row):
    """A ZMOT entry in the week's row; content passed on goes to the outbox (m.outbox_*)."""
    row[Column.STIMULUS_PAID + source] += 1
    if passes_on:
        _send(outbox_sender, outbox_kind, outbox_performance, outbox_count, i, Message.CONTENT,
              0.0)
        row[Column.CONTENT_PASSED] += 1


@njit(cache=True, inline="always")
def _send(outbox_sender, outbox_kind, outbox_performance, outbox_count, sender, kind,
          performance):
    """A message from `sender` to its out-neighbours into the outbox (m.outbox_*), delivered in
    4.3 of the next step."""
    sent = outbox_count[Outbox.THIS_STEP]
    outbox_sender[sent] = sender
    outbox_kind[sent] = kind
    outbox_performance[sent] = performance
    outbox_count[Outbox.THIS_STEP] = sent + 1


WON_BACK = 1  # outcome flag of 4.3: a REJECTED customer re-entered ZMOT
PASSES_ON = 2  # outcome flag of 4.3: it passes paid content on


@njit(cache=True, parallel=True)
def paid_and_talk(seed, t, p_t, prm, lev, net, c, m, row):
    """4.3 Each UNAWARE customer in the market not recruited by a share enters ZMOT with
    probability 1 - exp(-(eta p_t + lambda_i) dt), lambda_i = q (1 - mu_m) (talk pressure / sum
    of in-tie strengths) + q mu_m (all talkers' kappa / M); each REJECTED one the same with only
    positive talkers. Source paid or talk in proportion. Customers decide in parallel; their
    entries are counted in customer order."""
    if p_t <= 0.0 and prm.imitation <= 0.0:
        return  # no hazard for anyone (e.g. the independent cascade): nothing to draw
    key = step_key(seed, t)
    p_only = -math.expm1(-p_t * WEEK)  # the probability for customers nobody talks to
    acted = m.chunk_acted  # a local: in a prange loop Numba loses writes to m.chunk_acted[b]
    for b in prange(acted.shape[0]):
        acted[b] = _paid_or_talk_chunk(key, t, p_t, p_only, prm, lev, net, c, m, b)
    for b in range(m.chunk_acted.shape[0]):
        for k in range(b * CHUNK, b * CHUNK + m.chunk_acted[b]):
            i = m.acted[k]
            if m.outcome[i] & WON_BACK:
                row[Column.WINBACK] += 1
            _count_zmot(m.outbox_sender, m.outbox_kind, m.outbox_performance, m.outbox_count, i,
                        c.source[i], m.outcome[i] & PASSES_ON, row)


@njit(cache=True)
def _paid_or_talk_chunk(key, t, p_t, p_only, prm, lev, net, c, m, b):
    """4.3 for the customers of chunk b: whether paid media or talk brings each into ZMOT this
    step; lists those who enter (their outcome flags in m.outcome), returns how many."""
    k = b * CHUNK
    in_market = m.in_market
    market_talk = _market_talk(prm, m.totals[Total.TALK])
    market_talk_positive = _market_talk(prm, m.totals[Total.TALK_POSITIVE])
    pass_on = lev.pass_on[t]
    for i in range(b * CHUNK, min(c.state.shape[0], (b + 1) * CHUNK)):
        s = c.state[i]
        if s != UNAWARE and s != REJECTED:
            continue
        if not _in_market(in_market, i):
            continue  # never stimulated (it is UNAWARE: only a seed could have moved it)
        positive_only = s == REJECTED
        if net.complete:
            pressure = m.totals[Total.TALK_POSITIVE] if positive_only else m.totals[Total.TALK]
        else:
            pressure = c.talk_pressure[i, 1] if positive_only else c.talk_pressure[i, 0]
        talk = 0.0
        if pressure > 0 and net.in_weight_sum[i] > 0.0:
            talk = prm.imitation_local * (pressure / TALK_SCALE) / net.in_weight_sum[i]
        local = talk
        if prm.mixing > 0.0:
            talk = local + (market_talk_positive if positive_only else market_talk)
        hazard = p_t + talk  # innovativeness eta = 1 for every customer (MODEL.md section 3)
        if hazard <= 0.0:
            continue
        probability = p_only if talk == 0.0 else -math.expm1(-hazard * WEEK)
        if not uniform(key, i, ENTRY) < probability:
            continue
        if uniform(key, i, SPLIT) < p_t / hazard:
            source = PAID
            recruiter = -1
        else:
            source = TALK
            recruiter = -1  # market-wide talk names no recruiter
            if local == talk or (local > 0.0 and uniform(key, i, TALK_REACH) * talk < local):
                recruiter = _talk_recruiter(
                    key, i, pressure, c.talk_kappa_positive if positive_only else c.talk_kappa,
                    net.complete, net.in_indptr, net.in_indices, net.in_weight, net.weighted)
        passes_on = _become_zmot(key, t, prm, pass_on, c.state, c.entered, c.due, c.source,
                                 c.recruiter, i, source, recruiter)
        m.outcome[i] = (WON_BACK if positive_only else 0) | (PASSES_ON if passes_on else 0)
        m.acted[k] = i
        k += 1
    return k - b * CHUNK


@njit(cache=True, inline="always")
def _market_talk(prm, total):
    """4.3 The market-wide part of the talk hazard, q mu_m (sum of the talkers' kappa) / M, for
    `total`, the fixed-point sum over all talkers (or the positive ones, for a REJECTED
    customer)."""
    if total <= 0:
        return 0.0
    return prm.imitation_market * (total / TALK_SCALE) / prm.market_size


@njit(cache=True)
def _talk_recruiter(key, i, pressure, kappas, complete, in_indptr, in_indices, in_weight,
                    weighted):
    """The talking in-neighbour credited with a talk recruit, chosen with probability
    omega * kappa / pressure (the same fixed-point terms the pressure is made of); `kappas` are
    the talkers' weights that make the pressure (all, or the positive ones)."""
    target = np.int64(uniform(key, i, TALK_RECRUITER) * pressure)
    cumulative = np.int64(0)
    last = -1
    if complete:
        for j in range(kappas.shape[0]):
            if j != i and kappas[j] > 0.0:
                cumulative += _talk_term(1.0, kappas[j])
                last = j
                if cumulative > target:
                    return j
        return last
    for e in range(in_indptr[i], in_indptr[i + 1]):
        j = in_indices[e]
        if kappas[j] > 0.0:
            cumulative += _talk_term(_tie(in_weight, weighted, e), kappas[j])
            last = j
            if cumulative > target:
                return j
    return last


# --- 4.4 FMOT ------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _read(ck, purpose, n_read, positive, total):
    """Positives among n_read items drawn without replacement from `total` of which `positive`
    are positive (one draw per item read)."""
    read_positive = 0
    for index in range(n_read):
        if draw(ck, purpose, index) * total < positive:
            read_positive += 1
            positive -= 1
        total -= 1
    return read_positive


@njit(cache=True, parallel=True)
def fmot(seed, t, prm, lev, net, c, m, row):
    """4.4 FMOT: each ZMOT customer whose decision is due reads up to n_src sources (a random
    subset of its inbox, then of the public pool of the last pool_weeks steps) and buys with
    probability sigma(logit pi_0 + beta_W W + beta_o (2o-1) + beta_B C (2B-1)), the promise's pull
    discounted by the brand's credibility C; a buyer enters SMOT with E = (1 - w) B + w Q-bar,
    w = n/(n + 3); a non-buyer becomes REJECTED. Customers decide in parallel; the decisions are
    counted in customer order."""
    key = step_key(seed, t)
    brand_log_odds = (prm.owned_weight * (2.0 * lev.owned[t] - 1.0)
                      + prm.promise_weight * m.brand[Brand.CREDIBILITY]
                      * (2.0 * lev.promise[t] - 1.0))
    acted = m.chunk_acted  # a local: in a prange loop Numba loses writes to m.chunk_acted[b]
    for b in prange(acted.shape[0]):
        acted[b] = _fmot_chunk(key, t, prm, lev, c, m, brand_log_odds, b)
    quality_costs = _quality_costs(t, lev)
    referral_rewards = _referral_rewards(t, lev)
    keeps_ties = keeps_listening_ties(prm, net)
    for b in range(m.chunk_acted.shape[0]):
        for k in range(b * CHUNK, b * CHUNK + m.chunk_acted[b]):
            i = m.acted[k]
            if c.state[i] != SMOT:
                row[Column.FMOT_REJECT] += 1
                continue
            row[Column.FMOT_BUY] += 1
            if keeps_ties:
                _stop_listening(net.in_indptr, net.in_indices, c.listening_ties, i)
            row[Column.REVENUE] += prm.margin
            _pay(m.brand, row, Column.COST_QUALITY, Brand.QUALITY_ON, Brand.QUALITY_PAID,
                 quality_costs)
            if c.source[i] == SHARE:
                _pay(m.brand, row, Column.COST_REFERRAL, Brand.REFERRAL_ON, Brand.REFERRAL_PAID,
                     referral_rewards)
            if c.adopted_week[i] < 0:
                _adopt(t, i, c.source, c.recruiter, c.adopted_week, c.adopted_source,
                       c.adopted_recruiter, row)
            _mark_talk_changed(m.talk_changed, m.counts, i)


@njit(cache=True)
def _fmot_chunk(key, t, prm, lev, c, m, brand_log_odds, b):
    """4.4 for the customers of chunk b: each whose decision is due reads the sources, then buys
    (SMOT, with its expectation) or not (REJECTED), its inbox emptied either way; lists those who
    decided, returns how many."""
    pool = m.totals
    k = b * CHUNK
    for i in range(b * CHUNK, min(c.state.shape[0], (b + 1) * CHUNK)):
        if c.state[i] != ZMOT or c.due[i] > t:
            continue
        ck = customer_key(key, i)
        in_positive = c.inbox_positive[i]
        in_total = in_positive + c.inbox_negative[i]
        n_inbox = min(prm.sources, in_total)
        inbox_read_positive = _read(ck, READ_INBOX, n_inbox, in_positive, in_total)
        pool_positive = pool[Total.POOL_POSITIVE]
        pool_total = pool[Total.POOL_POSITIVE] + pool[Total.POOL_NEGATIVE]
        n_pool = min(prm.sources - n_inbox, pool_total)
        pool_read_positive = _read(ck, READ_POOL, n_pool, pool_positive, pool_total)
        positives = inbox_read_positive + pool_read_positive
        negatives = n_inbox + n_pool - positives
        n_read = positives + negatives
        net_sentiment = 0.0
        mean_sender_p = 0.0
        if n_read > 0:
            weighted_negatives = prm.negativity_weight * negatives
            net_sentiment = (positives - weighted_negatives) / (positives + weighted_negatives)
            p_sum = (inbox_read_positive * c.inbox_positive_p[i]
                     / PERFORMANCE_SCALE / max(c.inbox_positive[i], 1)
                     + (n_inbox - inbox_read_positive) * c.inbox_negative_p[i]
                     / PERFORMANCE_SCALE / max(c.inbox_negative[i], 1)
                     + pool_read_positive * pool[Total.POOL_POSITIVE_P]
                     / PERFORMANCE_SCALE / max(pool[Total.POOL_POSITIVE], 1)
                     + (n_pool - pool_read_positive) * pool[Total.POOL_NEGATIVE_P]
                     / PERFORMANCE_SCALE / max(pool[Total.POOL_NEGATIVE], 1))
            mean_sender_p = p_sum / n_read
        buy = _probability_with_log_odds(
            prm.conversion, prm.review_weight * net_sentiment + brand_log_odds)
        _empty_inbox(c.inbox_positive, c.inbox_negative, c.inbox_positive_p, c.inbox_negative_p,
                     i)
        c.entered[i] = t
        if draw(ck, BUY) < buy:
            weight = n_read / (n_read + prm.wom_anchor)
            c.expectation[i] = (1.0 - weight) * lev.promise[t] + weight * mean_sender_p
            c.state[i] = SMOT
            c.purchases[i] += 1
        else:
            c.state[i] = REJECTED
        m.acted[k] = i
        k += 1
    return k - b * CHUNK


# --- 4.5 SMOT and UMOT ---------------------------------------------------------------------------


SHARED = 1  # outcome flag of 4.5: the customer shares its experience


@njit(cache=True, parallel=True)
def smot_and_umot(seed, t, prm, lev, c, m, row):
    """4.5 A SMOT customer who entered at e judges the experience at the first t >= e + d_S - 1:
    P = clip(Q + sigma_Q xi, 0, 1), D = P - E weighted by loss aversion, valence and arousal
    (Oliver 1980); it shares with the Berger-Milkman probability (a message to its out-neighbours
    next step and a post in this step's pool) and becomes LOYAL; the step it comes back (4.6) is
    drawn now: each later step with probability 1/T_rep, so the wait is geometric. Customers judge
    in parallel; experiences, shares and posts are counted in customer order."""
    key = step_key(seed, t)
    acted = m.chunk_acted  # a local: in a prange loop Numba loses writes to m.chunk_acted[b]
    for b in prange(acted.shape[0]):
        acted[b] = _judge_chunk(key, t, prm, lev, c, m, b)
    _count_judged(t, prm, lev, c, m, row)


@njit(cache=True)
def _count_judged(t, prm, lev, c, m, row):
    """4.5 The judged customers' experiences, shares and posts, in customer order."""
    posts = np.zeros(4, dtype=np.int64)  # this step's posts, the pool slots of `Total`
    for b in range(m.chunk_acted.shape[0]):
        for k in range(b * CHUNK, b * CHUNK + m.chunk_acted[b]):
            i = m.acted[k]
            performance = c.performance[i]
            _count_experience(prm, lev.promise[t], performance, c.valence[i], c.arousal[i],
                              c.running_valence[i], row)
            if m.outcome[i] & SHARED:
                sign = 0 if c.valence[i] >= 0.0 else 1  # 0 positive, 1 negative
                _send(m.outbox_sender, m.outbox_kind, m.outbox_performance, m.outbox_count, i,
                      Message.NEGATIVE if sign else Message.POSITIVE, performance)
                posts[Total.POOL_POSITIVE + sign] += 1
                posts[Total.POOL_POSITIVE_P + sign] += _fixed(performance, PERFORMANCE_SCALE)
                row[Column.UMOT_NEGATIVE if sign else Column.UMOT_POSITIVE] += 1
                if c.experiences[i] == 1 and c.source[i] != SEED:
                    row[Column.UMOT_FIRST_NEGATIVE if sign else Column.UMOT_FIRST_POSITIVE] += 1
            _mark_talk_changed(m.talk_changed, m.counts, i)
    _post_to_pool(t, prm, m, posts)


@njit(cache=True)
def _judge_chunk(key, t, prm, lev, c, m, b):
    """4.5 for the customers of chunk b: each whose experience is due judges and remembers it,
    decides whether it shares (SHARED in m.outcome) and becomes LOYAL; lists those who judged,
    returns how many."""
    k = b * CHUNK
    quality_funded = m.brand[Brand.QUALITY_ON] > 0.0
    quality = lev.funded_quality[t] if quality_funded else lev.quality[t]
    referral_funded = m.brand[Brand.REFERRAL_ON] > 0.0
    share_boost = lev.funded_share_boost[t] if referral_funded else lev.share_boost[t]
    for i in range(b * CHUNK, min(c.state.shape[0], (b + 1) * CHUNK)):
        if c.state[i] != SMOT or t < c.entered[i] + prm.smot_weeks - 1:
            continue
        ck = customer_key(key, i)
        xi = normal(ck, PERFORMANCE_A, PERFORMANCE_B)
        performance = np.float32(min(max(quality + lev.quality_sd[t] * xi, 0.0), 1.0))
        gap = performance - c.expectation[i]
        felt = gap if gap >= 0.0 else prm.loss_aversion * gap
        valence = np.float32(math.tanh(2.0 * ((2.0 * performance - 1.0) / 2.0 + felt)))
        arousal = np.float32(0.2 + 0.8 * (1.0 - math.exp(-3.0 * abs(felt))))
        c.performance[i] = performance
        c.valence[i] = valence
        c.arousal[i] = arousal
        _remember(prm, c.running_valence, c.experiences, i, valence)
        if prm.emotional_sharing:
            share = _probability_with_log_odds(
                prm.share_base, _emotion_log_odds(prm, m.emotion, arousal, valence) + share_boost)
        else:
            share = prm.share_base
        shares = draw(ck, SHARE_DRAW) < share
        if shares:
            c.shares[i] += 1
        c.state[i] = LOYAL
        c.entered[i] = t
        c.due[i] = t + 1 + geometric(ck, REPURCHASE, prm.repurchase_probability)
        m.outcome[i] = SHARED if shares else 0
        m.acted[k] = i
        k += 1
    return k - b * CHUNK


@njit(cache=True, inline="always")
def _remember(prm, running_valence, experiences, i, valence):
    """4.5 The running valence v-bar moves towards v by alpha- when the experience is worse than
    it, by alpha+ when better: a failure is learnt faster than a recovery (Mitra & Golder 2006)."""
    if experiences[i] == 0:
        running_valence[i] = valence
    else:
        remembered = running_valence[i]
        weight = prm.memory_worse if valence < remembered else prm.memory_better
        running_valence[i] = np.float32((1.0 - weight) * remembered + weight * valence)
    experiences[i] += 1


@njit(cache=True, inline="always")
def _count_experience(prm, promise, performance, valence, arousal, running_valence, row):
    """4.5 The week's totals of experiences, for section 7's weekly outcomes and for 4.7; the
    customer recommends (or not) from its running valence, the whole relationship so far."""
    row[Column.EXPERIENCES] += 1
    row[Column.PERFORMANCE_SUM] += performance
    row[Column.VALENCE_SUM] += valence
    row[Column.VALENCE_SQUARES] += valence * valence
    row[Column.AROUSAL_SUM] += arousal
    row[Column.AROUSAL_SQUARES] += arousal * arousal
    if running_valence >= PROMOTER_VALENCE:
        row[Column.PROMOTERS] += 1
    elif running_valence <= DETRACTOR_VALENCE:
        row[Column.DETRACTORS] += 1
    row[Column.PROMISE_SHORTFALL] += max(0.0, promise - prm.tolerance - performance)


# --- 4.6 Loyalty ---------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def loyalty(seed, t, prm, lev, c, m, row):
    """4.6 A LOYAL customer whose return is due is retained with probability
    sigma(logit rho_0 + gamma_v v-bar): it buys again (SMOT, E = (1 - mu) P + mu B: its last
    experience and the promise it is buying again) or churns. Customers decide in parallel; the
    decisions are counted in customer order."""
    key = step_key(seed, t)
    acted = m.chunk_acted  # a local: in a prange loop Numba loses writes to m.chunk_acted[b]
    for b in prange(acted.shape[0]):
        acted[b] = _come_back_chunk(key, t, prm, lev, c, m, b)
    quality_costs = _quality_costs(t, lev)
    for b in range(m.chunk_acted.shape[0]):
        for k in range(b * CHUNK, b * CHUNK + m.chunk_acted[b]):
            i = m.acted[k]
            if c.state[i] == SMOT:
                row[Column.REPURCHASE] += 1
                row[Column.REVENUE] += prm.margin
                _pay(m.brand, row, Column.COST_QUALITY, Brand.QUALITY_ON, Brand.QUALITY_PAID,
                     quality_costs)
            else:
                row[Column.CHURN] += 1
                _mark_talk_changed(m.talk_changed, m.counts, i)


@njit(cache=True)
def _come_back_chunk(key, t, prm, lev, c, m, b):
    """4.6 for the customers of chunk b: each whose return is due is retained (SMOT again) or
    churns; lists them, returns how many."""
    k = b * CHUNK
    for i in range(b * CHUNK, min(c.state.shape[0], (b + 1) * CHUNK)):
        if c.state[i] != LOYAL or c.due[i] > t:
            continue
        retain = _probability_with_log_odds(
            prm.retention, prm.valence_effect * c.running_valence[i])
        c.entered[i] = t
        if uniform(key, i, RETENTION) < retain:
            c.state[i] = SMOT
            c.expectation[i] = np.float32((1.0 - prm.repeat_promise_weight) * c.performance[i]
                                          + prm.repeat_promise_weight * lev.promise[t])
            c.purchases[i] += 1
        else:
            c.state[i] = CHURNED
        m.acted[k] = i
        k += 1
    return k - b * CHUNK


# --- One week ------------------------------------------------------------------------------------


@njit(cache=True)
def record(t, lev, c, m, row):
    """4.7 The state counts at the end of step t (counted chunk by chunk in parallel: exact
    integers), the week's paid spend and its total cost."""
    counts = np.zeros((m.chunk_acted.shape[0], 6), dtype=np.int64)
    _count_states(c, counts)
    for s in range(6):
        row[Column.UNAWARE + s] = counts[:, s].sum()
    row[Column.COST_PAID] += lev.spend[t]
    row[Column.COST] = (row[Column.COST_PAID] + row[Column.COST_SEED] + row[Column.COST_REFERRAL]
                     + row[Column.COST_QUALITY])


@njit(cache=True, parallel=True)
def _count_states(c, counts):
    """The customers of chunk b in each state, in counts[b] (in parallel on several threads)."""
    for b in prange(counts.shape[0]):
        _count_chunk(c, counts, b)


@njit(cache=True)
def _count_chunk(c, counts, b):
    """Add the customers of chunk b to counts[b], by state."""
    for i in range(b * CHUNK, min(c.state.shape[0], (b + 1) * CHUNK)):
        counts[b, c.state[i]] += 1


# The typical experience before any is judged: arousal mean and sd, valence mean and sd. They are
# the centre and scale of the first specification (arousal per 0.2 around 0.5, valence per 0.5
# around 0) [assumption]; `emotion_prior_weight` pseudo-experiences stand behind them.
EMOTION_PRIOR = (0.5, 0.2, 0.0, 0.5)
MIN_EMOTION_SD = 0.05  # a floor, so near-identical experiences do not blow the odds up


@njit(cache=True)
def update_brand(prm, m, row):
    """4.7 Credibility C moves towards 1 - (mean promise shortfall of the week's experiences)/g_0,
    fast when it falls (alpha_C-) and slowly when it recovers (alpha_C+); the typical experience
    takes in the week's experiences. Weeks without experiences change neither."""
    experiences = row[Column.EXPERIENCES]
    if experiences > 0:
        target = max(0.0, 1.0 - row[Column.PROMISE_SHORTFALL] / experiences / prm.credibility_gap)
        credibility = m.brand[Brand.CREDIBILITY]
        rate = prm.credibility_loss if target < credibility else prm.credibility_gain
        m.brand[Brand.CREDIBILITY] = credibility + rate * (target - credibility)
        e = m.emotion
        e[Emotion.COUNT] += experiences
        e[Emotion.AROUSAL_SUM] += row[Column.AROUSAL_SUM]
        e[Emotion.AROUSAL_SQUARES] += row[Column.AROUSAL_SQUARES]
        e[Emotion.VALENCE_SUM] += row[Column.VALENCE_SUM]
        e[Emotion.VALENCE_SQUARES] += row[Column.VALENCE_SQUARES]
        if prm.standardise_emotion:
            e[Emotion.AROUSAL_MEAN], e[Emotion.AROUSAL_SD] = _pooled(
                prm.emotion_prior_weight, EMOTION_PRIOR[0], EMOTION_PRIOR[1], e[Emotion.COUNT],
                e[Emotion.AROUSAL_SUM], e[Emotion.AROUSAL_SQUARES])
            e[Emotion.VALENCE_MEAN], e[Emotion.VALENCE_SD] = _pooled(
                prm.emotion_prior_weight, EMOTION_PRIOR[2], EMOTION_PRIOR[3], e[Emotion.COUNT],
                e[Emotion.VALENCE_SUM], e[Emotion.VALENCE_SQUARES])
    row[Column.CREDIBILITY] = m.brand[Brand.CREDIBILITY]


@njit(cache=True, inline="always")
def _pooled(prior_weight, prior_mean, prior_sd, count, total, squares):
    """Mean and sd of the experiences so far pooled with `prior_weight` pseudo-experiences of the
    prior's mean and sd."""
    weight = prior_weight + count
    mean = (prior_weight * prior_mean + total) / weight
    second = (prior_weight * (prior_sd * prior_sd + prior_mean * prior_mean) + squares) / weight
    return mean, max(math.sqrt(max(second - mean * mean, 0.0)), MIN_EMOTION_SD)


@njit(cache=True, inline="always")
def _post_to_pool(t, prm, m, posts):
    """4.5 This step's posts replace those of t - pool_weeks in the pool's ring buffer."""
    slot = t % prm.pool_weeks
    m.totals[Total.POOL_POSITIVE] += posts[Total.POOL_POSITIVE] - m.pool_positive[slot]
    m.totals[Total.POOL_NEGATIVE] += posts[Total.POOL_NEGATIVE] - m.pool_negative[slot]
    m.totals[Total.POOL_POSITIVE_P] += posts[Total.POOL_POSITIVE_P] - m.pool_positive_p[slot]
    m.totals[Total.POOL_NEGATIVE_P] += posts[Total.POOL_NEGATIVE_P] - m.pool_negative_p[slot]
    m.pool_positive[slot] = posts[Total.POOL_POSITIVE]
    m.pool_negative[slot] = posts[Total.POOL_NEGATIVE]
    m.pool_positive_p[slot] = posts[Total.POOL_POSITIVE_P]
    m.pool_negative_p[slot] = posts[Total.POOL_NEGATIVE_P]


@njit(cache=True, inline="always")
def _talk_weight(prm, emotion, state, experiences, arousal, valence):
    """kappa as the listeners of a customer in `state` with these `experiences` and last
    `arousal` and `valence` hear it: 0 unless SMOT or LOYAL; the emotion's odds multiplier in
    `talk = "emotional"` mode (1 before the first experience), else 1."""
    if state != SMOT and state != LOYAL:
        return np.float32(0.0)
    if not prm.emotional_talk or experiences == 0:
        return np.float32(1.0)  # uniform talk, or a talker with no experience yet: neutral
    return np.float32(math.exp(_emotion_log_odds(prm, emotion, arousal, valence)))


@njit(cache=True, parallel=True)
def push_talk(prm, net, c, m):
    """After the step: push each changed talker's weight to the customers who hear it, so that the
    next step reads talkers as they were before its sub-step 1. Deltas are exact (fixed point);
    customers who can no longer be stimulated (they bought) are skipped, a talker all of whose
    listeners bought is not walked at all, and with q = 0 nobody is pushed to: nobody reads that
    pressure. The market-wide totals of all talkers' kappa are kept on the complete graph and
    when part of the talk is market-wide (mixing > 0). The talkers' new weights are set first,
    in list order (a customer listed twice is pushed once); their ties are then walked in
    parallel, each listener's pressure changed by atomic integer additions, whose sum does not
    depend on the threads' order."""
    walks = _update_talkers(prm, net, c, m)
    talkers = m.talk_changed  # locals: the parallel loop reads them
    before = m.talk_before
    pressure = c.talk_pressure
    for k in prange(walks):
        i = talkers[k]
        new = c.talk_kappa[i]
        new_positive = c.talk_kappa_positive[i]
        old = before[k, 0]
        old_positive = before[k, 1]
        # The deltas for a strong tie, computed once; a weak tie's are computed for its weight.
        strong = _talk_term(1.0, new) - _talk_term(1.0, old)
        strong_positive = _talk_term(1.0, new_positive) - _talk_term(1.0, old_positive)
        to_reach = c.listening_ties[i]  # i's ties are walked up to its last listener
        for e in range(net.out_indptr[i], net.out_indptr[i + 1]):
            j = net.out_indices[e]
            if not _listening(c.state[j]):
                continue
            w = _tie(net.out_weight, net.weighted, e)
            if w == 1.0:
                atomic_add(pressure, (j, 0), strong)
                atomic_add(pressure, (j, 1), strong_positive)
            else:
                atomic_add(pressure, (j, 0), _talk_term(w, new) - _talk_term(w, old))
                atomic_add(pressure, (j, 1),
                           _talk_term(w, new_positive) - _talk_term(w, old_positive))
            to_reach -= 1
            if to_reach == 0:
                break


@njit(cache=True)
def _update_talkers(prm, net, c, m):
    """The talk push's first part, in list order: each changed talker's new kappa, and the
    market-wide totals; the talkers whose ties must be walked are moved to the front of
    m.talk_changed, with their kappa before in m.talk_before. Empties the list; returns how
    many are to be walked."""
    walks = 0
    for k in range(m.counts[WorkList.TALK_CHANGED]):
        i = m.talk_changed[k]
        new = _talk_weight(prm, m.emotion, c.state[i], c.experiences[i], c.arousal[i],
                           c.valence[i])
        new_positive = new if c.valence[i] >= 0.0 else np.float32(0.0)
        old = c.talk_kappa[i]
        old_positive = c.talk_kappa_positive[i]
        if new == old and new_positive == old_positive:
            continue
        c.talk_kappa[i] = new
        c.talk_kappa_positive[i] = new_positive
        if prm.imitation <= 0.0:
            continue  # with q = 0 nobody reads talk pressure: do not maintain it
        if net.complete or prm.mixing > 0.0:  # the market-wide totals: read by these only
            m.totals[Total.TALK] += _talk_term(1.0, new) - _talk_term(1.0, old)
            m.totals[Total.TALK_POSITIVE] += (_talk_term(1.0, new_positive)
                                              - _talk_term(1.0, old_positive))
        if not keeps_listening_ties(prm, net):
            continue  # no local pressure to keep: the totals are all there is, or nobody reads it
        if c.listening_ties[i] == 0:
            continue  # everyone i talks to has bought: its ties would be walked for nothing
        m.talk_changed[walks] = i  # walks <= k: the list is compacted in place
        m.talk_before[walks, 0] = old
        m.talk_before[walks, 1] = old_positive
        walks += 1
    m.counts[WorkList.TALK_CHANGED] = 0
    return walks


@njit(cache=True)
def pass_messages_on(m):
    """After the step: this step's shares become the messages that arrive in 4.3 of the next."""
    sent = m.outbox_count[Outbox.THIS_STEP]
    m.inbox_sender[:sent] = m.outbox_sender[:sent]
    m.inbox_kind[:sent] = m.outbox_kind[:sent]
    m.inbox_performance[:sent] = m.outbox_performance[:sent]
    m.outbox_count[Outbox.LAST_STEP] = sent
    m.outbox_count[Outbox.THIS_STEP] = 0


@njit(cache=True)
def step(seed, t, prm, lev, net, c, m, row, seeded):
    """One week, sub-steps 4.1-4.7 in MODEL.md's order; `row` receives the week's history. The
    passes over customers run on Numba's threads (`step_serial`: on this one, the same results
    bit for bit). Returns the number of share messages in flight (to arrive next week)."""
    review_budget(prm, m)  # 4.1
    apply_seeds(t, prm, lev, net, c, m, row, seeded)  # 4.1
    p_t = paid_media(t, prm, lev, m)  # 4.2
    deliver_shares(seed, t, prm, lev, net, c, m, row)  # 4.3 shares and passed-on content
    paid_and_talk(seed, t, p_t, prm, lev, net, c, m, row)  # 4.3 paid media and talk
    fmot(seed, t, prm, lev, net, c, m, row)  # 4.4
    smot_and_umot(seed, t, prm, lev, c, m, row)  # 4.5
    loyalty(seed, t, prm, lev, c, m, row)  # 4.6
    record(t, lev, c, m, row)  # 4.7
    update_brand(prm, m, row)  # 4.7
    push_talk(prm, net, c, m)
    pass_messages_on(m)
    return m.outbox_count[Outbox.LAST_STEP]


@njit(cache=True)
def run_weeks(seed, first, last, prm, lev, net, c, m, history):
    """Weeks first..last-1 with nobody seeded, each as `step`, in one compiled loop: a week of a
    small market costs far less than passing the arrays from Python once a week. Returns the
    share messages in flight after the last week."""
    in_flight = 0
    nobody = np.empty(0, dtype=np.int64)
    for t in range(first, last):
        in_flight = step(seed, t, prm, lev, net, c, m, history[t], nobody)
    return in_flight


# --- On one thread -------------------------------------------------------------------------------
# The week's loop and the passes over customers, compiled a second time without Numba's threads:
# there `prange` is `range`, so the copies hold no parallel region. A forked worker process must
# not enter one, and a market too small to gain from threads compiles only these, which saves
# the parallel passes' compilation on a fresh install's first run. Each copy is the same code
# under its own name (Numba caches it apart) whose globals name the other copies.
_THREADED_CHAIN = ("deliver_shares", "paid_and_talk", "fmot", "smot_and_umot", "loyalty",
                   "_count_states", "record", "push_talk", "step", "run_weeks")


def _serial_copies(names: tuple[str, ...]) -> dict[str, object]:
    """`names` compiled again without threads, by name, each calling the others' copies."""
    namespace = dict(globals())
    for name in names:
        original = globals()[name].py_func
        copy = types.FunctionType(original.__code__, namespace, f"{name}_serial",
                                  original.__defaults__, original.__closure__)
        copy.__qualname__ = f"{original.__qualname__}_serial"
        copy.__doc__ = original.__doc__
        namespace[name] = njit(cache=True)(copy)
    return {name: namespace[name] for name in names}


_SERIAL = _serial_copies(_THREADED_CHAIN)
step_serial = _SERIAL["step"]
run_weeks_serial = _SERIAL["run_weeks"]
