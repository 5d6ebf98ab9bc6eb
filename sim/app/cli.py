"""The `womsim` command: a thin layer over the Python API (DESIGN.md "Conventions").

Bad input (a ScenarioError) is printed as one line and exits with status 2; anything else is a bug
and is not dressed up.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from sim.core.metrics import KPI_DESCRIPTIONS
from sim.scenario.load import Scenario, ScenarioError

HEADLINE_KPIS = ("adopted_fraction", "wom_share", "peak_adoption_week", "weeks_to_half",
                 "positive_negative_ratio", "nps", "annual_retention", "viral_coefficient",
                 "revenue", "cost", "profit", "roi")
PERCENT_KPIS = frozenset({"adopted_fraction", "wom_share", "annual_retention", "roi"})


def format_value(name: str, value: float) -> str:
    """A KPI value as a person reads it: fractions in percent, money with thousands separators."""
    if value != value:  # NaN
        return "n/a"
    if name in PERCENT_KPIS:
        return f"{100 * value:.1f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def kpi_table(summary: dict[str, dict[str, float]], names=HEADLINE_KPIS) -> str:
    """A plain-text table of KPIs: mean and 5-95% interval."""
    rows = [("KPI", "mean", "5%", "95%")]
    for name in names:
        stats = summary[name]
        rows.append((name, *(format_value(name, stats[k]) for k in ("mean", "p05", "p95"))))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{row[0]:<{widths[0]}}  " + "  ".join(f"{cell:>{w}}" for cell, w in
                                                      zip(row[1:], widths[1:], strict=True))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def command_line() -> str:
    """The `womsim` command this process runs, quoted so that it can be pasted back."""
    return "womsim " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _load(path: str, overrides: list[str] | None = None) -> Scenario:
    return Scenario.load(path, overrides or None)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.present.run_folder import write_run_folder
    from sim.run.replicates import simulate

    scenario = _load(args.scenario, args.set)
    out = Path(args.out) if args.out else Path("out") / scenario.name
    started = time.perf_counter()
    result = simulate(scenario, replications=args.reps, seed=args.seed, weeks=args.weeks,
                      workers=args.workers, progress=True)
    elapsed = time.perf_counter() - started
    command = command_line()
    write_run_folder(result, out, command=command)
    print(f"{scenario.name}: {len(result.seeds)} runs x {result.scenario.weeks} weeks, "
          f"{result.n:,} customers, in {elapsed:.1f} s")
    print(kpi_table(result.summary))
    print(f"\nwrote {out}/ (report.html, summary.json, runs.parquet, timeseries.parquet, "
          f"scenario.toml, figures/)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    for path in args.scenarios:
        scenario = _load(path, args.set)
        if args.show:
            print(scenario.to_toml(header=f"resolved from {path}"))
        else:
            print(f"{path}: ok ({scenario.name}: {scenario.network.kind}, "
                  f"{scenario.weeks} weeks, {len(scenario.events)} events)")
    return 0


def cmd_kpis(args: argparse.Namespace) -> int:
    width = max(len(name) for name in KPI_DESCRIPTIONS)
    for name, text in KPI_DESCRIPTIONS.items():
        print(f"{name:<{width}}  {text}")
    return 0


CORE_COMMANDS = frozenset({"run", "validate", "kpis"})


def build_parser(extensions: bool = True) -> argparse.ArgumentParser:
    """The `womsim` argument parser; `extensions=False` leaves out the commands that live in
    other modules (sweep, compare, ...), so `womsim run` does not pay for importing them."""
    parser = argparse.ArgumentParser(
        prog="womsim", description="Word-of-mouth diffusion and the marketing circle of life.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a scenario's replications and write a run folder")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--reps", type=int, help="replications (default: the scenario's)")
    run.add_argument("--seed", type=int, help="scenario seed (default: the scenario's)")
    run.add_argument("--weeks", type=int, help="horizon in weeks (default: the scenario's)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override a scenario key, e.g. --set sharing.base=0.3 (repeatable)")
    run.add_argument("--out", help="output folder (default: out/<scenario name>/)")
    run.add_argument("--workers", type=int, help="worker processes (default: one per core "
                     "for large jobs)")
    run.set_defaults(func=cmd_run)

    validate = commands.add_parser("validate", help="check scenario files")
    validate.add_argument("scenarios", nargs="+")
    validate.add_argument("--set", action="append", metavar="KEY=VALUE")
    validate.add_argument("--show", action="store_true", help="print the resolved scenario")
    validate.set_defaults(func=cmd_validate)

    kpis = commands.add_parser("kpis", help="list the KPIs a run reports")
    kpis.set_defaults(func=cmd_kpis)

    if extensions:
        # The other commands live with what they drive; each module adds its own subcommand.
        from sim.analysis import compare
        from sim.app import dashboard
        from sim.app.commands import calibrate, sensitivity, sweep

        for module in (sweep, compare, sensitivity, calibrate, dashboard):
            module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `womsim` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(extensions=not argv or argv[0] not in CORE_COMMANDS).parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as error:
        print(f"womsim: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
