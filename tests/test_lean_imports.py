"""`import sim` and `womsim --help` load none of the heavy packages (pandas, matplotlib, networkx,
mesa, scipy, numba, pyarrow): they are imported only by the commands and functions that use
them. Checked in a fresh interpreter through `sys.modules`, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "matplotlib", "networkx", "mesa", "scipy", "numba", "pyarrow")

# Runs `code` in a fresh interpreter, then prints the heavy top-level packages it loaded.
REPORT = """
import contextlib, io, json, sys
with contextlib.redirect_stdout(io.StringIO()):
    {code}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy}))))
"""

CASES = {
    "import sim": "import sim",
    "womsim --help": (
        "from sim.app.cli import main\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass"),
}


def loaded_heavy(code: str) -> list[str]:
    """The heavy packages a fresh interpreter has loaded after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", REPORT.format(code=code, heavy=HEAVY)],
        capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_loads_no_heavy_package(case: str) -> None:
    assert loaded_heavy(CASES[case]) == []


def test_a_run_loads_no_graph_or_statistics_library_before_it_draws() -> None:
    # A scenario's simulation on a generated graph needs numba, numpy and pandas, not networkx
    # or scipy's statistics and optimisers (most of a second to import) nor the plotting
    # packages. (numba itself imports the top of scipy, to check its version.)
    code = """
import json, sys
from sim.app.commands import run
from sim.run.replicates import simulate
from sim.scenario.load import Scenario
simulate(Scenario.default().with_overrides({'network.n': 300, 'weeks': 3}), replications=2,
         workers=1)
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('networkx', 'matplotlib',
      'mesa') or m.startswith(('scipy.stats', 'scipy.optimize')))))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_check_sees_a_heavy_import() -> None:
    # The same check on code that does need numba (a run): it must report it.
    assert "numba" in loaded_heavy("import sim.core.rng")


def test_help_lists_every_command() -> None:
    done = subprocess.run([sys.executable, "-m", "sim.app.cli", "--help"],
                          capture_output=True, text=True, check=True)
    for name in ("run", "validate", "kpis", "sweep", "compare", "sensitivity", "calibrate",
                 "dashboard"):
        assert f"    {name} " in done.stdout
