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
    """Bad scenario input (a scenario file, `--set`, a data file); formatted as `InputError`,
    then one line for each of the `more` problems found in the same file, if any."""

    def __init__(self, message: str, file: Any = None, key: str | None = None,
                 line: int | None = None, more: tuple[ScenarioError, ...] = ()) -> None:
        super().__init__(message, file=file, key=key, line=line)
        self.more = tuple(more)

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *(str(problem) for problem in self.more)])

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), (self.message, self.file, self.key, self.line, self.more)


class Invalid(Exception):
    """A problem with the value at a dotted key; loading adds the file and line. `more` holds
    further problems found in the same pass, each an `Invalid`."""

    def __init__(self, key: str, message: str, more: tuple[Invalid, ...] = ()) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message
        self.more = tuple(more)


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
