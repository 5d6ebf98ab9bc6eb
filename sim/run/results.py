"""Tidy result tables, their summaries with intervals, and the tables of a run folder
(DESIGN.md "Results").

A run folder holds `summary.json`, `runs.parquet`, `timeseries.parquet`, `scenario.toml`
(resolved, with the replicate seeds and package version in its header, so that
`womsim run FOLDER/scenario.toml` repeats the run exactly), and, added by the presentation layer
in the same staging folder, `figures/` and `report.html`. It is written next to its final place
and renamed into it at the end (`sim.run.folders.staged_folder`, which the presentation layer
imports from here): an interrupted write never leaves a half-written folder where a finished one
was, and a folder womsim did not write is never replaced.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.core.files import json_text
from sim.core.kernels import HISTORY_COLUMNS, REAL_COLUMNS
from sim.core.kpis import KPI_NAMES
from sim.core.metrics import weekly_outcomes
from sim.core.stages import ADOPTED_COLUMNS
from sim.run.folders import staged_folder

# Columns that hold money or sums of real numbers; the others are counts of customers.


def summarise(values: pd.Series | np.ndarray) -> dict[str, float]:
    """Mean and 5-95% interval (percentiles over replications), ignoring undefined values."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return {"mean": math.nan, "p05": math.nan, "p95": math.nan}
    p05, p95 = np.percentile(array, [5, 95])
    return {"mean": float(array.mean()), "p05": float(p05), "p95": float(p95)}


def history_table(history: np.ndarray) -> pd.DataFrame:
    """One run's weekly history as a table: `week`, then kernels.HISTORY_COLUMNS (counts as
    integers), then metrics.weekly_outcomes."""
    frame = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    for column in HISTORY_COLUMNS:
        if column not in REAL_COLUMNS:
            frame[column] = frame[column].astype(np.int64)
    for name, values in weekly_outcomes(history).items():
        frame[name] = values
    frame.insert(0, "week", np.arange(history.shape[0], dtype=np.int64))
    return frame


def timeseries_table(histories: list[np.ndarray]) -> pd.DataFrame:
    """One row per replicate x week: `replicate`, `week`, then kernels.HISTORY_COLUMNS."""
    weeks = histories[0].shape[0]
    frame = history_table(np.concatenate(histories))
    frame["week"] = np.tile(np.arange(weeks, dtype=np.int64), len(histories))
    frame.insert(0, "replicate", np.repeat(np.arange(len(histories), dtype=np.int64), weeks))
    return frame


@dataclass
class SimulationResult:
    """The replications of one scenario: `runs` (one row per replicate: seed and KPIs),
    `timeseries` (one row per replicate x week) and `summary` (KPI -> mean, p05, p95)."""

    scenario: object
    seeds: list[int]
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    summary: dict[str, dict[str, float]]
    n: int

    @classmethod
    def from_runs(cls, scenario, seeds: list[int], outputs: list, n: int) -> SimulationResult:
        """Gather (history, kpis) pairs, in replicate order."""
        runs = pd.DataFrame([kpis for _, kpis in outputs], columns=list(KPI_NAMES))
        runs.insert(0, "seed", np.array(seeds, dtype=np.int64))
        runs.insert(0, "replicate", np.arange(len(seeds), dtype=np.int64))
        timeseries = timeseries_table([history for history, _ in outputs])
        summary = {name: summarise(runs[name]) for name in KPI_NAMES}
        return cls(scenario, list(seeds), runs, timeseries, summary, n)

    def adopted_fraction_by_week(self) -> pd.DataFrame:
        """Cumulative adopters over N, one column per replicate, indexed by week."""
        adopted = self.timeseries[list(ADOPTED_COLUMNS)].sum(axis=1)
        table = self.timeseries[["replicate", "week"]].assign(adopted=adopted)
        wide = table.pivot(index="week", columns="replicate", values="adopted")
        return wide.cumsum() / self.n

    def write(self, folder: str | os.PathLike, command: str | None = None) -> Path:
        """Write the run's tables as the folder `folder`, atomically (an existing folder is
        replaced only once the new one is complete, and only if womsim wrote it); returns its
        path. The figures and the report are the presentation layer's
        (`sim.present.run_folder.write_run_folder`)."""
        folder = Path(folder)
        with staged_folder(folder, command) as staging:
            self.write_tables(staging, command)
        return folder

    def write_tables(self, folder: Path, command: str | None = None) -> None:
        """Write `summary.json`, `runs.parquet`, `timeseries.parquet` and `scenario.toml` into
        the existing folder `folder` (a staging folder: this alone is not atomic); `command`,
        if given, goes into the header of `scenario.toml`."""
        (folder / "summary.json").write_text(json_text(
            {"scenario": self.scenario.name, "replications": len(self.seeds), "n": self.n,
             "kpis": self.summary}))
        self.runs.to_parquet(folder / "runs.parquet", index=False)
        self.timeseries.to_parquet(folder / "timeseries.parquet", index=False)
        header = [f"Resolved by womsim {__version__}; repeat with: womsim run scenario.toml",
                  f"replicate seeds: {', '.join(str(s) for s in self.seeds)}"]
        if command:
            header.append(f"command: {command}")
        (folder / "scenario.toml").write_text(self.scenario.to_toml(header="\n".join(header)))
