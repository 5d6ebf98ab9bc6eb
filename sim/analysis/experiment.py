"""Experiments: many runs of the model, resumable, local or on a Dask cluster (DESIGN.md
principle 6; `womsim sweep`).

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
`ScenarioError` naming the file, the key and the line, as for scenarios.

A run is identified by (point, replicate); every point's replicate r uses the same seed (common
random numbers), so differences between points are not noise between seeds. Runs go through a
`concurrent.futures` executor: this process (1 worker), local worker processes, or a Dask cluster.
Workers keep the graphs they built (keyed by the network parameters and the graph seed), so a graph
is built once per worker, not once per run.

Results stream into the output folder: `runs/part-*.parquet` (one row per run: point, replicate,
seed, the varied parameters by dotted key, the KPIs), `timeseries/part-*.parquet` (point,
replicate, week and the history columns) and `manifest.json` (the experiment, the resolved base
scenario, the package version, the seeds, which runs are in which part (`runs_of`), the failed
runs with their errors and seeds, and each session's executor and count of runs computed). A
part is written to a temporary name and renamed, and only then listed in the manifest, which is
replaced atomically too; parts the manifest does not list are leftovers of a kill and are deleted
when the sweep runs again. Running the same sweep again computes only the runs not yet done (the
failed ones included). Rows are in the order runs finished: sort by point and replicate (as
`SweepResult` does) for a canonical order.

A run that raises is recorded as failed (error and seed) and the sweep goes on; `womsim sweep`
then exits 1, and `--rerun POINT:REPLICATE` runs one in the foreground with its traceback.
`python -m sim.experiment EXPERIMENT [options]` is `womsim sweep` on its own.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import sys
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from sim import __version__
from sim.run.engine import Engine, build_scenario_graph, graph_seed
from sim.graph import Graph
from sim.core.metrics import KPI_NAMES
from sim.scenario.schema import SECTIONS, Event, TopParams
from sim.run.results import history_table
from sim.core.rng import replicate_seed
from sim.run.replicates import default_workers, run_once
from sim.scenario import (
    EVENT_KEY_RE,
    Scenario,
    ScenarioError,
    key_lines,
    show_value,
    unknown_message,
)

DESIGNS = ("grid", "lhs", "sobol", "morris")
SAMPLED_DESIGNS = ("lhs", "sobol", "morris")
EXPERIMENT_KEYS = ("name", "description", "scenario", "design", "samples", "replications",
                   "seed", "kpis", "timeseries", "vary", "set")
# Keys a sweep cannot vary: they describe the file, or the experiment's own keys set them
# (replicate seeds come from the experiment's `seed`, runs per point from its `replications`).
UNVARIED_KEYS = ("name", "description", "seed", "replications", "events")
MORRIS_LEVELS = 4  # grid levels of Morris trajectories (SALib's default)

PART_RUNS = 100  # runs per Parquet part: a kill loses at most this many finished runs ...
PART_SECONDS = 10.0  # ... or this many seconds of them, whichever comes first
GRAPH_CACHE_SIZE = 3  # graphs a worker keeps: runs are dispatched point by point
IN_FLIGHT_PER_WORKER = 4  # runs submitted ahead per worker: keeps workers busy, memory bounded
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "womsim-sweep/1"


# --- experiment files --------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One varied parameter: a dotted key with a list of `values` (grid) or a range
    [`low`, `high`] (sampled designs). An `integer` factor's sampled values are rounded, each
    whole number in the range being equally likely."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Design:
    """How points are chosen: `method` (grid, lhs, sobol, morris), the factors, `samples` and the
    sampler's `seed`. Sweeps and sensitivity analyses of plain functions share it, so both see the
    same samples for the same design."""

    method: str
    factors: tuple[Factor, ...]
    samples: int | None = None
    seed: int = 0

    @property
    def names(self) -> list[str]:
        """The factors' keys, in order."""
        return [factor.key for factor in self.factors]

    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds (integer factors widened by half a step each side,
        so that rounding makes every whole number equally likely)."""
        bounds = [[f.low - 0.5, f.high + 0.5] if f.integer else [f.low, f.high]
                  for f in self.factors]
        return {"num_vars": len(self.factors), "names": self.names, "bounds": bounds}

    def sample(self) -> np.ndarray:
        """The sampled design matrix (points x factors), before rounding; the same every call."""
        from SALib.sample import latin, morris, sobol

        problem = self.problem()
        if self.method == "lhs":
            return latin.sample(problem, self.samples, seed=self.seed)
        if self.method == "sobol":
            # first-order and total indices only: N (D + 2) points rather than N (2D + 2)
            return sobol.sample(problem, self.samples, calc_second_order=False, seed=self.seed)
        if self.method == "morris":
            return morris.sample(problem, self.samples, num_levels=MORRIS_LEVELS, seed=self.seed)
        raise ValueError(f"a {self.method!r} design is not sampled")

    def points(self) -> list[dict[str, Any]]:
        """Every point as {key: value}: the grid's combinations (the first factor varying
        slowest), or the sampled rows with integer factors rounded."""
        if self.method == "grid":
            return [dict(zip(self.names, combination, strict=True))
                    for combination in itertools.product(*(f.values for f in self.factors))]
        return [{f.key: (_round_into(x, f) if f.integer else float(x))
                 for f, x in zip(self.factors, row, strict=True)} for row in self.sample()]


def _round_into(x: float, factor: Factor) -> int:
    return int(min(max(round(x), factor.low), factor.high))


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"cannot read the file: {error}", file=path) from None
    try:
        return tomllib.loads(text), key_lines(text)
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
    default_name = where.file.stem if where.file else "experiment"
    name = _string(table.get("name", default_name), "name", where)
    description = _string(table.get("description", ""), "description", where)

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
        base = _override(base, settings, where, "set")

    method = _string(table.get("design", "grid"), "design", where)
    if method not in DESIGNS:
        raise where.error("design", unknown_message("design", method, DESIGNS))
    samples = _samples(table.get("samples"), method, where)
    replications = _integer(table.get("replications", base.replications), "replications", where)
    seed = _integer(table.get("seed", base.seed), "seed", where, low=0)
    if seed != base.seed:  # as `womsim run --seed`: the graph seed derives from it too
        base = base.with_overrides({"seed": seed})
    kpis = _kpis(table.get("kpis", list(KPI_NAMES)), where)
    timeseries = table.get("timeseries", False)
    if not isinstance(timeseries, bool):
        raise where.error("timeseries", f"expected true or false, got {show_value(timeseries)}")

    raw_vary = _flatten(_table(table.get("vary", {}), "vary", where), "", ranges=True)
    if method in SAMPLED_DESIGNS and not raw_vary:
        raise where.error("vary", f"a {method} design needs at least one range to sample")
    factors = tuple(_factor(key, spec, method, base, base_dir, len(raw_vary) == 1, where)
                    for key, spec in raw_vary.items())
    design = Design(method, factors, samples, seed)
    points = tuple(_check_point(index, point, base, where)
                   for index, point in enumerate(design.points()))
    return Experiment(name=name, description=description, path=where.file,
                      scenario_path=scenario_path, base=base, settings=settings, design=design,
                      replications=replications, seed=seed, kpis=kpis, timeseries=timeseries,
                      points=points)


def _string(value: Any, key: str, where: _Where) -> str:
    if not isinstance(value, str):
        raise where.error(key, f"expected a string, got {show_value(value)}")
    return value


def _integer(value: Any, key: str, where: _Where, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, f"expected an integer, got {show_value(value)}")
    if value < low:
        raise where.error(key, f"must be >= {low}, got {value}")
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
    samples = _integer(value, "samples", where)
    if method == "sobol" and samples & (samples - 1):
        raise where.error("samples", f"must be a power of 2 for a sobol design (the balance "
                                     f"of Sobol' sequences needs it), got {samples}")
    if method == "morris" and samples < 2:
        raise where.error("samples", f"a morris design needs at least 2 trajectories, got "
                                     f"{samples}")
    return samples


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


def _override(base: Scenario, overrides: Mapping[str, Any], where: _Where, key: str,
              context: str = "") -> Scenario:
    """`base.with_overrides(overrides)`, any problem blamed on the experiment's `key` (for
    `set`, on the [set] key at fault) with `context` saying which point caused it."""
    try:
        return base.with_overrides(overrides)
    except ScenarioError as error:
        if key == "set" and error.key in overrides:
            raise where.error(f"set.{error.key}", error.message) from None
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

    def check(value: Any, at: str) -> None:
        try:
            base.with_overrides({key: value})
        except ScenarioError as error:
            if error.key == key:
                raise where.error(at, error.message) from None
            if alone:
                raise where.error(at, f"value {show_value(value)}: {error.key}: {error.message}"
                                  ) from None

    meta = _field_meta(key)
    if _is_range(spec):
        if method == "grid":
            raise where.error(at, "a grid design needs a list of values, e.g. [0.1, 0.2]; "
                                  "ranges are for lhs, sobol and morris")
        for name in spec:
            if name not in ("low", "high"):
                raise where.error(f"{at}.{name}", unknown_message("key", name, ("low", "high")))
        if set(spec) != {"low", "high"}:
            raise where.error(at, "a range needs both 'low' and 'high'")
        if meta is None or meta["type"] not in ("int", "float"):
            raise where.error(at, "a range needs a numeric parameter; list the values instead")
        low, high = spec["low"], spec["high"]
        check(low, f"{at}.low")
        check(high, f"{at}.high")
        if not low < high:
            raise where.error(at, f"low must be less than high, got {show_value(low)} and "
                                  f"{show_value(high)}")
        return Factor(key, low=low, high=high, integer=meta["type"] == "int")
    if method != "grid":
        raise where.error(at, f"a {method} design samples from ranges: give "
                              f"{{low = ..., high = ...}}")
    if not isinstance(spec, list) or not spec:
        raise where.error(at, f"expected a non-empty list of values, got {show_value(spec)}")
    values = [_resolve_path(key, raw, base_dir) for raw in spec]
    for index, value in enumerate(values):
        check(value, at)
        if value in values[:index]:
            raise where.error(at, f"value {show_value(value)} is listed twice")
    return Factor(key, values=tuple(values))


def _check_point(index: int, point: dict[str, Any], base: Scenario,
                 where: _Where) -> dict[str, Any]:
    """A point's values as the schema stores them (floats for float keys), after checking the
    rules that tie keys together (a network's size and degree, an event's window)."""
    described = ", ".join(f"{key} = {show_value(value)}" for key, value in point.items())
    scenario = _override(base, point, where, "vary", f"point {index} ({described}): ")
    return {key: scenario.get(key) for key in point}


# --- running one run (in a worker) -------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """What a worker needs for one run: where it belongs, its seed and its point's values."""

    run: int  # point * replications + replicate
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]


