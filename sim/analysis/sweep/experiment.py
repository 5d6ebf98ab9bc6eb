"""Experiment files: the base scenario of a sweep, the keys it varies and what it keeps.

An experiment file (TOML) names a base scenario and the parameters to vary:

    scenario = "../scenarios/baseline.toml"   # relative to the experiment file
    design = "grid"            # grid | lhs | sobol | morris (the last three through SALib)
    samples = 64               # lhs: points; sobol: base samples N (a power of 2); morris: paths
    replications = 4           # runs per point
    seed = 20261125            # replaces the scenario's seed; replicate r of every point runs
                               # with replicate_seed(seed, r)
    kpis = ["adopted_fraction", "profit"]   # which KPIs to keep (default: all)
    timeseries = false         # also keep every run's weekly rows
    [vary]
    "product.quality" = [0.6, 0.7, 0.8]              # grid: a list of values
    "sharing.base" = {low = 0.05, high = 0.3}        # lhs/sobol/morris: a range
    [set]
    "network.n" = 2000         # applied to the base scenario at every point

Everything is checked before any run starts, every point included, and problems raise
`ScenarioError` naming the file, the key and the line, as for scenarios. The scenario layer does
the checking of everything a scenario also has: the keys shared with scenarios (`name`,
`description`, `replications`, `seed`), the `[set]` values, every varied value and every point are
applied to the base scenario with `Scenario.with_overrides`, so a value is valid in an experiment
exactly when it is valid in a scenario. This module checks only the experiment's own keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sim.analysis.sweep.design import DESIGNS, SAMPLED_DESIGNS, Design, Factor
from sim.core.kpis import KPI_NAMES
from sim.core.rng import replicate_seed
from sim.scenario.limits import MAX_SWEEP_RUNS
from sim.scenario.load import (
    EVENT_KEY_RE,
    Scenario,
    ScenarioError,
    check_scenario_file,
    key_lines,
    show_value,
    unknown_message,
)
from sim.scenario.schema import SECTIONS, Event, TopParams

EXPERIMENT_KEYS = ("name", "description", "scenario", "design", "samples", "replications",
                   "seed", "kpis", "timeseries", "vary", "set")
# Keys an experiment shares with scenarios, checked by the scenario layer as a scenario's are.
SHARED_KEYS = ("name", "description", "replications", "seed")
# Keys a sweep cannot vary: they describe the file, or the experiment's own keys set them
# (replicate seeds come from the experiment's `seed`, runs per point from its `replications`).
UNVARIED_KEYS = ("name", "description", "seed", "replications", "events")


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: the base scenario (its file with `[set]` applied), the design, and
    what to keep. `points` holds every point's validated values, in point-id order."""

    name: str
    description: str
    path: Path | None
    scenario_path: Path
    base: Scenario
    settings: dict[str, Any]
    design: Design
    replications: int
    seed: int
    kpis: tuple[str, ...]
    timeseries: bool
    points: tuple[dict[str, Any], ...] = field(repr=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Experiment:
        """Read and validate an experiment file; raises `ScenarioError` naming file, key, line."""
        path = Path(path).expanduser().resolve()
        table, lines = _read_toml(path)
        return _build(table, _Where(path, lines), path.parent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, file: str | os.PathLike | None = None,
                  base_dir: str | os.PathLike | None = None) -> Experiment:
        """Validate an experiment given as nested data, as its TOML file would hold it. Relative
        paths are relative to `base_dir`, else `file`'s folder, else the current directory."""
        file = Path(file).expanduser().resolve() if file is not None else None
        base = Path(base_dir) if base_dir is not None else (file.parent if file else Path.cwd())
        return _build(dict(data), _Where(file, {}), base.expanduser().resolve())

    @property
    def replicate_seeds(self) -> list[int]:
        """The run seed of each replicate, the same at every point."""
        return [replicate_seed(self.seed, r) for r in range(self.replications)]

    @property
    def run_count(self) -> int:
        """Runs in the sweep: points x replications."""
        return len(self.points) * self.replications

    def point_scenario(self, point: int) -> Scenario:
        """The scenario of one point: the base with the point's values."""
        return self.base.with_overrides(self.points[point])

    def fingerprint(self) -> str:
        """Hex SHA-256 of what determines the sweep's tables: the base scenario, every point's
        values, the replicate seeds, the KPIs kept and whether time series are kept."""
        data = {"base": self.base.stable_hash(), "points": self.points,
                "seeds": self.replicate_seeds, "kpis": self.kpis, "timeseries": self.timeseries}
        text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class _Where:
    """The experiment file and the lines of its keys, for errors."""

    def __init__(self, file: Path | None, lines: Mapping[str, int]) -> None:
        self.file, self.lines = file, lines

    def error(self, key: str | None, message: str) -> ScenarioError:
        """A ScenarioError at `key` (dotted, e.g. `vary.product.quality`), located at the line
        of the key or of the nearest enclosing key the file sets."""
        line, current = None, key
        while current and line is None:
            line = self.lines.get(current)
            current = _ENCLOSED.sub("", current) if _ENCLOSED.search(current) else None
        return ScenarioError(message, file=self.file, key=key, line=line)


_ENCLOSED = re.compile(r"(\[\d+\]|\.[^.\[\]]*)$")  # the last part of a key: `[0]` or `.name`


def _read_toml(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """A TOML file's table and the line of each key; ScenarioError if it cannot be read."""
    check_scenario_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"cannot read the file: {error}", file=path) from None
    try:
        return tomllib.loads(text), key_lines(text)
    except RecursionError:
        raise ScenarioError("tables or lists are nested too deeply", file=path) from None
    except tomllib.TOMLDecodeError as error:
        message, _, where = str(error).partition(" (at line ")
        line = int(where.split(",")[0]) if where else None
        raise ScenarioError(message, file=path, line=line) from None


def _build(table: dict[str, Any], where: _Where, base_dir: Path) -> Experiment:
    """Check every key of an experiment's table and every point of its design."""
    for key, value in table.items():
        if key not in EXPERIMENT_KEYS:
            what = "section" if isinstance(value, Mapping) else "key"
            raise where.error(key, unknown_message(what, key, EXPERIMENT_KEYS))
    scenario_path, base, settings = _base_scenario(table, where, base_dir)
    shared = {key: table[key] for key in SHARED_KEYS if key in table}
    checked = _override(base, shared, where, "scenario", prefix="") if shared else base
    if checked.seed != base.seed:  # as `womsim run --seed`: the graph seed derives from it too
        base = base.with_overrides({"seed": checked.seed})

    method = _string(table.get("design", "grid"), "design", where)
    if method not in DESIGNS:
        raise where.error("design", unknown_message("design", method, DESIGNS))
    samples = _samples(table.get("samples"), method, where)
    kpis = _kpis(table.get("kpis", list(KPI_NAMES)), where)
    timeseries = table.get("timeseries", False)
    if not isinstance(timeseries, bool):
        raise where.error("timeseries", f"expected true or false, got {show_value(timeseries)}")

    raw_vary = _flatten(_table(table.get("vary", {}), "vary", where), "", ranges=True)
    if method in SAMPLED_DESIGNS and not raw_vary:
        raise where.error("vary", f"a {method} design needs at least one range to sample")
    factors = tuple(_factor(key, spec, method, base, base_dir, len(raw_vary) == 1, where)
                    for key, spec in raw_vary.items())
    design = Design(method, factors, samples, checked.seed)
    if design.point_count * checked.replications > MAX_SWEEP_RUNS:
        raise where.error("vary", f"{design.point_count:,} points x {checked.replications} "
                                  f"replicates is more than the {MAX_SWEEP_RUNS:,} runs a sweep "
                                  f"may have")
    points = tuple(_check_point(index, point, base, where)
                   for index, point in enumerate(design.points()))
    default_name = where.file.stem if where.file else "experiment"
    return Experiment(
        name=checked.name if "name" in table else default_name,
        description=checked.description if "description" in table else "",
        path=where.file, scenario_path=scenario_path, base=base, settings=settings,
        design=design, replications=checked.replications, seed=checked.seed, kpis=kpis,
        timeseries=timeseries, points=points)


def _base_scenario(table: Mapping[str, Any], where: _Where, base_dir: Path
                   ) -> tuple[Path, Scenario, dict[str, Any]]:
    """The base scenario's file, the scenario with `[set]` applied, and the `[set]` values (file
    paths among them made absolute)."""
    if "scenario" not in table:
        raise where.error("scenario", "missing required key 'scenario' (the base scenario file)")
    scenario_path = (base_dir / Path(_string(table["scenario"], "scenario", where))
                     .expanduser()).resolve()
    if not scenario_path.is_file():
        raise where.error("scenario", f"scenario file not found: {scenario_path}")
    base = Scenario.load(scenario_path)  # its own errors name the scenario file
    settings = _flatten(_table(table.get("set", {}), "set", where), "", ranges=False)
    settings = {key: _resolve_path(key, value, base_dir) for key, value in settings.items()}
    if settings:
        base = _override(base, settings, where, "set", prefix="set.")
    return scenario_path, base, settings


def _string(value: Any, key: str, where: _Where) -> str:
    if not isinstance(value, str):
        raise where.error(key, f"expected a string, got {show_value(value)}")
    return value


def _table(value: Any, key: str, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(key, f"expected a table [{key}], got {show_value(value)}")
    return value


def _samples(value: Any, method: str, where: _Where) -> int | None:
    if method == "grid":
        if value is not None:
            raise where.error("samples", "not used by a grid design (its points are every "
                                         "combination of the listed values)")
        return None
    if value is None:
        raise where.error("samples", f"a {method} design needs 'samples'")
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error("samples", f"expected an integer, got {show_value(value)}")
    if value < 1:
        raise where.error("samples", f"must be >= 1, got {value}")
    if method == "sobol" and value & (value - 1):
        raise where.error("samples", f"must be a power of 2 for a sobol design (the balance "
                                     f"of Sobol' sequences needs it), got {value}")
    if method == "morris" and value < 2:
        raise where.error("samples", f"a morris design needs at least 2 trajectories, got "
                                     f"{value}")
    return value


def _kpis(value: Any, where: _Where) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise where.error("kpis",
                          f"expected a non-empty list of KPI names, got {show_value(value)}")
    for index, name in enumerate(value):
        key = f"kpis[{index}]"
        if not isinstance(name, str):
            raise where.error(key, f"expected a KPI name, got {show_value(name)}")
        if name not in KPI_NAMES:
            raise where.error(key, unknown_message("KPI", name, KPI_NAMES))
        if name in value[:index]:
            raise where.error(key, f"KPI '{name}' is listed twice")
    return tuple(value)


def _is_range(value: Any) -> bool:
    return isinstance(value, Mapping) and bool({"low", "high"} & set(value))


def _flatten(table: Mapping[str, Any], prefix: str, ranges: bool) -> dict[str, Any]:
    """Nested tables as dotted keys: `[vary.product] quality = ...` and `"product.quality" = ...`
    mean the same. With `ranges`, a table with `low` or `high` is a value (a range)."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and not (ranges and _is_range(value)):
            flat.update(_flatten(value, dotted, ranges))
        else:
            flat[dotted] = value
    return flat


def _field_meta(key: str) -> Mapping[str, Any] | None:
    """The schema metadata of a dotted key (type, bounds), or None if there is no such key."""
    if match := EVENT_KEY_RE.fullmatch(key):
        specs, name = fields(Event), match[2]
    elif "." in key:
        section, name = key.split(".", 1)
        specs = fields(SECTIONS[section]) if section in SECTIONS else ()
    else:
        specs, name = fields(TopParams), key
    return next((spec.metadata for spec in specs if spec.name == name), None)


def _resolve_path(key: str, value: Any, base_dir: Path) -> Any:
    """A file path value relative to the experiment file, made absolute (overrides are otherwise
    relative to the working directory)."""
    meta = _field_meta(key)
    if meta is not None and meta["type"] == "path" and isinstance(value, str):
        return str((base_dir / Path(value).expanduser()).resolve())
    return value


def _override(base: Scenario, overrides: Mapping[str, Any], where: _Where, key: str, *,
              prefix: str | None = None, context: str = "") -> Scenario:
    """`base.with_overrides(overrides)`, which checks them as a scenario's values are. A problem
    with one of the overrides is blamed on it, under `prefix` (`set.` + `network.n`), when a
    prefix is given; any other problem on the experiment's `key`, after `context` (which point
    caused it)."""
    try:
        return base.with_overrides(overrides)
    except ScenarioError as error:
        if prefix is not None and error.key in overrides:
            raise where.error(f"{prefix}{error.key}", error.message) from None
        problem = f"{error.key}: {error.message}" if error.key else error.message
        raise where.error(key, context + problem) from None


def _factor(key: str, spec: Any, method: str, base: Scenario, base_dir: Path, alone: bool,
            where: _Where) -> Factor:
    """One [vary] entry checked: a key of the schema that may vary, and values (or a range's
    ends) of the right type and range. A value that breaks a rule tying it to another varied
    key (a network's size and degree) is left to the check of each point, unless `alone`."""
    at = f"vary.{key}"
    if key in UNVARIED_KEYS or key in SECTIONS:
        why = {"seed": "the experiment's own 'seed' sets the replicate seeds; vary "
                       "network.seed to vary the graph",
               "replications": "the experiment's own 'replications' sets the runs per point"}
        raise where.error(at, why.get(key, "cannot be varied"))
    try:
        base.get(key)
    except ScenarioError as error:
        raise where.error(at, error.message) from None
    value_check = _ValueCheck(base, key, alone, where)
    if _is_range(spec):
        return _range_factor(key, spec, method, value_check, where)
    if method != "grid":
        raise where.error(at, f"a {method} design samples from ranges: give "
                              f"{{low = ..., high = ...}}")
    if not isinstance(spec, list) or not spec:
        raise where.error(at, f"expected a non-empty list of values, got {show_value(spec)}")
    values = [_resolve_path(key, raw, base_dir) for raw in spec]
    for index, value in enumerate(values):
        value_check(value, at)
        if value in values[:index]:
            raise where.error(at, f"value {show_value(value)} is listed twice")
    return Factor(key, values=tuple(values))


def _range_factor(key: str, spec: Mapping[str, Any], method: str, value_check: _ValueCheck,
                  where: _Where) -> Factor:
    """A [vary] range `{low = ..., high = ...}` of a numeric key, checked."""
    at = f"vary.{key}"
    if method == "grid":
        raise where.error(at, "a grid design needs a list of values, e.g. [0.1, 0.2]; "
                              "ranges are for lhs, sobol and morris")
    for name in spec:
        if name not in ("low", "high"):
            raise where.error(f"{at}.{name}", unknown_message("key", name, ("low", "high")))
    if set(spec) != {"low", "high"}:
        raise where.error(at, "a range needs both 'low' and 'high'")
    meta = _field_meta(key)
    if meta is None or meta["type"] not in ("int", "float"):
        raise where.error(at, "a range needs a numeric parameter; list the values instead")
    low, high = spec["low"], spec["high"]
    value_check(low, f"{at}.low")
    value_check(high, f"{at}.high")
    if not low < high:
        raise where.error(at, f"low must be less than high, got {show_value(low)} and "
                              f"{show_value(high)}")
    return Factor(key, low=low, high=high, integer=meta["type"] == "int")


class _ValueCheck:
    """Checks one value of a varied key by applying it to the base scenario alone."""

    def __init__(self, base: Scenario, key: str, alone: bool, where: _Where) -> None:
        self.base, self.key, self.alone, self.where = base, key, alone, where

    def __call__(self, value: Any, at: str) -> None:
        """Raise at `at` if the scenario layer rejects `value` for the key; a problem elsewhere
        (a rule tying keys together) only when the key is the only one varied."""
        try:
            self.base.with_overrides({self.key: value})
        except ScenarioError as error:
            if error.key == self.key:
                raise self.where.error(at, error.message) from None
            if self.alone:
                raise self.where.error(at, f"value {show_value(value)}: {error.key}: "
                                           f"{error.message}") from None


def _check_point(index: int, point: dict[str, Any], base: Scenario,
                 where: _Where) -> dict[str, Any]:
    """A point's values as the schema stores them (floats for float keys), after checking the
    rules that tie keys together (a network's size and degree, an event's window)."""
    described = ", ".join(f"{key} = {show_value(value)}" for key, value in point.items())
    scenario = _override(base, point, where, "vary", context=f"point {index} ({described}): ")
    return {key: scenario.get(key) for key in point}
