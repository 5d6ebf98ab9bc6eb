"""The calibration search: RMSE between observed and simulated adoption, minimised over the
fitted keys by a coarse grid then bounded Nelder-Mead, with bootstrap refits for the intervals.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from scipy.optimize import brute, minimize

from sim.analysis.bass import fit_bass
from sim.analysis.calibrate.data import ObservedData, load_data
from sim.analysis.calibrate.keys import FitKey, parse_fit
from sim.analysis.calibrate.result import CalibrationResult
from sim.analysis.calibrate.runs import Simulator, percent_at, rmse
from sim.core.rng import derived_seed, replicate_seed
from sim.graph import Graph
from sim.run.engine import build_scenario_graph
from sim.run.pool import available_cores
from sim.run.replicates import PARALLEL_THRESHOLD_CUSTOMER_WEEKS
from sim.scenario import Scenario, ScenarioError

DEFAULT_REFITS = 5
BOOTSTRAP_SEED_LABEL = 7  # rng.derived_seed label of the replicate resampling
# Grid points per key of the first stage (cell midpoints of the unit interval): 5 per key for one
# or two keys (25 evaluations for two), 3 per key beyond, so the grid stays affordable.
_GRID_FINE, _GRID_COARSE = 5, 3
# Nelder-Mead, in unit coordinates: a first simplex of 10% of each range (5% for refits, which
# start at the fit), stopping when the simplex is 0.5% of the ranges wide and the RMSE across it
# differs by less than 0.01 points (far below any fit error seen), or after a budget of
# evaluations per key (refits, starting near their optimum, get half).
_SIMPLEX_STEP, _REFIT_STEP = 0.10, 0.05
_XATOL, _FATOL = 5e-3, 1e-2
_MAXFEV_PER_KEY = 40
# A week of a run costs about as much as this many customers even on a tiny graph (the kernel's
# fixed cost per step), which decides when worker processes pay for themselves.
_STEP_COST_IN_CUSTOMERS = 2000


class _Problem(NamedTuple):
    """A checked calibration: the scenario (with the overrides), the keys, graph and data."""

    scenario: Scenario
    keys: list[FitKey]
    graph: Graph
    observed: ObservedData


def calibrate(
    scenario: Scenario | str | os.PathLike,
    data: str | os.PathLike,
    fit: Sequence[str | FitKey],
    *,
    replications: int | None = None,
    seed: int | None = None,
    refits: int = DEFAULT_REFITS,
    workers: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> CalibrationResult:
    """Fit the keys `fit` ("KEY" or "KEY=LOW:HIGH" strings, or `FitKey`s) of `scenario` to the
    adoption data in `data` (see `sim.analysis.calibrate` for the method).

    `replications` and `seed` override the scenario's; `refits` bootstrap refits give the
    intervals (0: none); `workers` processes run the replicates (default: one per core for large
    jobs); `progress`, if given, is called with the number of runs each time runs finish. The
    same inputs always give the same result, whatever the number of workers. Raises
    ScenarioError for bad input, before any simulation.
    """
    started = time.perf_counter()
    problem = _prepare(scenario, data, fit, replications, seed, refits)
    scenario, keys, graph, observed = problem
    seeds = [replicate_seed(scenario.seed, r) for r in range(scenario.replications)]
    if workers is None:
        workers = _default_workers(graph, scenario.weeks, len(seeds))
    simulator = Simulator(scenario, keys, graph, observed.customers, seeds, workers, progress)
    try:
        values, refit_x, refit_rmse = _search_with_refits(simulator, problem, refits)
        counts = simulator.counts(values, range(len(seeds)))
    finally:
        simulator.close()

    fitted_values = {k.key: float(v) for k, v in zip(keys, values, strict=True)}
    refit_values = [{k.key: float(v) for k, v in zip(keys, x, strict=True)} for x in refit_x]
    fitted = simulator.candidate(values).with_overrides({
        "name": f"{scenario.name}_fitted",
        "description": f"{scenario.name} with {', '.join(fitted_values)} fitted to "
                       f"{observed.path.name}"})
    fraction = observed.percent / 100.0
    return CalibrationResult(
        scenario=scenario, fitted=fitted, data=observed, keys=keys, values=fitted_values,
        rmse=rmse(percent_at(counts, observed.weeks, observed.population).mean(axis=0),
                  observed.percent),
        refits=refit_values, refit_rmse=refit_rmse,
        bass=fit_bass(observed.years, fraction),
        bass_free=fit_bass(observed.years, fraction, fit_market=True),
        counts=counts, seeds=seeds, evaluations=simulator.evaluations,
        runs=len(simulator.runs), seconds=time.perf_counter() - started)


def _prepare(scenario: Scenario | str | os.PathLike, data: str | os.PathLike,
             fit: Sequence[str | FitKey], replications: int | None, seed: int | None,
             refits: int) -> _Problem:
    """The scenario with its overrides, the keys, the graph and the observed data, all checked;
    ScenarioError on the first problem."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    overrides = {k: v for k, v in (("replications", replications), ("seed", seed))
                 if v is not None}
    if overrides:
        scenario = scenario.with_overrides(overrides)
    keys = [item if isinstance(item, FitKey) else parse_fit(item, scenario) for item in fit]
    if not keys:
        raise ScenarioError("nothing to fit: give at least one --fit KEY")
    if len({k.key for k in keys}) != len(keys):
        raise ScenarioError("each key can be given to --fit once", key="fit")
    if refits < 0:
        raise ScenarioError(f"must be >= 0, got {refits}", key="refits")
    graph = build_scenario_graph(scenario)
    observed = load_data(data, scenario, graph)
    if observed.times.size < max(2, len(keys)):
        raise ScenarioError(f"{observed.times.size} observation(s) cannot pin down "
                            f"{len(keys)} key(s): need at least {max(2, len(keys))}",
                            file=observed.path)
    return _Problem(scenario, keys, graph, observed)