@dataclass
class RunOutcome:
    """A finished run: its KPIs and history, or the error it raised."""

    spec: RunSpec
    kpis: dict[str, float] | None
    history: np.ndarray | None
    error: str | None = None


# A worker's memory between runs: the graphs it built, most recent last, and the scenario of the
# point it ran last (replicates of a point arrive together).
_graphs: OrderedDict[tuple[Any, int], Graph] = OrderedDict()
_last_point: dict[str, Any] = {}


def cached_graph(scenario: Scenario) -> Graph:
    """The scenario's graph, built at most once per process while it stays among the
    GRAPH_CACHE_SIZE most recently used (keyed by the network parameters and the graph seed)."""
    key = (scenario.network, graph_seed(scenario))
    if key in _graphs:
        _graphs.move_to_end(key)
    else:
        _graphs[key] = build_scenario_graph(scenario)
        while len(_graphs) > GRAPH_CACHE_SIZE:
            _graphs.popitem(last=False)
    return _graphs[key]


def _point_scenario(base: Scenario, fingerprint: str, spec: RunSpec) -> Scenario:
    key = (fingerprint, spec.point)
    if _last_point.get("key") != key:
        _last_point.update(key=key, scenario=base.with_overrides(spec.values))
    return _last_point["scenario"]


def execute_run(base: Scenario, fingerprint: str, spec: RunSpec, keep_history: bool,
                one_thread: bool = False) -> RunOutcome:
    """Run one (point, replicate). An exception in the run is returned as the outcome's `error`
    (type and message), so that one bad run never stops a sweep. `one_thread` limits Numba to one
    thread in the calling thread (Dask runs tasks in worker threads; the setting is per thread)."""
    if one_thread:
        _one_numba_thread()
    try:
        scenario = _point_scenario(base, fingerprint, spec)
        history, kpis = run_once(scenario, spec.seed, cached_graph(scenario))
    except Exception as error:  # recorded with the run; --rerun shows its traceback
        return RunOutcome(spec, None, None, f"{type(error).__name__}: {error}")
    return RunOutcome(spec, kpis, history if keep_history else None)


