"""The layout rules of docs/architecture.md, checked on the code as it is.

Layers import only downwards and no module imports in a circle (import-linter's contracts in
pyproject.toml); no module is over 500 lines and no function over 80 (the kernel module follows the
model's numbering and may be longer); no six-line block is repeated; no dead code; docstrings and
comments say what code does, not which tracker entry asked for it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sim"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_MODULES_ALLOWED = {PACKAGE / "core" / "kernels.py"}  # numbered like docs/model.md section 4


def tool(name: str) -> str:
    """The path of a console script installed beside this interpreter."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return str(path)


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold() -> None:
    result = run([tool("lint-imports")])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_a_layer_importing_upwards_is_caught() -> None:
    # The contracts must be able to fail: a core module importing the app breaks them.
    bad = PACKAGE / "core" / "_probe_upward_import.py"
    bad.write_text("import sim.app.cli  # noqa: F401\n")
    try:
        result = run([tool("lint-imports"), "--no-cache"])
    finally:
        bad.unlink()
    assert result.returncode != 0
    assert "sim.core._probe_upward_import -> sim.app.cli" in result.stdout


def test_a_cycle_inside_a_nested_package_is_caught() -> None:
    # The no-cycles contract covers the packages inside the layers too, not only the layers.
    folder = PACKAGE / "present" / "figures"
    probes = {name: folder / f"_probe_cycle_{name}.py" for name in "ab"}
    probes["a"].write_text("import sim.present.figures._probe_cycle_b  # noqa: F401\n")
    probes["b"].write_text("import sim.present.figures._probe_cycle_a  # noqa: F401\n")
    try:
        result = run([tool("lint-imports"), "--no-cache"])
    finally:
        for probe in probes.values():
            probe.unlink()
    assert result.returncode != 0
    assert "._probe_cycle_b -> ._probe_cycle_a" in result.stdout


def test_the_core_package_and_its_tables_import_without_numba() -> None:
    # Reading the KPI table or writing a file must not compile or even import the kernels.
    code = ("import sys, sim.core, sim.core.kpis, sim.core.files; "
            "print(sorted(m for m in ('numba', 'numpy', 'pandas') if m in sys.modules))")
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path: Path) -> None:
    text = path.read_text()
    if path not in LONG_MODULES_ALLOWED:
        assert len(text.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{node.name} is {length} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_tracker_references(path: Path) -> None:
    found = re.findall(r"(?i)\bissues? #?\d+|\(#\d+\)", path.read_text())
    assert not found


def test_no_dead_code() -> None:
    result = run([tool("vulture"), "sim", "tests", "benchmarks", "experiments",
                  "vulture_whitelist.py", "--min-confidence", "60"])
    assert result.returncode == 0, result.stdout


def test_no_repeated_blocks() -> None:
    result = run([tool("pylint"), "--disable=all", "--enable=duplicate-code",
                  "--min-similarity-lines=6", "--ignore-imports=yes", "--ignore-signatures=yes",
                  "sim"])
    assert result.returncode == 0, result.stdout[-4000:]
