"""`womsim sensitivity EXPERIMENT`: Sobol or Morris indices of an experiment's KPIs, computed by
`sim.analysis.sensitivity` and written with their figures by `sim.present.figures.sensitivity`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sim.analysis.sensitivity import IncompleteSweep, sensitivity
from sim.analysis.sweep import Experiment
from sim.app.commands import add_command, add_sweep_arguments
from sim.present.figures.sensitivity import write_sensitivity
from sim.run.folders import check_output_folder, remove_womsim_folder


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """`womsim sensitivity`: sweep (resumable), analyse, print and write the indices."""
    experiment = Experiment.load(args.experiment)
    out = Path(args.out) if args.out else Path("out") / experiment.name
    if args.force:
        remove_womsim_folder(out)
    check_output_folder(out / "sensitivity", resumable=True)  # replaced at the end
    print(f"{experiment.name}: {experiment.design.method} design, {len(experiment.points)} "
          f"points x {experiment.replications} replicates = {experiment.run_count} runs")
    try:
        result = sensitivity(experiment, out, workers=args.workers, scheduler=args.scheduler,
                             progress=True)
    except IncompleteSweep as error:
        print(f"womsim: {error}", file=sys.stderr)
        return 1
    write_sensitivity(result, out / "sensitivity")
    print(result.table())
    print(f"\nwrote {out}/sweep/ and {out}/sensitivity/ (indices.csv, sensitivity.json, "
          f"figures/)")
    return 0


def register(commands: Any) -> None:
    """Add `womsim sensitivity` to the CLI's subcommands."""
    parser = add_command(
        commands, "sensitivity", cmd_sensitivity,
        "Run a sobol or morris experiment's sweep (resumable) and compute, for each KPI it keeps, "
        "Sobol S1 and ST or Morris mu* and sigma on the replicate-averaged values, with 95% "
        "bootstrap intervals.")
    add_sweep_arguments(parser, experiment="experiment file (TOML) with design = sobol|morris",
                        workers="local worker processes",
                        scheduler="run the sweep on a Dask distributed cluster")
