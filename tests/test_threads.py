"""Results do not depend on the number of Numba threads: every shipped scenario gives
bit-identical histories and customer arrays at 1 and 2 threads, on enough customers that the
kernel's parallel passes split them into several chunks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.core.state import CHUNK

TESTS = Path(__file__).parent
# Several chunks per parallel pass, so that two threads really share the work.
SETTINGS = [f"network.n={5 * CHUNK}", "weeks=80"]

# In a fresh interpreter allowed two threads: the digest of every shipped scenario at 1 and 2.
DIGESTS_BY_THREADS = """
import json, sys
import numba
import sim.run.engine
sim.run.engine.PARALLEL_MIN_CUSTOMERS = 0  # small markets run on one thread unless told
sys.path.insert(0, {tests!r})
from kernel_digest import SCENARIO_DIR, run_digest
paths = sorted(SCENARIO_DIR.glob("*.toml"))
out = {{}}
for threads in (1, 2):
    numba.set_num_threads(threads)
    assert numba.get_num_threads() == threads
    out[threads] = {{p.name: run_digest(p, {settings!r}) for p in paths}}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def digests() -> dict[str, dict[str, str]]:
    code = DIGESTS_BY_THREADS.format(tests=str(TESTS), settings=SETTINGS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_scenario_is_bit_identical_at_one_and_two_threads(digests) -> None:
    assert digests["1"] == digests["2"]
    assert len(digests["1"]) == len(list((TESTS.parent / "scenarios").glob("*.toml")))


@pytest.mark.slow
def test_the_digests_tell_scenarios_apart(digests) -> None:
    # The comparison would be empty if every run gave the same bytes.
    assert len(set(digests["1"].values())) == len(digests["1"])


# In a fresh interpreter: replicates run here on two threads (starting Numba's threading layer),
# then the same replicates in two forked worker processes, which must not enter a parallel region.
IN_PROCESS_THEN_WORKERS = """
import sys
import sim.run.engine
from sim.run.replicates import simulate
sim.run.engine.PARALLEL_MIN_CUSTOMERS = 0  # small markets run on one thread unless told
from sim.scenario.load import Scenario
scenario = Scenario.load(sys.argv[1], overrides=["network.n={n}", "weeks=30", "replications=2"])
here = simulate(scenario, workers=1, threads=2)
forked = simulate(scenario, workers=2)
print(here.timeseries.equals(forked.timeseries) and here.runs.equals(forked.runs))
"""


@pytest.mark.slow
def test_runs_here_on_threads_then_in_workers_agree() -> None:
    code = IN_PROCESS_THEN_WORKERS.format(n=5 * CHUNK)
    baseline = str(TESTS.parent / "scenarios" / "baseline.toml")
    done = subprocess.run([sys.executable, "-c", code, baseline], capture_output=True, text=True,
                          timeout=300,
                          env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "True"


def test_atomic_add_loses_no_addition_on_threads() -> None:
    # Both threads add to the same eight cells at once: every addition must land, as the talk
    # push relies on for exact pressure sums at any thread count.
    from numba import config, njit, prange, set_num_threads

    from sim.core.atomic import atomic_add

    @njit(parallel=True)
    def hammer(cells, count):
        for k in prange(count):
            atomic_add(cells, (k % 4, k % 2), k)

    set_num_threads(min(2, config.NUMBA_NUM_THREADS))
    cells = np.zeros((4, 2), dtype=np.int64)
    count = 2_000_000
    hammer(cells, count)
    k = np.arange(count)
    expected = np.zeros((4, 2), dtype=np.int64)
    np.add.at(expected, (k % 4, k % 2), k)
    np.testing.assert_array_equal(cells, expected)


def test_compare_and_swap_keeps_the_smallest_on_threads() -> None:
    # The share delivery's rule: threads offering values for the same cells keep the smallest,
    # whatever order they run in.
    from numba import config, njit, prange, set_num_threads

    from sim.core.atomic import compare_and_swap

    @njit(parallel=True)
    def keep_smallest(cells, values):
        for k in prange(values.shape[0]):
            cell = k % cells.shape[0]
            held = cells[cell]
            while values[k] < held:
                found = compare_and_swap(cells, cell, held, values[k])
                if found == held:
                    break
                held = found

    set_num_threads(min(2, config.NUMBA_NUM_THREADS))
    values = np.random.default_rng(3).integers(0, 2**62, size=1_000_000)
    cells = np.full(5, 2**62, dtype=np.int64)
    keep_smallest(cells, values)
    np.testing.assert_array_equal(cells, [values[c::5].min() for c in range(5)])


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_run_rejects_a_thread_count_below_one(value: str, capsys) -> None:
    from sim.app.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["run", str(TESTS.parent / "scenarios" / "baseline.toml"), "--threads", value])
    assert stopped.value.code == 2
    assert "--threads" in capsys.readouterr().err
