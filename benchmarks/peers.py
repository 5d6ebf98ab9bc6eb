"""The same independent cascade, run by womsim and by its peers (issue 3).

    python benchmarks/peers.py                       # Barabasi-Albert, 10^5 nodes, m = 4
    python benchmarks/peers.py --n 20000 --runs 5 --transmissibility 0.2
    python benchmarks/peers.py --processes           # womsim and NDlib as whole processes

On one Barabasi-Albert graph (built once by sim.graph and handed to every tool as the same
nodes and edges), with the same seed nodes, it runs the discrete-time SIR process in which each
newly infected node tries each susceptible neighbour once with probability T and then recovers
(the independent cascade; bond percolation with probability T decides its final size):

- womsim: our engine reduced to the cascade (MODEL.md section 5: spend 0, q = 0, constant sharing
  s0 = 1, reach T, tau- = 1, T_Z = 0, conversion 1, smot_weeks 1, retention 0, k random seeds);
- Mesa: a plain model written the way Mesa's "virus on a network" example is (a
  mesa.discrete_space.Network over the networkx graph, one agent per node holding its state,
  `agents.shuffle_do("step")`), where an infected agent tries its susceptible neighbours and
  recovers; a node infected in a step acts from the next step on, as in the synchronous process;
- NDlib's IndependentCascadesModel with edge threshold T on every edge;
- EoN's fast_SIR (continuous-time Markovian SIR) with gamma = 1 and tau = T / (1 - T), so that
  the transmissibility along an edge tau / (tau + gamma) is T; a node's recovery time is shared
  by its edges, so its transmissions are correlated and the final size can differ a little from
  bond percolation's;
- EoN's basic_discrete_SIR with p = T: the same discrete-time process as ours.

Every tool stops when nobody is infected, or after --steps steps. Setup (building each tool's
own model from the graph) is timed apart from the run. Each tool runs --runs times (replicate r
of every tool starts from the same seed nodes: those womsim's replicate r chose); the table shows
mean times, the ratio of each tool's run time to ours (CPU time, which the load of other
processes barely moves, and wall time), and the mean and spread of the final size (the share of
nodes ever infected), which must agree between tools up to sampling error. NDlib and EoN are
optional (`pip install ndlib EoN`, the `bench` extra; NDlib 6.0.1 also needs `six`, which it does
not declare); one that cannot be imported is skipped with a note.
JSON to --json (default benchmarks/results/peers.json).
"""

from __future__ import annotations

import argparse
import enum
import importlib
import importlib.util
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import networkx as nx
import numpy as np
from common import RESULTS, load, machine, table, write_json

from sim.core.rng import replicate_seed
from sim.core.stages import Source
from sim.graph import Graph, barabasi_albert
from sim.run.engine import Engine
from sim.scenario.load import Scenario

GRAPH_SEED = 20261125


def cascade_scenario(n: int, mean_degree: float, transmissibility: float, seeds: int,
                     steps: int) -> Scenario:
    """MODEL.md section 5's independent cascade on a Barabasi-Albert graph: spend 0, q = 0,
    constant sharing s0 = 1, reach T, tau- = 1, T_Z = 0, conversion 1, smot_weeks 1, retention 0,
    `seeds` random seeds at week 0."""
    return Scenario.from_dict({
        "weeks": steps,
        "network": {"kind": "barabasi_albert", "n": n, "mean_degree": mean_degree},
        "media": {"spend": 0.0},
        "market": {"imitation": 0.0},
        "sharing": {"mode": "constant", "base": 1.0, "reach": transmissibility,
                    "negative_recruit": 1.0},
        "journey": {"zmot_weeks": 0.0, "conversion": 1.0, "smot_weeks": 1},
        "loyalty": {"retention": 0.0},
        "events": [{"kind": "seed", "week": 0, "count": seeds}],
    })


class Outcome(NamedTuple):
    """One run of one tool: (wall, CPU) seconds of its setup and its run, the final size (share
    of nodes ever infected) and the steps it took."""

    setup: tuple[float, float]
    run: tuple[float, float]
    final: float
    steps: float


def clock() -> tuple[float, float]:
    """A (wall, CPU) reading for `since`."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU) seconds since `start` (a clock() reading)."""
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


# --------------------------------------------------------------------------------------------
# The tools
# --------------------------------------------------------------------------------------------


