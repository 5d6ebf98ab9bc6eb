"""The `womsim` subcommands, one module per command (or family of commands): each has
`register(commands)`, which adds its subcommand to the parser, and a `cmd_*` function that runs
it from the parsed arguments. They call the layers below and print; `sim.app.cli` only parses
and dispatches. They may import every layer below `sim.app`, and this package's helpers; not
`sim.app.cli` nor each other.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sim.core.errors import InputError


class Entry(NamedTuple):
    """A subcommand: the module whose `register` adds it, and its one-line summary."""

    module: str
    summary: str


# Every subcommand of `womsim`, in the order `womsim --help` lists them. The CLI imports only the
# module of the command it runs (none for `womsim --help`), so the summaries live here.
COMMANDS = {
    "run": Entry("sim.app.commands.run", "run a scenario's replications and write a run folder"),
    "validate": Entry("sim.app.commands.run", "check scenario files"),
    "kpis": Entry("sim.app.commands.run", "list the KPIs a run reports"),
    "sweep": Entry("sim.app.commands.sweep",
                   "run an experiment's points x replicates (resumable)"),
    "compare": Entry("sim.app.commands.compare",
                     "compare scenarios run with the same replicate seeds"),
    "sensitivity": Entry("sim.app.commands.sensitivity",
                         "Sobol or Morris indices of an experiment's KPIs"),
    "calibrate": Entry("sim.app.commands.calibrate",
                       "fit scenario keys to observed adoption data"),
    "verify": Entry("sim.app.commands.verify",
                    "check a sweep folder: every part, its inputs and its lock"),
    "dashboard": Entry("sim.app.dashboard",
                       "a live dashboard of a scenario in the browser (Mesa's SolaraViz)"),
}

WORKERS_HELP = "worker processes (default: one per core for large jobs)"
FORCE_HELP = "replace the output folder if womsim wrote it (never a folder it did not write)"
_INTEGER_OPTIONS = frozenset({"reps", "seed", "weeks", "workers", "refits"})

Command = Callable[[argparse.Namespace], int]


def add_command(commands: Any, name: str, func: Command,
                description: str | None = None) -> argparse.ArgumentParser:
    """Add subcommand `name` to the CLI's `commands` (argparse subparsers), run by
    `func(args)`, with its summary from `COMMANDS` for `womsim --help` and its `description`."""
    parser = commands.add_parser(name, help=COMMANDS[name].summary, description=description)
    parser.set_defaults(func=func)
    return parser


def add_sweep_arguments(parser: argparse.ArgumentParser, experiment: str, workers: str,
                        scheduler: str) -> None:
    """The arguments of a command that sweeps an experiment: the experiment file, `--workers`
    or `--scheduler` (where the runs execute) and `--out`, with the given help texts."""
    parser.add_argument("experiment", help=experiment)
    parser.add_argument("--workers", type=int, help=workers)
    parser.add_argument("--scheduler", metavar="ADDRESS", help=scheduler)
    parser.add_argument("--out", help="output folder (default: out/<experiment name>/)")
    parser.add_argument("--force", action="store_true",
                        help="start over: remove the output folder first if womsim wrote it")


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command; bad input (an InputError, ScenarioError included) is printed as
    one line per problem and gives exit status 2; Ctrl-C gives exit status 130 without a
    traceback."""
    try:
        return args.func(args)
    except InputError as error:
        print_input_error(error)
        return 2
    except KeyboardInterrupt:
        print("womsim: interrupted", file=sys.stderr)
        return 130


def print_input_error(error: InputError) -> None:
    """Each problem of `error` on its own line, "womsim: error: FILE:LINE: KEY: message"."""
    for line in str(error).splitlines():
        print(f"womsim: error: {line}", file=sys.stderr)


def command_line() -> str:
    """The `womsim` command this process runs, quoted so that it can be pasted back."""
    return "womsim " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def add_options(parser: argparse.ArgumentParser, options: Mapping[str, str]) -> None:
    """Add an option `--NAME` for each name -> help text, in order; --reps, --seed, --weeks,
    --workers and --refits take an integer, the others a string."""
    for name, text in options.items():
        parser.add_argument(f"--{name}", type=int if name in _INTEGER_OPTIONS else None,
                            help=text)
