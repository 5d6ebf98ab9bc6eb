"""Calibration: fit scenario parameters to observed adoption, and show how well they fit
(`womsim calibrate`; docs/calibration.md).

Data is a CSV in one of two shapes, told apart by its header (other columns are ignored):

- an aggregate series: a time column `week`, `month` or `year` (time since the launch at 0) and
  the cumulative adopters as `adopted` (a count of the scenario's customers), `adopted_fraction`
  or `adopted_percent`;
- per-customer adoption times: `id` and `adopted_week`, `adopted_month` or `adopted_year` (the time
  since the launch by which the customer had adopted; empty for never), the ids being the node
  labels of the scenario's edge list. The observed curve is then the cumulative adoption of the
  customers listed, at every whole time unit up to the last adoption, and the simulated curve is
  that of the same customers (the others are simulated, and talk, but are not scored).

Time units become weeks as a year = 52 weeks (the simulator's clock) and a month = 52/12 weeks. The
simulated cumulative adoption after w whole weeks is the count of adopters in weeks 0..w-1; at an
observed time T weeks it is interpolated linearly between w = floor(T) and w = ceil(T).

The fit minimises the RMSE, in percentage points of the population (all customers for aggregate
data, the customers listed for per-customer data), between the observed cumulative adoption and
the mean over replicates of the simulated one at the observed times. Every candidate runs with the
same replicate seeds (common random numbers), so two candidates differ by what their parameters
change, not by fresh noise, and the objective is smooth at the scale of the search (at a much
finer scale it is still piecewise constant, each run being a discrete process: hence a
derivative-free search stopping at 0.5% of each range). The search is scipy's: a coarse grid
(`scipy.optimize.brute`) over the bounds, then bounded Nelder-Mead from its best point, both in
coordinates scaled to [0, 1] per key. The uncertainty interval comes from refits (Nelder-Mead
from the fit) over bootstrap resamples of the replicate set: it is the Monte-Carlo uncertainty of
the fit, how far the values move with the luck of the replicates, not the sampling error of the
data. Beside the fit stand the closed-form Bass least-squares fits of the same points
(`sim.bass`), with m = 100% and with m fitted, so a reader sees whether the model earns its keep.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing
import os
import shlex
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brute, minimize
from tqdm import tqdm

from sim.analysis.bass import BassFit, fit_bass
from sim.run.engine import Engine, build_scenario_graph
from sim.graph.network import Graph
from sim.scenario.schema import SECTIONS
from sim.present.figures import BAND_ALPHA, DPI, band_by_week, draw_band, figure
from sim.run.results import staged_folder
from sim.core.rng import derived_seed, replicate_seed
from sim.run.replicates import PARALLEL_THRESHOLD_CUSTOMER_WEEKS
from sim.scenario.load import Scenario, ScenarioError
from sim.core.stages import SOURCE_COLOURS, STATE_COLOURS, Source, State

WEEKS_PER_UNIT: dict[str, float] = {"week": 1.0, "month": 52.0 / 12.0, "year": 52.0}
AGGREGATE_VALUE_COLUMNS = ("adopted", "adopted_fraction", "adopted_percent")
PER_CUSTOMER_TIME_COLUMNS = tuple(f"adopted_{unit}" for unit in WEEKS_PER_UNIT)
OUTPUT_FILES = ("fitted.toml", "summary.json", "curve.csv", "calibration.png")

DEFAULT_REFITS = 5
BOOTSTRAP_SEED_LABEL = 7  # rng.derived_seed label of the replicate resampling
# Grid points per key of the first stage (cell midpoints of the unit interval): 5 per key for one
# or two keys (25 evaluations for two), 3 per key beyond, so the grid stays affordable.
_GRID_FINE, _GRID_COARSE = 5, 3
# Nelder-Mead, in unit coordinates: a first simplex of 10% of each range (5% for refits, which
# start at the fit), stopping when the simplex is 0.5% of the ranges wide and the RMSE across it
# differs by less than 0.01 points (far below any fit error seen), or after a budget of
# evaluations per key (refits, starting near their optimum, get half).
_SIMPLEX_STEP, _REFIT_STEP = 0.10, 0.05
_XATOL, _FATOL = 5e-3, 1e-2
_MAXFEV_PER_KEY = 40
# A week of a run costs about as much as this many customers even on a tiny graph (the kernel's
# fixed cost per step), which decides when worker processes pay for themselves.
_STEP_COST_IN_CUSTOMERS = 2000


# --------------------------------------------------------------------------------------------
# Observed data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedData:
    """Observed cumulative adoption, as read and checked by `load_data`.

    `times` are in `unit`s since the launch; `percent` is cumulative adoption in percent of
    `population` (all customers for an aggregate series, the customers listed for per-customer
    data, whose graph indices are `customers`; None for aggregate data)."""

    path: Path
    kind: str  # "aggregate" or "per_customer"
    unit: str  # "week", "month" or "year"
    times: np.ndarray
    percent: np.ndarray
    population: int
    customers: np.ndarray | None = None

    @property
    def weeks(self) -> np.ndarray:
        """The observed times in weeks since the launch."""
        return self.times * WEEKS_PER_UNIT[self.unit]

    @property
    def years(self) -> np.ndarray:
        """The observed times in years since the launch (the unit of p and q)."""
        return self.weeks / WEEKS_PER_UNIT["year"]


def load_data(path: str | os.PathLike, scenario: Scenario, graph: Graph) -> ObservedData:
    """Read an adoption CSV (either shape of the module docstring) and check it against the
    scenario and its graph. Raises `ScenarioError` naming the file, line and column of the first
    problem: a missing or ambiguous column, a value that is not a number or out of range, times
    that do not increase, a cumulative series that falls, a time beyond the scenario's horizon,
    an id listed twice or not a node of the network, or nothing to fit."""
    path = Path(path)
    header, rows = _read_csv(path)
    if "id" in header:
        return _per_customer(path, header, rows, scenario, graph)
    return _aggregate(path, header, rows, scenario, graph)


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (names stripped) and the non-blank rows as (line number, column -> text)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not any(header):
                raise ScenarioError("empty file: expected a header row", file=path, line=1)
            rows = []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    raise ScenarioError(f"{len(cells)} fields, but the header has {len(header)}",
                                        file=path, line=reader.line_num)
                rows.append((reader.line_num,
                             {name: cell.strip() for name, cell in zip(header, cells,
                                                                       strict=True)}))
    except FileNotFoundError:
        raise ScenarioError("data file not found", file=path) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text", file=path) from None
    except csv.Error as error:
        raise ScenarioError(f"not a valid CSV file: {error}", file=path) from None
    if not rows:
        raise ScenarioError("no data rows below the header", file=path)
    return header, rows


def _one_column(path: Path, header: list[str], names: Sequence[str], what: str) -> str:
    """The one column of `names` in the header; ScenarioError when none or several are."""
    found = [name for name in names if name in header]
    if len(found) > 1:
        raise ScenarioError(f"columns {' and '.join(map(repr, found))} both give {what}; keep "
                            f"one", file=path, line=1)
    if not found:
        raise ScenarioError(f"missing column: {what} is one of {_either(names)} (the header "
                            f"has {', '.join(map(repr, header))})", file=path, line=1)
    return found[0]


def _aggregate(path: Path, header: list[str], rows: list[tuple[int, dict[str, str]]],
               scenario: Scenario, graph: Graph) -> ObservedData:
    """An aggregate series: times increasing from 0, cumulative adoption never falling."""
    time_column = _one_column(path, header, tuple(WEEKS_PER_UNIT), "the time since the launch")
    value_column = _one_column(path, header, AGGREGATE_VALUE_COLUMNS, "the cumulative adopters")
    unit = time_column
    top = {"adopted": float(graph.n), "adopted_fraction": 1.0, "adopted_percent": 100.0}
    to_percent = 100.0 / top[value_column]
    times, values = [], []
    for line, row in rows:
        t = _number(row[time_column], path, line, time_column, low=0.0)
        value = _number(row[value_column], path, line, value_column, low=0.0,
                        high=top[value_column])
        if times and t <= times[-1]:
            raise ScenarioError(f"times must increase down the file: {t:g} comes after "
                                f"{times[-1]:g}", file=path, key=time_column, line=line)
        if values and value < values[-1]:
            raise ScenarioError(f"non-monotone cumulative series: {value:g} is below "
                                f"{values[-1]:g} on the row before (cumulative adoption "
                                f"never falls)",
                                file=path, key=value_column, line=line)
        _check_horizon(t, unit, scenario, path, line, time_column)
        times.append(t)
        values.append(value)
    return ObservedData(path, "aggregate", unit, np.array(times),
                        np.array(values) * to_percent, graph.n)


def _per_customer(path: Path, header: list[str], rows: list[tuple[int, dict[str, str]]],
                  scenario: Scenario, graph: Graph) -> ObservedData:
    """Per-customer adoption times on the scenario's edge list, summed into the cumulative curve
    of the customers listed at every whole time unit up to the last adoption."""
    if scenario.network.kind != "edgelist":
        raise ScenarioError(f"per-customer data ({path.name}) needs a scenario whose network is "
                            f"an edge list with those ids as node labels, not "
                            f"{scenario.network.kind!r}", file=scenario.path, key="network.kind")
    time_column = _one_column(path, header, PER_CUSTOMER_TIME_COLUMNS,
                              "each customer's adoption time")
    unit = time_column.removeprefix("adopted_")
    seen: dict[str, int] = {}
    ids, adopted = [], []
    for line, row in rows:
        label = row["id"]
        if not label:
            raise ScenarioError("missing id", file=path, key="id", line=line)
        if label in seen:
            raise ScenarioError(f"id {label!r} is listed twice (first on line {seen[label]})",
                                file=path, key="id", line=line)
        seen[label] = line
        text = row[time_column]
        t = math.nan if not text else _number(text, path, line, time_column, low=0.0)
        if text:  # the curve is scored at whole units, up to the one this adoption falls in
            _check_horizon(math.ceil(t), unit, scenario, path, line, time_column)
        ids.append(label)
        adopted.append(t)
    try:
        customers = graph.index_of(ids)
    except KeyError:
        for label in ids:  # find the first missing id, to name its line
            try:
                graph.index_of([label])
            except KeyError:
                raise ScenarioError(f"id {label!r} is not a node of the scenario's network "
                                    f"({Path(scenario.network.path).name})", file=path,
                                    key="id", line=seen[label]) from None
        raise
    adopted = np.array(adopted)
    done = adopted[~np.isnan(adopted)]
    if done.size == 0:
        raise ScenarioError(f"nobody adopted: {time_column} is empty on every row, so there is "
                            f"nothing to fit", file=path, key=time_column)
    times = np.arange(1.0, math.ceil(done.max()) + 1.0)
    percent = 100.0 * np.array([(done <= t).sum() for t in times]) / len(ids)
    return ObservedData(path, "per_customer", unit, times, percent, len(ids),
                        customers.astype(np.int64))


def _number(text: str, path: Path, line: int, column: str, low: float,
            high: float | None = None) -> float:
    """A finite number in [low, high] read from a cell; ScenarioError otherwise."""
    if not text:
        raise ScenarioError("missing value", file=path, key=column, line=line)
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(f"{text!r} is not a number", file=path, key=column,
                            line=line) from None
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise ScenarioError(f"must be {bounds}, got {text}", file=path, key=column, line=line)
    return value


def _check_horizon(t: float, unit: str, scenario: Scenario, path: Path, line: int,
                   column: str) -> None:
    """ScenarioError when time `t` (in `unit`s) lies beyond the scenario's horizon."""
    needed = math.ceil(t * WEEKS_PER_UNIT[unit] - 1e-9)
    if needed > scenario.weeks:
        raise ScenarioError(f"{unit} {t:g} is {t * WEEKS_PER_UNIT[unit]:.4g} weeks after the "
                            f"launch, beyond the scenario's horizon of {scenario.weeks} weeks "
                            f"(set weeks = {needed} or more)", file=path, key=column, line=line)


