"""The closed-form Bass (1969) diffusion curve and its least-squares fit.

The Bass model is the yardstick a network model is held against (Rand & Rust 2011: verify against
Bass, validate against data): with innovation p and imitation q per year and market size m (a
fraction of the population), the cumulative fraction of adopters t years after the launch is

    F(t) = m (1 - exp(-(p + q) t)) / (1 + (q / p) exp(-(p + q) t)),

the solution of dF/dt = (p + q F/m)(m - F) with F(0) = 0 (MODEL.md section 5: the simulator's
Bass scenario follows it with m = 1). `fit_bass` finds p and q (and m, if asked) by least squares
on observed cumulative fractions, with scipy.optimize.least_squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import norm

# Starting points for the fit: the least-squares surface of (p, q) has long curved valleys, so a
# few starts across the orders of magnitude seen in practice (Sultan, Farley & Lehmann 1990:
# p ~ 0.03, q ~ 0.38 per year; physicians' adoption of a drug: p > 1 per year) find the best one.
_START_P = (0.003, 0.1, 1.0)
_START_Q = (0.2, 1.0)
_LEVEL = 0.90  # the intervals are 5-95%, like every interval in the project
_MAX_LOG = 700.0  # exp() of more overflows a float
_LOG_RATE_BOUNDS = (np.log(1e-6), np.log(100.0))  # p and q per year; keeps exp() finite


def bass_cdf(t: np.ndarray | float, p: float, q: float, m: float = 1.0) -> np.ndarray:
    """Cumulative adopters at times `t` (years since the launch; 0 before it), as a fraction of
    the population: the Bass closed form for innovation `p` > 0 and imitation `q` >= 0 per year
    and market size `m` (fraction of the population)."""
    t = np.maximum(np.asarray(t, dtype=np.float64), 0.0)
    decay = np.exp(-(p + q) * t)
    return m * -np.expm1(-(p + q) * t) / (1.0 + (q / p) * decay)


@dataclass(frozen=True)
class BassFit:
    """A least-squares Bass fit: `p`, `q` per year, market size `m` (fraction of the population;
    1.0 when it was fixed), their 5-95% intervals (asymptotic normal, from the Jacobian at the
    optimum; None when there are too few points to estimate the residual variance), the RMSE in
    the units of the fitted data, and whether `m` was fitted."""

    p: float
    q: float
    m: float
    rmse: float
    p_interval: tuple[float, float] | None
    q_interval: tuple[float, float] | None
    m_interval: tuple[float, float] | None
    fitted_market: bool

    def curve(self, t: np.ndarray | float) -> np.ndarray:
        """The fitted cumulative fraction at times `t` (years since the launch)."""
        return bass_cdf(t, self.p, self.q, self.m)

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "p": self.p, "q": self.q, "m": self.m, "market_fitted": self.fitted_market,
            "p_interval": _listed(self.p_interval), "q_interval": _listed(self.q_interval),
            "m_interval": _listed(self.m_interval), "rmse": self.rmse,
        }


def fit_bass(t: np.ndarray, fraction: np.ndarray, *, fit_market: bool = False) -> BassFit:
    """The Bass curve closest in least squares to cumulative `fraction`s of the population
    observed at times `t` (years since the launch).

    With `fit_market` False the market size is the whole population (m = 1), the assumption under
    which the simulator's Bass scenario reproduces the closed form; with True, m is fitted within
    [the largest observation, 1]. p and q are fitted on a log scale (so they stay positive and a
    fit is as good for p = 0.003 as for p = 3), from a few starting points; the best fit wins.
    Raises ValueError for mismatched inputs or fewer points than parameters.
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(fraction, dtype=np.float64)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError("t and fraction must be 1-d arrays of the same length")
    k = 3 if fit_market else 2
    if t.size < k:
        raise ValueError(f"a Bass fit of {k} parameters needs at least {k} points, got {t.size}")
    top = float(y.max())
    if fit_market and not 0.0 < top <= 1.0:
        raise ValueError("fitting the market size needs observations in (0, 1]")

    def residuals(x: np.ndarray) -> np.ndarray:
        m = x[2] if fit_market else 1.0
        return bass_cdf(t, np.exp(x[0]), np.exp(x[1]), m) - y

    lower = [_LOG_RATE_BOUNDS[0]] * 2 + ([top] if fit_market else [])
    upper = [_LOG_RATE_BOUNDS[1]] * 2 + ([1.0] if fit_market else [])
    best = None
    for p0 in _START_P:
        for q0 in _START_Q:
            x0 = [np.log(p0), np.log(q0)] + ([(top + 1.0) / 2] if fit_market else [])
            result = least_squares(residuals, x0, bounds=(lower, upper), method="trf",
                                   x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12)
            if best is None or result.cost < best.cost:
                best = result
    x = best.x
    intervals = _intervals(best.jac, best.fun, t.size, k, x)
    if fit_market and intervals[2] is not None:  # m lies in [top, 1] by definition
        low, high = intervals[2]
        intervals[2] = (max(low, top), min(high, 1.0))
    return BassFit(
        p=float(np.exp(x[0])), q=float(np.exp(x[1])), m=float(x[2]) if fit_market else 1.0,
        rmse=float(np.sqrt(np.mean(best.fun ** 2))),
        p_interval=intervals[0], q_interval=intervals[1],
        m_interval=intervals[2] if fit_market else None, fitted_market=fit_market,
    )


def _intervals(jac: np.ndarray, residuals: np.ndarray, n: int, k: int, x: np.ndarray
               ) -> list[tuple[float, float] | None]:
    """5-95% intervals of p, q (and m) from the Gauss-Newton covariance s^2 (J'J)^-1: normal on
    the log scale for p and q, so they stay positive (the caller clips m's to its range). None
    when n <= k (no residual variance) or J'J is singular. Residuals of a cumulative series are
    correlated, so these intervals are optimistic: they show which parameter the data pins down,
    not a guarantee. A parameter whose interval spans more than floats hold (the data do not pin
    it down at all) gets None too."""
    if n <= k:
        return [None] * k
    variance = float(residuals @ residuals) / (n - k)
    try:
        covariance = variance * np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        return [None] * k
    z = norm.ppf(0.5 + _LEVEL / 2)
    out: list[tuple[float, float] | None] = []
    for i in range(k):
        half = z * float(np.sqrt(max(covariance[i, i], 0.0)))
        if not np.isfinite(half) or (i < 2 and abs(x[i]) + half > _MAX_LOG):
            out.append(None)
        elif i < 2:
            out.append((float(np.exp(x[i] - half)), float(np.exp(x[i] + half))))
        else:
            out.append((float(x[i] - half), float(x[i] + half)))
    return out


def _listed(pair: tuple[float, float] | None) -> list[float] | None:
    return list(pair) if pair is not None else None
