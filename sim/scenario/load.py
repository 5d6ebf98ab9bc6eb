"""Scenario files: TOML in, a validated, frozen `Scenario` out (DESIGN.md "Scenario files").

A scenario file sets the keys of the schema in `sim.parameters`: top-level `name`, `description`,
`weeks`, `seed`, `replications` and `extends`, one table per section (`[network]`, `[market]`,
...) and an array of `[[events]]`. Loading only parses data with the standard-library `tomllib`:
nothing in a file is evaluated, imported or unpickled.

Values arrive in layers: a file may `extends = "other.toml"` (relative to itself), whose values it
inherits section by section, key by key, with its own `[[events]]` appended after the parent's;
overrides (dotted keys such as `sharing.base`, or `events[0].spend`) come last. `name` and
`description` describe one file and are not inherited: `name` defaults to the file's stem.

Every value, whether from a file, an override or a dict, is checked by one function,
`_check_value`, against the type and range in its field's metadata; the checks that tie keys
together (event windows, graph constraints, memory) follow. A problem raises `ScenarioError`
naming the file, the dotted key and, where it can be found, the line that set the key. Event
indices in keys (`events[0]`) count from 0 over the merged list, parents' events first.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import numbers
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from sim.scenario.schema import (
    EVENT_KEYS,
    SECTIONS,
    EconomicsParams,
    Event,
    JourneyParams,
    LoyaltyParams,
    MarketParams,
    MediaParams,
    NetworkParams,
    ProductParams,
    SharingParams,
    TopParams,
)
from sim.graph.seeding import GREEDY_MAX_NODES

_TOP_FIELDS: dict[str, Field] = {f.name: f for f in fields(TopParams)}
_EVENT_FIELDS: dict[str, Field] = {f.name: f for f in fields(Event)}
_SECTION_FIELDS: dict[str, dict[str, Field]] = {
    name: {f.name: f for f in fields(cls)} for name, cls in SECTIONS.items()
}
EVENT_KEY_RE = re.compile(r"events\[(\d+)\]\.(\w+)")
_NOT_INHERITED = ("name", "description")  # they describe one file, not what it extends

# Memory a run needs (see `memory_estimate_bytes`), in bytes.
_BYTES_PER_CUSTOMER = 64  # state arrays, inbox, history share
_BYTES_PER_ENTRY = 8  # int32 neighbour index + float32 tie weight
_BYTES_PER_NODE_INDEX = 8  # int64 indptr


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


class _Invalid(Exception):
    """A problem with the value at a dotted key; `_Draft.build` adds the file and line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message


class _Origin(NamedTuple):
    """Where a value was set: file (None for overrides), line, and the folder its paths are
    relative to."""

    file: Path | None
    line: int | None
    base_dir: Path