def _either(names: Sequence[str]) -> str:
    quoted = [repr(name) for name in names]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


# --------------------------------------------------------------------------------------------
# What is fitted
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitKey:
    """A scenario key to fit, searched over [low, high]; `start` is the scenario's value."""

    key: str
    low: float
    high: float
    start: float


def parse_fit(spec: str, scenario: Scenario) -> FitKey:
    """A `--fit` argument, "KEY" or "KEY=LOW:HIGH", checked against the scenario.

    KEY is a real-valued section parameter (`market.innovation`, `sharing.base`, ...); network
    keys are not (every candidate runs on the same graph). Without bounds, a key whose schema
    range has both ends is searched over it; any other over [its lower limit, or 0; 10 times the
    scenario's value]. Both bounds are validated as scenario values. Raises ScenarioError.
    """
    key, sep, bounds = (part.strip() for part in spec.partition("="))
    section, _, name = key.partition(".")
    meta = next((f.metadata for f in fields(SECTIONS[section]) if f.name == name), None) \
        if section in SECTIONS else None
    if meta is None:
        scenario.get(key)  # an unknown key gets the usual error, with a did-you-mean
        raise ScenarioError("only section parameters (section.key) can be fitted", key=key)
    if section == "network":
        raise ScenarioError("network keys cannot be fitted: every candidate runs on the same "
                            "graph", key=key)
    if meta["type"] != "float":
        raise ScenarioError(f"only real-valued keys can be fitted; this one is {meta['type']}",
                            key=key)
    start = float(scenario.get(key))
    if sep:
        low_text, colon, high_text = bounds.partition(":")
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            low = high = math.nan
        if not colon or not (math.isfinite(low) and math.isfinite(high)):
            raise ScenarioError(f"expected KEY=LOW:HIGH with two numbers, got {spec!r}", key=key)
    elif meta["low"] is not None and meta["high"] is not None:
        low, high = float(meta["low"]), float(meta["high"])
    elif start > 0:
        low = float(meta["low"]) if meta["low"] is not None else 0.0
        high = 10.0 * start
    else:
        raise ScenarioError(f"give the range to search: --fit {key}=LOW:HIGH", key=key)
    if not low < high:
        raise ScenarioError(f"the range {low:g}:{high:g} is empty: LOW must be below HIGH",
                            key=key)
    for bound in (low, high):
        scenario.with_overrides({key: bound})
    return FitKey(key, low, high, start)


