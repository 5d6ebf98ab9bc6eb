"""The one way womsim starts worker processes: parallelism is across runs (DESIGN.md principle 6).

Workers are forked, so they inherit the compiled kernels and share the pages of any graph built
before the pool starts, instead of compiling again or copying it. Each worker gives Numba one
thread, so that N workers use N cores rather than N times the cores (no oversubscription); how
many workers a job is worth is the caller's choice (`available_cores` is the ceiling to use).

Workers never outlive their parent: each watches its parent process and exits within
PARENT_POLL_SECONDS of its death (a `kill -9` of `womsim` included), so no orphan keeps cores
and memory. Workers ignore Ctrl-C: the parent alone handles it, finishing the runs under way
and keeping what finished.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import numba

START_METHOD = "fork"
PARENT_POLL_SECONDS = 1.0


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system gives it), >= 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def one_numba_thread() -> None:
    """Give Numba one thread in the calling thread (the setting is per thread). Call it only in
    worker processes or worker threads: it starts Numba's threading layer (OpenMP here), which a
    process that later forks must not have started."""
    numba.set_num_threads(1)


def exit_with_parent(poll_seconds: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process as soon as its parent has gone (its parent
    id changes when the parent dies); returns the thread."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    watcher = threading.Thread(target=watch, name="womsim-exit-with-parent", daemon=True)
    watcher.start()
    return watcher


def use_threads(threads: int | None = None) -> int:
    """Let the kernel use `threads` Numba threads in this process (default: every core this
    process may run on, at most Numba's own ceiling, NUMBA_NUM_THREADS); returns how many.
    Results do not depend on it. Worker processes keep one thread each (`one_numba_thread`)."""
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    wanted = available_cores() if threads is None else threads
    count = max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(count)
    return count


def _start_worker(initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    one_numba_thread()
    if initializer is not None:
        initializer(*initargs)


def process_pool(workers: int, initializer: Callable[..., Any] | None = None,
                 initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes, each with one Numba thread, that run
    `initializer(*initargs)` once when they start. The caller shuts it down."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(START_METHOD),
                               initializer=_start_worker, initargs=(initializer, initargs))


@contextmanager
def worker_pool(workers: int, initializer: Callable[..., Any] | None = None,
                initargs: tuple[Any, ...] = ()) -> Iterator[ProcessPoolExecutor]:
    """`process_pool` for the length of a `with` block. Leaving the block waits for the workers;
    leaving it by an exception (Ctrl-C included) cancels the calls not yet started and stops
    the workers at once (the calls under way would be thrown away)."""
    pool = process_pool(workers, initializer, initargs)
    try:
        yield pool
    except BaseException:
        # The executor has no public way to stop calls under way (Python 3.14 adds one).
        processes = list((pool._processes or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
        raise
    pool.shutdown(wait=True)
