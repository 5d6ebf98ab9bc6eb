"""The `womsim` command: argument parsing and dispatch over the Python API (DESIGN.md
"Conventions"). Each command lives in its own module (`sim.app.commands.*` and the modules that
still register their own), which adds its subcommand here.

Only the module of the command being run is imported (`womsim --help` imports none), so the CLI
starts without loading numba, pandas or matplotlib for commands that do not run.

Bad input (a ScenarioError) is printed as one line and exits with status 2; anything else is a bug
and is not dressed up.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from sim.app.commands import COMMANDS, run_command


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `womsim` argument parser. The module of `command` registers its subcommands with all
    their arguments; every other subcommand is listed by name and summary only, so building the
    parser imports nothing heavy."""
    parser = argparse.ArgumentParser(
        prog="womsim", description="Word-of-mouth diffusion and the marketing circle of life.")
    commands = parser.add_subparsers(dest="command", required=True)
    if command in COMMANDS:
        import_module(COMMANDS[command].module).register(commands)
    for name, entry in COMMANDS.items():
        if name not in commands.choices:
            commands.add_parser(name, help=entry.summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `womsim` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
