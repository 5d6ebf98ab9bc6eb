"""Customers as a struct of arrays, and the other per-run arrays the kernel mutates
(MODEL.md section 3; DESIGN.md "Data").

Everything here is a NamedTuple of numpy arrays so that Numba kernels take it as one argument and
read fields by name. No per-customer Python objects exist anywhere.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

from sim.core.stages import Source, State

# Customers per chunk of a parallel pass: the kernel's passes over customers run chunk by chunk
# on Numba's threads, and each chunk lists the customers that acted in it, so that what they add
# to shared totals (the week's history row, the outbox, work lists) is added afterwards in
# customer order, whatever the number of threads.
CHUNK = 4096

# Talk pressure and sums of sender performance are kept in fixed point (integers) so that adding
# and removing contributions is exact: the result is the same whatever the order of updates.
TALK_SCALE = float(2**32)  # one unit of omega * kappa
PERFORMANCE_SCALE = float(2**32)  # one unit of perceived performance P


class Customers(NamedTuple):
    """One array per attribute, indexed by customer id."""

    state: np.ndarray  # int8, State
    entered: np.ndarray  # int32, step the current state was entered
    due: np.ndarray  # int32, ZMOT: the step it decides; LOYAL: the step it comes back
    expectation: np.ndarray  # float32, E
    performance: np.ndarray  # float32, last perceived performance P
    valence: np.ndarray  # float32, v of the last experience (0 before any)
    arousal: np.ndarray  # float32, a of the last experience (0.5 before any)
    running_valence: np.ndarray  # float32, v-bar
    experiences: np.ndarray  # int32, experiences judged
    inbox_positive: np.ndarray  # int32, positive messages waiting
    inbox_negative: np.ndarray  # int32
    inbox_positive_p: np.ndarray  # int64, sum of their senders' P (fixed point)
    inbox_negative_p: np.ndarray  # int64
    source: np.ndarray  # int8, Source of the current (or last) ZMOT episode
    recruiter: np.ndarray  # int32, who recruited that episode (-1: nobody)
    adopted_week: np.ndarray  # int32, week of the first purchase or seeding (-1: never)
    adopted_source: np.ndarray  # int8, Source of the episode that ended in the first purchase
    adopted_recruiter: np.ndarray  # int32, that episode's recruiter
    purchases: np.ndarray  # int32, paid purchases
    shares: np.ndarray  # int32, UMOT shares made
    talk_kappa: np.ndarray  # float32, talk weight as the neighbours hear it (0: silent)
    talk_kappa_positive: np.ndarray  # float32, the same counted only while v >= 0
    # int32, i's out-ties (one per CSR entry) to customers who still listen to talk (UNAWARE,
    # ZMOT, REJECTED). A customer stops listening once, when it first buys or is seeded, so this
    # only falls; the talk push walks i's ties only while it is above 0.
    listening_ties: np.ndarray
    # int64 [n, 2]: sum of omega * kappa over talking in-neighbours ([:, 0]) and over the positive
    # ones ([:, 1]), fixed point; side by side so one cache line serves both. Kept exact for the
    # customers who can still be stimulated (UNAWARE, ZMOT, REJECTED) when q > 0; nobody else
    # reads it.
    talk_pressure: np.ndarray


def new_customers(n: int, out_degree: np.ndarray | None = None) -> Customers:
    """n customers, all UNAWARE and neutral at the start of week 0; `out_degree` (CSR entries
    per customer) starts `listening_ties`, as everybody listens (None: zeros, for a graph whose
    talk is not pushed along ties)."""
    return Customers(
        state=np.full(n, State.UNAWARE, dtype=np.int8),
        entered=np.zeros(n, dtype=np.int32),
        due=np.zeros(n, dtype=np.int32),
        expectation=np.zeros(n, dtype=np.float32),
        performance=np.zeros(n, dtype=np.float32),
        valence=np.zeros(n, dtype=np.float32),
        arousal=np.full(n, 0.5, dtype=np.float32),
        running_valence=np.zeros(n, dtype=np.float32),
        experiences=np.zeros(n, dtype=np.int32),
        inbox_positive=np.zeros(n, dtype=np.int32),
        inbox_negative=np.zeros(n, dtype=np.int32),
        inbox_positive_p=np.zeros(n, dtype=np.int64),
        inbox_negative_p=np.zeros(n, dtype=np.int64),
        source=np.full(n, Source.NONE, dtype=np.int8),
        recruiter=np.full(n, -1, dtype=np.int32),
        adopted_week=np.full(n, -1, dtype=np.int32),
        adopted_source=np.full(n, Source.NONE, dtype=np.int8),
        adopted_recruiter=np.full(n, -1, dtype=np.int32),
        purchases=np.zeros(n, dtype=np.int32),
        shares=np.zeros(n, dtype=np.int32),
        talk_kappa=np.zeros(n, dtype=np.float32),
        talk_kappa_positive=np.zeros(n, dtype=np.float32),
        listening_ties=(np.zeros(n, dtype=np.int32) if out_degree is None
                        else np.asarray(out_degree, dtype=np.int32)),
        talk_pressure=np.zeros((n, 2), dtype=np.int64),
    )


class Total(IntEnum):
    """Slots of `Market.totals`: running totals the kernel updates by deltas."""

    POOL_POSITIVE = 0  # positive posts in the public pool
    POOL_NEGATIVE = 1  # negative posts in the public pool
    POOL_POSITIVE_P = 2  # sum of the positive posts' P, fixed point
    POOL_NEGATIVE_P = 3  # sum of the negative posts' P, fixed point
    TALK = 4  # complete graph or market-wide talk: sum of all talkers' kappa, fixed point
    TALK_POSITIVE = 5  # the same over positive talkers


class WorkList(IntEnum):
    """Slots of `Market.counts`: the length of each work list."""

    TOUCHED = 0  # receivers of share messages this step
    TALK_CHANGED = 1  # customers whose talk weight may have changed


class Outbox(IntEnum):
    """Slots of `Market.outbox_count`: share messages sent this step and last step."""

    THIS_STEP = 0
    LAST_STEP = 1


class Brand(IntEnum):
    """Slots of `Market.brand`: market-wide levels carried from week to week."""

    ADSTOCK = 0  # A_{t-1}, paid media's carry-over (4.2)
    CREDIBILITY = 1  # C_t, how far customers believe the promise (4.7)
    # the budget's programmes (section 6): 1 while each runs, and what each has paid so far
    REFERRAL_ON = 2
    QUALITY_ON = 3
    REFERRAL_PAID = 4
    QUALITY_PAID = 5


class Emotion(IntEnum):
    """Slots of `Market.emotion`: what the typical experience felt like so far, to standardise
    arousal and valence as Berger & Milkman (2012) did (4.5). The sums run over every experience
    judged before this week; the reference is updated from them at the end of each week (4.7)."""

    COUNT = 0
    AROUSAL_SUM = 1
    AROUSAL_SQUARES = 2
    VALENCE_SUM = 3
    VALENCE_SQUARES = 4
    AROUSAL_MEAN = 5
    AROUSAL_SD = 6
    VALENCE_MEAN = 7
    VALENCE_SD = 8


class Message(IntEnum):
    """What a message on the graph carries (4.3, 4.5): a customer's positive or negative
    experience, or the brand's paid content passed on."""

    POSITIVE = 0
    NEGATIVE = 1
    CONTENT = 2


