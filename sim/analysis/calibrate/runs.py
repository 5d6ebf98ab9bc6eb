"""Simulating calibration candidates: one run's cumulative adoption, and the replicate runs of
each candidate (kept, since refits revisit them), in worker processes or in this one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from sim.graph import Graph
from sim.run.engine import Engine
from sim.run.pool import process_pool
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.analysis.calibrate.keys import FitKey

_worker: dict = {}  # what each worker process holds: the graph and the customers scored


def _init_worker(graph: Graph, customers: np.ndarray | None) -> None:
    _worker["graph"], _worker["customers"] = graph, customers


def _run_in_worker(task: tuple[Scenario, int]) -> np.ndarray:
    return adoption_counts(task[0], task[1], _worker["graph"], _worker["customers"])


def adoption_counts(scenario: Scenario, seed: int, graph: Graph,
                    customers: np.ndarray | None = None) -> np.ndarray:
    """One run's cumulative adopters (first purchases and seeds) after w = 0..weeks whole weeks,
    among `customers` (graph indices; None: everyone), as int32 (entry 0 is 0)."""
    adopted_week = Engine(scenario, seed, graph).run().customers.adopted_week
    if customers is not None:
        adopted_week = adopted_week[customers]
    per_week = np.bincount(adopted_week[adopted_week >= 0], minlength=scenario.weeks)
    return np.concatenate(([0], np.cumsum(per_week))).astype(np.int32)


class Simulator:
    """Runs a scenario's replicate seeds at candidate values of the fitted keys, keeping every
    run's `adoption_counts` (a refit revisits the same runs), in worker processes or here."""

    def __init__(self, scenario: Scenario, keys: Sequence[FitKey], graph: Graph,
                 customers: np.ndarray | None, seeds: Sequence[int], workers: int,
                 progress: Callable[[int], object] | None = None) -> None:
        self.scenario, self.keys, self.graph, self.customers = scenario, keys, graph, customers
        self.seeds = list(seeds)
        self.runs: dict[tuple[tuple[float, ...], int], np.ndarray] = {}
        self.evaluations = 0
        self.progress = progress  # told how many runs each batch finished
        self.pool = None
        if workers > 1:
            # forked workers share the graph's memory and inherit the compiled kernels.
            self.pool = process_pool(workers, _init_worker, (graph, customers))

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self.pool is not None:
            self.pool.shutdown()

    def candidate(self, values: Sequence[float]) -> Scenario:
        """The scenario with the fitted keys set to `values`."""
        return self.scenario.with_overrides(
            {fit.key: float(v) for fit, v in zip(self.keys, values, strict=True)})

    def counts(self, values: Sequence[float], replicates: Sequence[int]) -> np.ndarray:
        """`adoption_counts` of the given replicates (indices into the seeds; repeats allowed)
        at `values`, one row each."""
        self.run_missing([values], replicates)
        values = tuple(float(v) for v in values)
        return np.stack([self.runs[(values, r)] for r in replicates])

    def run_missing(self, candidates: Sequence[Sequence[float]],
                    replicates: Sequence[int]) -> None:
        """Run the replicates not yet run at each of `candidates`, all in one batch (so worker
        processes share the work of several candidates)."""
        tasks, slots = [], []
        for values in candidates:
            values = tuple(float(v) for v in values)
            missing = sorted({r for r in replicates if (values, r) not in self.runs})
            if missing:
                scenario = self.candidate(values)
                tasks += [(scenario, self.seeds[r]) for r in missing]
                slots += [(values, r) for r in missing]
        if not tasks:
            return
        if self.pool is None:
            outputs = (adoption_counts(s, seed, self.graph, self.customers) for s, seed in tasks)
        else:
            outputs = self.pool.map(_run_in_worker, tasks, chunksize=max(1, len(tasks) // 16))
        for slot, output in zip(slots, outputs, strict=True):
            self.runs[slot] = output
            if self.progress is not None:
                self.progress(1)


def percent_at(counts: np.ndarray, weeks: np.ndarray, population: int) -> np.ndarray:
    """Cumulative adoption in percent of `population` at times `weeks` (floats), interpolated
    linearly between whole weeks; one row per row of `counts`."""
    whole = np.arange(counts.shape[1])
    return np.stack([np.interp(weeks, whole, row) for row in counts]) * (100.0 / population)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """The root-mean-square difference of two arrays."""
    return float(np.sqrt(np.mean((a - b) ** 2)))
