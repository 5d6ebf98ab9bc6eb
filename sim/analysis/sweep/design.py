"""Sample designs: which points of a parameter space a sweep or a sensitivity analysis visits.

A `Design` is a method (grid, lhs, sobol, morris) over `Factor`s. A grid takes every combination of
each factor's listed values; the sampled methods draw from each factor's range through SALib,
seeded, so the same design always gives the same points.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DESIGNS = ("grid", "lhs", "sobol", "morris")
SAMPLED_DESIGNS = ("lhs", "sobol", "morris")
MORRIS_LEVELS = 4  # grid levels of Morris trajectories (SALib's default)


@dataclass(frozen=True)
class Factor:
    """One varied parameter: a dotted key with a list of `values` (grid) or a range
    [`low`, `high`] (sampled designs). An `integer` factor's sampled values are rounded, each
    whole number in the range being equally likely."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Design:
    """How points are chosen: `method` (grid, lhs, sobol, morris), the factors, `samples` and the
    sampler's `seed`. Sweeps and sensitivity analyses of plain functions share it, so both see the
    same samples for the same design."""

    method: str
    factors: tuple[Factor, ...]
    samples: int | None = None
    seed: int = 0

    @property
    def names(self) -> list[str]:
        """The factors' keys, in order."""
        return [factor.key for factor in self.factors]

    @property
    def point_count(self) -> int:
        """How many points `points()` returns, known without making them."""
        if self.method == "grid":
            return math.prod(len(f.values or ()) for f in self.factors)
        per_sample = {"lhs": 1, "sobol": len(self.factors) + 2, "morris": len(self.factors) + 1}
        return (self.samples or 0) * per_sample[self.method]

    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds (integer factors widened by half a step each side,
        so that rounding makes every whole number equally likely)."""
        bounds = [[f.low - 0.5, f.high + 0.5] if f.integer else [f.low, f.high]
                  for f in self.factors]
        return {"num_vars": len(self.factors), "names": self.names, "bounds": bounds}

    def sample(self) -> np.ndarray:
        """The sampled design matrix (points x factors), before rounding; the same every call."""
        from SALib.sample import latin, morris, sobol

        problem = self.problem()
        if self.method == "lhs":
            return latin.sample(problem, self.samples, seed=self.seed)
        if self.method == "sobol":
            # first-order and total indices only: N (D + 2) points rather than N (2D + 2)
            return sobol.sample(problem, self.samples, calc_second_order=False, seed=self.seed)
        if self.method == "morris":
            return morris.sample(problem, self.samples, num_levels=MORRIS_LEVELS, seed=self.seed)
        raise ValueError(f"a {self.method!r} design is not sampled")

    def points(self) -> list[dict[str, Any]]:
        """Every point as {key: value}: the grid's combinations (the first factor varying
        slowest), or the sampled rows with integer factors rounded."""
        if self.method == "grid":
            return [dict(zip(self.names, combination, strict=True))
                    for combination in itertools.product(*(f.values for f in self.factors))]
        return [{f.key: (_round_into(x, f) if f.integer else float(x))
                 for f, x in zip(self.factors, row, strict=True)} for row in self.sample()]


def _round_into(x: float, factor: Factor) -> int:
    return int(min(max(round(x), factor.low), factor.high))
