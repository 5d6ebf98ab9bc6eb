"""The floor under the kernel: a minimal Numba pass over the same arrays as a week of the model,
at 1 and 2 threads, to show how far the kernel is from what the machine's memory allows.

    python benchmarks/floor.py --n 1000000

Per customer-week it reads the customer's state and, for every in-neighbour (the CSR arrays of
the Barabasi-Albert graph of `benchmarks/targets.py`, mean degree 8), that neighbour's state: the
random reads that talk and share delivery make, and nothing else. Prints customer-weeks per second
for 156 weeks, and the 1-minute load.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np
from numba import njit, prange

from sim.run.engine import build_scenario_graph, kernel_net
from sim.scenario.load import Scenario


@njit(cache=True, parallel=True)
def _week(indptr, indices, state, talkers):
    for i in prange(state.shape[0]):
        count = 0
        for e in range(indptr[i], indptr[i + 1]):
            if state[indices[e]] >= 2:
                count += 1
        talkers[i] = count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=156)
    args = parser.parse_args()
    scenario = Scenario.default().with_overrides({
        "network.kind": "barabasi_albert", "network.n": args.n, "network.mean_degree": 8.0})
    net = kernel_net(build_scenario_graph(scenario))
    state = np.random.default_rng(1).integers(0, 6, args.n).astype(np.int8)
    talkers = np.zeros(args.n, dtype=np.int32)
    _week(net.in_indptr, net.in_indices, state, talkers)  # compile or load
    for threads in (1, 2):
        numba.set_num_threads(threads)
        started = time.perf_counter()
        for _ in range(args.weeks):
            _week(net.in_indptr, net.in_indices, state, talkers)
        rate = args.n * args.weeks / (time.perf_counter() - started)
        print(f"floor at n = {args.n:,}, {threads} thread(s): {rate:.3g} customer-weeks/s "
              f"(load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