# --------------------------------------------------------------------------------------------
# Simulating candidates
# --------------------------------------------------------------------------------------------

_worker: dict = {}  # what each worker process holds: the graph and the customers scored


def _init_worker(graph: Graph, customers: np.ndarray | None) -> None:
    _worker["graph"], _worker["customers"] = graph, customers


def _run_in_worker(task: tuple[Scenario, int]) -> np.ndarray:
    return adoption_counts(task[0], task[1], _worker["graph"], _worker["customers"])


def adoption_counts(scenario: Scenario, seed: int, graph: Graph,
                    customers: np.ndarray | None = None) -> np.ndarray:
    """One run's cumulative adopters (first purchases and seeds) after w = 0..weeks whole weeks,
    among `customers` (graph indices; None: everyone), as int32 (entry 0 is 0)."""
    adopted_week = Engine(scenario, seed, graph).run().customers.adopted_week
    if customers is not None:
        adopted_week = adopted_week[customers]
    per_week = np.bincount(adopted_week[adopted_week >= 0], minlength=scenario.weeks)
    return np.concatenate(([0], np.cumsum(per_week))).astype(np.int32)


class _Simulator:
    """Runs a scenario's replicate seeds at candidate values of the fitted keys, keeping every
    run's `adoption_counts` (a refit revisits the same runs), in worker processes or here."""

    def __init__(self, scenario: Scenario, keys: Sequence[FitKey], graph: Graph,
                 customers: np.ndarray | None, seeds: Sequence[int], workers: int,
                 progress: bool) -> None:
        self.scenario, self.keys, self.graph, self.customers = scenario, keys, graph, customers
        self.seeds = list(seeds)
        self.runs: dict[tuple[tuple[float, ...], int], np.ndarray] = {}
        self.evaluations = 0
        # disable=None: a bar on a terminal only, never in logs
        self.bar = tqdm(desc=f"calibrating {scenario.name}", unit="run",
                        disable=None if progress else True, leave=False)
        self.pool = None
        if workers > 1:
            # fork: workers share the graph's memory and inherit the compiled kernels.
            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker, initargs=(graph, customers))

    def close(self) -> None:
        self.bar.close()
        if self.pool is not None:
            self.pool.shutdown()

    def candidate(self, values: Sequence[float]) -> Scenario:
        """The scenario with the fitted keys set to `values`."""
        return self.scenario.with_overrides(
            {fit.key: float(v) for fit, v in zip(self.keys, values, strict=True)})

    def counts(self, values: Sequence[float], replicates: Sequence[int]) -> np.ndarray:
        """`adoption_counts` of the given replicates (indices into the seeds; repeats allowed)
        at `values`, one row each."""
        values = tuple(float(v) for v in values)
        missing = sorted({r for r in replicates if (values, r) not in self.runs})
        if missing:
            scenario = self.candidate(values)
            tasks = [(scenario, self.seeds[r]) for r in missing]
            if self.pool is None:
                outputs = (adoption_counts(s, seed, self.graph, self.customers)
                           for s, seed in tasks)
            else:
                outputs = self.pool.map(_run_in_worker, tasks)
            for r, output in zip(missing, outputs, strict=True):
                self.runs[(values, r)] = output
                self.bar.update()
        return np.stack([self.runs[(values, r)] for r in replicates])


