"""Counter-based random draws (MODEL.md section 2; DESIGN.md principle 3).

Every draw is a pure function of (run seed, step, customer id, purpose[, other id][, index]):
SplitMix64's finaliser mixes the counters, and the top 53 bits make a float64 uniform in [0, 1).
An event of probability x happens when u < x, so x = 0 never and x = 1 always happens. Results do
not depend on iteration order or thread count, and two scenarios with the same seed draw the same
numbers for the same decisions (common random numbers).

Use: `key = step_key(seed, step)` once per step, then `uniform(key, id, purpose, index)` or
`uniform_pair(key, id, purpose, other)`; a customer drawing several numbers in a step hoists
`ck = customer_key(key, id)` and calls `draw(ck, purpose, index)` (the same numbers).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_MUL1 = uint64(0xBF58476D1CE4E5B9)
_MUL2 = uint64(0x94D049BB133111EB)
_PURPOSE = uint64(0xD1B54A32D192ED03)
_INDEX = uint64(0xA0761D6478BD642F)
_OTHER = uint64(0xE7037ED1A0B428DB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
NEVER = 2**30  # "no due week": beyond any horizon, and safe to add a week to in int32


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijection on 64-bit words."""
    z = uint64(z)
    z = (z ^ (z >> uint64(30))) * _MUL1
    z = (z ^ (z >> uint64(27))) * _MUL2
    return z ^ (z >> uint64(31))


@njit(cache=True, inline="always")
def step_key(seed: int, step: int) -> np.uint64:
    """The key of all draws of one step of one run."""
    return mix64(mix64(uint64(seed) + _GOLDEN) + uint64(step + 1) * _GOLDEN)


@njit(cache=True, inline="always")
def _to_unit(h: np.uint64) -> float:
    return float(h >> uint64(11)) * _TO_UNIT


@njit(cache=True, inline="always")
def customer_key(key: np.uint64, customer: int) -> np.uint64:
    """The key of one customer's draws in one step (hoist it when a customer draws several)."""
    return mix64(key + uint64(customer) * _GOLDEN)


@njit(cache=True, inline="always")
def draw(customer_key_: np.uint64, purpose: int, index: int = 0) -> float:
    """A uniform in [0, 1) for (customer key, purpose, index)."""
    return _to_unit(mix64(customer_key_ + uint64(purpose) * _PURPOSE + uint64(index) * _INDEX))


@njit(cache=True, inline="always")
def uniform(key: np.uint64, customer: int, purpose: int, index: int = 0) -> float:
    """A uniform in [0, 1) for (step key, customer, purpose, index)."""
    return draw(customer_key(key, customer), purpose, index)


@njit(cache=True, inline="always")
def uniform_pair(key: np.uint64, customer: int, purpose: int, other: int) -> float:
    """A uniform in [0, 1) for a decision about a pair of customers (e.g. a message's delivery,
    keyed by sender and receiver)."""
    h = mix64(customer_key(key, customer) + uint64(purpose) * _PURPOSE)
    return _to_unit(mix64(h + uint64(other) * _OTHER))


@njit(cache=True, inline="always")
def normal(customer_key_: np.uint64, purpose_a: int, purpose_b: int) -> float:
    """A standard normal by Box-Muller; the first uniform is mapped to (0, 1] so log is finite."""
    u1 = 1.0 - draw(customer_key_, purpose_a)
    u2 = draw(customer_key_, purpose_b)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, inline="always")
def geometric(customer_key_: np.uint64, purpose: int, probability: float) -> int:
    """Failures before the first success of Bernoulli(probability) trials, from one uniform:
    P(k >= j) = (1 - probability)^j exactly; probability >= 1 gives 0, probability 0 "never"
    (a very large number)."""
    if probability >= 1.0:
        return 0
    if probability <= 0.0:
        return NEVER
    u = 1.0 - draw(customer_key_, purpose)  # in (0, 1]
    k = math.floor(math.log(u) / math.log1p(-probability))
    return NEVER if k > NEVER else int(k)


def replicate_seed(seed: int, replicate: int) -> int:
    """The run seed of replicate r of a scenario seeded `seed` (63 bits, so it fits int64 tables).

    Replicate r of every scenario with the same seed gets the same run seed: common random numbers.
    """
    # As uint64, so that every seed from 0 to 2**64 - 1 takes the same compiled path.
    return int(mix64(np.uint64(step_key(np.uint64(seed), replicate)))) >> 1


def derived_seed(seed: int, label: int) -> int:
    """A seed for a sub-purpose of a scenario (e.g. the graph), independent of the run seeds."""
    return int(mix64(mix64(np.uint64(seed) ^ np.uint64(0x5EED)) + np.uint64(label))) >> 1