class Market(NamedTuple):
    """Market-wide state: the public review pool, messages in flight, work lists, totals."""

    # 3 The public pool: per step (ring buffer of pool_weeks slots) the posts and their P sums.
    pool_positive: np.ndarray  # int64 [pool_weeks]
    pool_negative: np.ndarray  # int64 [pool_weeks]
    pool_positive_p: np.ndarray  # int64 [pool_weeks], fixed point
    pool_negative_p: np.ndarray  # int64 [pool_weeks]
    totals: np.ndarray  # int64 [len(Total)], indexed by Total
    # Share messages sent this step (read by 4.3 of the next step): sender, sign, P.
    # A customer sends at most two messages a step (content on entering ZMOT, a share on leaving
    # SMOT), hence 2n.
    outbox_sender: np.ndarray  # int32 [2n]
    outbox_kind: np.ndarray  # int8 [2n], Message
    outbox_performance: np.ndarray  # float32 [2n]
    outbox_count: np.ndarray  # int64 [len(Outbox)], indexed by Outbox
    inbox_sender: np.ndarray  # int32 [2n]: last step's messages, being delivered
    inbox_kind: np.ndarray  # int8 [2n], Message
    inbox_performance: np.ndarray  # float32 [2n]
    # 4.3 Recruitment by shares: per receiver, the message (index into inbox_*) that recruits it
    # so far, and the receivers that have one.
    recruit_message: np.ndarray  # int64 [n], -1: none
    touched: np.ndarray  # int32 [n]
    # Customers whose talk weight may have changed this step (pushed at the end of the step); a
    # customer can be listed twice (bought in 4.4 and judged in 4.5 of one step), hence 2n.
    talk_changed: np.ndarray  # int32 [2n]
    # The talkers whose change is pushed along ties: their kappa (all, positive) before it.
    talk_before: np.ndarray  # float32 [2n, 2]
    counts: np.ndarray  # int64 [len(WorkList)], indexed by WorkList
    # A parallel pass's customers who acted, chunk by chunk: chunk b lists its acting customers in
    # acted[b * CHUNK:], chunk_acted[b] of them, with what each did in `outcome` (by customer).
    acted: np.ndarray  # int32 [n]
    chunk_acted: np.ndarray  # int64 [ceil(n / CHUNK)]
    outcome: np.ndarray  # int8 [n], flags of the pass that set them
    brand: np.ndarray  # float64 [len(Brand)], indexed by Brand
    emotion: np.ndarray  # float64 [len(Emotion)], indexed by Emotion
    # 3 Who is in the market (1) and can be stimulated; empty when everybody is (potential 1), so
    # that the neutral setting allocates and draws nothing.
    in_market: np.ndarray  # uint8 [n] or [0]