def _percent_at(counts: np.ndarray, weeks: np.ndarray, population: int) -> np.ndarray:
    """Cumulative adoption in percent of `population` at times `weeks` (floats), interpolated
    linearly between whole weeks; one row per row of `counts`."""
    whole = np.arange(counts.shape[1])
    return np.stack([np.interp(weeks, whole, row) for row in counts]) * (100.0 / population)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


# --------------------------------------------------------------------------------------------
# The fit
# --------------------------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """A calibration: the keys fitted, their values and 5-95% intervals over the refits, the fit
    error (RMSE in percentage points) of the simulated mean and of the closed-form Bass fits,
    and what the figure and files need. `counts` holds `adoption_counts` of every replicate at
    the fitted values."""

    scenario: Scenario
    fitted: Scenario
    data: ObservedData
    keys: list[FitKey]
    values: dict[str, float]
    rmse: float
    refits: list[dict[str, float]]
    refit_rmse: list[float]
    bass: BassFit
    bass_free: BassFit
    counts: np.ndarray
    seeds: list[int]
    evaluations: int
    runs: int
    seconds: float

    @property
    def intervals(self) -> dict[str, tuple[float, float] | None]:
        """Each key's 5-95% interval over the bootstrap refits (None without refits)."""
        if not self.refits:
            return {fit.key: None for fit in self.keys}
        return {fit.key: tuple(float(v) for v in np.percentile(
            [refit[fit.key] for refit in self.refits], [5, 95])) for fit in self.keys}

    @property
    def monte_carlo_error(self) -> float:
        """The root-mean-square standard error of the simulated mean over the observed times, in
        percentage points: how much of `rmse` the finite replicate set alone could explain (the
        RMSE of a perfect model is about this large)."""
        simulated = self.simulated_percent()
        if simulated.shape[0] < 2:
            return math.nan
        variance = simulated.var(axis=0, ddof=1) / simulated.shape[0]
        return float(np.sqrt(variance.mean()))

    def simulated_percent(self) -> np.ndarray:
        """The replicates' cumulative adoption at the observed times (one row per replicate)."""
        return _percent_at(self.counts, self.data.weeks, self.data.population)

    def curve_table(self) -> pd.DataFrame:
        """One row per observed time: the observed percent, the simulated mean and 5-95% band,
        and both Bass fits."""
        simulated = self.simulated_percent()
        p05, p95 = np.percentile(simulated, [5, 95], axis=0)
        unit = self.data.unit
        return pd.DataFrame({
            unit: self.data.times, "weeks": self.data.weeks,
            "observed_percent": self.data.percent,
            "simulated_mean": simulated.mean(axis=0), "simulated_p05": p05,
            "simulated_p95": p95,
            "bass_percent": 100.0 * self.bass.curve(self.data.years),
            "bass_free_market_percent": 100.0 * self.bass_free.curve(self.data.years),
        })

    def summary(self, command: str | None = None) -> dict:
        """Everything a reader needs to judge the fit, as plain data for JSON."""
        intervals = self.intervals
        return {
            "scenario": self.scenario.name,
            "scenario_file": str(self.scenario.path) if self.scenario.path else None,
            "data_file": str(self.data.path),
            "data_kind": self.data.kind,
            "time_unit": self.data.unit,
            "weeks_per_unit": WEEKS_PER_UNIT[self.data.unit],
            "observations": int(self.data.times.size),
            "population": self.data.population,
            "seed": self.scenario.seed,
            "replications": len(self.seeds),
            "replicate_seeds": self.seeds,
            "fit": {fit.key: {"value": self.values[fit.key],
                              "interval": list(intervals[fit.key]) if intervals[fit.key] else None,
                              "bounds": [fit.low, fit.high], "start": fit.start}
                    for fit in self.keys},
            "rmse_points": self.rmse,
            "monte_carlo_error_points": self.monte_carlo_error,
            "refits": {"count": len(self.refits), "values": self.refits,
                       "rmse_points": self.refit_rmse,
                       "method": "bounded Nelder-Mead from the fit over bootstrap resamples of "
                                 "the replicate seeds: Monte-Carlo uncertainty of the fit"},
            "bass": _bass_summary(self.bass),
            "bass_free_market": _bass_summary(self.bass_free),
            "evaluations": self.evaluations,
            "runs": self.runs,
            "seconds": self.seconds,
            "command": command,
            "files": list(OUTPUT_FILES),
        }

    def fitted_toml(self, folder: Path) -> str:
        """The fitted scenario as a TOML file to be written in `folder`: it `extends` the input
        scenario (a path relative to `folder`) and sets the fitted keys, and the seed and
        replications where the calibration changed them, so `womsim run` repeats the band.
        Without a scenario file, it is the whole resolved scenario."""
        header = [f"Calibrated to {self.data.path.name}: RMSE {self.rmse:.3g} percentage points "
                  f"(closed-form Bass, m = 100%: {100 * self.bass.rmse:.3g})",
                  f"over {len(self.seeds)} replicates of seed {self.scenario.seed}; "
                  f"see summary.json beside this file."]
        if self.scenario.path is None:
            return self.fitted.to_toml(header="\n".join(header))
        parent = os.path.relpath(self.scenario.path, folder.resolve())
        lines = [f"# {text}" for text in header] + [
            "",
            f"extends = {json.dumps(Path(parent).as_posix())}",
            f"name = {json.dumps(self.fitted.name)}",
            f"description = {json.dumps(self.fitted.description)}",
        ]
        original = Scenario.load(self.scenario.path)
        for key in ("seed", "replications"):
            if getattr(self.fitted, key) != getattr(original, key):
                lines.append(f"{key} = {getattr(self.fitted, key)}")
        by_section: dict[str, list[str]] = {}
        for fit in self.keys:
            section, name = fit.key.split(".")
            by_section.setdefault(section, []).append(f"{name} = {self.values[fit.key]!r}")
        for section, assignments in by_section.items():
            lines += ["", f"[{section}]", *assignments]
        return "\n".join(lines) + "\n"

    def write(self, folder: str | os.PathLike, command: str | None = None) -> Path:
        """Write `fitted.toml`, `summary.json`, `curve.csv` and `calibration.png` into `folder`,
        atomically: all are written into a new folder beside it, which then replaces it. An
        existing `folder` must be empty or an earlier calibration's (ScenarioError otherwise)."""
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()) and not all(
                (folder / name).exists() for name in ("fitted.toml", "summary.json")):
            raise ScenarioError("exists and is not a calibration folder; choose another --out",
                                file=folder)
        with staged_folder(folder) as staging:
            (staging / "fitted.toml").write_text(self.fitted_toml(folder))
            (staging / "summary.json").write_text(
                json.dumps(self.summary(command), indent=2) + "\n")
            self.curve_table().to_csv(staging / "curve.csv", index=False)
            plot_calibration(self, staging / "calibration.png")
        return folder


