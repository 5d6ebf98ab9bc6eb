"""The `womsim` command: argument parsing and dispatch over the Python API (DESIGN.md
"Conventions"). Each command lives in its own module (`sim.app.commands.*` and the modules that
still register their own), which adds its subcommand here.

Bad input (a ScenarioError) is printed as one line and exits with status 2; anything else is a bug
and is not dressed up.
"""

from __future__ import annotations

import argparse
import sys

from sim.app.commands import run, run_command

CORE_COMMANDS = frozenset({"run", "validate", "kpis"})


def build_parser(extensions: bool = True) -> argparse.ArgumentParser:
    """The `womsim` argument parser; `extensions=False` leaves out the commands that live in
    other modules (sweep, compare, ...), so `womsim run` does not pay for importing them."""
    parser = argparse.ArgumentParser(
        prog="womsim", description="Word-of-mouth diffusion and the marketing circle of life.")
    commands = parser.add_subparsers(dest="command", required=True)
    run.register(commands)

    if extensions:
        # The other commands live with what they drive; each module adds its own subcommand.
        from sim.app import dashboard
        from sim.app.commands import calibrate, compare, sensitivity, sweep, verify

        for module in (sweep, compare, sensitivity, calibrate, verify, dashboard):
            module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `womsim` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(extensions=not argv or argv[0] not in CORE_COMMANDS).parse_args(argv)
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
