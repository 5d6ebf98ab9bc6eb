"""Shared helpers for the tests: small scenarios built from MODEL.md's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.core.rng import replicate_seed
from sim.run.engine import Engine
from sim.scenario.load import Scenario


def make_scenario(settings: Mapping[str, Any] | None = None, events: list | None = None,
                  **top: Any) -> Scenario:
    """MODEL.md's default scenario with dotted-key `settings`, `events` and top-level keys."""
    data: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        section, name = key.split(".")
        data.setdefault(section, {})[name] = value
    data.update(top)
    if events:
        data["events"] = events
    return Scenario.from_dict(data)


def run_engine(scenario: Scenario, replicate: int = 0, graph=None) -> Engine:
    """Run replicate `replicate` of a scenario to its horizon."""
    return Engine(scenario, replicate_seed(scenario.seed, replicate), graph).run()
