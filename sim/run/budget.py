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
# Customer-weeks one core simulates per second: 2.2 x 10^7 at 10^6 customers on the development
# machine, 2.5 x 10^7 at 10^7 on two threads (docs/performance.md), rounded down.
CUSTOMER_WEEKS_PER_SECOND = 2e7
LONG_JOB_SECONDS = 60.0  # from this estimate on, a job says how long it will take


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


def run_seconds(scenario: Scenario, workers: int = 1) -> float | None:
    """About how many seconds the scenario's replications take on `workers` cores; None when
    the number of customers is not known before reading an edge list."""
    network = scenario.network
    if network.kind == "edgelist":
        return None
    customers = len(network.degrees or ()) if network.kind == "configuration" else network.n
    runs_per_worker = -(-scenario.replications // max(1, workers))
    return customers * scenario.weeks * runs_per_worker / CUSTOMER_WEEKS_PER_SECOND


def long_job_note(scenario: Scenario, workers: int = 1) -> str | None:
    """"about 3.2 GB and 12 minutes on 4 workers" for a job estimated to take LONG_JOB_SECONDS
    or more, else None."""
    seconds = run_seconds(scenario, workers)
    if seconds is None or seconds < LONG_JOB_SECONDS:
        return None
    length = (f"{seconds / 3600:,.1f} hours" if seconds >= 3600
              else f"{seconds / 60:,.1f} minutes")
    return (f"{scenario.name}: about {run_bytes(scenario, workers) / 1e9:,.1f} GB and {length} "
            f"on {max(1, workers)} worker(s)")


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