def new_market(n: int, pool_weeks: int, initial_adstock: float,
               emotion_prior: tuple[float, float, float, float],
               in_market: np.ndarray | None = None,
               programmes: tuple[bool, bool] = (False, False)) -> Market:
    """An empty market: no posts, no messages in flight, adstock at its steady state, the promise
    fully believed, and the typical experience at `emotion_prior` (arousal mean and sd, valence
    mean and sd) until experiences are judged. `in_market` flags the customers in the market
    (uint8, 1: in); None means everybody. `programmes` says whether the budget's referral and
    quality programmes run from the start (they have money)."""
    return Market(
        pool_positive=np.zeros(pool_weeks, dtype=np.int64),
        pool_negative=np.zeros(pool_weeks, dtype=np.int64),
        pool_positive_p=np.zeros(pool_weeks, dtype=np.int64),
        pool_negative_p=np.zeros(pool_weeks, dtype=np.int64),
        totals=np.zeros(len(Total), dtype=np.int64),
        outbox_sender=np.zeros(2 * n, dtype=np.int32),
        outbox_kind=np.zeros(2 * n, dtype=np.int8),
        outbox_performance=np.zeros(2 * n, dtype=np.float32),
        outbox_count=np.zeros(len(Outbox), dtype=np.int64),
        inbox_sender=np.zeros(2 * n, dtype=np.int32),
        inbox_kind=np.zeros(2 * n, dtype=np.int8),
        inbox_performance=np.zeros(2 * n, dtype=np.float32),
        recruit_message=np.full(n, -1, dtype=np.int64),
        touched=np.zeros(n, dtype=np.int32),
        talk_changed=np.zeros(2 * n, dtype=np.int32),
        talk_before=np.zeros((2 * n, 2), dtype=np.float32),
        counts=np.zeros(len(WorkList), dtype=np.int64),
        acted=np.zeros(n, dtype=np.int32),
        chunk_acted=np.zeros(-(-n // CHUNK), dtype=np.int64),
        outcome=np.zeros(n, dtype=np.int8),
        brand=np.array([initial_adstock, 1.0, float(programmes[0]), float(programmes[1]), 0.0,
                        0.0], dtype=np.float64),
        emotion=np.array([0.0] * Emotion.AROUSAL_MEAN + list(emotion_prior), dtype=np.float64),
        in_market=(np.zeros(0, dtype=np.uint8) if in_market is None
                   else np.ascontiguousarray(in_market, dtype=np.uint8)),
    )