def run_womsim(scenario: Scenario, graph: Graph, replicate: int) -> tuple[Outcome, np.ndarray]:
    """Our engine, stepped until no message is in flight (nobody infected) or the horizon; and
    the seed nodes it chose, for the other tools."""
    start = clock()
    engine = Engine(scenario, replicate_seed(scenario.seed, replicate), graph)
    setup = since(start)
    start = clock()
    engine.step()
    while engine.messages_in_flight and not engine.done:
        engine.step()
    run = since(start)
    adopted = engine.customers.adopted_week >= 0
    seeds = np.flatnonzero(engine.customers.adopted_source == int(Source.SEED))
    return Outcome(setup, run, float(adopted.mean()), engine.week), seeds


class Health(enum.Enum):
    SUSCEPTIBLE = 0
    INFECTED = 1
    RECOVERED = 2


def mesa_model(graph: nx.Graph, transmissibility: float, seeds: np.ndarray, rng_seed: int):
    """The SIR model in the style of Mesa's virus_on_network example (see the module
    docstring). Imported here, as Mesa is only needed by this tool."""
    import mesa
    from mesa.discrete_space import FixedAgent, Network

    class SIRAgent(FixedAgent):
        def __init__(self, model, cell):
            super().__init__(model)
            self.cell = cell
            self.state = Health.SUSCEPTIBLE
            self.infected_step = 0

        def step(self):
            # Infected in an earlier step: try each susceptible neighbour once, then recover.
            if self.state is Health.INFECTED and self.infected_step < self.model.steps:
                for agent in self.cell.neighborhood.agents:
                    if agent.state is Health.SUSCEPTIBLE and (
                            self.random.random() < self.model.transmissibility):
                        agent.state = Health.INFECTED
                        agent.infected_step = self.model.steps
                        self.model.infected += 1
                self.state = Health.RECOVERED
                self.model.infected -= 1

    class SIROnNetwork(mesa.Model):
        def __init__(self):
            super().__init__(seed=rng_seed)
            self.transmissibility = transmissibility
            self.grid = Network(graph, capacity=1, random=self.random)
            agents = list(SIRAgent.create_agents(self, graph.number_of_nodes(),
                                                 list(self.grid.all_cells)))
            for node in seeds:
                agents[node].state = Health.INFECTED
            self.infected = len(seeds)
            self.by_node = agents

        def step(self):
            self.agents.shuffle_do("step")
            self.running = self.infected > 0

    return SIROnNetwork()


def run_mesa(graph: nx.Graph, transmissibility: float, seeds: np.ndarray, max_steps: int,
             replicate: int) -> Outcome:
    start = clock()
    model = mesa_model(graph, transmissibility, seeds, replicate)
    setup = since(start)
    start = clock()
    while model.running and model.steps < max_steps:
        model.step()
    run = since(start)
    final = np.mean([agent.state is not Health.SUSCEPTIBLE for agent in model.by_node])
    return Outcome(setup, run, final, model.steps)


def run_ndlib(graph: nx.Graph, transmissibility: float, seeds: np.ndarray, max_steps: int,
              replicate: int) -> Outcome:
    import ndlib.models.epidemics as ep
    import ndlib.models.ModelConfig as mc

    start = clock()
    model = ep.IndependentCascadesModel(graph, seed=replicate)
    config = mc.Configuration()
    config.add_model_initial_configuration("Infected", [int(i) for i in seeds])
    for edge in graph.edges():
        config.add_edge_configuration("threshold", edge, transmissibility)
    model.set_initial_status(config)
    setup = since(start)
    start = clock()
    model.iteration()  # NDlib's iteration 0 only reports the initial status
    steps = 0
    infected = len(seeds)
    while infected and steps < max_steps:
        infected = model.iteration(node_status=False)["node_count"][1]
        steps += 1
    run = since(start)
    final = np.mean([status != 0 for status in model.status.values()])
    return Outcome(setup, run, final, steps)


def run_eon_fast_sir(graph: nx.Graph, transmissibility: float, seeds: np.ndarray,
                     max_steps: int, replicate: int) -> Outcome:
    import EoN

    gamma = 1.0
    tau = gamma * transmissibility / (1.0 - transmissibility)  # tau / (tau + gamma) = T
    start = clock()
    _, _, _, recovered = EoN.fast_SIR(graph, tau, gamma, initial_infecteds=list(seeds),
                                      rng=np.random.default_rng(replicate))
    run = since(start)
    return Outcome((0.0, 0.0), run, recovered[-1] / graph.number_of_nodes(), float("nan"))


def run_eon_discrete(graph: nx.Graph, transmissibility: float, seeds: np.ndarray,
                     max_steps: int, replicate: int) -> Outcome:
    import EoN

    start = clock()
    times, _, _, recovered = EoN.basic_discrete_SIR(
        graph, transmissibility, initial_infecteds=list(seeds), tmax=max_steps,
        rng=np.random.default_rng(replicate))
    run = since(start)
    return Outcome((0.0, 0.0), run, recovered[-1] / graph.number_of_nodes(), times[-1])


