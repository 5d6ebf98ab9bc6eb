"""The `womsim` subcommands that drive the analysis layer: one module per command, each with a
`register(commands)` that adds its argument parser and a `cmd_*` function that calls the analysis,
then the presentation that writes its output, and prints what it did."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from sim.scenario.load import ScenarioError

Command = Callable[[argparse.Namespace], int]


def add_command(commands: Any, name: str, func: Command, summary: str,
                description: str) -> argparse.ArgumentParser:
    """Add subcommand `name` to the CLI's `commands` (argparse subparsers), run by
    `func(args)`, with its one-line `summary` for `womsim --help` and its `description`."""
    parser = commands.add_parser(name, help=summary, description=description)
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


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command; bad input (a ScenarioError) is printed as one line and gives exit
    status 2."""
    try:
        return args.func(args)
    except ScenarioError as error:
        print(f"womsim: error: {error}", file=sys.stderr)
        return 2
