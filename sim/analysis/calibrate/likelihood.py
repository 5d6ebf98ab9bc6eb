"""The per-customer likelihood of observed adoption times on a real network, and its fit.

Each listed customer's adoption time is scored by the discrete-time hazard of the model's Bass
special case (every adopter talks, conversion 1), given the adoption its in-neighbours were
observed to have made. In time unit k, the interval (k - 1, k] of the data's unit (week, month or
year), customer i, in the market and not yet adopted, adopts with probability
1 - exp(-H_i(k) D), D the unit in years, where per year

    H_i(k) = p + q [(1 - mu) A_i(k) / W_i + mu A(k) / (m N)]:

A_i(k) is the tie strength from the in-neighbours of i that had adopted before unit k began, W_i
that from all its in-neighbours (the local term is 0 when W_i = 0), A(k) the number of listed
customers adopted before unit k, and N the number listed. A customer is in the market with
probability m (`market.potential`); mu (`market.mixing`) is the share of the imitation that is
market-wide, as in Bass, rather than through one's own ties. A time t falls in unit ceil(t); time 0
is an adoption at the launch (unit 0), which is not scored but counts as an adopted neighbour from
unit 1 on. Customers of the graph that are not listed have no observed time and count as never
adopting, which understates the local term of their neighbours: list everyone who can be.

With K the last unit scored (the last adoption's, or a cut `until` for out-of-sample work: later
adoptions are censored at the cut), the log-likelihood sums over the listed customers not adopted
at the launch:

- adopted in unit k_i <= K:  log m - sum_{k < k_i} H_i(k) D + log(1 - exp(-H_i(k_i) D));
- not adopted by K:          log[(1 - m) + m exp(-sum_{k <= K} H_i(k) D)].

The hazard is linear in the data, so `exposure` reduces the data to a few sums per customer once
(O(customers + ties)), and each evaluation costs O(customers). `fit_likelihood` maximises it over
a chosen subset of the four keys (scipy's L-BFGS-B with the analytic gradient, from a few fixed
starts, in coordinates log p, log q, logit m and mu), with asymptotic intervals from the observed
information; `fit_bass_likelihood` is the same with mu = 1, Bass's hazard on the same customers,
so AIC and BIC compare the two on one footing. Method: docs/calibration.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit
from scipy.stats import norm

from sim.analysis.calibrate.data import WEEKS_PER_UNIT, ObservedData
from sim.graph import Graph

INNOVATION, IMITATION = "market.innovation", "market.imitation"
POTENTIAL, MIXING = "market.potential", "market.mixing"
KEYS = (INNOVATION, IMITATION, POTENTIAL, MIXING)
LEVEL = 0.95  # the intervals are asymptotic 95% intervals
# Keys held fixed and not given take the model's neutral values: everyone can adopt, and all
# imitation goes through one's own ties.
DEFAULTS = {POTENTIAL: 1.0, MIXING: 0.0}
_YEAR_WEEKS = WEEKS_PER_UNIT["year"]
_TIME_TOLERANCE = 1e-9  # a time of 3.0000000001 units is read as unit 3, not 4
# The observed information is called near-singular beyond this condition number: the keys then
# trade off against each other along some direction and are not separately identified.
_MAX_CONDITION = 1e8
_HESSIAN_STEP = 1e-4  # central differences of the gradient, in transformed coordinates
_BOUND_TOLERANCE = 1e-6  # an estimate this close to a bound (transformed) is at the bound


@dataclass(frozen=True)
class Exposure:
    """The observed adoption reduced to what the likelihood needs, per scored customer (listed
    and not adopted at the launch), in two groups: those adopted in units 1..`units` and those
    censored (not adopted by then).

    `at_risk_*` has rows [units at risk before the adoption or the censoring; sum over those
    units of the local share A_i(k)/W_i; sum over them of the market count A(k)];
    `adoption_unit` has rows [1; A_i(k_i)/W_i; A(k_i)] for the adopters' own unit. `step` is the
    time unit in years, `listed` the number of customers listed (N)."""

    unit: str
    step: float
    units: int
    listed: int
    at_risk_adopters: np.ndarray
    at_risk_censored: np.ndarray
    adoption_unit: np.ndarray

    @property
    def adopters(self) -> int:
        """The number of customers scored as adopting in units 1..`units`."""
        return self.adoption_unit.shape[1]

    @property
    def n(self) -> int:
        """The number of customers scored (listed, not adopted at the launch)."""
        return self.adopters + self.at_risk_censored.shape[1]


def exposure(graph: Graph, customers: np.ndarray, adopted_times: np.ndarray, unit: str,
             until: float | None = None) -> Exposure:
    """The `Exposure` of listed customers (graph indices `customers`, distinct) with adoption
    times `adopted_times` (in `unit`s since the launch, NaN for never), scored through unit
    K = floor(`until`), or the last adoption's unit when `until` is None. Raises ValueError for
    mismatched or out-of-range input, or nobody to score."""
    customers = np.asarray(customers, dtype=np.int64)
    times = np.asarray(adopted_times, dtype=np.float64)
    if unit not in WEEKS_PER_UNIT:
        raise ValueError(f"unit must be one of {', '.join(WEEKS_PER_UNIT)}, not {unit!r}")
    if customers.ndim != 1 or times.shape != customers.shape:
        raise ValueError("customers and adopted_times must be 1-d arrays of the same length")
    if customers.size and (customers.min() < 0 or customers.max() >= graph.n):
        raise ValueError("customers must be node indices of the graph")
    if np.unique(customers).size != customers.size:
        raise ValueError("a customer is listed twice")
    if (times < 0).any():
        raise ValueError("adoption times must be >= 0 (or NaN for never)")
    adoption = np.where(times > 0, np.maximum(np.ceil(times - _TIME_TOLERANCE), 1.0), times)
    adoption[np.isnan(times)] = np.inf
    last = int(adoption[np.isfinite(adoption)].max(initial=0.0)) if until is None \
        else math.floor(until + _TIME_TOLERANCE)
    if last < 1:
        raise ValueError(f"nothing to score: the last unit scored is {last}, not >= 1")
    scored = adoption >= 1
    if not scored.any():
        raise ValueError("nothing to score: every listed customer adopted at the launch")
    adopted = scored & (adoption <= last)
    # Units at risk: before the adoption unit, or every unit through the cut.
    at_risk = np.where(adopted, adoption - 1.0, float(last))
    market, market_sum = _market_counts(adoption, last)
    event = np.where(adopted, adoption, 1.0).astype(np.int64)
    local_sum, local_now = _local_shares(graph, customers, adoption, scored, at_risk, event,
                                         market, market_sum)
    rows = np.vstack([at_risk, local_sum, market_sum[at_risk.astype(np.int64)]])
    now = np.vstack([np.ones(adopted.sum()), local_now[adopted], market[event[adopted]]])
    return Exposure(unit, WEEKS_PER_UNIT[unit] / _YEAR_WEEKS, last, customers.size,
                    rows[:, adopted], rows[:, scored & ~adopted], now)


def data_exposure(data: ObservedData, graph: Graph, until: float | None = None) -> Exposure:
    """The `Exposure` of per-customer data read by `load_data` on `graph`, the scenario's graph
    (see `exposure` for `until`). Raises ValueError for aggregate data."""
    if data.customers is None or data.adopted_times is None:
        raise ValueError("the likelihood needs per-customer data, not an aggregate series")
    return exposure(graph, data.customers, data.adopted_times, data.unit, until)


def _market_counts(adoption: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """A(k), the listed customers adopted before unit k, for k = 0..last (A(0) = 0), and its
    running sum sum_{k=1}^{e} A(k) for e = 0..last."""
    done = adoption[np.isfinite(adoption) & (adoption < last)].astype(np.int64)
    per_unit = np.bincount(done, minlength=last)[:last].astype(np.float64)
    market = np.concatenate([[0.0], np.cumsum(per_unit)])
    return market, np.cumsum(market)


def _local_shares(graph: Graph, customers: np.ndarray, adoption: np.ndarray,
                  scored: np.ndarray, at_risk: np.ndarray, event: np.ndarray,
                  market: np.ndarray, market_sum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per listed customer: the sum over its units at risk of A_i(k)/W_i, and A_i(k)/W_i in
    unit `event`. A neighbour adopted in unit u counts in units u + 1 on, so it adds its tie
    strength times max(0, at_risk - u) to the first and, if u < event, once to the second.
    Unscored customers get zeros."""
    if graph.complete:  # every other node is an in-neighbour, and only listed ones adopt
        ties = float(max(graph.n - 1, 0))
        scale = 1.0 / ties if ties else 0.0
        total = market_sum[at_risk.astype(np.int64)] * scale
        return np.where(scored, total, 0.0), np.where(scored, market[event] * scale, 0.0)
    node_unit = np.full(graph.n, np.inf)
    node_unit[customers] = adoption
    rows = np.flatnonzero(scored)
    nodes = customers[rows]
    starts = graph.in_indptr[nodes]
    lengths = graph.in_indptr[nodes + 1] - starts
    owner = np.repeat(np.arange(rows.size), lengths)
    offsets = np.cumsum(lengths) - lengths
    entries = starts[owner] + np.arange(owner.size) - offsets[owner]
    weight = (np.ones(owner.size) if graph.in_weight is None
              else graph.in_weight[entries].astype(np.float64))
    neighbour_unit = node_unit[graph.in_indices[entries]]
    units_counted = np.maximum(at_risk[rows][owner] - neighbour_unit, 0.0)
    total = np.bincount(owner, weights=weight * units_counted, minlength=rows.size)
    now = np.bincount(owner, weights=weight * (neighbour_unit < event[rows][owner]),
                      minlength=rows.size)
    ties = graph.in_weight_sum()[nodes]
    share = np.divide(1.0, ties, out=np.zeros_like(ties), where=ties > 0)
    local_sum, local_now = np.zeros(adoption.size), np.zeros(adoption.size)
    local_sum[rows], local_now[rows] = total * share, now * share
    return local_sum, local_now


