"""A sweep's output folder: results stream into Parquet parts listed by a manifest, so that a
sweep can be killed at any moment and resumed without losing or repeating a finished run.

The folder holds `runs/part-*.parquet` (one row per run: point, replicate, seed, the varied
parameters by dotted key, the KPIs), `timeseries/part-*.parquet` (point, replicate, week and the
history columns) and `manifest.json` (the experiment, the resolved base scenario, the package
version, the seeds, which runs are in which part (`runs_of`), the failed runs with their errors
and seeds, and each session's executor and count of runs computed). A part is written to a
temporary name and renamed, and only then listed in the manifest, which is replaced atomically
too; parts the manifest does not list are leftovers of a kill and are deleted when the sweep runs
again. Rows are in the order runs finished: sort by point and replicate (as `SweepResult` does)
for a canonical order.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import __version__
from sim.analysis.sweep.experiment import Experiment
from sim.analysis.sweep.integrity import (
    LOCK,
    MANIFEST,
    MANIFEST_FORMAT,
    SweepLock,
    changed_input,
    input_fingerprints,
    part_problem,
    part_record,
    read_manifest,
)
from sim.analysis.sweep.worker import RunOutcome
from sim.core.files import staged_file, write_file
from sim.run.folders import MARKER, is_womsim_folder, write_marker
from sim.run.results import history_table
from sim.scenario.load import ScenarioError

PART_RUNS = 100  # runs per Parquet part: a kill loses at most this many finished runs ...
PART_SECONDS = 10.0  # ... or this many seconds of them, whichever comes first


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
        self.lock = SweepLock(self.folder)
        self.repaired: list[tuple[str, str]] = []  # (part, problem) of parts done again

    def open(self) -> set[int]:
        """Take the folder's lock, check the folder and return the ids of the runs done in
        earlier sessions whose parts are sound (a missing or damaged part is dropped, and its
        runs are done again: `repaired` lists them with what was wrong)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ScenarioError("exists and is not a folder; choose another --out",
                                file=self.folder)
        if (self.folder.is_dir() and not (self.folder / MANIFEST).exists()
                and any(path.name not in (LOCK, MARKER) for path in self.folder.iterdir())):
            raise ScenarioError("exists and is not a sweep folder (no manifest.json); use "
                                "another --out", file=self.folder)
        try:
            self.lock.acquire()
            self._open_manifest()
        except OSError as error:
            self.lock.release()
            raise ScenarioError(f"cannot write here: {error.strerror or error}",
                                file=self.folder) from None
        except BaseException:
            self.lock.release()
            raise
        return set(self.done)

    def _open_manifest(self) -> None:
        experiment = self.experiment
        path = self.folder / MANIFEST
        if path.exists():
            self.manifest = read_manifest(path)
            changed = changed_input(self.manifest.get("inputs", {}),
                                    input_fingerprints(experiment))
            if changed:
                raise ScenarioError(f"holds a different sweep: {changed} changed since it "
                                    f"started, so new runs would not match the stored ones; "
                                    f"restore it, or use another --out", file=self.folder)
            if self.manifest["fingerprint"] != experiment.fingerprint():
                raise ScenarioError(
                    f"holds a different sweep (from {self.manifest.get('experiment')}); use "
                    f"another --out or delete the folder", file=self.folder)
        else:
            self.manifest = self._new_manifest()
        if not is_womsim_folder(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_marker(self.folder)
        sound = []
        for part in self.manifest["parts"]:
            problem = part_problem(self.folder, part, experiment.timeseries)
            if problem is None:
                sound.append(part)
                self.done.update(runs_of(part))
            else:
                self.repaired.append((part.get("name"), problem))
        self.manifest["parts"] = sound
        listed = {part["name"] for part in sound}
        self.failed = {entry["run"]: entry for entry in self.manifest["failed"]
                       if entry["run"] not in self.done}
        for table in ("runs", "timeseries") if experiment.timeseries else ("runs",):
            (self.folder / table).mkdir(parents=True, exist_ok=True)
            for leftover in (self.folder / table).iterdir():
                if leftover.name not in listed:  # a part or temporary file of a killed session
                    leftover.unlink()
        self.manifest["sessions"].append(
            {"started": datetime.now(UTC).isoformat(timespec="seconds"),
             "executor": self.executor_name, "package_version": __version__, "computed": 0,
             "failed": 0})
        self._write_manifest()

    def _new_manifest(self) -> dict[str, Any]:
        experiment = self.experiment
        return {
            "format": MANIFEST_FORMAT,
            "package_version": __version__,
            "experiment": str(experiment.path) if experiment.path else experiment.name,
            "experiment_toml": experiment.path.read_text() if experiment.path else None,
            "fingerprint": experiment.fingerprint(),
            "inputs": input_fingerprints(experiment),
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
        """Write the buffered runs: the part files first, then the manifest that lists them.
        The buffer is emptied first, so that a flush interrupted half-way (Ctrl-C) and retried
        by `close` never writes a run twice; an interrupted part is computed again on resume."""
        outcomes, self.buffer = self.buffer, []
        if not outcomes:
            return
        session = self.manifest["sessions"][-1]
        good = [o for o in outcomes if o.error is None]
        for outcome in outcomes:
            if outcome.error is not None:
                spec = outcome.spec
                self.failed[spec.run] = {"run": spec.run, "point": spec.point,
                                         "replicate": spec.replicate, "seed": spec.seed,
                                         "error": outcome.error}
                session["failed"] += 1
        if good:
            name = f"part-{self._next_part():05d}.parquet"
            _write_parquet(self._runs_table(good), self.folder / "runs" / name)
            if self.experiment.timeseries:
                _write_parquet(_timeseries_table(good), self.folder / "timeseries" / name)
            runs = sorted(o.spec.run for o in good)
            self.manifest["parts"].append(part_record(self.folder, name, _ranges(runs),
                                                      self.experiment.timeseries))
            self.done.update(runs)
            for run in runs:
                self.failed.pop(run, None)
        session["computed"] += len(outcomes)
        self.manifest["failed"] = sorted(self.failed.values(), key=lambda e: e["run"])
        self._write_manifest()
        self.last_write = time.monotonic()

    def close(self) -> None:
        """Write whatever is still buffered."""
        self.flush()

    def release(self) -> None:
        """Give back the folder's lock (`open` took it)."""
        self.lock.release()

    def _next_part(self) -> int:
        """A part number no listed part has (parts are numbered in the order written)."""
        numbers = [int(part["name"][5:10]) for part in self.manifest["parts"]]
        return max(numbers, default=-1) + 1

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
        write_file(self.folder / MANIFEST,
                   json.dumps(self.manifest, indent=1, allow_nan=True) + "\n", durable=True)


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


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    with staged_file(path) as temporary:
        table.to_parquet(temporary, index=False)


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
        manifest = read_manifest(self.folder / MANIFEST)
        return sum(len(runs_of(part)) for part in manifest["parts"]) == self.experiment.run_count


@dataclass(frozen=True)
class SweepTables:
    """A sweep folder's tables: `runs` (one row per finished run, sorted by point and replicate)
    and `timeseries` (one row per run x week, sorted by point, replicate and week; None when the
    sweep kept no time series), and `manifest` (what was run, with which seeds and inputs)."""

    runs: pd.DataFrame
    timeseries: pd.DataFrame | None
    manifest: dict[str, Any]


def load_sweep(folder: str | os.PathLike) -> SweepTables:
    """The tables of a sweep's output folder, finished or interrupted, in a stable order (parts
    are written in the order runs finish; this sorts them). A folder that is not a sweep's, or
    whose manifest is damaged, is an InputError naming it."""
    folder = Path(folder)
    manifest = read_manifest(folder / MANIFEST)
    timeseries = (_read_table(folder / "timeseries", ["point", "replicate", "week"])
                  if manifest.get("timeseries") else None)
    return SweepTables(_read_table(folder / "runs", ["point", "replicate"]), timeseries, manifest)


def _read_table(folder: Path, order: list[str]) -> pd.DataFrame:
    if not folder.is_dir() or not any(path.suffix == ".parquet" and not path.name.startswith(".")
               for path in folder.iterdir()):
        return pd.DataFrame(columns=order)
    return pd.read_parquet(folder).sort_values(order, kind="stable").reset_index(drop=True)
