"""TOML text: writing plain data (with `tomli_w`) and finding the line that set each key.

Reading is the standard library's `tomllib`; it does not say where a key was set, so `key_lines`
scans the text for that, to point error messages at the line a user wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import tomli_w


def toml_text(data: Mapping[str, Any], header: str = "") -> str:
    """`data` (plain values, lists and tables) as a TOML document, written by `tomli_w`, with
    each line of `header` as a '# ' comment at the top, then a blank line.
    `tomllib.loads(toml_text(data)) == data` for data TOML can hold."""
    lines = [f"# {text}".rstrip() for text in header.splitlines()]
    if lines:
        lines.append("")
    return "".join(f"{line}\n" for line in lines) + tomli_w.dumps(data)


def parent_key(key: str) -> str | None:
    """The enclosing key: events[2].end -> events[2] -> events; network.n -> network."""
    if key.endswith("]") and "[" in key:
        return key[: key.rindex("[")] or None
    if "." in key:
        return key.rsplit(".", 1)[0]
    return None


_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_ARRAY_HEADER_RE = re.compile(rf"\s*\[\[\s*({_DOTTED_KEY})\s*\]\]")
_TABLE_HEADER_RE = re.compile(rf"\s*\[\s*({_DOTTED_KEY})\s*\]")
_ASSIGNMENT_RE = re.compile(rf"\s*({_DOTTED_KEY})\s*=")
_KEY_PART_RE = re.compile(_KEY_PART)


def key_lines(text: str) -> dict[str, int]:
    """The 1-based line where each dotted key (and each enclosing table) is first set in a TOML
    text, found by scanning lines and tracking [table] and [[array]] headers; the n-th
    [[events]] table is "events[n]" (from 0). Keys inside inline tables or multi-line values are
    not found; callers fall back to the enclosing key."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    prefix = ""
    open_string: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if open_string:
            if line.count(open_string) % 2:
                open_string = None
            continue
        key = None
        if match := _ARRAY_HEADER_RE.match(line):
            name = _join_key(match[1])
            prefix = key = f"{name}[{counts.get(name, 0)}]"
            counts[name] = counts.get(name, 0) + 1
        elif match := _TABLE_HEADER_RE.match(line):
            prefix = key = _join_key(match[1])
        elif match := _ASSIGNMENT_RE.match(line):
            key = f"{prefix}.{_join_key(match[1])}" if prefix else _join_key(match[1])
        while key:
            lines.setdefault(key, number)
            key = parent_key(key)
        open_string = next((quote for quote in ('"""', "'''") if line.count(quote) % 2), None)
    return lines


def _join_key(dotted: str) -> str:
    """A TOML dotted key as plain dotted text: `"a" . b` -> `a.b`."""
    return ".".join(part.strip("\"'") for part in _KEY_PART_RE.findall(dotted))