def _one_numba_thread() -> None:
    """Parallelism is across runs: a worker's Numba code gets one thread. Only ever called in
    worker processes, because it starts Numba's threading layer (OpenMP here), which a process
    that later forks must not have started."""
    numba.set_num_threads(1)


def _warm(experiment: Experiment) -> None:
    """Compile (or load from Numba's cache) the graph and step kernels once, here, before any
    worker starts: forked workers inherit them (and the first point's graph), and Dask workers
    find them in the on-disk cache instead of compiling at once and racing to write it. A
    failure is left for the run to report."""
    try:
        scenario = experiment.point_scenario(0)
        engine = Engine(scenario, experiment.replicate_seeds[0], cached_graph(scenario))
        for _ in range(min(2, scenario.weeks)):
            engine.step()
    except Exception:  # the same run will fail in its worker and be recorded
        pass


class _InlineExecutor(Executor):
    """Runs each submitted call at once, in this process: the one-worker executor. Ctrl-C
    (KeyboardInterrupt) goes straight up, stopping the sweep, rather than into the future."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


# --- the result store --------------------------------------------------------------------------


class ResultStore:
    """A sweep's output folder: Parquet parts plus `manifest.json`, both written atomically.

    `open()` checks the folder holds this sweep (or nothing), deletes leftovers of a kill and
    returns the ids of the runs already done; `add()` buffers a finished run and writes a part
    every `part_runs` runs or PART_SECONDS; `close()` writes the rest.
    """

    def __init__(self, folder: Path, experiment: Experiment, part_runs: int = PART_RUNS,
                 executor_name: str = "") -> None:
        self.folder, self.experiment = Path(folder), experiment
        self.part_runs, self.executor_name = part_runs, executor_name
        self.manifest: dict[str, Any] = {}
        self.done: set[int] = set()
        self.failed: dict[int, dict[str, Any]] = {}
        self.buffer: list[RunOutcome] = []
        self.last_write = time.monotonic()

    def open(self) -> set[int]:
        """Prepare the folder and return the ids of the runs done in earlier sessions."""
        experiment = self.experiment
        path = self.folder / MANIFEST
        if path.exists():
            self.manifest = json.loads(path.read_text())
            if self.manifest.get("fingerprint") != experiment.fingerprint():
                raise ScenarioError(
                    f"holds a different sweep (from {self.manifest.get('experiment')}); use "
                    f"another --out or delete the folder", file=self.folder)
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise ScenarioError("exists and is not a sweep folder (no manifest.json); use "
                                "another --out", file=self.folder)
        else:
            self.manifest = self._new_manifest()
        listed = set()
        for part in self.manifest["parts"]:
            listed.add(part["name"])
            self.done.update(runs_of(part))
        self.failed = {entry["run"]: entry for entry in self.manifest["failed"]
                       if entry["run"] not in self.done}
        for table in ("runs", "timeseries"):
            (self.folder / table).mkdir(parents=True, exist_ok=True)
            for leftover in (self.folder / table).iterdir():
                if leftover.name not in listed:  # a part or temporary file of a killed session
                    leftover.unlink()
        self.manifest["sessions"].append(
            {"started": datetime.now(UTC).isoformat(timespec="seconds"),
             "executor": self.executor_name, "package_version": __version__, "computed": 0,
             "failed": 0})
        self._write_manifest()
        return set(self.done)

    def _new_manifest(self) -> dict[str, Any]:
        experiment = self.experiment
        return {
            "format": MANIFEST_FORMAT,
            "package_version": __version__,
            "experiment": str(experiment.path) if experiment.path else experiment.name,
            "experiment_toml": experiment.path.read_text() if experiment.path else None,
            "fingerprint": experiment.fingerprint(),
            "base_scenario": experiment.base.to_toml(
                header=f"base scenario {experiment.scenario_path}, with [set] applied"),
            "design": experiment.design.method,
            "samples": experiment.design.samples,
            "varied": experiment.design.names,
            "points": len(experiment.points),
            "replications": experiment.replications,
            "runs": experiment.run_count,
            "seed": experiment.seed,
            "replicate_seeds": experiment.replicate_seeds,
            "kpis": list(experiment.kpis),
            "timeseries": experiment.timeseries,
            "parts": [],
            "failed": [],
            "sessions": [],
        }

    def add(self, outcome: RunOutcome) -> None:
        """Record a finished run; write a part when enough are buffered or time has passed."""
        self.buffer.append(outcome)
        if (len(self.buffer) >= self.part_runs
                or time.monotonic() - self.last_write >= PART_SECONDS):
            self.flush()

    def flush(self) -> None:
        """Write the buffered runs: the part files first, then the manifest that lists them."""
        if not self.buffer:
            return
        session = self.manifest["sessions"][-1]
        good = [o for o in self.buffer if o.error is None]
        for outcome in self.buffer:
            if outcome.error is not None:
                spec = outcome.spec
                self.failed[spec.run] = {"run": spec.run, "point": spec.point,
                                         "replicate": spec.replicate, "seed": spec.seed,
                                         "error": outcome.error}
                session["failed"] += 1
        if good:
            name = f"part-{len(self.manifest['parts']):05d}.parquet"  # parts are never removed
            _write_parquet(self._runs_table(good), self.folder / "runs" / name)
            if self.experiment.timeseries:
                _write_parquet(_timeseries_table(good), self.folder / "timeseries" / name)
            runs = sorted(o.spec.run for o in good)
            self.manifest["parts"].append({"name": name, "runs": _ranges(runs)})
            self.done.update(runs)
            for run in runs:
                self.failed.pop(run, None)
        session["computed"] += len(self.buffer)
        self.manifest["failed"] = sorted(self.failed.values(), key=lambda e: e["run"])
        self._write_manifest()
        self.buffer = []
        self.last_write = time.monotonic()

    def close(self) -> None:
        """Write whatever is still buffered."""
        self.flush()

    def _runs_table(self, outcomes: list[RunOutcome]) -> pd.DataFrame:
        experiment = self.experiment
        rows = []
        for outcome in outcomes:
            spec = outcome.spec
            row = {"point": spec.point, "replicate": spec.replicate, "seed": spec.seed}
            row.update(spec.values)
            row.update({kpi: outcome.kpis[kpi] for kpi in experiment.kpis})
            rows.append(row)
        columns = ["point", "replicate", "seed", *experiment.design.names, *experiment.kpis]
        table = pd.DataFrame(rows, columns=columns)
        return table.astype({"point": np.int64, "replicate": np.int64, "seed": np.int64,
                             **dict.fromkeys(experiment.kpis, np.float64)})

    def _write_manifest(self) -> None:
        _write_atomically(self.folder / MANIFEST,
                          (json.dumps(self.manifest, indent=1, allow_nan=True) + "\n").encode())


def runs_of(part: Mapping[str, Any]) -> list[int]:
    """The run ids (point x replications + replicate) a manifest part lists: it stores them as
    inclusive [first, last] ranges, which keeps the manifest small (parts are mostly runs
    dispatched in order)."""
    return [run for first, last in part["runs"] for run in range(first, last + 1)]


def _ranges(runs: list[int]) -> list[list[int]]:
    """Sorted run ids as inclusive [first, last] ranges of consecutive ids."""
    ranges: list[list[int]] = []
    for run in runs:
        if ranges and ranges[-1][1] == run - 1:
            ranges[-1][1] = run
        else:
            ranges.append([run, run])
    return ranges


def _timeseries_table(outcomes: list[RunOutcome]) -> pd.DataFrame:
    """One row per run x week: point, replicate, week and kernels.HISTORY_COLUMNS."""
    lengths = [o.history.shape[0] for o in outcomes]
    table = history_table(np.concatenate([o.history for o in outcomes]))
    table["week"] = np.concatenate([np.arange(weeks, dtype=np.int64) for weeks in lengths])
    table.insert(0, "replicate", np.repeat([o.spec.replicate for o in outcomes], lengths))
    table.insert(0, "point", np.repeat([o.spec.point for o in outcomes], lengths))
    return table.astype({"point": np.int64, "replicate": np.int64})


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a hidden temporary file beside `path`, flush it to disk, rename it."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    table.to_parquet(temporary, index=False)
    os.replace(temporary, path)


# --- sweeps ------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """A sweep's output folder. `runs` and `timeseries` are read from its Parquet parts when asked
    for (the sweep itself never holds them), sorted by point, replicate (and week)."""

    folder: Path
    experiment: Experiment
    computed: int  # runs computed by the call that returned this (failed ones included)
    failed: pd.DataFrame  # point, replicate, seed, error of the runs that failed

    @property
    def runs(self) -> pd.DataFrame:
        """One row per finished run: point, replicate, seed, varied parameters, KPIs."""
        return _read_table(self.folder / "runs", ["point", "replicate"])

    @property
    def timeseries(self) -> pd.DataFrame | None:
        """One row per finished run x week (None when the experiment keeps no time series)."""
        if not self.experiment.timeseries:
            return None
        return _read_table(self.folder / "timeseries", ["point", "replicate", "week"])

    @property
    def complete(self) -> bool:
        """True when every run of the experiment has finished without error."""
        manifest = json.loads((self.folder / MANIFEST).read_text())
        return sum(len(runs_of(part)) for part in manifest["parts"]) == self.experiment.run_count


def _read_table(folder: Path, order: list[str]) -> pd.DataFrame:
    if not any(path.suffix == ".parquet" and not path.name.startswith(".")
               for path in folder.iterdir()):
        return pd.DataFrame(columns=order)
    return pd.read_parquet(folder).sort_values(order, kind="stable").reset_index(drop=True)


def run_sweep(
    experiment: Experiment | str | os.PathLike,
    out_dir: str | os.PathLike,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    progress: bool = False,
    part_runs: int = PART_RUNS,
) -> SweepResult:
    """Run every (point, replicate) of an experiment not yet done in `out_dir`, streaming results
    there, and return the folder's tables.

    `workers`: 1 runs in this process; more start that many local worker processes (default:
    one per core for large sweeps). `scheduler` ("tcp://host:port") sends the runs to a running
    Dask distributed cluster instead. Runs that raise are recorded in `failed` (and the
    manifest) and the sweep goes on; the next call retries them. The tables are the same
    whatever the executor and however often the sweep was interrupted.
    """
    if not isinstance(experiment, Experiment):
        experiment = Experiment.load(experiment)
    if scheduler is not None:
        if workers is not None:
            raise ScenarioError("--workers and --scheduler exclude each other: the cluster's "
                                "workers run the sweep", key="--workers")
        executor_name = f"Dask cluster at {scheduler}"
    else:
        workers = workers or default_workers(experiment.base, experiment.run_count)
        if workers < 1:
            raise ScenarioError(f"must be at least 1, got {workers}", key="--workers")
        executor_name = "this process" if workers == 1 else f"{workers} local processes"
    store = ResultStore(Path(out_dir), experiment, part_runs, executor_name)
    done = store.open()
    todo = [run for run in range(experiment.run_count) if run not in done]
    if todo:
        bar = _progress_bar(experiment, len(done), progress)
        failures = 0
        try:
            with _executor(experiment, workers, scheduler) as (executor, slots, one_thread):
                for outcome in _dispatch(executor, experiment, todo, slots, one_thread):
                    store.add(outcome)
                    if outcome.error is not None:
                        failures += 1
                        bar.set_postfix(failed=failures, refresh=False)
                    bar.update()
        finally:
            store.close()
            bar.close()
    failed = pd.DataFrame(store.manifest["failed"],
                          columns=["run", "point", "replicate", "seed", "error"])
    return SweepResult(Path(out_dir), experiment, store.manifest["sessions"][-1]["computed"],
                       failed.drop(columns="run"))


def _progress_bar(experiment: Experiment, done: int, enabled: bool) -> Any:
    """A bar of runs done (this session's and earlier ones'), with the time left and, once there
    are any, the failures."""
    from tqdm import tqdm

    bar = tqdm(total=experiment.run_count, initial=done, desc=experiment.name, unit="run",
               disable=not enabled, dynamic_ncols=True, smoothing=0.05)
    bar.set_postfix(failed=0, refresh=False)
    return bar


def _specs(experiment: Experiment, runs: Iterable[int]) -> Iterator[RunSpec]:
    seeds = experiment.replicate_seeds
    for run in runs:
        point, replicate = divmod(run, experiment.replications)
        yield RunSpec(run, point, replicate, seeds[replicate], experiment.points[point])


def _dispatch(executor: Executor, experiment: Experiment, runs: list[int], slots: int,
              one_thread: bool) -> Iterator[RunOutcome]:
    """Submit the runs in order, at most `slots` at a time (memory stays bounded however many
    runs there are), and yield each outcome as it finishes. A run whose task itself fails (a
    lost worker) is yielded as failed with that error."""
    specs = _specs(experiment, runs)
    fingerprint = experiment.fingerprint()
    pending: dict[Future, RunSpec] = {}
    while True:
        while len(pending) < slots and (spec := next(specs, None)) is not None:
            future = executor.submit(execute_run, experiment.base, fingerprint, spec,
                                     experiment.timeseries, one_thread)
            pending[future] = spec
        if not pending:
            return
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            spec = pending.pop(future)
            error = future.exception()
            yield (future.result() if error is None else
                   RunOutcome(spec, None, None, f"{type(error).__name__}: {error}"))


@contextmanager
def _executor(experiment: Experiment, workers: int | None, scheduler: str | None
              ) -> Iterator[tuple[Executor, int, bool]]:
    """(executor, runs to keep in flight, whether tasks must set one Numba thread themselves),
    after warming the compiled code here."""
    _warm(experiment)
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ScenarioError("needs dask[distributed]: pip install 'womsim[experiments]'",
                                key="--scheduler") from None
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise ScenarioError(f"cannot reach the Dask scheduler at {scheduler}: {error}",
                                key="--scheduler") from None
        with client:
            threads = sum(client.nthreads().values()) or 1
            yield client.get_executor(pure=False), threads * IN_FLIGHT_PER_WORKER, True
    elif workers == 1:
        yield _InlineExecutor(), 1, False
    else:
        import multiprocessing

        # fork: workers inherit the compiled kernels and the graph built while warming
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_one_numba_thread) as pool:
            try:
                yield pool, workers * IN_FLIGHT_PER_WORKER, False
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def rerun(experiment: Experiment, point: int, replicate: int) -> dict[str, float]:
    """Run one (point, replicate) in this process and return its KPIs; an error propagates
    with its full traceback (the way to debug a run a sweep recorded as failed)."""
    if not 0 <= point < len(experiment.points):
        raise ScenarioError(f"no point {point}: the experiment has {len(experiment.points)}",
                            key="--rerun")
    if not 0 <= replicate < experiment.replications:
        raise ScenarioError(f"no replicate {replicate}: the experiment has "
                            f"{experiment.replications}", key="--rerun")
    scenario = experiment.point_scenario(point)
    _, kpis = run_once(scenario, experiment.replicate_seeds[replicate])
    return kpis


# --- command line ------------------------------------------------------------------------------


def cmd_sweep(args: argparse.Namespace) -> int:
    """`womsim sweep`: run (or resume) a sweep; exit 1 if any run failed."""
    experiment = Experiment.load(args.experiment)
    if args.rerun:
        point, replicate = _point_replicate(args.rerun)
        kpis = rerun(experiment, point, replicate)
        print(f"point {point}, replicate {replicate} (seed "
              f"{experiment.replicate_seeds[replicate]}): ran without error")
        for name in experiment.kpis:
            print(f"  {name} = {kpis[name]:.6g}")
        return 0
    out = Path(args.out) if args.out else Path("out") / experiment.name
    started = time.perf_counter()
    print(f"{experiment.name}: {len(experiment.points)} points x {experiment.replications} "
          f"replicates = {experiment.run_count} runs ({experiment.design.method} design)")
    result = run_sweep(experiment, out, workers=args.workers, scheduler=args.scheduler,
                       progress=True, part_runs=args.part_size)
    elapsed = time.perf_counter() - started
    rate = f", {60 * result.computed / elapsed:,.0f} runs/min" if elapsed > 0 else ""
    print(f"computed {result.computed} runs in {elapsed:.1f} s{rate}; wrote {out}/ "
          f"(runs/, {'timeseries/, ' if experiment.timeseries else ''}{MANIFEST})")
    if len(result.failed):
        print(f"womsim: {failure_message(result, args.experiment)}", file=sys.stderr)
        return 1
    return 0


def failure_message(result: SweepResult, experiment_file: str) -> str:
    """How many runs of a sweep failed, the first one's error, and how to rerun one."""
    first = result.failed.iloc[0]
    return (f"{len(result.failed)} of {result.experiment.run_count} runs failed (errors and "
            f"seeds in {result.folder / MANIFEST}); the first, point {first.point} replicate "
            f"{first.replicate} (seed {first.seed}): {first.error}\n"
            f"rerun one with its traceback: womsim sweep {experiment_file} --rerun "
            f"{first.point}:{first.replicate}; run the sweep again to retry the failed runs")


