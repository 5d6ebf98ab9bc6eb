"""Scenario files: TOML in, a validated, frozen `Scenario` out (DESIGN.md "Scenario files").

A scenario file sets the keys of the schema in `sim.scenario.schema`: top-level `name`,
`description`, `weeks`, `seed`, `replications` and `extends`, one table per section (`[network]`,
`[market]`, ...) and an array of `[[events]]`. Loading only parses data with the standard-library
`tomllib`: nothing in a file is evaluated, imported or unpickled.

Values arrive in layers: a file may `extends = "other.toml"` (relative to itself), whose values it
inherits section by section, key by key, with its own `[[events]]` appended after the parent's;
overrides (dotted keys such as `sharing.base`, or `events[0].spend`) come last. `name` and
`description` describe one file and are not inherited: `name` defaults to the file's stem.

The merged values are checked by `sim.scenario.validate`. A problem raises `ScenarioError`
naming the file, the dotted key and, where it can be found, the line that set the key. Event
indices in keys (`events[0]`) count from 0 over the merged list, parents' events first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from sim.core.errors import InputError, regular_file
from sim.scenario.errors import Invalid, ScenarioError, show_value, unknown_message
from sim.scenario.limits import MAX_EXTENDS_DEPTH, MAX_NESTING, MAX_SCENARIO_BYTES
from sim.scenario.schema import (
    EVENT_FIELDS,
    SECTION_FIELDS,
    SECTIONS,
    TOP_FIELDS,
    BudgetParams,
    EconomicsParams,
    Event,
    JourneyParams,
    LoyaltyParams,
    MarketParams,
    MediaParams,
    NetworkParams,
    ProductParams,
    SharingParams,
)
from sim.scenario.toml_io import key_lines, parent_key, toml_text
from sim.scenario.validate import validate

EVENT_KEY_RE = re.compile(r"events\[(\d+)\]\.(\w+)")
_NOT_INHERITED = ("name", "description")  # they describe one file, not what it extends


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
    budget: BudgetParams
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
        if match and match[2] in EVENT_FIELDS:
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
        out: dict[str, Any] = {key: getattr(self, key) for key in TOP_FIELDS}
        for section in SECTIONS:
            out[section] = _plain_table(getattr(self, section))
        if self.events:
            out["events"] = [_plain_table(event) for event in self.events]
        return out

    def to_toml(self, header: str = "") -> str:
        """The resolved scenario as a TOML file (no `extends`), each line of `header` written as a
        '# ' comment at the top. `Scenario.from_dict(tomllib.loads(s.to_toml())) == s`."""
        return toml_text(self.to_dict(), header)

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
        flat: dict[str, Any] = {key: getattr(self, key) for key in TOP_FIELDS}
        for section, section_fields in SECTION_FIELDS.items():
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



# --- assembling layers -----------------------------------------------------------------------


class _Draft:
    """The merged raw values of a scenario's layers, with where each value was set."""

    def __init__(self, fallback_file: Path | None) -> None:
        self.data: dict[str, Any] = {}
        self.origin: dict[str, _Origin] = {}
        self.fallback_file = fallback_file

    def add_file(self, path: Path, chain: tuple[Path, ...]) -> Path | None:
        """Merge a TOML file (after the files it extends); return the file it extends."""
        check_scenario_file(path)
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
        except RecursionError:
            raise ScenarioError(f"tables or lists are nested too deeply (at most {MAX_NESTING} "
                                f"levels)", file=path) from None
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            found = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
            if found:
                raise ScenarioError(message[: found.start()], file=path,
                                    line=int(found[1])) from None
            raise ScenarioError(message, file=path) from None
        if _nesting(table) > MAX_NESTING:
            raise ScenarioError(f"tables or lists are nested more than {MAX_NESTING} levels "
                                f"deep", file=path)
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
            values = validate(self.data, self.base_dir, default_name)
        except Invalid as problem:
            first, *more = sorted((self.located(p) for p in (problem, *problem.more)),
                                  key=lambda error: (str(error.file), error.line or 0))
            raise ScenarioError(first.message, file=first.file, key=first.key, line=first.line,
                                more=tuple(more)) from None
        return Scenario(**values, path=path, extends=extends)

    def located(self, problem: Invalid) -> ScenarioError:
        """`problem` as a ScenarioError naming the file and line that set its key."""
        file, line = self.locate(problem.key)
        return ScenarioError(problem.message, file=file, key=problem.key, line=line)

    def locate(self, key: str) -> tuple[Path | None, int | None]:
        """Where a key was set (an override has no file), else the file and line of the nearest
        enclosing key a file set (the section, the event), else the scenario's own file."""
        if key in self.origin:
            return self.origin[key].file, self.origin[key].line
        current = parent_key(key)
        while current:
            origin = self.origin.get(current)
            if origin is not None and origin.file is not None:
                return origin.file, origin.line
            current = parent_key(current)
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
        if len(visited) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError(f"a chain of more than {MAX_EXTENDS_DEPTH} files extending "
                                f"each other", file=file, key="extends", line=line)
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


def _plain_table(params: Any) -> dict[str, Any]:
    """A parameter dataclass as a dict of its set values, tuples as lists."""
    table = {}
    for spec in fields(params):
        value = getattr(params, spec.name)
        if value is not None:
            table[spec.name] = list(value) if isinstance(value, tuple) else value
    return table


def check_scenario_file(path: Path) -> None:
    """ScenarioError unless `path` is a regular file of at most MAX_SCENARIO_BYTES (a folder, a
    FIFO or /dev/zero would otherwise fail late or block for ever); for scenario and experiment
    files."""
    if not path.exists():
        raise ScenarioError("file not found", file=path)
    try:
        regular_file(path, "scenario file")
    except InputError as error:
        raise ScenarioError(error.message, file=path) from None
    if path.stat().st_size > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"is {path.stat().st_size:,} bytes; a scenario file has at most "
                            f"{MAX_SCENARIO_BYTES:,}", file=path)


def _nesting(value: Any) -> int:
    """How deeply tables and lists are nested in `value` (0 for a plain value), counted without
    recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, Mapping):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
    return deepest
