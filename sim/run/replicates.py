"""Running a scenario's replications: `simulate`, the Python API that `womsim run` wraps.

Replications go to worker processes when there is more than one core (DESIGN.md principle 6);
each run is single-threaded and deterministic, and results are gathered by replicate index, so the
tables are identical whatever the number of workers or the order runs finish in.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from sim.core.rng import replicate_seed
from sim.graph import Graph
from sim.run.budget import check_fits, long_job_note
from sim.run.engine import Engine, build_scenario_graph
from sim.run.pool import available_cores, use_threads, worker_pool
from sim.run.progress import progress_bar
from sim.run.results import SimulationResult
from sim.scenario.load import Scenario

# Below this many customer-weeks in all, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD_CUSTOMER_WEEKS = 5_000_000

# What each worker process holds: set once per worker (forked workers share the graph's pages).
_worker: dict = {}


def _init_worker(scenario: Scenario, graph: Graph) -> None:
    _worker["scenario"] = scenario
    _worker["graph"] = graph


def _run_in_worker(seed: int) -> tuple[np.ndarray, dict[str, float]]:
    return run_once(_worker["scenario"], seed, _worker["graph"])


def run_once(scenario: Scenario, seed: int, graph: Graph | None = None
             ) -> tuple[np.ndarray, dict[str, float]]:
    """One run with run seed `seed`: its weekly history (kernels.HISTORY_COLUMNS) and KPIs."""
    engine = Engine(scenario, seed, graph).run()
    return engine.history, engine.kpis()


def default_workers(scenario: Scenario, replications: int) -> int:
    """Worker processes worth starting for these runs: one per core, none for small jobs."""
    cores = available_cores()
    work = scenario.network.n * scenario.weeks * replications
    if replications < 2 or cores < 2 or work < PARALLEL_THRESHOLD_CUSTOMER_WEEKS:
        return 1
    return min(replications, cores)


def simulate(
    scenario: Scenario | str | os.PathLike,
    replications: int | None = None,
    seed: int | None = None,
    *,
    weeks: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
    progress: bool = False,
    graph: Graph | None = None,
) -> SimulationResult:
    """Run a scenario's replications and gather their tables.

    `replications`, `seed` and `weeks` override the scenario's own; replicate r runs with
    `rng.replicate_seed(seed, r)`, so two scenarios with the same seed share their draws.
    `workers` defaults to one process per core for large jobs (1 means in this process).
    `threads` is the number of threads of a run in this process (default: every core); worker
    processes run one thread each, so workers never multiply the threads. Neither changes a bit
    of the results.
    """
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    overrides = {key: value for key, value in
                 (("replications", replications), ("seed", seed), ("weeks", weeks))
                 if value is not None}
    if overrides:
        scenario = scenario.with_overrides(overrides)
    workers = workers or default_workers(scenario, scenario.replications)
    check_fits(scenario, workers)
    note = long_job_note(scenario, workers) if progress else None
    if note:
        print(note, file=sys.stderr)
    seeds = [replicate_seed(scenario.seed, r) for r in range(scenario.replications)]
    graph = graph if graph is not None else build_scenario_graph(scenario)
    bar = progress_bar(len(seeds), scenario.name, enabled=progress, leave=False)
    outputs: list = []
    if workers <= 1:
        use_threads(threads)
        for run_seed in seeds:
            outputs.append(run_once(scenario, run_seed, graph))
            bar.update()
    else:
        # forked workers share the graph's memory with this process and inherit compiled code
        with worker_pool(workers, _init_worker, (scenario, graph)) as pool:
            for output in pool.map(_run_in_worker, seeds):
                outputs.append(output)
                bar.update()
    bar.close()
    return SimulationResult.from_runs(scenario, seeds, outputs, n=graph.n)
