"""`womsim compare A B [C ...]`: run scenarios with the same replicate seeds, print the paired
tables (every scenario against the first, against `--reference`, or every pair) and write the
comparison folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from sim.analysis.compare import compare
from sim.app.commands import WORKERS_HELP, add_command, add_options, command_line
from sim.present.report_comparison import write_comparison
from sim.present.tables import comparison_table


def cmd_compare(args: argparse.Namespace) -> int:
    """`womsim compare`: run, warn, print the paired tables, write the comparison folder."""
    started = time.perf_counter()
    comparison = compare(args.scenarios, replications=args.reps, seed=args.seed,
                         workers=args.workers, progress=True, reference=args.reference,
                         all_pairs=args.all_pairs, overrides=args.set, weeks=args.weeks)
    elapsed = time.perf_counter() - started
    for warning in comparison.warnings:
        print(f"womsim: warning: {warning}", file=sys.stderr)
    names = comparison.names
    out = Path(args.out) if args.out else Path("out") / ("compare_" + "_vs_".join(names))
    write_comparison(comparison, out, command=command_line())
    print(f"{len(names)} scenarios x {comparison.replications} replicates in {elapsed:.1f} s")
    print(comparison_table(comparison))
    print(f"\nwrote {out}/ (report.html, comparison.json, differences.csv, figures/, one folder "
          f"per scenario)")
    return 0


def register(commands: Any) -> None:
    """Add `womsim compare` to the CLI's subcommands."""
    parser = add_command(
        commands, "compare", cmd_compare,
        description="Run each scenario with the same replicate seeds and report, for every KPI "
                    "and every pair B vs A (each scenario against the first, against "
                    "--reference, or all pairs), the mean paired difference B - A with its 95%% "
                    "interval, the spread of runs (5%% to 95%% of the paired differences), the "
                    "probability B is better and, when the interval includes 0, about how many "
                    "runs would separate them.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help="scenario files (TOML)")
    pairing = parser.add_mutually_exclusive_group()
    pairing.add_argument("--reference", metavar="NAME",
                         help="compare every scenario against this one (a scenario's name or "
                              "file as given; default: the first)")
    pairing.add_argument("--all-pairs", action="store_true",
                         help="compare every pair of scenarios (each later one against each "
                              "earlier one)")
    add_options(parser, {"reps": "replicates (default: the first scenario's)",
                         "seed": "seed (default: the first scenario's)",
                         "weeks": "horizon in weeks for every scenario (default: each one's)"})
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a key in every scenario, e.g. --set network.n=2000 "
                             "(repeatable)")
    add_options(parser, {"workers": WORKERS_HELP,
                         "out": "output folder (default: out/compare_A_vs_B/)"})

