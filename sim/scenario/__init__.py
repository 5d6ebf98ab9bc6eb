"""Scenario files: the schema of keys, loading, `extends`, `--set`, validation and the events.

Owns everything that turns a TOML file (or a dict, or `--set` overrides) into a validated, frozen
`Scenario`, writes a scenario back as TOML, and turns the what-if timeline into per-week levers.
May import `sim.core` and `sim.graph`.
"""

from sim.scenario.errors import ScenarioError, show_value, unknown_message
from sim.scenario.load import EVENT_KEY_RE, Scenario, parse_assignment
from sim.scenario.toml_io import key_lines, toml_text
from sim.scenario.validate import memory_estimate_bytes

__all__ = [
    "EVENT_KEY_RE",
    "Scenario",
    "ScenarioError",
    "key_lines",
    "memory_estimate_bytes",
    "parse_assignment",
    "show_value",
    "toml_text",
    "unknown_message",
]
