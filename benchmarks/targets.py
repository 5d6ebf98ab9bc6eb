"""The figures of the performance targets, measured as a user meets them: whole processes through
the `womsim` command (the kernel's throughput excepted, which is timed in a process of its own),
each printed with the machine's 1-minute load average when it was taken.

    python benchmarks/targets.py                 # every figure (about 5-10 minutes)
    python benchmarks/targets.py --only import,kernel --sweep-runs 200

Figures: `import sim` and `womsim --help`; the first run after a fresh install (an empty Numba
cache and graph cache); 10^6 customers (Barabasi-Albert, mean degree 8) x 156 weeks by
`womsim run`, end to end, with its peak memory; the kernel's throughput at 10^6 at 1 and 2
threads; a sweep of 1,000 runs of 10^4 customers on 2 workers. Written as JSON to
benchmarks/results/targets.json (or --json PATH) too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
WOMSIM = [sys.executable, "-m", "sim.app.cli"]
MILLION = ["--set", "network.kind=barabasi_albert", "--set", "network.n=1000000",
           "--set", "network.mean_degree=8", "--reps", "1", "--weeks", "156"]

# Runs the command in argv, then prints its wall time and its peak resident memory (MB).
TIMED = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - started
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code)
"""

# The kernel alone at 10^6 x 156 weeks on `threads` threads: customer-weeks per second.
KERNEL = """
import sys, time
import numba
from sim.run.engine import Engine
from sim.scenario.load import Scenario
threads = int(sys.argv[1])
numba.set_num_threads(threads)
scenario = Scenario.load(sys.argv[2], overrides=sys.argv[3:])
Engine(scenario.with_overrides({"weeks": 2}), 1).run()  # loads the compiled code
engine = Engine(scenario, 1)
started = time.perf_counter()
engine.run()
print(scenario.network.n * scenario.weeks / (time.perf_counter() - started))
"""

SWEEP = """name = "sweep_1000"
scenario = "{scenario}"
design = "grid"
replications = {replications}
kpis = ["adopted_fraction", "profit"]
timeseries = false

[vary]
"network.n" = [10000]
"product.quality" = [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
"""


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall seconds and peak memory (MB) of `command` run as a process of its own."""
    done = subprocess.run([sys.executable, "-c", TIMED, *command], capture_output=True,
                          text=True, check=True, env=env)
    wall, peak, code = done.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"failed ({code}): {' '.join(command)}")
    return {"s": round(float(wall), 3), "peak_mb": round(float(peak)), "load": load()}


def best_of(repeat: int, command: list[str]) -> dict[str, float]:
    return min((timed(command) for _ in range(repeat)), key=lambda r: r["s"])


def measure_imports() -> dict[str, dict]:
    return {"import sim": best_of(5, [sys.executable, "-c", "import sim"]),
            "womsim --help": best_of(5, [*WOMSIM, "--help"])}


def measure_cold_start(out: Path) -> dict[str, dict]:
    """`womsim run` of a tiny scenario with empty Numba and graph caches, then again warm."""
    cache = Path(tempfile.mkdtemp(prefix="womsim_cold_"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache / "numba"),
           "WOMSIM_CACHE_DIR": str(cache / "graphs")}
    command = [*WOMSIM, "run", str(BASELINE), "--set", "network.n=1000", "--weeks", "4",
               "--reps", "1", "--out", str(out / "cold"), "--force"]
    return {"first run, fresh caches": timed(command, env),
            "the same run again": timed(command, env)}


def measure_million(out: Path) -> dict[str, dict]:
    command = [*WOMSIM, "run", str(BASELINE), *MILLION, "--out", str(out / "million"), "--force"]
    timed(command)  # builds the graph into the graph cache, as a user's first run would
    return {"10^6 x 156 weeks, womsim run": best_of(2, command)}


def measure_kernel() -> dict[str, dict]:
    overrides = [MILLION[i + 1] for i in range(0, 6, 2)] + ["weeks=156"]
    figures = {}
    for threads in (1, 2):
        done = subprocess.run([sys.executable, "-c", KERNEL, str(threads), str(BASELINE),
                               *overrides], capture_output=True, text=True, check=True,
                              env={**os.environ, "NUMBA_NUM_THREADS": "2"})
        figures[f"kernel at 10^6, {threads} thread(s)"] = {
            "customer_weeks_per_s": float(done.stdout.split()[-1]), "load": load()}
    return figures


def measure_sweep(out: Path, runs: int) -> dict[str, dict]:
    experiment = out / "sweep_1000.toml"
    experiment.write_text(SWEEP.format(scenario=BASELINE, replications=runs // 10))
    command = [*WOMSIM, "sweep", str(experiment), "--workers", "2", "--out", str(out / "sweep")]
    return {f"sweep of {runs} runs of 10^4, 2 workers": timed(command)}


PARTS = {"import": measure_imports, "cold": measure_cold_start, "million": measure_million,
         "kernel": measure_kernel, "sweep": measure_sweep}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"of {','.join(PARTS)}")
    parser.add_argument("--sweep-runs", type=int, default=1000)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "targets.json"))
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="womsim_targets_") as folder:
        out = Path(folder)
        for part in args.only.split(","):
            measure = PARTS[part]
            if part == "sweep":
                results = measure(out, args.sweep_runs)
            elif part in ("cold", "million"):
                results = measure(out)
            else:
                results = measure()
            for name, figure in results.items():
                print(f"{name:45s} {json.dumps(figure)}", flush=True)
            figures.update(results)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
