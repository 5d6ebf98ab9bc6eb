"""`womsim sweep EXPERIMENT`: run (or resume) an experiment's points x replicates, streaming the
results to Parquet parts (`sim.analysis.sweep`). `python -m sim.app.commands.sweep EXPERIMENT
[options]` is `womsim sweep` on its own."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.analysis.sweep import (
    MANIFEST,
    PART_RUNS,
    Experiment,
    failure_message,
    rerun,
    run_sweep,
    runs_of,
)
from sim.analysis.sweep.integrity import read_manifest
from sim.app.commands import add_command, add_sweep_arguments, run_command
from sim.run.folders import remove_womsim_folder
from sim.scenario.load import ScenarioError


def cmd_sweep(args: argparse.Namespace) -> int:
    """`womsim sweep`: run (or resume) a sweep; exit 1 if any run failed."""
    experiment = Experiment.load(args.experiment)
    if args.rerun:
        return _rerun(experiment, args.rerun)
    out = Path(args.out) if args.out else Path("out") / experiment.name
    if args.force:
        remove_womsim_folder(out)
    started = time.perf_counter()
    print(f"{experiment.name}: {len(experiment.points)} points x {experiment.replications} "
          f"replicates = {experiment.run_count} runs ({experiment.design.method} design)")
    try:
        result = run_sweep(experiment, out, workers=args.workers, scheduler=args.scheduler,
                           progress=True, part_runs=args.part_size)
    except KeyboardInterrupt:
        print(f"\nwomsim: interrupted: {_saved(out)} of {experiment.run_count} runs saved; run "
              f"the same command to resume", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - started
    rate = f", {60 * result.computed / elapsed:,.0f} runs/min" if elapsed > 0 else ""
    print(f"computed {result.computed} runs in {elapsed:.1f} s{rate}; wrote {out}/ "
          f"(runs/, {'timeseries/, ' if experiment.timeseries else ''}{MANIFEST})")
    if len(result.failed):
        print(f"womsim: {failure_message(result, args.experiment)}", file=sys.stderr)
        return 1
    return 0


def _saved(out: Path) -> int:
    """How many runs the sweep folder `out` holds."""
    try:
        return sum(len(runs_of(part)) for part in read_manifest(out / MANIFEST)["parts"])
    except ScenarioError:
        return 0


def _rerun(experiment: Experiment, text: str) -> int:
    """`--rerun POINT:REPLICATE`: run one run here (its error propagates) and print its KPIs."""
    point, replicate = _point_replicate(text)
    kpis = rerun(experiment, point, replicate)
    print(f"point {point}, replicate {replicate} (seed "
          f"{experiment.replicate_seeds[replicate]}): ran without error")
    for name in experiment.kpis:
        print(f"  {name} = {kpis[name]:.6g}")
    return 0


def _point_replicate(text: str) -> tuple[int, int]:
    point, sep, replicate = text.partition(":")
    try:
        return int(point), int(replicate)
    except ValueError:
        raise ScenarioError(f"expected POINT:REPLICATE, e.g. 3:0, got {text!r}",
                            key="--rerun") from None


def register(commands: Any) -> None:
    """Add `womsim sweep` to the CLI's subcommands."""
    sweep = add_command(
        commands, "sweep", cmd_sweep,
        "Run every (point, replicate) of an experiment file, streaming results to Parquet parts; "
        "run it again after an interruption to compute only what is missing.")
    add_sweep_arguments(
        sweep, experiment="experiment file (TOML)",
        workers="local worker processes (default: one per core for large sweeps)",
        scheduler="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786")
    sweep.add_argument("--part-size", type=int, default=PART_RUNS, metavar="N",
                       help=f"runs per Parquet part (default {PART_RUNS}); fewer lose less "
                            f"to a crash")
    sweep.add_argument("--rerun", metavar="POINT:REPLICATE",
                       help="run one run here with its full traceback, writing nothing")


def main_sweep(argv: Sequence[str] | None = None) -> int:
    """`womsim sweep ARGV` on its own (`python -m sim.app.commands.sweep`); returns the exit
    status, 2 for bad input, printed as one line as `womsim` prints it."""
    parser = argparse.ArgumentParser(prog="womsim")
    register(parser.add_subparsers(dest="command", required=True))
    return run_command(parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main_sweep())
