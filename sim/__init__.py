"""womsim: word-of-mouth diffusion and the marketing circle of life on social graphs.

The public API: `Scenario` (scenario files), `simulate` (replications of a scenario), `Engine`
(one run stepped by hand) and `WomModel` (the Mesa face, imported on first use).
"""

from typing import Any

__version__ = "0.1.0"

from .engine import Engine  # noqa: E402
from .runner import simulate  # noqa: E402
from .scenario import Scenario, ScenarioError  # noqa: E402

__all__ = ["Engine", "Scenario", "ScenarioError", "WomModel", "simulate", "__version__"]


def __getattr__(name: str) -> Any:
    # Mesa is only imported by those who use the Mesa face.
    if name == "WomModel":
        from .model import WomModel

        return WomModel
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