@dataclass(frozen=True)
class Scenario:
    """A fully resolved, validated scenario: every parameter of a run.

    Equality compares the content only (`path` and `extends` record where it came from).
    """

    name: str
    description: str
    weeks: int
    seed: int
    replications: int
    network: NetworkParams
    market: MarketParams
    media: MediaParams
    journey: JourneyParams
    product: ProductParams
    sharing: SharingParams
    loyalty: LoyaltyParams
    economics: EconomicsParams
    events: tuple[Event, ...] = ()
    path: Path | None = field(default=None, compare=False)
    extends: Path | None = field(default=None, compare=False)

    @classmethod
    def load(
        cls,
        path: str | Path,
        overrides: Mapping[str, Any] | Sequence[str] | None = None,
    ) -> Scenario:
        """Read, merge (`extends`), override and validate a scenario file.

        `overrides` are dotted keys with values (`{"sharing.base": 0.3}`) or `"key=value"` strings
        as given to the CLI's `--set` (see `parse_assignment`). Raises `ScenarioError` on any
        problem, before any work is done.
        """
        path = Path(path).expanduser().resolve()
        draft = _Draft(fallback_file=path)
        parent = draft.add_file(path, chain=())
        if overrides:
            draft.add_overrides(overrides)
        return draft.build(path=path, extends=parent, default_name=path.stem)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        file: Path | None = None,
        base_dir: Path | None = None,
    ) -> Scenario:
        """Validate a scenario given as nested data, as a TOML file would hold it.

        `file` names the source in errors and gives the default name; relative paths (`extends`,
        `network.path`) are relative to `base_dir`, else to `file`'s folder, else to the current
        directory. Missing keys take the defaults of `sim.parameters`.
        """
        file = Path(file).expanduser().resolve() if file is not None else None
        if base_dir is not None:
            base = Path(base_dir).expanduser().resolve()
        else:
            base = file.parent if file is not None else Path.cwd()
        draft = _Draft(fallback_file=file)
        parent = draft.add_table(dict(data), file=file, lines={}, base_dir=base, chain=())
        return draft.build(path=file, extends=parent, default_name=file.stem if file else None)

    @classmethod
    def default(cls) -> Scenario:
        """The default market of MODEL.md: every parameter at its default, no events."""
        return cls.from_dict({})

    def with_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> Scenario:
        """A copy with dotted keys (`sharing.base`, `weeks`, `events[0].spend`) changed, validated
        exactly as a file is; relative paths in overrides are relative to the current directory."""
        draft = _Draft(fallback_file=self.path)
        draft.add_table(self.to_dict(), file=self.path, lines={}, base_dir=Path.cwd(), chain=())
        draft.add_overrides(overrides)
        return draft.build(path=self.path, extends=self.extends, default_name=None)

    def get(self, dotted_key: str) -> Any:
        """The value at a dotted key: `weeks`, `sharing.base`, `events`, `events[0].spend`, or a
        section's parameter object (`network`)."""
        flat = self._flat()
        if dotted_key in flat:
            return flat[dotted_key]
        if dotted_key in SECTIONS:
            return getattr(self, dotted_key)
        match = EVENT_KEY_RE.fullmatch(dotted_key)
        if match and match[2] in _EVENT_FIELDS:
            index = int(match[1])
            if index >= len(self.events):
                raise ScenarioError(f"no such event: the scenario has {len(self.events)}",
                                    key=dotted_key)
            return getattr(self.events[index], match[2])
        raise ScenarioError(unknown_message("key", dotted_key, flat), key=dotted_key)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as nested plain data, ready for TOML: top-level keys, one table
        per section, `events` as a list of tables; unset (None) values left out, lists as lists,
        `network.path` absolute, no `extends`."""
        out: dict[str, Any] = {key: getattr(self, key) for key in _TOP_FIELDS}
        for section in SECTIONS:
            out[section] = _plain_table(getattr(self, section))
        if self.events:
            out["events"] = [_plain_table(event) for event in self.events]
        return out

    def to_toml(self, header: str = "") -> str:
        """The resolved scenario as a TOML file (no `extends`), each line of `header` written as a
        '# ' comment at the top. `Scenario.from_dict(tomllib.loads(s.to_toml())) == s`."""
        lines = [f"# {text}".rstrip() for text in header.splitlines()]
        if lines:
            lines.append("")
        data = self.to_dict()
        lines += [f"{key} = {_toml_value(data[key])}" for key in _TOP_FIELDS]
        for section in SECTIONS:
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in data[section].items()]
        for event in data.get("events", []):
            lines += ["", "[[events]]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in event.items()]
        return "\n".join(lines) + "\n"

    def differences(self, other: Scenario) -> dict[str, tuple[Any, Any]]:
        """Dotted key -> (value here, value in `other`) for every parameter that differs; the
        event timelines are compared as a whole, under the key "events"."""
        mine, theirs = self._flat(), other._flat()
        return {key: (mine[key], theirs[key]) for key in mine if mine[key] != theirs[key]}

    def stable_hash(self) -> str:
        """Hex SHA-256 of what determines the results (the canonical `to_dict()` without `name`,
        `description` and `replications`): equal for equal scenarios, in any process."""
        data = self.to_dict()
        for key in ("name", "description", "replications"):
            del data[key]
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    def _flat(self) -> dict[str, Any]:
        """Every parameter by dotted key, events as one tuple under "events"."""
        flat: dict[str, Any] = {key: getattr(self, key) for key in _TOP_FIELDS}
        for section, section_fields in _SECTION_FIELDS.items():
            params = getattr(self, section)
            for key in section_fields:
                flat[f"{section}.{key}"] = getattr(params, key)
        flat["events"] = self.events
        return flat


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split a CLI `--set` string "key=value" into the key and the value read as a TOML value;
    a value that is not valid TOML (a bare word such as `erdos_renyi`) is taken as a string.
    Raises `ScenarioError` when there is no "=" or no key."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep:
        raise ScenarioError(f"expected KEY=VALUE, got {text!r}")
    if not key:
        raise ScenarioError(f"expected a key before '=', got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        return key, raw
    return key, parsed["v"] if parsed.keys() == {"v"} else raw


def memory_estimate_bytes(network: NetworkParams) -> int:
    """Rough bytes a run on this network needs: 64 per customer, 8 per stored edge entry (int32
    index + float32 weight; n * mean_degree entries, undirected edges being stored both ways) and
    8 per customer for the CSR row index. The complete graph is implicit (customers only); for an
    edge list the file's size is the proxy (its file must exist)."""
    if network.kind == "edgelist":
        return Path(network.path).stat().st_size
    customers = _customer_count(network)
    if network.kind == "complete":
        return customers * _BYTES_PER_CUSTOMER
    if network.kind == "configuration":
        entries = sum(network.degrees)
    else:
        entries = round(customers * network.mean_degree)
    return (customers * (_BYTES_PER_CUSTOMER + _BYTES_PER_NODE_INDEX)
            + entries * _BYTES_PER_ENTRY)


