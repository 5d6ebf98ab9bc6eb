"""Scenario files: the schema of keys, loading, `extends`, `--set`, validation and the events.

Owns everything that turns a TOML file (or a dict, or `--set` overrides) into a validated, frozen
`Scenario`, and the what-if timeline into per-week levers. May import `sim.core` and `sim.graph`.
"""

from sim.scenario.load import Scenario, ScenarioError

__all__ = ["Scenario", "ScenarioError"]