def _default_workers(graph: Graph, weeks: int, replicates: int) -> int:
    """One worker per core (at most one per replicate) for jobs large enough to pay for the
    processes, else 1."""
    work = (graph.n + _STEP_COST_IN_CUSTOMERS) * weeks * replicates
    return min(replicates, available_cores()) if work >= PARALLEL_THRESHOLD_CUSTOMER_WEEKS else 1


def _search_with_refits(simulator: Simulator, problem: _Problem, refits: int
                        ) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    """The fitted values (over every replicate), and the values and RMSE of `refits` refits from
    the fit over bootstrap resamples of the replicates."""
    keys, observed = problem.keys, problem.observed
    low = np.array([k.low for k in keys])
    span = np.array([k.high - k.low for k in keys])

    def to_values(unit_x: np.ndarray) -> np.ndarray:
        return low + np.clip(np.atleast_1d(unit_x), 0.0, 1.0) * span

    def objective(unit_x: np.ndarray, replicates: Sequence[int]) -> float:
        simulator.evaluations += 1
        simulated = percent_at(simulator.counts(to_values(unit_x), replicates), observed.weeks,
                               observed.population)
        return rmse(simulated.mean(axis=0), observed.percent)

    count = len(simulator.seeds)
    everyone = list(range(count))
    best = _search(lambda x: objective(x, everyone), len(keys))
    rng = np.random.default_rng(derived_seed(problem.scenario.seed, BOOTSTRAP_SEED_LABEL))
    refit_values, refit_rmse = [], []
    for _ in range(refits):
        sample = rng.integers(0, count, size=count).tolist()
        result = _nelder_mead(lambda x, s=sample: objective(x, s), best, _REFIT_STEP,
                              _MAXFEV_PER_KEY // 2)
        refit_values.append(to_values(result.x))
        refit_rmse.append(float(result.fun))
    return to_values(best), refit_values, refit_rmse


def _search(objective, k: int) -> np.ndarray:
    """Minimise `objective` over the unit cube [0, 1]^k: the best point of a coarse grid of cell
    midpoints (scipy.optimize.brute), then bounded Nelder-Mead from it."""
    points = _GRID_FINE if k <= 2 else _GRID_COARSE
    ranges = [slice(0.5 / points, 1.0, 1.0 / points)] * k
    start = np.atleast_1d(brute(objective, ranges, finish=None))
    return _nelder_mead(objective, start, _SIMPLEX_STEP, _MAXFEV_PER_KEY).x


def _nelder_mead(objective, start: np.ndarray, step: float, maxfev_per_key: int):
    """scipy's bounded Nelder-Mead on the unit cube from `start`, with a first simplex that
    steps `step` along each axis (inwards at a bound), at most `maxfev_per_key` evaluations per
    dimension."""
    start = np.asarray(start, dtype=np.float64)
    simplex = [start]
    for i in range(start.size):
        vertex = start.copy()
        vertex[i] += step if start[i] + step <= 1.0 else -step
        simplex.append(vertex)
    return minimize(objective, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * start.size,
                    options={"initial_simplex": np.array(simplex), "xatol": _XATOL,
                             "fatol": _FATOL, "maxfev": maxfev_per_key * start.size})
