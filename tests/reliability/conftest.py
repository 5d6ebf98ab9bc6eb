"""Shared inputs of the reliability tests: a scenario small enough to run in a blink, and a
helper that runs the `womsim` command in-process and returns its exit status and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.app.cli import main

TINY = """\
name = "tiny"
weeks = 6
replications = 2
[network]
n = 200
[market]
innovation = 0.5
"""


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    """A scenario file of 200 customers, 6 weeks, 2 replications."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture()
def womsim(capsys):
    """Run `womsim ARGS` in-process: returns (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
