"""The calibration: the RMSE between observed and simulated adoption minimised over the fitted
keys (a Sobol design, then Nelder-Mead; `sim.analysis.calibrate.search`), bootstrap refits for
the intervals, warnings for fits at the end of a range, the keys' identifiability, and the
out-of-sample forecast when the data are cut."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from sim.analysis.bass import fit_bass
from sim.analysis.calibrate.data import ObservedData, load_data
from sim.analysis.calibrate.keys import FitKey, default_fit, parse_fit, to_values
from sim.analysis.calibrate.likelihood import KEYS as LIKELIHOOD_KEYS
from sim.analysis.calibrate.likelihood import (
    data_exposure,
    fit_bass_likelihood,
    fit_likelihood,
)
from sim.analysis.calibrate.result import CalibrationResult
from sim.analysis.calibrate.runs import Simulator, percent_at, rmse
from sim.analysis.calibrate.search import (
    global_then_polish,
    identifiability,
    nelder_mead,
    profile_points,
)
from sim.core.rng import derived_seed, replicate_seed
from sim.graph import Graph
from sim.run.engine import build_scenario_graph
from sim.run.pool import available_cores
from sim.scenario import Scenario, ScenarioError

DEFAULT_REFITS = 5
OBJECTIVES = ("rmse", "likelihood")
BOOTSTRAP_SEED_LABEL = 7  # rng.derived_seed label of the replicate resampling
DESIGN_SEED_LABEL = 8  # rng.derived_seed label of the Sobol design's scrambling
# Nelder-Mead stops when the RMSE across its simplex differs by less than a tenth of the
# Monte-Carlo error of the simulated curve (improvements below that are the replicates' luck),
# and never below 0.005 points. Refits start at the fit: a smaller simplex and half the budget.
_TOLERANCE_SHARE, _MIN_TOLERANCE = 0.1, 5e-3
_REFIT_STEP = 0.05
_NOISY_SHARE = 1 / 3  # a Monte-Carlo error above this share of the RMSE is warned about
# A week of a run costs about as much as this many customers even on a tiny graph (the kernel's
# fixed cost per step), which decides when worker processes pay for themselves.
_STEP_COST_IN_CUSTOMERS = 200
# A calibration keeps its worker processes for hundreds of candidates, so their start-up is
# spread thin; what must pay is handing out one candidate's replicates (about a millisecond).
# This much work is about 15 ms of kernel (docs/performance.md, small markets).
_WORKER_MIN_CANDIDATE_CUSTOMER_WEEKS = 500_000


class _Problem(NamedTuple):
    """A checked calibration: the scenario (with the overrides), the keys, graph and data, and
    which observations train the fit (all of them unless the data are cut)."""

    scenario: Scenario
    keys: list[FitKey]
    graph: Graph
    observed: ObservedData
    training: np.ndarray


def calibrate(
    scenario: Scenario | str | os.PathLike,
    data: str | os.PathLike,
    fit: Sequence[str | FitKey] | None = None,
    *,
    objective: str = "rmse",
    train_until: float | None = None,
    replications: int | None = None,
    seed: int | None = None,
    refits: int = DEFAULT_REFITS,
    workers: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> CalibrationResult:
    """Fit the keys `fit` ("KEY" or "KEY=LOW:HIGH" strings, or `FitKey`s; default:
    `keys.default_fit`) of `scenario` to the adoption data in `data` (see
    `sim.analysis.calibrate` for the method).

    `objective` is "rmse" (the simulated mean curve against the observed one) or, for
    per-customer data, "likelihood" (each customer's adoption time by its hazard given its
    neighbours' observed adoption; `sim.analysis.calibrate.likelihood`), which fits market
    keys only and gives its own 95% intervals (no refits). `train_until` (in the data's time
    unit) fits the observations up to it and forecasts the rest; `replications` and `seed`
    override the scenario's; `refits` bootstrap refits give the intervals (0: none);
    `workers` processes run the replicates (default: one per core for large jobs); `progress`,
    if given, is called with the number of runs each time runs finish. The same inputs always
    give the same result, whatever the number of workers. Raises ScenarioError for bad input,
    before any simulation.
    """
    started = time.perf_counter()
    problem = _prepare(scenario, data, fit, objective, train_until, replications, seed,
                       refits)
    scenario, keys, graph, observed, training = problem
    seeds = [replicate_seed(scenario.seed, r) for r in range(scenario.replications)]
    if workers is None:
        workers = _default_workers(graph, scenario.weeks, len(seeds))
    simulator = Simulator(scenario, keys, graph, observed.customers, seeds, workers, progress)
    refit_x, refit_rmse, report, likelihood = [], [], None, None
    try:
        if objective == "likelihood":
            likelihood = _likelihood_fits(problem, train_until)
            values = np.array([likelihood[0].values[k.key] for k in keys])
        else:
            search = _Search(simulator, problem)
            unit_x = search.fit()
            refit_x, refit_rmse = search.refits(unit_x, refits)
            report = search.identifiability(unit_x)
            values = to_values(keys, unit_x)
        counts = simulator.counts(values, range(len(seeds)))
    finally:
        simulator.close()

    fitted_values = {k.key: float(v) for k, v in zip(keys, values, strict=True)}
    fitted = simulator.candidate(values).with_overrides({
        "name": f"{scenario.name}_fitted",
        "description": f"{scenario.name} with {', '.join(fitted_values)} fitted to "
                       f"{observed.path.name}"})
    fraction = observed.percent[training] / 100.0
    years = observed.years[training]
    simulated = percent_at(counts, observed.weeks, observed.population).mean(axis=0)
    result = CalibrationResult(
        scenario=scenario, fitted=fitted, data=observed, keys=keys, values=fitted_values,
        rmse=rmse(simulated[training], observed.percent[training]),
        refits=[{k.key: float(v) for k, v in zip(keys, to_values(keys, x), strict=True)}
                for x in refit_x],
        refit_rmse=refit_rmse,
        bass=fit_bass(years, fraction), bass_free=fit_bass(years, fraction, fit_market=True),
        counts=counts, seeds=seeds, evaluations=simulator.evaluations,
        runs=len(simulator.runs), seconds=time.perf_counter() - started,
        training=training, train_until=train_until, identifiability=report,
        likelihood=likelihood,
        warnings=[w for k, v in zip(keys, values, strict=True)
                  if (w := k.bound_warning(float(v))) is not None]
        + (list(likelihood[0].notes) if likelihood is not None else []))
    if result.monte_carlo_error > _NOISY_SHARE * result.rmse:
        # The replicates' noise adds in quadrature: at a third of the RMSE it is 6% of it.
        result.warnings.append(
            f"the Monte-Carlo error of the simulated mean ({result.monte_carlo_error:.2f} "
            f"points) is over a third of the fit error ({result.rmse:.2f}): the fit is partly "
            f"the replicates' luck; more replicates (--reps) would sharpen it")
    return result


class _Search:
    """The objective over the unit cube of the keys, and the stages that minimise it."""

    def __init__(self, simulator: Simulator, problem: _Problem) -> None:
        self.simulator, self.problem = simulator, problem
        self.everyone = list(range(len(simulator.seeds)))

    def curve(self, unit_x: np.ndarray, replicates: Sequence[int] | None = None) -> np.ndarray:
        """The replicates' cumulative adoption (percent) at the training times, one row each."""
        observed, training = self.problem.observed, self.problem.training
        counts = self.simulator.counts(to_values(self.problem.keys, unit_x),
                                       self.everyone if replicates is None else replicates)
        return percent_at(counts, observed.weeks[training], observed.population)

    def rmse(self, unit_x: np.ndarray, replicates: Sequence[int] | None = None) -> float:
        """The fit error at `unit_x`: RMSE of the replicates' mean against the training data."""
        self.simulator.evaluations += 1
        observed, training = self.problem.observed, self.problem.training
        return rmse(self.curve(unit_x, replicates).mean(axis=0),
                    observed.percent[training])

    def monte_carlo_error(self, unit_x: np.ndarray) -> float:
        """The RMS standard error of the simulated mean over the training times (points)."""
        simulated = self.curve(unit_x)
        if simulated.shape[0] < 2:
            return 0.0
        return float(np.sqrt((simulated.var(axis=0, ddof=1) / simulated.shape[0]).mean()))

    def tolerance(self, unit_x: np.ndarray) -> float:
        """Nelder-Mead's tolerance on the RMSE, set against the Monte-Carlo error."""
        return max(_MIN_TOLERANCE, _TOLERANCE_SHARE * self.monte_carlo_error(unit_x))

    def prefetch(self, points: Sequence[np.ndarray],
                 replicates: Sequence[int] | None = None) -> None:
        """Run every replicate of several candidates in one batch."""
        self.simulator.run_missing([to_values(self.problem.keys, x) for x in points],
                                   self.everyone if replicates is None else replicates)

    def fit(self) -> np.ndarray:
        """The fitted point in unit coordinates: the global stage, then the polish."""
        seed = derived_seed(self.problem.scenario.seed, DESIGN_SEED_LABEL)
        return global_then_polish(self.rmse, self.prefetch, len(self.problem.keys), seed,
                                  self.tolerance)

    def refits(self, unit_x: np.ndarray, count: int) -> tuple[list[np.ndarray], list[float]]:
        """`count` refits from the fit over bootstrap resamples of the replicates: their points
        and RMSEs (the Monte-Carlo uncertainty of the fit)."""
        rng = np.random.default_rng(derived_seed(self.problem.scenario.seed,
                                                 BOOTSTRAP_SEED_LABEL))
        fatol = self.tolerance(unit_x)
        points, errors = [], []
        for _ in range(count):
            sample = rng.integers(0, len(self.everyone), size=len(self.everyone)).tolist()
            result = nelder_mead(lambda x, s=sample: self.rmse(x, s), unit_x, _REFIT_STEP,
                                 20, fatol)
            points.append(np.clip(result.x, 0.0, 1.0))
            errors.append(float(result.fun))
        return points, errors

    def identifiability(self, unit_x: np.ndarray):
        """The identifiability report at the fit (`search.identifiability`)."""
        self.prefetch(profile_points(unit_x))
        return identifiability(lambda x: self.curve(x).mean(axis=0), self.rmse,
                               [k.key for k in self.problem.keys], unit_x, self.rmse(unit_x),
                               self.monte_carlo_error(unit_x))


def _likelihood_fits(problem: _Problem, train_until: float | None):
    """The likelihood fit of the keys, and Bass's hazard fitted the same way."""
    exposure = data_exposure(problem.observed, problem.graph, until=train_until)
    held = {key: float(problem.scenario.get(key)) for key in LIKELIHOOD_KEYS}
    return (fit_likelihood(exposure, [k.key for k in problem.keys], held),
            fit_bass_likelihood(exposure))


def _prepare(scenario: Scenario | str | os.PathLike, data: str | os.PathLike,
             fit: Sequence[str | FitKey] | None, objective: str, train_until: float | None,
             replications: int | None, seed: int | None, refits: int) -> _Problem:
    """The scenario with its overrides, the keys, the graph, the observed data and the training
    points, all checked; ScenarioError on the first problem."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    overrides = {k: v for k, v in (("replications", replications), ("seed", seed))
                 if v is not None}
    if overrides:
        scenario = scenario.with_overrides(overrides)
    keys = ([item if isinstance(item, FitKey) else parse_fit(item, scenario) for item in fit]
            if fit else default_fit(scenario))
    if len({k.key for k in keys}) != len(keys):
        raise ScenarioError("each key can be given to --fit once", key="fit")
    if refits < 0:
        raise ScenarioError(f"must be >= 0, got {refits}", key="refits")
    if objective not in OBJECTIVES:
        raise ScenarioError(f"must be one of {', '.join(OBJECTIVES)}, got {objective!r}",
                            key="objective")
    if objective == "likelihood":
        outside = [k.key for k in keys if k.key not in LIKELIHOOD_KEYS]
        if outside:
            raise ScenarioError(f"the likelihood fits the entry hazard's keys only "
                                f"({', '.join(LIKELIHOOD_KEYS)}), not {', '.join(outside)}: "
                                f"use the RMSE objective for them", key="objective")
    graph = build_scenario_graph(scenario)
    observed = load_data(data, scenario, graph)
    if objective == "likelihood" and observed.kind != "per_customer":
        raise ScenarioError("--objective likelihood needs per-customer data (id and each "
                            "customer's adoption time); an aggregate series is fitted by RMSE",
                            file=observed.path)
    training = np.ones(observed.times.size, dtype=bool)
    if train_until is not None:
        training = observed.times <= train_until
        if training.all():
            raise ScenarioError(f"--train-until {train_until:g} keeps every observation (the "
                                f"last is at {observed.unit} {observed.times[-1]:g}): nothing "
                                f"is left to forecast", file=observed.path)
    needed = max(2, len(keys))
    if training.sum() < needed:
        where = f" up to {observed.unit} {train_until:g}" if train_until is not None else ""
        raise ScenarioError(f"{int(training.sum())} observation(s){where} cannot pin down "
                            f"{len(keys)} key(s): need at least {needed}", file=observed.path)
    return _Problem(scenario, keys, graph, observed, training)


def _default_workers(graph: Graph, weeks: int, replicates: int) -> int:
    """One worker per core (at most one per replicate) when one candidate's replicates are work
    enough to hand out, else 1."""
    work = (graph.n + _STEP_COST_IN_CUSTOMERS) * weeks * replicates
    enough = work >= _WORKER_MIN_CANDIDATE_CUSTOMER_WEEKS
    return min(replicates, available_cores()) if enough else 1
