"""One run of a sweep, as a worker executes it: the run's description, its outcome, and the
worker's memory between runs.

A run is identified by (point, replicate). Workers keep the graphs they built (keyed by the
network parameters and the graph seed), so a graph is built once per worker, not once per run,
and the scenario of the point they ran last (a point's replicates arrive together).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.graph.network import Graph
from sim.run.engine import build_scenario_graph, graph_seed
from sim.run.pool import one_numba_thread
from sim.run.replicates import run_once
from sim.scenario.load import Scenario

GRAPH_CACHE_SIZE = 3  # graphs a worker keeps: runs are dispatched point by point


@dataclass(frozen=True)
class RunSpec:
    """What a worker needs for one run: where it belongs, its seed and its point's values."""

    run: int  # point * replications + replicate
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]


@dataclass
class RunOutcome:
    """A finished run: its KPIs and history, or the error it raised."""

    spec: RunSpec
    kpis: dict[str, float] | None
    history: np.ndarray | None
    error: str | None = None

    @classmethod
    def failure(cls, spec: RunSpec, error: BaseException) -> RunOutcome:
        """The outcome of a run that raised `error`: its type and message, no results."""
        return cls(spec, None, None, f"{type(error).__name__}: {error}")


# A worker's memory between runs: the graphs it built, most recent last, and the scenario of the
# point it ran last (replicates of a point arrive together).
_graphs: OrderedDict[tuple[Any, int], Graph] = OrderedDict()
_last_point: dict[str, Any] = {}


def cached_graph(scenario: Scenario) -> Graph:
    """The scenario's graph, built at most once per process while it stays among the
    GRAPH_CACHE_SIZE most recently used (keyed by the network parameters and the graph seed)."""
    key = (scenario.network, graph_seed(scenario))
    if key in _graphs:
        _graphs.move_to_end(key)
    else:
        _graphs[key] = build_scenario_graph(scenario)
        while len(_graphs) > GRAPH_CACHE_SIZE:
            _graphs.popitem(last=False)
    return _graphs[key]


def _point_scenario(base: Scenario, fingerprint: str, spec: RunSpec) -> Scenario:
    key = (fingerprint, spec.point)
    if _last_point.get("key") != key:
        _last_point.update(key=key, scenario=base.with_overrides(spec.values))
    return _last_point["scenario"]


def execute_run(base: Scenario, fingerprint: str, spec: RunSpec, keep_history: bool,
                one_thread: bool = False) -> RunOutcome:
    """Run one (point, replicate). An exception in the run is returned as the outcome's `error`
    (type and message), so that one bad run never stops a sweep. `one_thread` limits Numba to one
    thread in the calling thread (Dask runs tasks in worker threads; the setting is per thread)."""
    if one_thread:
        one_numba_thread()
    try:
        scenario = _point_scenario(base, fingerprint, spec)
        history, kpis = run_once(scenario, spec.seed, cached_graph(scenario))
    except Exception as error:  # recorded with the run; --rerun shows its traceback
        return RunOutcome.failure(spec, error)
    return RunOutcome(spec, kpis, history if keep_history else None)
