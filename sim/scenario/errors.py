"""Errors about scenario input, and the wording of values and unknown names in their messages.

`ScenarioError` is what every layer above raises for bad input (a scenario file, `--set`, a data
file); `Invalid` is the scenario layer's own signal of a bad value at a dotted key, which loading
turns into a `ScenarioError` naming the file and line that set the key.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


class ScenarioError(ValueError):
    """Bad scenario input. `str()` is one line, "FILE:LINE: KEY: message", leaving out the parts
    that are unknown; the parts are also attributes `file`, `line`, `key` and `message`."""

    def __init__(
        self,
        message: str,
        file: str | Path | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = " ".join(str(message).splitlines())
        self.file = Path(file) if file is not None else None
        self.key = key
        self.line = line
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(_display(self.file) + (f":{self.line}" if self.line else ""))
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return ": ".join(parts)

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), (self.message, self.file, self.key, self.line)


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


def _display(path: Path) -> str:
    """A path relative to the current directory when it lies below it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)