def log_likelihood(data: Exposure, innovation: float, imitation: float,
                   potential: float = 1.0, mixing: float = 0.0) -> float:
    """The log-likelihood of the scored customers under p = `innovation`, q = `imitation` (per
    year, >= 0), m = `potential` in (0, 1] and mu = `mixing` in [0, 1] (-inf when an observed
    adoption has zero probability, as with p = 0 and no adopted neighbour)."""
    values = _checked({INNOVATION: innovation, IMITATION: imitation, POTENTIAL: potential,
                       MIXING: mixing})
    return _evaluate(data, np.array([values[key] for key in KEYS]))[0]


def _evaluate(data: Exposure, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """The log-likelihood at theta = (p, q, m, mu) and its gradient with respect to theta.

    The hazard summed over units at risk is D c . rows, with c = (p, q (1 - mu), q mu / (m N))
    and `rows` the data's sums, so it and its derivatives are a few matrix-vector products."""
    p, q, m, mu = theta
    g = 1.0 / (m * data.listed)
    coefficients = np.array([p, q * (1.0 - mu), q * mu * g])
    # d coefficients / d (p, q, m, mu), one column per key.
    jacobian = np.array([[1.0, 0.0, 0.0, 0.0],
                         [0.0, 1.0 - mu, 0.0, -q],
                         [0.0, mu * g, -q * mu * g / m, q * g]])
    d = data.step
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hazard_now = d * (coefficients @ data.adoption_unit)
        log_adopt = np.log(-np.expm1(-hazard_now))
        adopters = (data.adopters * math.log(m)
                    - d * coefficients @ data.at_risk_adopters.sum(axis=1) + log_adopt.sum())
        cumulative = d * (coefficients @ data.at_risk_censored)
        log_stay = np.logaddexp(np.log1p(-m), math.log(m) - cumulative)
        total = float(adopters + log_stay.sum())
        # The share of a censored customer's likelihood that comes from being in the market.
        in_market = np.exp(math.log(m) - cumulative - log_stay)
        per_row = (data.adoption_unit @ (1.0 / np.expm1(hazard_now))
                   - data.at_risk_adopters.sum(axis=1) - data.at_risk_censored @ in_market)
        gradient = d * (jacobian.T @ per_row)
        gradient[2] += data.adopters / m + float(np.sum(np.expm1(-cumulative)
                                                        * np.exp(-log_stay)))
    return total, gradient


class _Coordinate(NamedTuple):
    """How a key is searched: value(x), d value / dx, x(value), the bounds on x, and the
    values the searches start from."""

    value: Callable[[float], float]
    slope: Callable[[float], float]
    inverse: Callable[[float], float]
    bounds: tuple[float, float]
    starts: tuple[float, ...]


# p and q on a log scale between 1e-6 and 100 per year (so a fit is as good for p = 0.003 as for
# p = 3, and a rate of 0 shows as the floor), m on a logit scale, mu as it is (it may sit on 0 or
# 1). Starts span the orders of magnitude seen in practice (Sultan, Farley & Lehmann 1990:
# p ~ 0.03, q ~ 0.38 per year; physicians' adoption of a drug: p > 1 per year).
_RATE = _Coordinate(math.exp, math.exp, math.log, (math.log(1e-6), math.log(100.0)),
                    (0.01, 0.5))
_COORDINATES = {
    INNOVATION: _RATE,
    IMITATION: _RATE._replace(starts=(0.1, 1.0)),
    POTENTIAL: _Coordinate(lambda x: float(expit(x)), lambda x: float(expit(x) * expit(-x)),
                           lambda v: float(logit(v)), (-20.0, 20.0), (0.5, 0.95)),
    MIXING: _Coordinate(float, lambda x: 1.0, float, (0.0, 1.0), (0.2, 0.8)),
}


@dataclass(frozen=True)
class LikelihoodFit:
    """A maximum-likelihood fit: `values` of all four keys (fitted and held), the `fitted` keys,
    the maximised `log_likelihood` of the `n` customers scored, and per fitted key a standard
    error (delta method from the observed information in the search coordinates) and an
    asymptotic 95% interval (normal in those coordinates, so it respects the key's range). Both
    are None for a key at a bound of its range, and for every key when the information is
    singular or near-singular; `notes` then say why, and `identifiable` is False. `converged`
    tells whether the best search ended by its convergence test."""

    values: dict[str, float]
    fitted: tuple[str, ...]
    log_likelihood: float
    n: int
    standard_errors: dict[str, float | None]
    intervals: dict[str, tuple[float, float] | None]
    identifiable: bool
    notes: tuple[str, ...]
    converged: bool

    @property
    def k(self) -> int:
        """The number of fitted keys."""
        return len(self.fitted)

    @property
    def aic(self) -> float:
        """Akaike's information criterion, 2k - 2 log L (lower is better)."""
        return 2.0 * self.k - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """The Bayesian (Schwarz) information criterion, k ln n - 2 log L (lower is better)."""
        return self.k * math.log(self.n) - 2.0 * self.log_likelihood

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "values": dict(self.values), "fitted": list(self.fitted),
            "log_likelihood": self.log_likelihood, "k": self.k, "n": self.n,
            "aic": self.aic, "bic": self.bic,
            "standard_errors": dict(self.standard_errors),
            "intervals": {key: list(v) if v is not None else None
                          for key, v in self.intervals.items()},
            "identifiable": self.identifiable, "notes": list(self.notes),
            "converged": self.converged,
        }


