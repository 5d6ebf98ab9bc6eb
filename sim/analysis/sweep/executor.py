"""Where a sweep's runs execute: this process (1 worker), local worker processes, or a Dask
cluster, all through the `concurrent.futures.Executor` interface.

Runs are submitted in order, a bounded number at a time, so memory stays bounded however many
runs a sweep has; outcomes come back as runs finish, in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from typing import Any

from sim.analysis.sweep.cluster import dask_executor
from sim.analysis.sweep.experiment import Experiment
from sim.analysis.sweep.worker import RunOutcome, RunSpec, cached_graph, execute_run
from sim.run.engine import Engine
from sim.run.pool import worker_pool

IN_FLIGHT_PER_WORKER = 4  # runs submitted ahead per worker: keeps workers busy, memory bounded


def executor_name(workers: int | None, scheduler: str | None) -> str:
    """How the manifest names where a session's runs executed."""
    if scheduler is not None:
        return f"Dask cluster at {scheduler}"
    return "this process" if workers == 1 else f"{workers} local processes"


@contextmanager
def sweep_executor(experiment: Experiment, workers: int | None, scheduler: str | None
                   ) -> Iterator[tuple[Executor, int, bool]]:
    """(executor, runs to keep in flight, whether tasks must set one Numba thread themselves),
    after warming the compiled code here: the cluster at `scheduler` if given, else this process
    (`workers` 1) or `workers` local processes."""
    _warm(experiment)
    if scheduler is not None:
        with dask_executor(scheduler) as (client, threads):
            yield client, threads * IN_FLIGHT_PER_WORKER, True
    elif workers == 1:
        yield _InlineExecutor(), 1, False
    else:
        # forked workers inherit the compiled kernels and the graph built while warming
        with worker_pool(workers) as pool:
            yield pool, workers * IN_FLIGHT_PER_WORKER, False


def dispatch(executor: Executor, experiment: Experiment, runs: list[int], slots: int,
             one_thread: bool) -> Iterator[RunOutcome]:
    """Submit the runs in order, at most `slots` at a time (memory stays bounded however many
    runs there are), and yield each outcome as it finishes. A run whose task itself fails (a
    lost worker) is yielded as failed with that error."""
    specs = _specs(experiment, runs)
    fingerprint = experiment.fingerprint()
    pending: dict[Future, RunSpec] = {}
    while True:
        while len(pending) < slots and (spec := next(specs, None)) is not None:
            future = executor.submit(execute_run, experiment.base, fingerprint, spec,
                                     experiment.timeseries, one_thread)
            pending[future] = spec
        if not pending:
            return
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            spec = pending.pop(future)
            error = future.exception()
            yield future.result() if error is None else RunOutcome.failure(spec, error)


def _specs(experiment: Experiment, runs: Iterable[int]) -> Iterator[RunSpec]:
    seeds = experiment.replicate_seeds
    for run in runs:
        point, replicate = divmod(run, experiment.replications)
        yield RunSpec(run, point, replicate, seeds[replicate], experiment.points[point])


def _warm(experiment: Experiment) -> None:
    """Compile (or load from Numba's cache) the graph and step kernels once, here, before any
    worker starts: forked workers inherit them (and the first point's graph), and Dask workers
    find them in the on-disk cache instead of compiling at once and racing to write it. A
    failure is left for the run to report."""
    try:
        scenario = experiment.point_scenario(0)
        engine = Engine(scenario, experiment.replicate_seeds[0], cached_graph(scenario))
        for _ in range(min(2, scenario.weeks)):
            engine.step()
    except Exception:  # the same run will fail in its worker and be recorded
        pass


class _InlineExecutor(Executor):
    """Runs each submitted call at once, in this process: the one-worker executor. Ctrl-C
    (KeyboardInterrupt) goes straight up, stopping the sweep, rather than into the future."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future
