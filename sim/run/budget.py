"""Whether a job fits in this machine's memory, decided before any work: a run keeps every
replicate's weekly history, and each worker process holds one run's state, so a large horizon,
many replications or many workers on a large network can need more memory than there is.

The figures are estimates (see `sim.scenario.validate.memory_estimate_bytes` for the network);
a job is refused only when the estimate alone exceeds the memory available.
"""

from __future__ import annotations

from sim.core.errors import InputError
from sim.core.kernels import HISTORY_COLUMNS
from sim.scenario.load import Scenario
from sim.scenario.validate import available_memory_bytes, memory_estimate_bytes

# Bytes per replicate-week of results: the history array, its table and the file written.
_BYTES_PER_WEEK = 3 * 8 * len(HISTORY_COLUMNS)


def run_bytes(scenario: Scenario, workers: int = 1, kept_replicates: int | None = None) -> int:
    """The memory a job on `scenario` needs, about: the network and one run's state in each of
    `workers` processes, plus the weekly results of `kept_replicates` runs (default: all the
    scenario's replications)."""
    kept = scenario.replications if kept_replicates is None else kept_replicates
    try:
        network = memory_estimate_bytes(scenario.network)
    except OSError:  # an edge list that cannot be read: reading it reports why
        network = 0
    return network * max(1, workers) + kept * scenario.weeks * _BYTES_PER_WEEK


def check_fits(scenario: Scenario, workers: int = 1, kept_replicates: int | None = None) -> None:
    """InputError when the job `run_bytes` describes needs more memory than is available, with
    both figures ("needs about 3.2 GB; this machine has 2.0 GB available")."""
    available = available_memory_bytes()
    needed = run_bytes(scenario, workers, kept_replicates)
    if available is None or needed <= available:
        return
    kept = scenario.replications if kept_replicates is None else kept_replicates
    raise InputError(
        f"this job needs about {needed / 1e9:,.1f} GB ({kept:,} runs x {scenario.weeks:,} weeks "
        f"of results, {max(1, workers)} worker(s) on the network); this machine has "
        f"{available / 1e9:,.1f} GB available: use fewer replications, weeks or workers",
        file=scenario.path)