# name -> (runner, module it imports, what it runs)
PEERS: dict[str, tuple[Callable[..., Outcome], str, str]] = {
    "mesa": (run_mesa, "mesa", "plain Mesa model (virus_on_network style)"),
    "ndlib": (run_ndlib, "ndlib.models.epidemics", "NDlib IndependentCascadesModel"),
    "eon_fast_sir": (run_eon_fast_sir, "EoN", "EoN fast_SIR, tau/(tau+gamma) = T"),
    "eon_discrete": (run_eon_discrete, "EoN", "EoN basic_discrete_SIR, p = T"),
}


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def summarise(outcomes: list[Outcome]) -> dict:
    """Means over the runs of one tool (and every run's figures)."""
    return {
        "setup_s": float(np.mean([o.setup[0] for o in outcomes])),
        "run_s": float(np.mean([o.run[0] for o in outcomes])),
        "run_cpu_s": float(np.mean([o.run[1] for o in outcomes])),
        "final_mean": float(np.mean([o.final for o in outcomes])),
        "final_sd": float(np.std([o.final for o in outcomes], ddof=1)) if len(outcomes) > 1
        else 0.0,
        "steps_mean": float(np.mean([o.steps for o in outcomes])),
        "runs": [{"setup": o.setup, "run": o.run, "final": float(o.final),
                  "steps": float(o.steps)} for o in outcomes],
    }


