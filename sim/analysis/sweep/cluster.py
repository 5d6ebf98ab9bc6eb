"""Sending a sweep's runs to a running Dask distributed cluster (`womsim sweep --scheduler`)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from sim.scenario.load import ScenarioError


@contextmanager
def dask_executor(scheduler: str) -> Iterator[tuple[Executor, int]]:
    """(an executor on the cluster at `scheduler`, "tcp://host:port"; the threads its workers
    run tasks on, at least 1). Raises ScenarioError if Dask is missing or the scheduler cannot
    be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise ScenarioError("needs dask[distributed]: pip install 'womsim[experiments]'",
                            key="--scheduler") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise ScenarioError(f"cannot reach the Dask scheduler at {scheduler}: {error}",
                            key="--scheduler") from None
    with client:
        threads = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False), threads
