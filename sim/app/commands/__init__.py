"""The `womsim` subcommands, one module per command (or family of commands): each has
`register(commands)`, which adds its subcommand to the parser, and a `cmd_*` function that runs
it from the parsed arguments. They call the layers below and print; `sim.app.cli` only parses
and dispatches."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping

WORKERS_HELP = "worker processes (default: one per core for large jobs)"
_INTEGER_OPTIONS = frozenset({"reps", "seed", "weeks", "workers", "refits"})


def command_line() -> str:
    """The `womsim` command this process runs, quoted so that it can be pasted back."""
    return "womsim " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def add_options(parser: argparse.ArgumentParser, options: Mapping[str, str]) -> None:
    """Add an option `--NAME` for each name -> help text, in order; --reps, --seed, --weeks,
    --workers and --refits take an integer, the others a string."""
    for name, text in options.items():
        parser.add_argument(f"--{name}", type=int if name in _INTEGER_OPTIONS else None,
                            help=text)
