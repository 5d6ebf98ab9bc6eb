"""Observed adoption: reading and checking a calibration's data file against the scenario.

The file is a CSV in one of two shapes, told apart by its header (other columns are ignored):

- an aggregate series: a time column `week`, `month` or `year` (time since the launch at 0) and
  the cumulative adopters as `adopted` (a count of the scenario's customers), `adopted_fraction`
  or `adopted_percent`;
- per-customer adoption times: `id` and `adopted_week`, `adopted_month` or `adopted_year` (the time
  since the launch by which the customer had adopted; empty for never), the ids being the node
  labels of the scenario's edge list or its node list (customers without ties). The observed
  curve is then the cumulative adoption of the customers listed, at every whole time unit up to
  the last adoption.

Data with nothing to fit is refused: nobody adopted, or everybody who adopted had done so at the
launch (time 0), when the curve is flat from the start.

Time units become weeks as a year = 52 weeks (the simulator's clock) and a month = 52/12 weeks.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.core.errors import InputError, regular_file
from sim.graph import Graph
from sim.scenario import Scenario, ScenarioError

WEEKS_PER_UNIT: dict[str, float] = {"week": 1.0, "month": 52.0 / 12.0, "year": 52.0}
AGGREGATE_VALUE_COLUMNS = ("adopted", "adopted_fraction", "adopted_percent")
PER_CUSTOMER_TIME_COLUMNS = tuple(f"adopted_{unit}" for unit in WEEKS_PER_UNIT)


@dataclass(frozen=True)
class ObservedData:
    """Observed cumulative adoption, as read and checked by `load_data`.

    `times` are in `unit`s since the launch; `percent` is cumulative adoption in percent of
    `population` (all customers for an aggregate series, the customers listed for per-customer
    data, whose graph indices are `customers`; None for aggregate data). For per-customer data
    `adopted_times` holds each listed customer's adoption time in `unit`s, aligned with
    `customers` (NaN: never adopted; None for aggregate data)."""

    path: Path
    kind: str  # "aggregate" or "per_customer"
    unit: str  # "week", "month" or "year"
    times: np.ndarray
    percent: np.ndarray
    population: int
    customers: np.ndarray | None = None
    adopted_times: np.ndarray | None = None

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
    an id listed twice or not a node of the network (its edge list or node list), or nothing to
    fit (nobody adopted, or everybody by time 0)."""
    path = Path(path)
    header, rows = _read_csv(path)
    if "id" in header:
        return _per_customer(path, header, rows, scenario, graph)
    return _aggregate(path, header, rows, scenario, graph)


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (names stripped) and the non-blank rows as (line number, column -> text)."""
    try:
        regular_file(path, "data file")
    except InputError as error:
        raise ScenarioError(error.message, file=path) from None
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
    if values[-1] == 0:
        raise ScenarioError(f"nobody adopted: {value_column} is 0 on every row, so there is "
                            f"nothing to fit", file=path, key=value_column)
    if times[0] == 0 and values[0] == values[-1]:
        # The model starts every run at 0 adopters: a series that is complete at the launch
        # has no growth for any parameter to explain.
        raise ScenarioError(f"everybody adopted at the launch: {value_column} is already "
                            f"{values[0]:g} at {unit} 0 and never changes, so there is nothing "
                            f"to fit", file=path, key=value_column, line=rows[0][0])
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
                                    f"({_network_files(scenario)})", file=path,
                                    key="id", line=seen[label]) from None
        raise
    adopted = np.array(adopted)
    done = adopted[~np.isnan(adopted)]
    if done.size == 0:
        raise ScenarioError(f"nobody adopted: {time_column} is empty on every row, so there is "
                            f"nothing to fit", file=path, key=time_column)
    if done.max() == 0:
        raise ScenarioError(f"everybody adopted at the launch: {time_column} is 0 on every row "
                            f"that is not empty, so the curve is flat and there is nothing to "
                            f"fit", file=path, key=time_column)
    times = np.arange(1.0, math.ceil(done.max()) + 1.0)
    percent = 100.0 * np.array([(done <= t).sum() for t in times]) / len(ids)
    return ObservedData(path, "per_customer", unit, times, percent, len(ids),
                        customers.astype(np.int64), adopted)


def _network_files(scenario: Scenario) -> str:
    """The names of the files the scenario's customers come from: its edge list, and its node
    list if it has one."""
    names = [Path(scenario.network.path).name]
    if scenario.network.nodes is not None:
        names.append(f"node list {Path(scenario.network.nodes).name}")
    return " and ".join(names)


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
    """Names quoted and listed: 'a', 'b' or 'c'."""
    quoted = [repr(name) for name in names]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
