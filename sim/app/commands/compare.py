"""`womsim compare A B [C ...]`: run scenarios with the same replicate seeds, print the paired
table and write the comparison folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sim.analysis.compare import compare, unique_names
from sim.app.commands import FORCE_HELP, WORKERS_HELP, add_options, command_line
from sim.present.report_comparison import write_comparison
from sim.present.tables import comparison_table
from sim.run.folders import check_output_folder
from sim.scenario.load import Scenario


def cmd_compare(args: argparse.Namespace) -> int:
    """`womsim compare`: run, print the paired table, write the comparison folder."""
    scenarios = [Scenario.load(path) for path in args.scenarios]
    names = unique_names(scenarios)
    out = Path(args.out) if args.out else Path("out") / ("compare_" + "_vs_".join(names))
    check_output_folder(out, args.force)
    started = time.perf_counter()
    comparison = compare(scenarios, replications=args.reps, seed=args.seed,
                         workers=args.workers, progress=True)
    elapsed = time.perf_counter() - started
    write_comparison(comparison, out, command=command_line())
    print(f"{len(names)} scenarios x {comparison.replications} replicates in {elapsed:.1f} s")
    print(comparison_table(comparison))
    print(f"\nwrote {out}/ (report.html, comparison.json, differences.csv, figures/, one folder "
          f"per scenario)")
    return 0


def register(commands: Any) -> None:
    """Add `womsim compare` to the CLI's subcommands."""
    parser = commands.add_parser(
        "compare", help="compare scenarios run with the same replicate seeds",
        description="Run each scenario with the same replicate seeds and report, for every KPI "
                    "and every scenario against the first, the paired difference (mean and "
                    "5-95%% percentiles over replicates) and the probability it is better.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help="scenario files (TOML); the first is the reference")
    add_options(parser, {"reps": "replicates (default: the first scenario's)",
                         "seed": "seed (default: the first scenario's)",
                         "workers": WORKERS_HELP,
                         "out": "output folder (default: out/compare_A_vs_B/)"})
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)
    parser.set_defaults(func=cmd_compare)
