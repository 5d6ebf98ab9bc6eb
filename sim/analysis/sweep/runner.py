"""Running a sweep: every (point, replicate) of an experiment not yet in its output folder, on the
executor asked for, streaming each outcome into the store as it finishes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.sweep.executor import dispatch, executor_name, sweep_executor
from sim.analysis.sweep.experiment import Experiment
from sim.analysis.sweep.store import MANIFEST, PART_RUNS, ResultStore, SweepResult
from sim.run.budget import check_fits
from sim.run.progress import progress_bar
from sim.run.replicates import default_workers, run_once
from sim.scenario.load import ScenarioError


def run_sweep(
    experiment: Experiment | str | os.PathLike,
    out_dir: str | os.PathLike,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    progress: bool = False,
    part_runs: int = PART_RUNS,
) -> SweepResult:
    """Run every (point, replicate) of an experiment not yet done in `out_dir`, streaming results
    there, and return the folder's tables.

    `workers`: 1 runs in this process; more start that many local worker processes (default:
    one per core for large sweeps). `scheduler` ("tcp://host:port") sends the runs to a running
    Dask distributed cluster instead. Runs that raise are recorded in `failed` (and the
    manifest) and the sweep goes on; the next call retries them. The tables are the same
    whatever the executor and however often the sweep was interrupted.
    """
    if not isinstance(experiment, Experiment):
        experiment = Experiment.load(experiment)
    if scheduler is not None:
        if workers is not None:
            raise ScenarioError("--workers and --scheduler exclude each other: the cluster's "
                                "workers run the sweep", key="--workers")
    else:
        workers = workers or default_workers(experiment.base, experiment.run_count)
        if workers < 1:
            raise ScenarioError(f"must be at least 1, got {workers}", key="--workers")
        check_fits(experiment.base, workers, kept_replicates=part_runs)
    store = ResultStore(Path(out_dir), experiment, part_runs, executor_name(workers, scheduler))
    done = store.open()
    try:
        if progress:
            for part, problem in store.repaired:
                print(f"womsim: {part}: {problem}; its runs are computed again")
        todo = [run for run in range(experiment.run_count) if run not in done]
        if todo:
            _compute(store, experiment, todo, (workers, scheduler), progress)
    finally:
        store.release()
    failed = pd.DataFrame(store.manifest["failed"],
                          columns=["run", "point", "replicate", "seed", "error"])
    return SweepResult(Path(out_dir), experiment, store.manifest["sessions"][-1]["computed"],
                       failed.drop(columns="run"))


def _compute(store: ResultStore, experiment: Experiment, todo: list[int],
             where: tuple[int | None, str | None], progress: bool) -> None:
    """Run `todo` on the executor `where` names, streaming each outcome into `store`; what
    finished is written even when the loop is interrupted (Ctrl-C included)."""
    bar = _progress_bar(experiment, experiment.run_count - len(todo), progress)
    failures = 0
    try:
        with sweep_executor(experiment, *where) as (executor, slots, one_thread):
            for outcome in dispatch(executor, experiment, todo, slots, one_thread):
                store.add(outcome)
                if outcome.error is not None:
                    failures += 1
                    bar.set_postfix(failed=failures, refresh=False)
                bar.update()
    finally:
        store.close()
        bar.close()


def _progress_bar(experiment: Experiment, done: int, enabled: bool) -> Any:
    """A bar of runs done (this session's and earlier ones'), with the time left and, once there
    are any, the failures."""
    bar = progress_bar(experiment.run_count, experiment.name, enabled=enabled, initial=done,
                       dynamic_ncols=True, smoothing=0.05)
    bar.set_postfix(failed=0, refresh=False)
    return bar


def rerun(experiment: Experiment, point: int, replicate: int) -> dict[str, float]:
    """Run one (point, replicate) in this process and return its KPIs; an error propagates
    with its full traceback (the way to debug a run a sweep recorded as failed)."""
    if not 0 <= point < len(experiment.points):
        raise ScenarioError(f"no point {point}: the experiment has {len(experiment.points)}",
                            key="--rerun")
    if not 0 <= replicate < experiment.replications:
        raise ScenarioError(f"no replicate {replicate}: the experiment has "
                            f"{experiment.replications}", key="--rerun")
    scenario = experiment.point_scenario(point)
    _, kpis = run_once(scenario, experiment.replicate_seeds[replicate])
    return kpis


def failure_message(result: SweepResult, experiment_file: str) -> str:
    """How many runs of a sweep failed, the first one's error, and how to rerun one."""
    first = result.failed.iloc[0]
    return (f"{len(result.failed)} of {result.experiment.run_count} runs failed (errors and "
            f"seeds in {result.folder / MANIFEST}); the first, point {first.point} replicate "
            f"{first.replicate} (seed {first.seed}): {first.error}\n"
            f"rerun one with its traceback: womsim sweep {experiment_file} --rerun "
            f"{first.point}:{first.replicate}; run the sweep again to retry the failed runs")
