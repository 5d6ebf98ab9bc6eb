"""What a calibration fits: scenario keys, the range searched and its scale, from `--fit`
arguments or the default set."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from sim.scenario import Scenario, ScenarioError
from sim.scenario.schema import SECTIONS

# Rates per year span orders of magnitude between products (p from 0.0003 to over 1 per year in
# Sultan, Farley & Lehmann 1990's meta-analysis and the data shipped here): searched on a log
# scale, over default ranges wide enough for any of them.
RATE_RANGES: dict[str, tuple[float, float]] = {
    "market.innovation": (1e-4, 5.0),
    "market.imitation": (1e-3, 20.0),
}
# The default fit: the Bass triple, and on a real network how much imitation runs through ties.
DEFAULT_KEYS = ("market.innovation", "market.imitation", "market.potential")
NETWORK_DEFAULT_KEYS = ("market.mixing",)
_POTENTIAL_LOW = 0.02  # a market potential below 2% of the customers is no market
_NEAR_BOUND = 0.02  # a fitted value this close to an end of its range (share of the range) warns


@dataclass(frozen=True)
class FitKey:
    """A scenario key to fit, searched over [low, high] on a linear or log scale; `start` is
    the scenario's value, `limits` the values the key can take at all (None: unbounded)."""

    key: str
    low: float
    high: float
    start: float
    log: bool = False
    limits: tuple[float | None, float | None] = (None, None)

    def value(self, unit: float) -> float:
        """The key's value at position `unit` in [0, 1] along its range (clipped)."""
        unit = min(max(float(unit), 0.0), 1.0)
        if self.log:
            return float(math.exp(math.log(self.low) + unit * math.log(self.high / self.low)))
        return self.low + unit * (self.high - self.low)

    def unit(self, value: float) -> float:
        """The position in [0, 1] along the range of `value` (the inverse of `value`)."""
        if self.log:
            return math.log(value / self.low) / math.log(self.high / self.low)
        return (value - self.low) / (self.high - self.low)

    def bound_warning(self, value: float) -> str | None:
        """A sentence when `value` lies within 2% of an end of the range, else None: at one of
        the key's own limits the data favour that limit; elsewhere the best value may lie
        beyond the range searched."""
        position = self.unit(value)
        if _NEAR_BOUND <= position <= 1.0 - _NEAR_BOUND:
            return None
        end, name = (self.low, "lower") if position < 0.5 else (self.high, "upper")
        if end in self.limits:
            return (f"{self.key} = {value:.4g} is at its {name} limit {end:g}: the data favour "
                    f"the limit itself")
        return (f"{self.key} = {value:.4g} is within 2% of the {name} end of the range searched "
                f"({self.low:g} to {self.high:g}): the best value may lie beyond it; widen the "
                f"range with --fit {self.key}=LOW:HIGH")


def to_values(keys: list[FitKey], unit_x: np.ndarray) -> np.ndarray:
    """The keys' values at unit coordinates `unit_x` (one per key)."""
    return np.array([k.value(u) for k, u in zip(keys, np.atleast_1d(unit_x), strict=True)])


def default_fit(scenario: Scenario) -> list[FitKey]:
    """The keys fitted when none are given: innovation, imitation and market potential, and the
    market-wide share of imitation (`market.mixing`) when the network is an edge list."""
    names = DEFAULT_KEYS + (NETWORK_DEFAULT_KEYS if scenario.network.kind == "edgelist" else ())
    return [parse_fit(name, scenario) for name in names]


def parse_fit(spec: str, scenario: Scenario) -> FitKey:
    """A `--fit` argument, "KEY" or "KEY=LOW:HIGH", checked against the scenario.

    KEY is a real-valued section parameter (`market.innovation`, `sharing.base`, ...); network
    keys are not (every candidate runs on the same graph). Without bounds, a rate per year
    (innovation, imitation) is searched over `RATE_RANGES`, the market potential from 2% to 1,
    a key whose schema range has both ends over it, and any other over [its lower limit, or 0;
    10 times the scenario's value]. Rates are searched on a log scale when the range is
    positive, other keys on a linear one. Both bounds are validated as scenario values. Raises
    ScenarioError.
    """
    key, sep, bounds = (part.strip() for part in spec.partition("="))
    section, _, name = key.partition(".")
    meta = next((f.metadata for f in fields(SECTIONS[section]) if f.name == name), None) \
        if section in SECTIONS else None
    if meta is None:
        scenario.get(key)  # an unknown key gets the usual error, with a did-you-mean
        raise ScenarioError("only section parameters (section.key) can be fitted", key=key)
    if section == "network":
        raise ScenarioError("network keys cannot be fitted: every candidate runs on the same "
                            "graph", key=key)
    if meta["type"] != "float":
        raise ScenarioError(f"only real-valued keys can be fitted; this one is {meta['type']}",
                            key=key)
    start = float(scenario.get(key))
    if sep:
        low, high = _given_range(spec, key, bounds)
    elif key in RATE_RANGES:
        low, high = RATE_RANGES[key]
    elif key == "market.potential":
        low, high = _POTENTIAL_LOW, 1.0
    elif meta["low"] is not None and meta["high"] is not None:
        low, high = float(meta["low"]), float(meta["high"])
    elif start > 0:
        low = float(meta["low"]) if meta["low"] is not None else 0.0
        high = 10.0 * start
    else:
        raise ScenarioError(f"give the range to search: --fit {key}=LOW:HIGH", key=key)
    if not low < high:
        raise ScenarioError(f"the range {low:g}:{high:g} is empty: LOW must be below HIGH",
                            key=key)
    for bound in (low, high):
        scenario.with_overrides({key: bound})
    limits = (meta["low"], meta["high"])
    return FitKey(key, low, high, start, log=key in RATE_RANGES and low > 0, limits=limits)


def _given_range(spec: str, key: str, bounds: str) -> tuple[float, float]:
    """LOW and HIGH of "KEY=LOW:HIGH"; ScenarioError unless both are finite numbers."""
    low_text, colon, high_text = bounds.partition(":")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        low = high = math.nan
    if not colon or not (math.isfinite(low) and math.isfinite(high)):
        raise ScenarioError(f"expected KEY=LOW:HIGH with two numbers, got {spec!r}", key=key)
    return low, high