def benchmark(n: int, mean_degree: float, transmissibility: float, seeds: int, steps: int,
              runs: int, tools: Sequence[str]) -> dict:
    """Run every tool `runs` times on one graph (see the module docstring)."""
    scenario = cascade_scenario(n, mean_degree, transmissibility, seeds, steps)
    start = clock()
    graph = barabasi_albert(n, int(mean_degree // 2), GRAPH_SEED)
    graph_s = since(start)[0]
    start = clock()
    nx_graph = graph.to_networkx()
    networkx_s = since(start)[0]
    # Warm up: loads the compiled kernel, so our first timed run does not pay for it.
    run_womsim(cascade_scenario(1_000, mean_degree, transmissibility, seeds, 3),
               barabasi_albert(1_000, int(mean_degree // 2), 1), 0)
    results = {"womsim": {"what": "womsim Engine (cascade scenario)", "load": load()}}
    ours, seed_sets = [], []
    for replicate in range(runs):
        outcome, chosen = run_womsim(scenario, graph, replicate)
        ours.append(outcome)
        seed_sets.append(chosen)
    results["womsim"].update(summarise(ours))
    notes = []
    for name in tools:
        runner, module, what = PEERS[name]
        try:
            importlib.import_module(module)
        except ImportError as error:  # missing, or installed without a dependency of its own
            notes.append(f"{name}: skipped, cannot import {module} ({error}); "
                         "pip install ndlib EoN six (or the `bench` extra)")
            continue
        results[name] = {"what": what, "load": load()}
        outcomes = [runner(nx_graph, transmissibility, seed_sets[r], steps, r)
                    for r in range(runs)]
        results[name].update(summarise(outcomes))
        results[name]["load_after"] = load()
        print(f"  {name}: {results[name]['run_s']:.2f} s per run", flush=True)
    return {"n": n, "mean_degree": mean_degree, "transmissibility": transmissibility,
            "seeds": seeds, "max_steps": steps, "runs": runs, "graph_build_s": graph_s,
            "to_networkx_s": networkx_s, "csr_entries": graph.n_edges, "tools": results,
            "notes": notes}


def report(result: dict) -> str:
    """The comparison as a table, with the notes."""
    ours = result["tools"]["womsim"]
    rows = []
    for name, r in result["tools"].items():
        rows.append([name, f"{r['setup_s']:.3f}", f"{r['run_s']:.3f}", f"{r['run_cpu_s']:.3f}",
                     f"{r['run_cpu_s'] / ours['run_cpu_s']:.0f}x",
                     f"{r['run_s'] / ours['run_s']:.0f}x",
                     f"{r['final_mean']:.2%}", f"{r['final_sd']:.2%}",
                     "-" if np.isnan(r["steps_mean"]) else f"{r['steps_mean']:.1f}",
                     f"{r['load']:.1f}"])
    title = (f"independent cascade, Barabasi-Albert n = {result['n']:,} (mean degree "
             f"{result['mean_degree']:g}), T = {result['transmissibility']}, "
             f"{result['seeds']} seeds, {result['runs']} runs each, at most "
             f"{result['max_steps']} steps\n(graph built natively in {result['graph_build_s']:.2f}"
             f" s, converted to networkx for the peers in {result['to_networkx_s']:.2f} s)")
    lines = [title, table(["tool", "setup s", "run s", "run cpu s", "x ours (cpu)",
                           "x ours (wall)", "final size", "sd", "steps", "load"], rows)]
    lines += [f"what each ran: {name} = {r['what']}" for name, r in result["tools"].items()]
    lines += result["notes"]
    return "\n".join(lines)


# --processes: each tool as a whole process, as a user runs it: start Python, import, build the
# graph (womsim: from its graph cache after the first time), run the cascade to its end.
WHOLE_PROCESS = {
    "womsim": """
import sys
sys.path.insert(0, {benchmarks!r})
from peers import cascade_scenario
from sim.run.engine import Engine
Engine(cascade_scenario({n}, {degree}, {t}, {seeds}, {steps}), 1).run()
""",
    "ndlib": """
import networkx as nx
import ndlib.models.ModelConfig as mc
import ndlib.models.epidemics as ep
graph = nx.barabasi_albert_graph({n}, {m}, seed=1)
model = ep.IndependentCascadesModel(graph, seed=1)
config = mc.Configuration()
for edge in graph.edges():
    config.add_edge_configuration("threshold", edge, {t})
config.add_model_initial_configuration("Infected", list(range({seeds})))
model.set_initial_status(config)
model.iteration()
for _ in range({steps}):
    if model.iteration(node_status=False)["node_count"][1] == 0:
        break
""",
}


def whole_processes(n: int, mean_degree: float, transmissibility: float, seeds: int,
                    steps: int) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds of each tool's whole process (best of 2: the first womsim process
    also builds the graph cache's entry), with the 1-minute load."""
    figures = {}
    for tool, code in WHOLE_PROCESS.items():
        if tool != "womsim" and importlib.util.find_spec(tool) is None:
            print(f"{tool}: not installed (pip install -e \".[bench]\" six), skipped")
            continue
        script = code.format(benchmarks=str(Path(__file__).parent), n=n, degree=mean_degree,
                             m=int(mean_degree) // 2, t=transmissibility, seeds=seeds,
                             steps=steps)
        best = None
        for _ in range(2):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", script], check=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if best is None or wall < best["wall_s"]:
                best = {"wall_s": wall, "cpu_s": cpu, "load": load()}
        figures[tool] = best
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=lambda s: int(float(s)), default=10**5)
    parser.add_argument("--mean-degree", type=float, default=8.0,
                        help="Barabasi-Albert mean degree 2m (even)")
    parser.add_argument("--transmissibility", type=float, default=0.1, help="T in (0, 1)")
    parser.add_argument("--seeds", type=int, default=50, help="initially infected nodes")
    parser.add_argument("--steps", type=int, default=100, help="at most this many steps")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool")
    parser.add_argument("--tools", type=lambda s: s.split(","), default=list(PEERS),
                        help=f"comma-separated peers among {','.join(PEERS)}")
    parser.add_argument("--processes", action="store_true",
                        help="instead, time womsim and NDlib as whole processes")
    parser.add_argument("--json", type=Path, default=RESULTS / "peers.json")
    args = parser.parse_args(argv)
    if set(args.tools) - set(PEERS):
        parser.error(f"--tools: unknown {sorted(set(args.tools) - set(PEERS))}")
    if not 0 < args.transmissibility < 1:
        parser.error("--transmissibility must be in (0, 1)")
    if args.processes:
        result = {"whole_processes": whole_processes(args.n, args.mean_degree,
                                                     args.transmissibility, args.seeds,
                                                     args.steps)}
        rows = [[tool, f"{f['wall_s']:.2f}", f"{f['cpu_s']:.2f}", f"{f['load']:.1f}"]
                for tool, f in result["whole_processes"].items()]
        print(table(["tool (whole process)", "wall s", "cpu s", "load"], rows))
        processes = result["whole_processes"]
        if "ndlib" in processes:
            ratio = processes["ndlib"]["wall_s"] / processes["womsim"]["wall_s"]
            print(f"\nNDlib / womsim, whole processes: {ratio:.1f}x (wall)")
    else:
        result = benchmark(args.n, args.mean_degree, args.transmissibility, args.seeds,
                           args.steps, args.runs, args.tools)
        print(report(result))
    write_json(args.json, {"benchmark": "peers", "machine": machine(),
                           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **result})
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