def fit_likelihood(data: Exposure, fit: Sequence[str],
                   values: Mapping[str, float] | None = None) -> LikelihoodFit:
    """Maximise the log-likelihood of `data` over the keys `fit` (a non-empty subset of `KEYS`),
    the others held at `values` (`market.potential` defaults to 1 and `market.mixing` to 0;
    innovation and imitation must be given when held). Deterministic: L-BFGS-B from a few
    fixed starts, the best end wins. Raises ValueError for an unknown or repeated key, or a held
    value missing or out of range."""
    fitted = tuple(fit)
    if not fitted or len(set(fitted)) != len(fitted) or not set(fitted) <= set(KEYS):
        raise ValueError(f"fit must be distinct keys among {', '.join(KEYS)}, not {fitted}")
    held = {**DEFAULTS, **(values or {})}
    missing = [key for key in KEYS if key not in fitted and key not in held]
    if missing:
        raise ValueError(f"give a value for the held key(s) {', '.join(missing)}")
    checked = _checked({key: held[key] for key in KEYS if key not in fitted})
    theta = np.array([checked.get(key, 0.0) for key in KEYS])  # fitted entries set by `full`
    where = [KEYS.index(key) for key in fitted]
    coordinates = [_COORDINATES[key] for key in fitted]

    def full(x: np.ndarray) -> np.ndarray:
        out = theta.copy()
        out[where] = [c.value(xi) for c, xi in zip(coordinates, x, strict=True)]
        return out

    def log_l(x: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = _evaluate(data, full(x))
        slopes = np.array([c.slope(xi) for c, xi in zip(coordinates, x, strict=True)])
        return total, gradient[where] * slopes

    best = _search(log_l, coordinates, data.n)
    x = np.asarray(best.x, dtype=np.float64)
    estimate = full(x)
    errors, intervals, notes = _uncertainty(log_l, fitted, coordinates, x)
    return LikelihoodFit(
        values={key: float(v) for key, v in zip(KEYS, estimate, strict=True)}, fitted=fitted,
        log_likelihood=_evaluate(data, estimate)[0], n=data.n, standard_errors=errors,
        intervals=intervals, identifiable=not notes, notes=tuple(notes),
        converged=bool(best.success))


def fit_bass_likelihood(data: Exposure) -> LikelihoodFit:
    """Bass's hazard on the same customers: `fit_likelihood` with all imitation market-wide
    (mu = 1), fitting p, q and m (3 keys), for an AIC / BIC comparison with the network fit."""
    return fit_likelihood(data, (INNOVATION, IMITATION, POTENTIAL), {MIXING: 1.0})


def _search(log_l: Callable[[np.ndarray], tuple[float, np.ndarray]],
            coordinates: Sequence[_Coordinate], n: int):
    """scipy's L-BFGS-B result maximising `log_l` (value and gradient) in the coordinates'
    bounds, best of a grid of starts. The objective is scaled by 1/n so the tolerances mean the
    same for any number of customers."""
    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = log_l(x)
        if not np.isfinite(total):
            return np.inf, np.zeros_like(x)
        return -total / n, -gradient / n

    best = None
    for start in _starts(coordinates):
        x0 = [c.inverse(v) for c, v in zip(coordinates, start, strict=True)]
        result = minimize(objective, x0, jac=True, method="L-BFGS-B",
                          bounds=[c.bounds for c in coordinates],
                          options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
        if best is None or result.fun < best.fun:
            best = result
    return best


def _starts(coordinates: Sequence[_Coordinate]) -> list[tuple[float, ...]]:
    """At most four starting points, each key at one of its two starting values: all low, all
    high, and the two alternations (low, high, low, ...) and (high, low, high, ...). The full
    grid would cost 2^k searches for little gain: the likelihood is smooth, and in the search
    coordinates it has shown one optimum in every case tried."""
    k = len(coordinates)
    patterns = [(0,) * k, (1,) * k, tuple(i % 2 for i in range(k)),
                tuple(1 - i % 2 for i in range(k))]
    return [tuple(c.starts[j] for c, j in zip(coordinates, pattern, strict=True))
            for pattern in dict.fromkeys(patterns)]


def _uncertainty(log_l: Callable[[np.ndarray], tuple[float, np.ndarray]],
                 fitted: Sequence[str], coordinates: Sequence[_Coordinate], x: np.ndarray
                 ) -> tuple[dict, dict, list[str]]:
    """Standard errors, intervals and notes of the fit at `x`. Keys at a bound are held there
    (their likelihood is not locally quadratic, so the normal approximation does not apply); the
    others get the inverse of the observed information, from central differences of the
    gradient in the search coordinates."""
    errors: dict[str, float | None] = dict.fromkeys(fitted)
    intervals: dict[str, tuple[float, float] | None] = dict.fromkeys(fitted)
    notes = []
    free = []
    for i, (key, c) in enumerate(zip(fitted, coordinates, strict=True)):
        low, high = c.bounds
        if x[i] - low < _BOUND_TOLERANCE or high - x[i] < _BOUND_TOLERANCE:
            bound = c.value(low if x[i] - low < _BOUND_TOLERANCE else high)
            notes.append(f"{key} is at the bound {bound:.3g} of its range: no interval")
        else:
            free.append(i)
    if not free:
        return errors, intervals, notes
    covariance = _covariance(log_l, coordinates, x, free)
    if covariance is None:
        notes.append(f"the observed information of {', '.join(fitted[i] for i in free)} is "
                     f"singular or near-singular: they are not separately identifiable")
        return errors, intervals, notes
    z = float(norm.ppf(0.5 + LEVEL / 2))
    for j, i in enumerate(free):
        c, se = coordinates[i], math.sqrt(covariance[j, j])
        errors[fitted[i]] = abs(c.slope(x[i])) * se
        low, high = c.bounds
        intervals[fitted[i]] = (c.value(max(x[i] - z * se, low)),
                                c.value(min(x[i] + z * se, high)))
    return errors, intervals, notes


def _covariance(log_l: Callable[[np.ndarray], tuple[float, np.ndarray]],
                coordinates: Sequence[_Coordinate], x: np.ndarray, free: list[int]
                ) -> np.ndarray | None:
    """The inverse observed information of the `free` coordinates at `x` (the others held),
    or None when it is not positive definite or its condition number exceeds the limit."""
    information = np.empty((len(free), len(free)))
    for j, i in enumerate(free):
        low, high = coordinates[i].bounds
        step = min(_HESSIAN_STEP, (x[i] - low) / 2, (high - x[i]) / 2)
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        difference = (log_l(up)[1] - log_l(down)[1]) / (2 * step)
        information[j] = -difference[free]
    information = (information + information.T) / 2
    eigenvalues = np.linalg.eigvalsh(information)
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues[0] <= 0 \
            or eigenvalues[-1] / eigenvalues[0] > _MAX_CONDITION:
        return None
    return np.linalg.inv(information)


def _checked(values: Mapping[str, float]) -> dict[str, float]:
    """`values` as floats when each lies in its key's range; ValueError otherwise."""
    ranges = {INNOVATION: (0.0, math.inf, "p >= 0"), IMITATION: (0.0, math.inf, "q >= 0"),
              POTENTIAL: (0.0, 1.0, "m in (0, 1]"), MIXING: (0.0, 1.0, "mu in [0, 1]")}
    out = {}
    for key, value in values.items():
        low, high, text = ranges[key]
        value = float(value)
        if not (low <= value <= high) or (key == POTENTIAL and value == 0.0):
            raise ValueError(f"{key} must be {text}, not {value}")
        out[key] = value
    return out
