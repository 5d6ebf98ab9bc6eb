"""The calibration search over the unit cube of the fitted keys: a scrambled Sobol design (the
global stage), then bounded Nelder-Mead from its best points (the polish); and the local
identifiability of the keys at the fit.

The objective is deterministic (every candidate runs the same replicate seeds) but piecewise
constant at a fine scale, so the search is derivative-free and stops at a tolerance set against
the Monte-Carlo error of the simulated curve rather than at machine precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

Objective = Callable[[np.ndarray], float]
# Runs every candidate of a batch (so worker processes share them), before they are scored.
Prefetch = Callable[[Sequence[np.ndarray]], None]

_POINTS_PER_KEY = 16  # Sobol points per key in the global stage, rounded up to a power of two
_STARTS = 2  # Nelder-Mead starts: the best design point, and the best one far from it
_FAR = 0.25  # a second start this far (unit-cube distance) from the first explores elsewhere
# Nelder-Mead: a first simplex of 10% of each range; stops when the simplex is 0.5% of the
# ranges wide and the RMSE across it differs by less than the tolerance, or after a budget of
# evaluations per key.
SIMPLEX_STEP, XATOL = 0.10, 5e-3
MAXFEV_PER_KEY = 40
# Differences for the identifiability report: 5% of each range either side of the fit.
_PROFILE_STEP = 0.05
_CONFOUNDED = 0.95  # estimates this correlated cannot be told apart by the data


def design(k: int, seed: int) -> np.ndarray:
    """The global stage's points: a scrambled Sobol sequence in [0, 1]^k, 16 points per key
    rounded up to a power of two (32 for two keys, 64 for three or four)."""
    m = int(np.ceil(np.log2(_POINTS_PER_KEY * k)))
    return qmc.Sobol(d=k, scramble=True, seed=seed).random_base2(m)


def global_then_polish(objective: Objective, prefetch: Prefetch, k: int, seed: int,
                       tolerance: Callable[[np.ndarray], float]) -> np.ndarray:
    """The minimiser of `objective` over [0, 1]^k: the Sobol design scored in one batch, then
    Nelder-Mead from its best point and from the best point at least 0.25 away, stopping when
    the RMSE across the simplex differs by less than `tolerance(best design point)`; the better
    of the two polished points."""
    points = design(k, seed)
    prefetch(list(points))
    scores = np.array([objective(x) for x in points])
    order = np.argsort(scores, kind="stable")
    starts = [points[order[0]]]
    far = [i for i in order[1:] if np.linalg.norm(points[i] - starts[0]) >= _FAR]
    starts += [points[i] for i in far[: _STARTS - 1]]
    fatol = tolerance(starts[0])
    polished = [nelder_mead(objective, start, SIMPLEX_STEP, MAXFEV_PER_KEY, fatol)
                for start in starts]
    best = min(polished, key=lambda result: result.fun)
    return np.clip(best.x, 0.0, 1.0)


def nelder_mead(objective: Objective, start: np.ndarray, step: float, maxfev_per_key: int,
                fatol: float):
    """scipy's bounded Nelder-Mead on the unit cube from `start`, with a first simplex that
    steps `step` along each axis (inwards at a bound), at most `maxfev_per_key` evaluations per
    dimension; stops when the simplex is 0.5% of the ranges wide and its values differ by less
    than `fatol`."""
    start = np.clip(np.asarray(start, dtype=np.float64), 0.0, 1.0)
    simplex = [start]
    for i in range(start.size):
        vertex = start.copy()
        vertex[i] += step if start[i] + step <= 1.0 else -step
        simplex.append(vertex)
    return minimize(objective, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * start.size,
                    options={"initial_simplex": np.array(simplex), "xatol": XATOL,
                             "fatol": fatol, "maxfev": maxfev_per_key * start.size})


@dataclass(frozen=True)
class Identifiability:
    """How well the data pin down each fitted key near the fit.

    `rise[key]` is the smallest increase of the RMSE (points) when the key alone moves 5% of its
    range either way; `correlation` the correlation matrix of the estimates implied by the
    curve's sensitivities (the least-squares approximation (J'J)^-1, J the change of the
    simulated curve per unit of each key's range); `notes` say in words which keys the data
    cannot pin down or tell apart."""

    keys: list[str]
    rise: dict[str, float]
    correlation: list[list[float]]
    notes: list[str]

    def to_dict(self) -> dict:
        """Plain data for summary.json."""
        return {"keys": self.keys, "rmse_rise_points": self.rise,
                "correlation": self.correlation, "notes": self.notes,
                "method": "RMSE at 5% of each key's range either side of the fit; correlation "
                          "of the estimates from the curve's sensitivities, (J'J)^-1"}


def profile_points(x: np.ndarray) -> list[np.ndarray]:
    """The points the identifiability report scores: for each key, 5% of its range below and
    above `x` (inside the unit cube)."""
    points = []
    for i in range(x.size):
        low, high = x.copy(), x.copy()
        low[i] = max(0.0, x[i] - _PROFILE_STEP)
        high[i] = min(1.0, x[i] + _PROFILE_STEP)
        points += [low, high]
    return points


def identifiability(curve: Callable[[np.ndarray], np.ndarray], rmse_at: Objective,
                    names: Sequence[str], x: np.ndarray, fit_rmse: float,
                    noise: float) -> Identifiability:
    """The identifiability of keys `names` at unit point `x`, from the simulated mean curve
    `curve(x)` and the RMSE `rmse_at(x)` at 5% of each range either side (inside the cube).
    `noise` is the Monte-Carlo error of the curve (points): a key whose moves change the RMSE
    by less is not pinned down."""
    k = len(names)
    sensitivities, rise, notes = [], {}, []
    points = profile_points(x)
    for i, name in enumerate(names):
        low, high = points[2 * i], points[2 * i + 1]
        sensitivities.append((curve(high) - curve(low)) / (high[i] - low[i]))
        rise[name] = float(min(rmse_at(p) for p in (low, high) if not np.array_equal(p, x))
                           - fit_rmse)
        if rise[name] < noise:
            notes.append(f"{name} is not pinned down by these data: moving it by 5% of its "
                         f"range changes the RMSE by {rise[name]:+.2f} points, less than the "
                         f"Monte-Carlo error ({noise:.2f})")
    jacobian = np.column_stack(sensitivities)
    covariance = np.linalg.pinv(jacobian.T @ jacobian)
    scale = np.sqrt(np.clip(np.diag(covariance), 1e-300, None))
    correlation = np.clip(covariance / np.outer(scale, scale), -1.0, 1.0)
    for i in range(k):
        for j in range(i + 1, k):
            if abs(correlation[i, j]) >= _CONFOUNDED:
                notes.append(f"{names[i]} and {names[j]} cannot be told apart by these data: "
                             f"their estimates are {correlation[i, j]:+.2f} correlated (one "
                             f"can stand in for the other along the curve)")
    return Identifiability(list(names), rise, correlation.round(4).tolist(), notes)
