"""What a calibration fits: scenario keys and the ranges searched, read from `--fit` arguments."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from sim.scenario import Scenario, ScenarioError
from sim.scenario.schema import SECTIONS


@dataclass(frozen=True)
class FitKey:
    """A scenario key to fit, searched over [low, high]; `start` is the scenario's value."""

    key: str
    low: float
    high: float
    start: float


def parse_fit(spec: str, scenario: Scenario) -> FitKey:
    """A `--fit` argument, "KEY" or "KEY=LOW:HIGH", checked against the scenario.

    KEY is a real-valued section parameter (`market.innovation`, `sharing.base`, ...); network
    keys are not (every candidate runs on the same graph). Without bounds, a key whose schema
    range has both ends is searched over it; any other over [its lower limit, or 0; 10 times the
    scenario's value]. Both bounds are validated as scenario values. Raises ScenarioError.
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
        low_text, colon, high_text = bounds.partition(":")
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            low = high = math.nan
        if not colon or not (math.isfinite(low) and math.isfinite(high)):
            raise ScenarioError(f"expected KEY=LOW:HIGH with two numbers, got {spec!r}", key=key)
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
    return FitKey(key, low, high, start)
