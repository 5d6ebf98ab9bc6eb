"""How womsim scales (issue 3): graph build, simulation speed, memory and compile time.

    python benchmarks/scale.py                    # 10^4, 10^5, 10^6 customers; BA and WS
    python benchmarks/scale.py --huge             # and 10^7
    python benchmarks/scale.py --sizes 100000 --kinds watts_strogatz --repeat 3

For each graph kind (barabasi_albert at mean degree 8, watts_strogatz at mean degree 10) and
size n it reports, from a fresh subprocess per size so that peak memory does not mix: the native
graph build time, the time of one run of the baseline dynamics (`Scenario.default()` with the
network replaced, 156 weeks, `sim.run.engine.Engine`) per simulated week and in customer-weeks per
second, peak resident memory, and (from sim.graph.cache.CACHE_MIN_NODES nodes on) the time to
build and store the graph in the graph cache (a miss) and to load it back memory-mapped (a hit).
Then the compile time of the kernels, cold (an empty NUMBA_CACHE_DIR) and warm (the same folder
again), and `womsim run scenarios/baseline.toml` end to end, warm, with a split of where its time
goes. Times are the best of --repeat, as wall time and as CPU time (which other processes on a
shared machine barely move); the 1-minute load average is printed next to every figure.

Memory: `peak` is ru_maxrss of the subprocess; `B/cust` is (peak - the peak of an interpreter
that only imported sim) / n. On Linux the peak is also reset between phases (by writing 5 to
/proc/self/clear_refs), which splits it into the build's and the run's: `run B/cust` is the run
phase's peak over the process's resident memory just before the graph was built (compiled code
loaded), i.e. the graph plus the customer and market arrays.

Tables go to stdout, everything to JSON (--json, default benchmarks/results/scale.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from common import RESULTS, load, machine, table, write_json

if TYPE_CHECKING:
    from sim.scenario.load import Scenario

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = RESULTS / "scale.json"
DEFAULT_SIZES = (10**4, 10**5, 10**6)
HUGE = 10**7
MEAN_DEGREE = {"barabasi_albert": 8.0, "watts_strogatz": 10.0}  # the two graphs
WEEKS = 156
TINY = 1_000  # customers in the scenario that compiles and warms the kernels
TINY_WEEKS = 4
MB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# Measurements (each runs in a subprocess of its own; see `child`)
# --------------------------------------------------------------------------------------------


def scenario_for(kind: str, n: int, weeks: int = WEEKS) -> Scenario:
    """The baseline dynamics (Scenario.default()) on the issue's graph of `kind` with n nodes.
    (sim is imported by the measurements themselves, so that their timings include it.)"""
    from sim.scenario.load import Scenario

    return Scenario.default().with_overrides({
        "network.kind": kind, "network.n": n, "network.mean_degree": MEAN_DEGREE[kind],
        "weeks": weeks})


def peak_rss() -> int:
    """This process's peak resident memory in bytes (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    """This process's resident memory now, in bytes (Linux; else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss()


def reset_peak_rss() -> bool:
    """Reset the peak that ru_maxrss reports to the current resident memory (Linux 4.0+);
    False where that is not possible (then peaks accumulate)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def timed(action: Callable[[], object]) -> tuple[tuple[float, float], object]:
    """((wall seconds, CPU seconds of this process), result) of calling action()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def best_time(action: Callable[[], object], repeat: int) -> tuple[float, float, list, object]:
    """The shortest wall time and the shortest CPU time of this process over `repeat` calls of
    action(), every (wall, cpu) pair, and the last result. CPU time barely moves with the load
    other processes put on the machine; wall time does."""
    times, result = [], None
    for _ in range(repeat):
        result = None  # let the previous result go before the next is made
        spent, result = timed(action)
        times.append(spent)
    return min(w for w, _ in times), min(c for _, c in times), times, result


def measure_import() -> dict:
    """Peak memory of an interpreter that only imported sim."""
    start = time.perf_counter()
    import sim  # noqa: F401

    return {"import_s": time.perf_counter() - start, "peak_rss": peak_rss(), "load": load()}


def measure_size(kind: str, n: int, repeat: int, weeks: int) -> dict:
    """Build, run and cache one graph size (see the module docstring)."""
    from sim.core.rng import replicate_seed
    from sim.graph import build_graph
    from sim.graph.cache import cached_graph, graph_key
    from sim.run.engine import Engine, graph_seed

    scenario = scenario_for(kind, n, weeks)
    tiny = scenario_for(kind, TINY, TINY_WEEKS)
    Engine(tiny, 1).run()  # loads the compiled generator and kernel from numba's cache
    seed = graph_seed(scenario)
    run_seed = replicate_seed(scenario.seed, 0)
    phases = {"warm_peak": peak_rss()}
    split = reset_peak_rss()
    ready = current_rss()
    load_before = load()
    build_s, build_cpu_s, build_times, graph = best_time(
        lambda: build_graph(scenario.network, seed), repeat)
    phases["build_peak"] = peak_rss()
    split = split and reset_peak_rss()
    run_s, run_cpu_s, run_times, engine = best_time(
        lambda: Engine(scenario, run_seed, graph).run(), repeat)
    phases["run_peak"] = peak_rss()
    adopted = engine.kpis()["adopted_fraction"]
    del engine
    cache = {"cached": graph_key(scenario.network, seed) is not None}
    if cache["cached"]:
        with tempfile.TemporaryDirectory(prefix="womsim-scale-") as folder:
            start = time.perf_counter()
            cached_graph(scenario.network, seed, folder=Path(folder))  # a miss: build and store
            cache["cache_miss_s"] = time.perf_counter() - start
            cache["cache_load_s"], _, _, _ = best_time(
                lambda: cached_graph(scenario.network, seed, folder=Path(folder)), repeat)
    return {
        "kind": kind, "n": n, "mean_degree": MEAN_DEGREE[kind], "weeks": weeks,
        "csr_entries": int(graph.n_edges), "weighted": graph.weight is not None,
        "build_s": build_s, "build_cpu_s": build_cpu_s, "build_times": build_times,
        "run_s": run_s, "run_cpu_s": run_cpu_s, "run_times": run_times,
        "week_ms": 1e3 * run_s / weeks,
        "customer_weeks_per_s": n * weeks / run_s, "adopted_fraction": adopted,
        **cache,
        "ready_rss": ready, "peak_split": split, **phases,
        "peak_rss": max(phases.values()),
        "load_before": load_before, "load_after": load(),
    }


def measure_compile() -> dict:
    """Time the first graph build, the first Engine.run() of a tiny scenario, and the first run
    on a read-only graph (the graph cache's memory maps compile a variant of their own), each
    against the numba cache in NUMBA_CACHE_DIR; then the same again in this process."""
    load_before = load()

    def imports():
        from sim.graph import Graph, build_graph
        from sim.run.engine import Engine, graph_seed

        return Engine, graph_seed, Graph, build_graph

    import_s, (Engine, graph_seed, Graph, build_graph) = timed(imports)  # noqa: N806
    scenario = scenario_for("watts_strogatz", TINY, TINY_WEEKS)

    def read_only(graph: Graph) -> Graph:
        arrays = []
        for array in (graph.indptr, graph.indices, graph.weight):
            if array is not None:
                array = array.copy()
                array.setflags(write=False)
            arrays.append(array)
        return Graph(graph.n, *arrays)

    def phases() -> dict[str, tuple[float, float]]:
        build, graph = timed(lambda: build_graph(scenario.network, graph_seed(scenario)))
        run, _ = timed(lambda: Engine(scenario, 1, graph).run())
        read_only_run, _ = timed(lambda: Engine(scenario, 1, read_only(graph)).run())
        return {"graph_build": build, "engine_run": run, "read_only_run": read_only_run}

    first = phases()
    again = phases()
    return {"import": import_s, "first": first, "again": again,
            "load_before": load_before, "load_after": load()}


def cpu_seconds() -> float:
    """CPU time so far of this process and of the children it has waited for (worker
    processes included)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure_cli_phases(scenario_path: str) -> dict:
    """Where `womsim run` spends its time, in one process: importing sim.app.cli, simulate(), and
    writing the run folder (tables only, then with figures); (wall, CPU) seconds each."""
    load_before = load()
    phases = {}

    def timed(name: str, action: Callable[[], object]) -> object:
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = action()
        phases[name] = (time.perf_counter() - wall, cpu_seconds() - cpu)
        return result

    def imports():
        import sim.app.cli  # noqa: F401
        from sim.run.replicates import simulate
        from sim.scenario.load import Scenario

        return simulate, Scenario

    simulate, scenario = timed("import sim.app.cli", imports)
    result = timed("simulate()", lambda: simulate(scenario.load(scenario_path)))

    def write_all(folder: Path) -> Path:  # imports the figures and report, as `womsim run` does
        from sim.present.run_folder import write_run_folder

        return write_run_folder(result, folder)

    with tempfile.TemporaryDirectory(prefix="womsim-scale-") as folder:
        timed("write tables", lambda: result.write(Path(folder) / "tables"))
        timed("write tables + figures", lambda: write_all(Path(folder) / "all"))
    return {"phases": phases, "load_before": load_before, "load_after": load()}


CHILD_TASKS: dict[str, Callable[..., dict]] = {
    "import": measure_import, "size": measure_size, "compile": measure_compile,
    "cli_phases": measure_cli_phases,
}


def child(spec: str) -> int:
    """Subprocess entry: run one measurement and print its result as the last line (JSON)."""
    task = json.loads(spec)
    print(json.dumps(CHILD_TASKS[task.pop("task")](**task)))
    return 0


# --------------------------------------------------------------------------------------------
# The parent: one subprocess per measurement
# --------------------------------------------------------------------------------------------


def in_subprocess(task: str, env: dict[str, str] | None = None, **arguments) -> dict:
    """Run CHILD_TASKS[task](**arguments) in a fresh interpreter and return its result."""
    spec = json.dumps({"task": task, **arguments})
    done = subprocess.run([sys.executable, __file__, "--child", spec], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark subprocess {task} {arguments} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def womsim_command() -> list[str]:
    """The `womsim` console script beside this interpreter, else the CLI through -c."""
    script = Path(sys.executable).with_name("womsim")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from sim.app.cli import main; sys.exit(main())"]


def time_womsim_run(scenario: str, runs: int = 2) -> dict:
    """`womsim run SCENARIO --out TMP` end to end, `runs` times in a row (the first warms the
    page cache and numba's cache; the last is the warm figure): wall time, and CPU time of the
    command and its worker processes."""
    times, cpu_times, loads = [], [], []
    with tempfile.TemporaryDirectory(prefix="womsim-scale-") as folder:
        for index in range(runs):
            loads.append(load())
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(womsim_command() + ["run", scenario, "--out",
                                                      str(Path(folder) / f"run{index}")],
                                  cwd=REPO, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if done.returncode != 0:
                raise RuntimeError(f"womsim run failed:\n{done.stderr}")
    return {"scenario": scenario, "times": times, "cpu_times": cpu_times, "warm_s": times[-1],
            "load_before": loads,
            "load_after": load()}


def measure_compile_cold_and_warm() -> dict:
    """The compile subprocess twice against one new, empty NUMBA_CACHE_DIR."""
    folder = tempfile.mkdtemp(prefix="womsim-numba-")
    try:
        env = dict(os.environ, NUMBA_CACHE_DIR=folder)
        return {"cold": in_subprocess("compile", env=env),
                "warm": in_subprocess("compile", env=env)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def size_tables(rows: list[dict], baseline_rss: int) -> str:
    """The speed table and the memory table of the per-size measurements."""
    speed = [[r["kind"], f"{r['n']:,}", f"{r['csr_entries']:,}", f"{r['build_s']:.3f}",
              f"{r['build_cpu_s']:.3f}", f"{r['run_s']:.2f}", f"{r['run_cpu_s']:.2f}",
              f"{r['week_ms']:.2f}",
              f"{r['customer_weeks_per_s'] / 1e6:.1f}",
              f"{r['n'] * r['weeks'] / r['run_cpu_s'] / 1e6:.1f}", f"{r['adopted_fraction']:.1%}",
              f"{r['load_before']:.1f}"] for r in rows]
    memory = [[r["kind"], f"{r['n']:,}", f"{r['peak_rss'] / MB:.0f}",
               f"{(r['peak_rss'] - baseline_rss) / r['n']:.0f}",
               f"{r['build_peak'] / MB:.0f}", f"{r['run_peak'] / MB:.0f}",
               f"{(r['run_peak'] - r['ready_rss']) / r['n']:.0f}",
               f"{r['cache_miss_s']:.3f}" if r["cached"] else "-",
               f"{1e3 * r['cache_load_s']:.2f}" if r["cached"] else "-",
               f"{r['load_after']:.1f}"] for r in rows]
    return "\n\n".join([
        table(["graph", "n", "CSR entries", "build s", "build cpu s", "run s", "run cpu s",
               "ms/week", "M cust-weeks/s", "(per cpu s)",
               "adopted", "load"], speed),
        table(["graph", "n", "peak MB", "B/cust", "build peak MB", "run peak MB",
               "run B/cust", "cache miss s", "cache hit ms", "load"], memory),
    ])


def compile_table(result: dict) -> str:
    """Cold and warm compile times, by phase (wall and CPU seconds)."""
    cold, warm = result["cold"], result["warm"]
    names = {"graph_build": "first graph build", "engine_run": "first Engine.run()",
             "read_only_run": "first run, read-only graph"}
    rows = [["import sim", *(f"{x:.2f}" for x in (*cold["import"], *warm["import"])), ""]]
    for key, name in names.items():
        rows.append([name, *(f"{x:.2f}" for x in (*cold["first"][key], *warm["first"][key])),
                     f"{warm['again'][key][0]:.3f}"])
    rows.append(["sum", *(f"{sum(p[i] for p in (cold['import'], *cold['first'].values())):.2f}"
                          for i in (0, 1)),
                 *(f"{sum(p[i] for p in (warm['import'], *warm['first'].values())):.2f}"
                   for i in (0, 1)), ""])
    loads = f"{cold['load_before']:.1f} / {warm['load_before']:.1f}"
    return table(["tiny scenario (1,000 customers, 4 weeks)", "cold s", "cold cpu s", "warm s",
                  "warm cpu s", "again in-process s"], rows) + f"\nload (cold / warm): {loads}"


def cli_table(end_to_end: dict, phases: dict) -> str:
    """`womsim run` end to end and its phases (wall and CPU seconds)."""
    rows = [[f"end to end, {'warm' if i else 'first'}", f"{wall:.2f}", f"{cpu:.2f}",
             f"{end_to_end['load_before'][i]:.1f}"]
            for i, (wall, cpu) in enumerate(zip(end_to_end["times"], end_to_end["cpu_times"],
                                                strict=True))]
    rows += [[f"  {name}", f"{wall:.2f}", f"{cpu:.2f}", ""]
             for name, (wall, cpu) in phases["phases"].items()]
    rows[-1][-1] = f"{phases['load_after']:.1f}"
    return table([f"womsim run {end_to_end['scenario']}", "wall s", "cpu s", "load"], rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                        default=list(DEFAULT_SIZES), help="comma-separated customer counts")
    parser.add_argument("--huge", action="store_true", help=f"also n = {HUGE:,}")
    parser.add_argument("--kinds", type=lambda s: s.split(","), default=list(MEAN_DEGREE),
                        help="comma-separated graph kinds (barabasi_albert, watts_strogatz)")
    parser.add_argument("--repeat", type=int, default=1, help="timings per figure (best kept)")
    parser.add_argument("--weeks", type=int, default=WEEKS, help="simulated weeks per run")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="JSON output file")
    parser.add_argument("--no-compile", action="store_true", help="skip the compile timings")
    parser.add_argument("--no-cli", action="store_true", help="skip timing `womsim run`")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.kinds) - set(MEAN_DEGREE)
    if unknown:
        parser.error(f"--kinds: unknown {sorted(unknown)}; choose from {list(MEAN_DEGREE)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and write its JSON."""
    args = parse_args(argv)
    if args.child:
        return child(args.child)
    sizes = sorted(set(args.sizes) | ({HUGE} if args.huge else set()))
    results: dict = {"benchmark": "scale", "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "machine": machine(), "weeks": args.weeks, "repeat": args.repeat}
    results["import_only"] = in_subprocess("import")
    baseline = results["import_only"]["peak_rss"]
    print(f"interpreter that only imported sim: peak {baseline / MB:.0f} MB "
          f"(load {results['import_only']['load']:.1f})", flush=True)
    rows = []
    for kind in args.kinds:
        for n in sizes:
            rows.append(in_subprocess("size", kind=kind, n=n, repeat=args.repeat,
                                      weeks=args.weeks))
            print(f"  {kind} {n:,}: run {rows[-1]['run_s']:.2f} s", flush=True)
    results["sizes"] = rows
    print("\n" + size_tables(rows, baseline), flush=True)
    if not args.no_compile:
        results["compile"] = measure_compile_cold_and_warm()
        print("\n" + compile_table(results["compile"]), flush=True)
    if not args.no_cli:
        scenario = "scenarios/baseline.toml"
        results["womsim_run"] = time_womsim_run(scenario)
        results["womsim_run_phases"] = in_subprocess("cli_phases", scenario_path=scenario)
        print("\n" + cli_table(results["womsim_run"], results["womsim_run_phases"]))
    write_json(args.json, results)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