# --- assembling layers -----------------------------------------------------------------------


class _Draft:
    """The merged raw values of a scenario's layers, with where each value was set."""

    def __init__(self, fallback_file: Path | None) -> None:
        self.data: dict[str, Any] = {}
        self.origin: dict[str, _Origin] = {}
        self.fallback_file = fallback_file

    def add_file(self, path: Path, chain: tuple[Path, ...]) -> Path | None:
        """Merge a TOML file (after the files it extends); return the file it extends."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError("file not found", file=path) from None
        except UnicodeDecodeError:
            raise ScenarioError("not UTF-8 text", file=path) from None
        except OSError as exc:
            raise ScenarioError(f"cannot read the file: {exc.strerror}", file=path) from None
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            found = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
            if found:
                raise ScenarioError(message[: found.start()], file=path,
                                    line=int(found[1])) from None
            raise ScenarioError(message, file=path) from None
        return self.add_table(table, file=path, lines=key_lines(text), base_dir=path.parent,
                              chain=chain)

    def add_table(
        self,
        table: dict[str, Any],
        *,
        file: Path | None,
        lines: Mapping[str, int],
        base_dir: Path,
        chain: tuple[Path, ...],
    ) -> Path | None:
        """Merge one layer's nested data (after what it extends); return the file it extends."""
        parent = None
        if "extends" in table:
            parent = self._add_parent(table.pop("extends"), file, lines.get("extends"),
                                      base_dir, chain)
        self._merge(table, file, lines, base_dir)
        return parent

    def add_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> None:
        """Apply dotted-key overrides (a mapping, or "key=value" strings) as the last layer."""
        if isinstance(overrides, Mapping):
            items = list(overrides.items())
        elif isinstance(overrides, str):
            items = [parse_assignment(overrides)]
        else:
            items = [parse_assignment(text) for text in overrides]
        cwd = Path.cwd()
        table: dict[str, Any] = {}
        for key, value in items:
            event_key = EVENT_KEY_RE.fullmatch(key)
            if event_key:
                events = self.data.get("events", [])
                if int(event_key[1]) >= len(events):
                    raise ScenarioError(f"no such event: the scenario has {len(events)}", key=key)
                events[int(event_key[1])][event_key[2]] = value
                self.origin[key] = _Origin(None, None, cwd)
            elif key in ("extends", "events"):
                raise ScenarioError("cannot be overridden", key=key)
            elif "." in key:
                section, sub = key.split(".", 1)
                table.setdefault(section, {})[sub] = value
            else:
                table[key] = value
        self._merge(table, None, {}, cwd)

    def build(self, *, path: Path | None, extends: Path | None,
              default_name: str | None) -> Scenario:
        """Validate the merged values into a `Scenario`, locating any problem."""
        try:
            return _validate(self, path, extends, default_name)
        except _Invalid as problem:
            file, line = self.locate(problem.key)
            raise ScenarioError(problem.message, file=file, key=problem.key, line=line) from None

    def locate(self, key: str) -> tuple[Path | None, int | None]:
        """Where a key was set (an override has no file), else the file and line of the nearest
        enclosing key a file set (the section, the event), else the scenario's own file."""
        if key in self.origin:
            return self.origin[key].file, self.origin[key].line
        current = _parent_key(key)
        while current:
            origin = self.origin.get(current)
            if origin is not None and origin.file is not None:
                return origin.file, origin.line
            current = _parent_key(current)
        return self.fallback_file, None

    def base_dir(self, key: str) -> Path:
        """The folder a relative path set at `key` is relative to."""
        return self.origin[key].base_dir if key in self.origin else Path.cwd()

    def _add_parent(self, extends: Any, file: Path | None, line: int | None, base_dir: Path,
                    chain: tuple[Path, ...]) -> Path:
        """Merge the file named by `extends`, refusing cycles and missing files."""
        if not isinstance(extends, str | os.PathLike):
            raise ScenarioError(f"expected a file name, got {show_value(extends)}", file=file,
                                key="extends", line=line)
        parent = (base_dir / Path(extends).expanduser()).resolve()
        visited = (*chain, file) if file is not None else chain
        if parent in visited:
            cycle = [*visited[visited.index(parent):], parent]
            common = Path(os.path.commonpath(cycle)) if len(set(cycle)) > 1 else parent.parent
            raise ScenarioError("files extend each other in a cycle: "
                                + " -> ".join(str(p.relative_to(common)) for p in cycle),
                                file=file, key="extends", line=line)
        if not parent.is_file():
            raise ScenarioError(f"extended file not found: {parent}", file=file, key="extends",
                                line=line)
        self.add_file(parent, visited)
        for key in _NOT_INHERITED:
            self.data.pop(key, None)
            self.origin.pop(key, None)
        return parent

    def _merge(self, table: Mapping[str, Any], file: Path | None, lines: Mapping[str, int],
               base_dir: Path) -> None:
        """Overlay one layer: sections key by key, events appended, other keys replaced."""

        def note(key: str, local_key: str | None = None) -> None:
            self.origin[key] = _Origin(file, lines.get(local_key or key), base_dir)

        for key, value in table.items():
            if key == "events":
                if not isinstance(value, list | tuple) or not all(
                    isinstance(event, Mapping) for event in value
                ):
                    raise ScenarioError(f"expected an array of tables ([[events]]), got "
                                        f"{show_value(value)}", file=file, key=key,
                                        line=lines.get(key))
                note(key)
                events = self.data.setdefault("events", [])
                for local, event in enumerate(value):
                    merged = f"events[{len(events)}]"
                    note(merged, f"events[{local}]")
                    for name in event:
                        note(f"{merged}.{name}", f"events[{local}].{name}")
                    events.append(dict(event))
            elif key in SECTIONS:
                if not isinstance(value, Mapping):
                    raise ScenarioError(f"expected a table [{key}], got {show_value(value)}",
                                        file=file, key=key, line=lines.get(key))
                note(key)
                section = self.data.setdefault(key, {})
                for name, item in value.items():
                    note(f"{key}.{name}")
                    section[name] = item
            else:
                note(key)
                self.data[key] = value