def _bass_summary(fit: BassFit) -> dict:
    """A Bass fit for summary.json, with its RMSE in percentage points."""
    out = fit.to_dict()
    out["rmse_points"] = 100.0 * out.pop("rmse")
    return out


def calibrate(
    scenario: Scenario | str | os.PathLike,
    data: str | os.PathLike,
    fit: Sequence[str | FitKey],
    *,
    replications: int | None = None,
    seed: int | None = None,
    refits: int = DEFAULT_REFITS,
    workers: int | None = None,
    progress: bool = False,
) -> CalibrationResult:
    """Fit the keys `fit` ("KEY" or "KEY=LOW:HIGH" strings, or `FitKey`s) of `scenario` to the
    adoption data in `data` (see the module docstring for the method).

    `replications` and `seed` override the scenario's; `refits` bootstrap refits give the
    intervals (0: none); `workers` processes run the replicates (default: one per core for large
    jobs). The same inputs always give the same result, whatever the number of workers. Raises
    ScenarioError for bad input, before any simulation.
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    overrides = {k: v for k, v in (("replications", replications), ("seed", seed))
                 if v is not None}
    if overrides:
        scenario = scenario.with_overrides(overrides)
    keys = [item if isinstance(item, FitKey) else parse_fit(item, scenario) for item in fit]
    if not keys:
        raise ScenarioError("nothing to fit: give at least one --fit KEY")
    if len({k.key for k in keys}) != len(keys):
        raise ScenarioError("each key can be given to --fit once", key="fit")
    if refits < 0:
        raise ScenarioError(f"must be >= 0, got {refits}", key="refits")
    graph = build_scenario_graph(scenario)
    observed = load_data(data, scenario, graph)
    if observed.times.size < max(2, len(keys)):
        raise ScenarioError(f"{observed.times.size} observation(s) cannot pin down "
                            f"{len(keys)} key(s): need at least {max(2, len(keys))}",
                            file=observed.path)

    seeds = [replicate_seed(scenario.seed, r) for r in range(scenario.replications)]
    if workers is None:
        work = (graph.n + _STEP_COST_IN_CUSTOMERS) * scenario.weeks * len(seeds)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        workers = min(len(seeds), cores) if work >= PARALLEL_THRESHOLD_CUSTOMER_WEEKS else 1
    simulator = _Simulator(scenario, keys, graph, observed.customers, seeds, workers, progress)
    low = np.array([k.low for k in keys])
    span = np.array([k.high - k.low for k in keys])

    def to_values(unit_x: np.ndarray) -> np.ndarray:
        return low + np.clip(np.atleast_1d(unit_x), 0.0, 1.0) * span

    def objective(unit_x: np.ndarray, replicates: Sequence[int]) -> float:
        simulator.evaluations += 1
        simulated = _percent_at(simulator.counts(to_values(unit_x), replicates), observed.weeks,
                                observed.population)
        return _rmse(simulated.mean(axis=0), observed.percent)

    try:
        everyone = list(range(len(seeds)))
        best = _search(lambda x: objective(x, everyone), len(keys))
        rng = np.random.default_rng(derived_seed(scenario.seed, BOOTSTRAP_SEED_LABEL))
        refit_x, refit_rmse = [], []
        for _ in range(refits):
            sample = rng.integers(0, len(seeds), size=len(seeds)).tolist()
            result = _nelder_mead(lambda x, s=sample: objective(x, s), best, _REFIT_STEP,
                                  _MAXFEV_PER_KEY // 2)
            refit_x.append(result.x)
            refit_rmse.append(float(result.fun))
        values = to_values(best)
        counts = simulator.counts(values, everyone)
    finally:
        simulator.close()

    fitted_values = {k.key: float(v) for k, v in zip(keys, values, strict=True)}
    refit_values = [{k.key: float(v) for k, v in zip(keys, to_values(x), strict=True)}
                    for x in refit_x]
    fitted = simulator.candidate(values).with_overrides({
        "name": f"{scenario.name}_fitted",
        "description": f"{scenario.name} with {', '.join(fitted_values)} fitted to "
                       f"{observed.path.name}"})
    rmse = _rmse(_percent_at(counts, observed.weeks, observed.population).mean(axis=0),
                 observed.percent)
    fraction = observed.percent / 100.0
    return CalibrationResult(
        scenario=scenario, fitted=fitted, data=observed, keys=keys, values=fitted_values,
        rmse=rmse, refits=refit_values, refit_rmse=refit_rmse,
        bass=fit_bass(observed.years, fraction),
        bass_free=fit_bass(observed.years, fraction, fit_market=True),
        counts=counts, seeds=seeds, evaluations=simulator.evaluations,
        runs=len(simulator.runs), seconds=time.perf_counter() - started)


def _search(objective, k: int) -> np.ndarray:
    """Minimise `objective` over the unit cube [0, 1]^k: the best point of a coarse grid of cell
    midpoints (scipy.optimize.brute), then bounded Nelder-Mead from it."""
    points = _GRID_FINE if k <= 2 else _GRID_COARSE
    ranges = [slice(0.5 / points, 1.0, 1.0 / points)] * k
    start = np.atleast_1d(brute(objective, ranges, finish=None))
    return _nelder_mead(objective, start, _SIMPLEX_STEP, _MAXFEV_PER_KEY).x


def _nelder_mead(objective, start: np.ndarray, step: float, maxfev_per_key: int):
    """scipy's bounded Nelder-Mead on the unit cube from `start`, with a first simplex that
    steps `step` along each axis (inwards at a bound), at most `maxfev_per_key` evaluations per
    dimension."""
    start = np.asarray(start, dtype=np.float64)
    simplex = [start]
    for i in range(start.size):
        vertex = start.copy()
        vertex[i] += step if start[i] + step <= 1.0 else -step
        simplex.append(vertex)
    return minimize(objective, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * start.size,
                    options={"initial_simplex": np.array(simplex), "xatol": _XATOL,
                             "fatol": _FATOL, "maxfev": maxfev_per_key * start.size})


# --------------------------------------------------------------------------------------------
# Figure and report
# --------------------------------------------------------------------------------------------

_SIMULATED_COLOUR = STATE_COLOURS[State.LOYAL]  # adopters are the customers who bought
_BASS_COLOUR = SOURCE_COLOURS[Source.PAID]
_BASS_FREE_COLOUR = "#555555"


def plot_calibration(result: CalibrationResult, path: str | os.PathLike) -> Path:
    """The observed curve against the simulated median and 5-95% band at the fitted values and
    the two closed-form Bass fits, in percent of the population over time since the launch."""
    data = result.data
    per_unit = WEEKS_PER_UNIT[data.unit]
    weeks = result.counts.shape[1]
    tidy = pd.DataFrame({
        "replicate": np.repeat(np.arange(result.counts.shape[0]), weeks),
        "week": np.tile(np.arange(weeks), result.counts.shape[0]),
        "percent": result.counts.ravel() * (100.0 / data.population),
    })
    band = band_by_week(tidy, "percent")
    band.index = band.index / per_unit  # weeks -> the data's unit
    t = np.linspace(0.0, (weeks - 1) / per_unit, 400)
    years = t * per_unit / WEEKS_PER_UNIT["year"]
    fitted = ", ".join(f"{k.split('.')[-1]} = {v:.4g}" for k, v in result.values.items())
    who = ("all customers" if data.kind == "aggregate"
           else f"the {data.population} customers listed")
    with figure() as fig:
        ax = fig.subplots()
        draw_band(ax, band, _SIMULATED_COLOUR,
                  f"Model at the fit ({fitted}): median and 5–95% band over "
                  f"{result.counts.shape[0]} runs; RMSE {result.rmse:.2f} points",
                  alpha=BAND_ALPHA)
        ax.plot(t, 100.0 * result.bass.curve(years), color=_BASS_COLOUR, lw=2, ls="--",
                label=f"Bass, m = 100% (p = {result.bass.p:.4g}, q = {result.bass.q:.4g}/yr); "
                      f"RMSE {100 * result.bass.rmse:.2f}")
        free = result.bass_free
        ax.plot(t, 100.0 * free.curve(years), color=_BASS_FREE_COLOUR, lw=1.6, ls=":",
                label=f"Bass, m fitted (p = {free.p:.4g}, q = {free.q:.4g}/yr, "
                      f"m = {100 * free.m:.1f}%); RMSE {100 * free.rmse:.2f}")
        ax.plot(data.times, data.percent, "o", color="black", ms=5, label="Observed",
                zorder=5)
        ax.set_xlim(0, t[-1])
        ax.set_ylim(0, 100)
        ax.set_xlabel(f"{data.unit.capitalize()}s since the launch")
        ax.set_ylabel(f"Adopted, % of {who}")
        ax.legend(loc="upper left", frameon=False, fontsize=10)
        fig.suptitle(f"{result.scenario.name} calibrated to {data.path.name}", x=0.01,
                     ha="left")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=DPI)
    return path


def report(result: CalibrationResult) -> str:
    """The calibration as plain text: fitted values with intervals, and the fit errors."""
    data = result.data
    lines = [f"{result.scenario.name}: {len(result.keys)} key(s) fitted to {data.path} "
             f"({data.times.size} points in {data.unit}s, {data.kind.replace('_', '-')} data, "
             f"population {data.population:,}), {len(result.seeds)} replicates, "
             f"{result.evaluations} evaluations ({result.runs:,} runs), "
             f"{len(result.refits)} refits, {result.seconds:.0f} s", ""]
    rows = [("key", "fitted", f"5-95% ({len(result.refits)} refits)", "searched")]
    for fit in result.keys:
        interval = result.intervals[fit.key]
        rows.append((fit.key, f"{result.values[fit.key]:.4g}",
                     f"{interval[0]:.4g} - {interval[1]:.4g}" if interval else "n/a",
                     f"{fit.low:g} - {fit.high:g}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += ["  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    bass, free = result.bass, result.bass_free
    lines += [
        "", "fit error, RMSE in percentage points of the population:",
        f"  model (mean of {len(result.seeds)} runs)  {result.rmse:6.2f}   Monte-Carlo standard "
        f"error of the mean: {result.monte_carlo_error:.2f}",
        f"  Bass, m = 100%            {100 * bass.rmse:6.2f}   p = {bass.p:.4g}, "
        f"q = {bass.q:.4g} per year",
        f"  Bass, m fitted            {100 * free.rmse:6.2f}   p = {free.p:.4g}, "
        f"q = {free.q:.4g} per year, m = {100 * free.m:.1f}%",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def cmd_calibrate(args: argparse.Namespace) -> int:
    """`womsim calibrate`: fit, print the report, write the output folder."""
    scenario = Scenario.load(args.scenario)
    result = calibrate(scenario, args.data, args.fit, replications=args.reps, seed=args.seed,
                       refits=args.refits, workers=args.workers, progress=True)
    out = Path(args.out) if args.out else Path("out") / f"{scenario.name}_calibration"
    parts = ["womsim", "calibrate", args.scenario, "--data", args.data]
    for spec in args.fit:
        parts += ["--fit", spec]
    for option in ("reps", "seed", "refits", "out"):
        if getattr(args, option) is not None:
            parts += [f"--{option}", str(getattr(args, option))]
    result.write(out, command=shlex.join(parts))
    print(report(result))
    print(f"\nwrote {out}/ ({', '.join(OUTPUT_FILES)})")
    return 0


def register(commands) -> None:
    """Add the `calibrate` subcommand to the CLI's subparsers."""
    parser = commands.add_parser(
        "calibrate", help="fit scenario keys to observed adoption data",
        description="Fit scenario keys to an adoption CSV by simulation (common random "
                    "numbers, grid then Nelder-Mead), beside the closed-form Bass fit.")
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="CSV: week|month|year,adopted|adopted_fraction|adopted_percent, "
                             "or id,adopted_week|adopted_month|adopted_year")
    parser.add_argument("--fit", action="append", required=True, metavar="KEY[=LOW:HIGH]",
                        help="a key to fit and the range to search, e.g. "
                             "market.imitation=0.05:0.6 (repeatable)")
    parser.add_argument("--reps", type=int, help="replicates per candidate (default: the "
                        "scenario's replications)")
    parser.add_argument("--seed", type=int, help="scenario seed (default: the scenario's)")
    parser.add_argument("--refits", type=int, default=DEFAULT_REFITS,
                        help=f"bootstrap refits for the intervals (default {DEFAULT_REFITS}; "
                             f"0: none)")
    parser.add_argument("--out", help="output folder (default: out/<scenario name>_calibration/)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core "
                        "for large jobs)")
    parser.set_defaults(func=cmd_calibrate)


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.calibrate ARGS`: the same as `womsim calibrate ARGS`."""
    from sim.app.cli import main as womsim

    return womsim(["calibrate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