def _point_replicate(text: str) -> tuple[int, int]:
    point, sep, replicate = text.partition(":")
    try:
        return int(point), int(replicate)
    except ValueError:
        raise ScenarioError(f"expected POINT:REPLICATE, e.g. 3:0, got {text!r}",
                            key="--rerun") from None


def register(commands: Any) -> None:
    """Add `womsim sweep` to the CLI's subcommands."""
    sweep = commands.add_parser(
        "sweep", help="run an experiment's points x replicates (resumable)",
        description="Run every (point, replicate) of an experiment file, streaming results to "
                    "Parquet parts; run it again after an interruption to compute only what is "
                    "missing.")
    sweep.add_argument("experiment", help="experiment file (TOML)")
    sweep.add_argument("--workers", type=int,
                       help="local worker processes (default: one per core for large sweeps)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786")
    sweep.add_argument("--out", help="output folder (default: out/<experiment name>/)")
    sweep.add_argument("--part-size", type=int, default=PART_RUNS, metavar="N",
                       help=f"runs per Parquet part (default {PART_RUNS}); fewer lose less "
                            f"to a crash")
    sweep.add_argument("--rerun", metavar="POINT:REPLICATE",
                       help="run one run here with its full traceback, writing nothing")
    sweep.set_defaults(func=cmd_sweep)


def main_sweep(argv: Sequence[str] | None = None) -> int:
    """`python -m sim.experiment EXPERIMENT [options]`: `womsim sweep` on its own; returns the
    exit status (2 for bad input, printed as one line)."""
    from sim.app.cli import main as womsim

    return womsim(["sweep", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    # Through the imported module, so that workers unpickle `sim.experiment.execute_run`.
    from sim.analysis.experiment import main_sweep as _main

    sys.exit(_main())