# --- validation ------------------------------------------------------------------------------


def _validate(draft: _Draft, path: Path | None, extends: Path | None,
              default_name: str | None) -> Scenario:
    """Check every value and every rule tying values together; raise `_Invalid` on the first
    problem found."""
    data = draft.data
    known = [*_TOP_FIELDS, *SECTIONS, "events"]
    for key, value in data.items():
        if key not in known:
            what = "section" if isinstance(value, Mapping) else "key"
            raise _Invalid(key, unknown_message(what, key, [*known, "extends"]))
    top = {key: _check_value(data[key], spec, key, draft.base_dir(key))
           for key, spec in _TOP_FIELDS.items() if key in data}
    if default_name is not None:
        top.setdefault("name", default_name)
    top_params = TopParams(**top)
    if not top_params.name.strip() or top_params.name in (".", "..") or any(
        sep in top_params.name for sep in "/\\"
    ):
        raise _Invalid("name", f"must be a non-empty name without '/' or '\\', got "
                               f"{show_value(top_params.name)}")

    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        raw = data.get(section, {})
        values = {}
        for key, value in raw.items():
            dotted = f"{section}.{key}"
            if key not in _SECTION_FIELDS[section]:
                raise _Invalid(dotted, unknown_message("key", key, _SECTION_FIELDS[section]))
            values[key] = _check_value(value, _SECTION_FIELDS[section][key], dotted,
                                       draft.base_dir(dotted))
        sections[section] = cls(**values)
    _check_network(sections["network"], sections["sharing"])

    customers = _customer_count(sections["network"])
    events = tuple(_check_event(raw, index, top_params.weeks, customers, draft)
                   for index, raw in enumerate(data.get("events", [])))
    return Scenario(
        name=top_params.name, description=top_params.description, weeks=top_params.weeks,
        seed=top_params.seed, replications=top_params.replications, **sections, events=events,
        path=path, extends=extends,
    )


