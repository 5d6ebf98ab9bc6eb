"""A whole run folder: the run's tables, its standard figures and its report, written together
and renamed into place at once."""

from __future__ import annotations

import os
from pathlib import Path

from sim.present import figures
from sim.present.report import write_run_report
from sim.run.folders import staged_folder
from sim.run.results import SimulationResult


def write_run_folder(result: SimulationResult, folder: str | os.PathLike,
                     command: str | None = None) -> Path:
    """Write `result` as the run folder `folder`: its tables (`SimulationResult.write_tables`),
    `figures/` (`write_run_figures`) and `report.html`, all into one staging folder that replaces
    `folder` only once complete: if anything fails, an existing `folder` is left as it was.
    `command` is recorded in `scenario.toml` and the report. Returns the folder's path."""
    folder = Path(folder)
    with staged_folder(folder, command) as staging:
        result.write_tables(staging, command)
        figures.write_run_figures(result.timeseries, staging / "figures",
                                  events=result.scenario.events)
        write_run_report(result, staging, command, figures=staging / "figures")
    return folder
