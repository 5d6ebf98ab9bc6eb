"""Errors about scenario input, and the wording of values and unknown names in their messages.

`ScenarioError` is what every layer above raises for bad input (a scenario file, `--set`, a data
file); `Invalid` is the scenario layer's own signal of a bad value at a dotted key, which loading
turns into a `ScenarioError` naming the file and line that set the key.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from sim.core.errors import InputError


class ScenarioError(InputError):
    """Bad scenario input (a scenario file, `--set`, a data file); formatted as `InputError`."""


class Invalid(Exception):
    """A problem with the value at a dotted key; loading adds the file and line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message


def unknown_message(what: str, name: str, known: Iterable[str]) -> str:
    """ "unknown key 'bse'; did you mean 'base'?" (or the list of known names)."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown {what} '{name}'; did you mean '{close[0]}'?"
    return f"unknown {what} '{name}'; expected one of: {', '.join(known)}"


def show_value(value: Any) -> str:
    """A value as it would be written in a scenario file, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return f"a {type(value).__name__}"
