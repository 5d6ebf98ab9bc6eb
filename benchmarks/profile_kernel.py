"""Where a week of the kernel goes: each sub-step of `sim.core.kernels.step`, timed from Python.

    python benchmarks/profile_kernel.py                      # watts_strogatz, 10^6, 156 weeks
    python benchmarks/profile_kernel.py --kind barabasi_albert --n 100000
    python benchmarks/profile_kernel.py --cascade --n 100000   # the cascade of peers.py

It runs the baseline dynamics (Scenario.default() on the given graph), or with --cascade the
independent cascade that benchmarks/peers.py compares with other tools, by calling the kernel's
sub-steps one by one, exactly as `step` calls them (after the engine's choice of the week's seed
customers, `choose_seeds`), with a timer around each, and checks that the history equals
`Engine.run()`'s bit for bit (so the profile is of the real run). Calls from Python add a few
microseconds each, nothing next to a sub-step over 10^5 or more customers.
Prints the time per sub-step (wall and CPU), its share, and nanoseconds per customer-week; JSON
to --json (default benchmarks/results/profile_kernel.json).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from common import RESULTS, load, machine, table, write_json

from sim.core import kernels
from sim.core.rng import replicate_seed
from sim.graph import build_graph
from sim.run.engine import Engine, graph_seed
from sim.scenario.load import Scenario

SUBSTEPS = ("choose_seeds", "review_budget", "apply_seeds", "paid_media", "deliver_shares",
            "paid_and_talk", "fmot",
            "smot_and_umot", "loyalty", "record", "update_brand", "push_talk", "pass_messages_on")
MEAN_DEGREE = {"barabasi_albert": 8.0, "watts_strogatz": 10.0}


def profiled_run(engine: Engine) -> dict[str, list[float]]:
    """Run `engine` to its horizon, sub-step by sub-step as kernels.step does, and return the
    (wall, CPU) seconds spent in each sub-step in all."""
    spent = {name: [0.0, 0.0] for name in SUBSTEPS}
    e = engine
    # the passes the engine's week runs: threaded, or their one-thread copies
    passes = kernels if e._parallel() else SimpleNamespace(**kernels._SERIAL)

    def timed(name: str, function, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        spent[name][0] += time.perf_counter() - wall
        spent[name][1] += time.process_time() - cpu
        return result

    while not e.done:
        t = e.week
        c, m, prm, lev, net, row = (e.customers, e.market, e.params, e.levers, e.net,
                                    e.history[t])
        seeded = timed("choose_seeds", e.seeding.customers_for, t, c)  # Engine.step's part
        timed("review_budget", kernels.review_budget, prm, m)
        timed("apply_seeds", kernels.apply_seeds, t, prm, lev, net, c, m, row, seeded)
        p_t = timed("paid_media", kernels.paid_media, t, prm, lev, m)
        timed("deliver_shares", passes.deliver_shares, e.seed, t, prm, lev, net, c, m, row)
        timed("paid_and_talk", passes.paid_and_talk, e.seed, t, p_t, prm, lev, net, c, m, row)
        timed("fmot", passes.fmot, e.seed, t, prm, lev, net, c, m, row)
        timed("smot_and_umot", passes.smot_and_umot, e.seed, t, prm, lev, c, m, row)
        timed("loyalty", passes.loyalty, e.seed, t, prm, lev, c, m, row)
        timed("record", passes.record, t, lev, c, m, row)
        timed("update_brand", kernels.update_brand, prm, m, row)
        timed("push_talk", passes.push_talk, prm, net, c, m)
        timed("pass_messages_on", kernels.pass_messages_on, m)
        e.messages_in_flight = int(m.outbox_count[1])
        e.week += 1
    return spent


def baseline_scenario(kind: str, n: int, weeks: int) -> Scenario:
    """The baseline dynamics (Scenario.default()) on the issue's graph of `kind`."""
    return Scenario.default().with_overrides({
        "network.kind": kind, "network.n": n, "network.mean_degree": MEAN_DEGREE[kind],
        "weeks": weeks})


def profile(scenario: Scenario, label: str) -> dict:
    """Profile replicate 0 of `scenario` (see the module docstring); the graph is built first
    (uncached, so its arrays are writable as in a plain build) and not timed."""
    seed = replicate_seed(scenario.seed, 0)
    tiny = scenario.with_overrides({"network.n": 1_000, "weeks": 3})
    profiled_run(Engine(tiny, seed))  # compiles (or loads) each sub-step as an entry point
    engine = Engine(scenario, seed, build_graph(scenario.network, graph_seed(scenario)))
    load_before = load()
    spent = profiled_run(engine)
    load_after = load()
    wall, cpu = time.perf_counter(), time.process_time()
    reference = Engine(scenario, seed, engine.graph).run()
    whole = (time.perf_counter() - wall, time.process_time() - cpu)
    if not np.array_equal(reference.history, engine.history):
        raise AssertionError("the sub-step by sub-step run differs from Engine.run()")
    return {"label": label, "n": engine.n, "weeks": scenario.weeks, "substeps": spent,
            "engine_run": whole, "load_before": load_before, "load_after": load_after}


def report(result: dict) -> str:
    """The profile as a table."""
    customer_weeks = result["n"] * result["weeks"]
    total_cpu = sum(cpu for _, cpu in result["substeps"].values())
    rows = [[name, f"{wall:.3f}", f"{cpu:.3f}", f"{cpu / total_cpu:.1%}",
             f"{1e9 * cpu / customer_weeks:.2f}"]
            for name, (wall, cpu) in result["substeps"].items()]
    total_wall = sum(wall for wall, _ in result["substeps"].values())
    rows.append(["sum of sub-steps", f"{total_wall:.3f}", f"{total_cpu:.3f}", "100.0%",
                 f"{1e9 * total_cpu / customer_weeks:.2f}"])
    wall, cpu = result["engine_run"]
    rows.append(["Engine(...).run() (built, then run)", f"{wall:.3f}", f"{cpu:.3f}", "",
                 f"{1e9 * cpu / customer_weeks:.2f}"])
    title = (f"{result['label']}, {result['n']:,} customers, {result['weeks']} weeks "
             f"(load {result['load_before']:.1f} -> {result['load_after']:.1f})")
    return title + "\n" + table(["sub-step", "wall s", "cpu s", "share of cpu",
                                 "cpu ns/customer-week"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=list(MEAN_DEGREE), default="watts_strogatz")
    parser.add_argument("--n", type=lambda s: int(float(s)), default=10**6)
    parser.add_argument("--weeks", type=int, help="simulated weeks (default 156; 30 with "
                        "--cascade, about when its cascade ends)")
    parser.add_argument("--cascade", action="store_true",
                        help="profile benchmarks/peers.py's independent cascade (Barabasi-Albert, "
                        "T = 0.1, 50 seeds) instead of the baseline dynamics")
    parser.add_argument("--json", type=Path, default=RESULTS / "profile_kernel.json")
    args = parser.parse_args(argv)
    if args.cascade:
        from peers import cascade_scenario

        weeks = args.weeks or 30
        scenario = cascade_scenario(args.n, MEAN_DEGREE["barabasi_albert"], 0.1, 50, weeks)
        label = "independent cascade (peers.py) on barabasi_albert"
    else:
        scenario = baseline_scenario(args.kind, args.n, args.weeks or 156)
        label = f"baseline dynamics on {args.kind}"
    result = profile(scenario, label)
    print(report(result))
    write_json(args.json, {"benchmark": "profile_kernel", "machine": machine(), **result})
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
