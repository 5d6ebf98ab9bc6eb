"""womsim: word-of-mouth diffusion and the marketing circle of life on social graphs.

The public API: `Scenario` and `ScenarioError` (scenario files), `simulate` (replications of a
scenario), `Engine` (one run stepped by hand), `WomModel` (the Mesa face) and `load_sweep` (a
sweep folder's tables, sorted). Each is imported on first use, so `import sim` stays cheap (no
numba, pandas or mesa until something needs them).
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public name -> the module that defines it (docs/architecture.md lists the layers).
_PUBLIC = {
    "Engine": "sim.run.engine",
    "simulate": "sim.run.replicates",
    "Scenario": "sim.scenario.load",
    "ScenarioError": "sim.scenario.load",
    "WomModel": "sim.mesa.model",
    "load_sweep": "sim.analysis.sweep.store",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
