"""`womsim compare A B [C ...]`: run scenarios with the same replicate seeds, print the paired
tables (every scenario against the first, against `--reference`, or every pair) and write the
comparison folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from sim.analysis.compare import compare, unique_names
from sim.analysis.economics import profit_sensitivity, sensitivity_line
from sim.analysis.horizon import comparison_warnings, longer_horizon
from sim.app.commands import FORCE_HELP, WORKERS_HELP, add_command, add_options, command_line
from sim.present.report_comparison import write_comparison
from sim.present.report_text import budget_note, equal_money_note, spend_note
from sim.present.tables import comparison_table, longer_horizon_lines
from sim.run.folders import check_output_folder
from sim.scenario.load import Scenario


def cmd_compare(args: argparse.Namespace) -> int:
    """`womsim compare`: check the output folder, run, warn, print the paired tables, write the
    comparison folder."""
    names = unique_names([Scenario.load(path, args.set or None) for path in args.scenarios])
    out = Path(args.out) if args.out else Path("out") / ("compare_" + "_vs_".join(names))
    check_output_folder(out, args.force)
    started = time.perf_counter()
    comparison = compare(args.scenarios, replications=args.reps, seed=args.seed,
                         workers=args.workers, progress=True, reference=args.reference,
                         all_pairs=args.all_pairs, overrides=args.set, weeks=args.weeks)
    elapsed = time.perf_counter() - started
    for warning in comparison.warnings:
        print(f"womsim: warning: {warning}", file=sys.stderr)
    write_comparison(comparison, out, command=command_line())
    print(f"{len(names)} scenarios x {comparison.replications} replicates in {elapsed:.1f} s")
    print(comparison_table(comparison))
    print()
    for name, base in comparison.pairs:
        line = sensitivity_line(profit_sensitivity(comparison, name, base))
        print(f"Profit, {name} vs {base}: {line}")
    for name, result in comparison.results.items():
        for note in filter(None, (spend_note(result.scenario, result.n), budget_note(result))):
            print(f"note: {name}: {note}")
    if note := equal_money_note(comparison.results):
        print(f"note: {note}")
    horizon = comparison_warnings(comparison)
    if horizon:
        print("\nThe horizon may decide the answer: " + "; ".join(horizon) + ".")
        print(*longer_horizon_lines(*longer_horizon(comparison, workers=args.workers)),
              sep="\n")
    print(f"\nwrote {out}/ (report.html, comparison.json, differences.csv, figures/, one folder "
          f"per scenario)")
    return 0


def register(commands: Any) -> None:
    """Add `womsim compare` to the CLI's subcommands."""
    parser = add_command(
        commands, "compare", cmd_compare,
        description="Run each scenario with the same replicate seeds and report, for every KPI "
                    "and every pair B vs A (each scenario against the first, against "
                    "--reference, or all pairs), the mean paired difference B - A with its 95% "
                    "interval, the spread of runs (5% to 95% of the paired differences), the "
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
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)
