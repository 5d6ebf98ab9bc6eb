"""`womsim run`, `womsim validate` and `womsim kpis`: the commands on one scenario, which import
nothing from the analysis layer (so `womsim run` starts quickly)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sim.app.commands import FORCE_HELP, WORKERS_HELP, add_command, add_options, command_line
from sim.present.tables import kpi_list, kpi_table
from sim.scenario.load import Scenario


def cmd_run(args: argparse.Namespace) -> int:
    """`womsim run`: run the replications, print the headline KPIs, write the run folder."""
    from sim.analysis.horizon import horizon_warnings
    from sim.present.report_text import budget_note, spend_note
    from sim.present.run_folder import write_run_folder
    from sim.run.folders import check_output_folder
    from sim.run.replicates import simulate

    scenario = Scenario.load(args.scenario, args.set or None)
    out = Path(args.out) if args.out else Path("out") / scenario.name
    check_output_folder(out, args.force)
    started = time.perf_counter()
    result = simulate(scenario, replications=args.reps, seed=args.seed, weeks=args.weeks,
                      workers=args.workers, threads=args.threads, progress=True)
    elapsed = time.perf_counter() - started
    write_run_folder(result, out, command=command_line())
    print(f"{scenario.name}: {len(result.seeds)} runs x {result.scenario.weeks} weeks, "
          f"{result.n:,} customers, in {elapsed:.1f} s")
    print(kpi_table(result.summary))
    notes = [spend_note(result.scenario, result.n), budget_note(result),
             *horizon_warnings(scenario.name, result)]
    for note in filter(None, notes):
        print(f"note: {note}")
    print(f"\nwrote {out}/ (report.html, summary.json, runs.parquet, timeseries.parquet, "
          f"scenario.toml, figures/)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """`womsim validate`: load each scenario file and read its edge list (raising on the first
    error) and say what it is, or print it resolved with `--show`."""
    for path in args.scenarios:
        scenario = Scenario.load(path, args.set or None)
        network = _read_network(scenario)
        if args.show:
            print(scenario.to_toml(header=f"resolved from {path}"))
        else:
            print(f"{path}: ok ({scenario.name}: {network}, "
                  f"{scenario.weeks} weeks, {len(scenario.events)} events)")
    return 0


def _read_network(scenario: Scenario) -> str:
    """The scenario's network kind; for an edge list, read it and its node list if any (an
    InputError names any fault) and add its customers and ties."""
    if scenario.network.kind != "edgelist":
        return scenario.network.kind
    from sim.run.engine import build_scenario_graph
    from sim.scenario.events import explicit_seeds

    graph = build_scenario_graph(scenario)
    for event in scenario.events:
        if event.kind == "seed" and event.nodes is not None:
            explicit_seeds(scenario, graph, event)
    ties = graph.n_edges if graph.directed else graph.n_edges // 2
    if scenario.network.nodes is None:
        return f"edge list {scenario.network.path}, {graph.n:,} customers, {ties:,} ties"
    # Says how many customers the node list added, so that a wrong node list shows at once.
    tieless = int(((graph.degree() == 0) & (graph.in_weight_sum() == 0)).sum())
    return (f"edge list {scenario.network.path} and node list {scenario.network.nodes}, "
            f"{graph.n:,} customers ({tieless:,} without ties), {ties:,} ties")


def cmd_kpis(_args: argparse.Namespace) -> int:
    """`womsim kpis`: every KPI a run reports, with what it is."""
    print(kpi_list())
    return 0


def _at_least_one(text: str) -> int:
    """An integer >= 1 (argparse reports anything else as a usage error, exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(commands: Any) -> None:
    """Add `womsim run`, `womsim validate` and `womsim kpis` to the CLI's subcommands."""
    run = add_command(commands, "run", cmd_run)
    run.add_argument("scenario", help="scenario file (TOML)")
    add_options(run, {"reps": "replications (default: the scenario's)",
                      "seed": "scenario seed (default: the scenario's)",
                      "weeks": "horizon in weeks (default: the scenario's)"})
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override a scenario key, e.g. --set sharing.base=0.3 (repeatable)")
    add_options(run, {"out": "output folder (default: out/<scenario name>/)",
                      "workers": WORKERS_HELP})
    run.add_argument("--force", action="store_true", help=FORCE_HELP)
    run.add_argument("--threads", type=_at_least_one, metavar="N",
                     help="threads of a run in this process (default: every core; worker "
                          "processes run one each); results do not depend on it")

    validate = add_command(commands, "validate", cmd_validate)
    validate.add_argument("scenarios", nargs="+")
    validate.add_argument("--set", action="append", metavar="KEY=VALUE")
    validate.add_argument("--show", action="store_true", help="print the resolved scenario")

    add_command(commands, "kpis", cmd_kpis)