def _check_value(value: Any, spec: Field, key: str, base_dir: Path) -> Any:
    """The value checked against its field's metadata (type, range, choices) and converted to the
    stored form (float, int, tuple, absolute path); raises `_Invalid` naming `key`."""
    meta = spec.metadata
    kind = meta["type"]
    if value is None:
        if meta["optional"]:
            return None
        raise _Invalid(key, "must be set")
    if kind == "float":
        return _check_range(_as_float(value, key), value, meta, key)
    if kind == "int":
        return _check_range(_as_int(value, key), value, meta, key)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Invalid(key, f"expected true or false, got {show_value(value)}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise _Invalid(key, f"expected a string, got {show_value(value)}")
        choices = meta["choices"]
        if choices and value not in choices:
            listed = ", ".join(f"'{choice}'" for choice in choices)
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _Invalid(key, f"must be one of {listed}, got {show_value(value)}{hint}")
        return value
    if kind == "path":
        if not isinstance(value, str | os.PathLike) or not str(value):
            raise _Invalid(key, f"expected a file path, got {show_value(value)}")
        return str((base_dir / Path(value).expanduser()).resolve())
    if kind in ("int_list", "node_list"):
        if not isinstance(value, list | tuple):
            raise _Invalid(key, f"expected a list, got {show_value(value)}")
        items = []
        for index, item in enumerate(value):
            item_key = f"{key}[{index}]"
            if kind == "node_list" and isinstance(item, str):
                items.append(item)
            elif kind == "node_list" and not isinstance(item, numbers.Integral):
                raise _Invalid(item_key, f"expected a customer id (integer) or label (string), "
                                         f"got {show_value(item)}")
            else:
                items.append(_check_range(_as_int(item, item_key), item, meta, item_key))
        if kind == "node_list":
            seen: set[Any] = set()
            for item in items:
                if item in seen:
                    raise _Invalid(key, f"node {show_value(item)} is listed twice")
                seen.add(item)
        return tuple(items)
    raise AssertionError(f"unknown parameter type {kind!r} for {key}")


def _as_float(value: Any, key: str) -> float:
    """A finite real number (not a bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Invalid(key, f"expected a number, got {show_value(value)}")
    if not math.isfinite(value):
        raise _Invalid(key, f"must be a finite number, got {show_value(value)}")
    return float(value)


def _as_int(value: Any, key: str) -> int:
    """An integer (not a bool, not a float even when whole) as an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _Invalid(key, f"expected an integer, got {show_value(value)}")
    return int(value)


def _check_range(number: float, given: Any, meta: Mapping[str, Any], key: str) -> Any:
    """`number` if it lies within the metadata's bounds, else `_Invalid` quoting `given`."""
    low, high = meta["low"], meta["high"]
    too_low = low is not None and (number <= low if meta["low_open"] else number < low)
    too_high = high is not None and (number >= high if meta["high_open"] else number > high)
    if too_low or too_high:
        if low is not None and high is not None and not (meta["low_open"] or meta["high_open"]):
            allowed = f"between {low} and {high}"
        else:
            bounds = []
            if low is not None:
                bounds.append(f"{'>' if meta['low_open'] else '>='} {low}")
            if high is not None:
                bounds.append(f"{'<' if meta['high_open'] else '<='} {high}")
            allowed = " and ".join(bounds)
        raise _Invalid(key, f"must be {allowed}, got {show_value(given)}")
    return number


def _check_network(network: NetworkParams, sharing: SharingParams) -> None:
    """The graph can be built as asked, shares are possible on it, and it fits in memory."""
    kind, n, degree = network.kind, network.n, network.mean_degree
    if kind == "edgelist":
        if network.path is None:
            raise _Invalid("network.path", "required when network.kind = 'edgelist'")
        if not Path(network.path).is_file():
            raise _Invalid("network.path", f"edge-list file not found: {network.path}")
    elif kind == "configuration":
        if network.degrees is None:
            raise _Invalid("network.degrees", "required when network.kind = 'configuration'")
        if not network.degrees:
            raise _Invalid("network.degrees", "must list at least one degree")
        if sum(network.degrees) % 2:
            raise _Invalid("network.degrees",
                           f"must have an even sum, got {sum(network.degrees)}")
    elif kind == "watts_strogatz":
        if not (degree.is_integer() and degree % 2 == 0 and degree < n):
            raise _Invalid("network.mean_degree", f"must be an even whole number less than n "
                                                  f"({n}) for watts_strogatz, got {degree:g}")
    elif kind == "random_regular":
        if not (degree.is_integer() and degree < n):
            raise _Invalid("network.mean_degree", f"must be a whole number less than n ({n}) "
                                                  f"for random_regular, got {degree:g}")
        if (n * int(degree)) % 2:
            raise _Invalid("network.mean_degree", f"n * mean_degree must be even for "
                                                  f"random_regular, got {n} * {degree:g}")
    elif kind == "barabasi_albert":
        m = degree / 2
        if not (m.is_integer() and 1 <= m < n):
            raise _Invalid("network.mean_degree", f"must be 2m for a whole m with 1 <= m < n "
                                                  f"({n}) for barabasi_albert, got {degree:g}")
    elif kind == "erdos_renyi":
        if degree > n - 1:
            raise _Invalid("network.mean_degree", f"must be at most n - 1 ({n - 1}) for "
                                                  f"erdos_renyi, got {degree:g}")
    elif kind == "complete" and sharing.base > 0:
        raise _Invalid("sharing.base",
                       "shares are not allowed on the complete graph; set sharing.base = 0")

    needed, available = memory_estimate_bytes(network), _available_memory_bytes()
    if available is not None and needed > available:
        have = f"this machine has {available / 1e9:,.1f} GB available"
        if kind == "edgelist":
            raise _Invalid("network.path", f"this edge list needs about {needed / 1e9:,.1f} GB; "
                                           f"{have}")
        key = "network.degrees" if kind == "configuration" else "network.n"
        raise _Invalid(key, f"a network of {_customer_count(network):,} customers needs about "
                            f"{needed / 1e9:,.1f} GB; {have}")


def _check_event(raw: Mapping[str, Any], index: int, weeks: int, customers: int | None,
                 draft: _Draft) -> Event:
    """One [[events]] table as an `Event`: its kind's keys, types, window within the horizon,
    and the kind's own rules (seed: count or nodes; referral: reward or boost)."""
    prefix = f"events[{index}]"
    if "kind" not in raw:
        raise _Invalid(f"{prefix}.kind", "missing required key 'kind'")
    kind = _check_value(raw["kind"], _EVENT_FIELDS["kind"], f"{prefix}.kind", Path.cwd())
    required, optional = EVENT_KEYS[kind]
    allowed = sorted(required | optional)
    values: dict[str, Any] = {"kind": kind}
    for key, value in raw.items():
        dotted = f"{prefix}.{key}"
        if key == "kind":
            continue
        if key not in allowed:
            if key in _EVENT_FIELDS:
                raise _Invalid(dotted, f"key '{key}' is not allowed in a {kind} event "
                                       f"(allowed: {', '.join(allowed)})")
            raise _Invalid(dotted, unknown_message("key", key, allowed))
        values[key] = _check_value(value, _EVENT_FIELDS[key], dotted, draft.base_dir(dotted))
    for key in sorted(required):
        if values.get(key) is None:
            raise _Invalid(f"{prefix}.{key}", f"missing required key '{key}' for a {kind} event")

    start, end, week = values.get("start"), values.get("end"), values.get("week")
    if start is not None and start >= weeks:
        raise _Invalid(f"{prefix}.start", f"must be less than weeks ({weeks}), got {start}")
    if end is not None:
        if start is not None and end <= start:
            raise _Invalid(f"{prefix}.end", f"must be greater than start ({start}), got {end}")
        if end > weeks:
            raise _Invalid(f"{prefix}.end", f"must be at most weeks ({weeks}), got {end}")
    if week is not None and week >= weeks:
        raise _Invalid(f"{prefix}.week", f"must be less than weeks ({weeks}), got {week}")

    if kind == "seed":
        _complete_seed(values, prefix, customers)
    if kind == "referral" and values.get("reward") is None and values.get("boost") is None:
        raise _Invalid(prefix, "a referral event needs 'reward' or 'boost'")
    return Event(**values)


def _complete_seed(values: dict[str, Any], prefix: str, customers: int | None) -> None:
    """Check a seed event's count, strategy and nodes against each other and the graph's size
    (`customers`, None for an edge list), filling in the default count (all the nodes listed,
    which are taken in order) or strategy (random)."""
    count, nodes = values.get("count"), values.get("nodes")
    if count is None and nodes is None:
        raise _Invalid(prefix, "a seed event needs 'count' or 'nodes'")
    if nodes is None:
        if values.get("strategy") is None:
            values["strategy"] = "random"
        if customers is not None and count > customers:
            raise _Invalid(f"{prefix}.count", f"must be at most the number of customers "
                                              f"({customers}), got {count}")
        if (values["strategy"] == "greedy" and customers is not None
                and customers > GREEDY_MAX_NODES):
            raise _Invalid(f"{prefix}.strategy", f"greedy runs on graphs of at most "
                                                 f"{GREEDY_MAX_NODES:,} customers, not "
                                                 f"{customers:,}")
        return
    if values.get("strategy") is not None:
        raise _Invalid(f"{prefix}.strategy", "not used when 'nodes' lists the customers")
    if count is None:
        values["count"] = len(nodes)
    elif count > len(nodes):
        raise _Invalid(f"{prefix}.count",
                       f"must be at most the number of nodes ({len(nodes)}), got {count}")
    if customers is not None:
        for position, node in enumerate(nodes):
            if isinstance(node, str) or node >= customers:
                raise _Invalid(f"{prefix}.nodes[{position}]",
                               f"must be a customer id from 0 to {customers - 1}, "
                               f"got {show_value(node)}")


# --- helpers ---------------------------------------------------------------------------------


def _customer_count(network: NetworkParams) -> int | None:
    """How many customers the graph has, when known before reading any file."""
    if network.kind == "edgelist":
        return None
    if network.kind == "configuration":
        return len(network.degrees or ())
    return network.n


def _available_memory_bytes() -> int | None:
    """Memory available to a new run: MemAvailable from /proc/meminfo, else the free physical
    pages; None when neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for row in meminfo:
                if row.startswith("MemAvailable:"):
                    return int(row.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


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


def _parent_key(key: str) -> str | None:
    """The enclosing key: events[2].end -> events[2] -> events; network.n -> network."""
    if key.endswith("]"):
        return key[: key.rindex("[")]
    if "." in key:
        return key.rsplit(".", 1)[0]
    return None


def _plain_table(params: Any) -> dict[str, Any]:
    """A parameter dataclass as a dict of its set values, tuples as lists."""
    table = {}
    for spec in fields(params):
        value = getattr(params, spec.name)
        if value is not None:
            table[spec.name] = list(value) if isinstance(value, tuple) else value
    return table


def _toml_value(value: Any) -> str:
    """A TOML literal for a plain value (bool, int, float, str, list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    """A TOML basic string, escaping quotes, backslashes and control characters."""
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = []
    for char in text:
        if char in short:
            out.append(short[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# --- line numbers ----------------------------------------------------------------------------

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
            key = _parent_key(key)
        open_string = next((quote for quote in ('"""', "'''") if line.count(quote) % 2), None)
    return lines


def _join_key(dotted: str) -> str:
    """A TOML dotted key as plain dotted text: `"a" . b` -> `a.b`."""
    return ".".join(part.strip("\"'") for part in _KEY_PART_RE.findall(dotted))
