"""The default calibration as a researcher runs it, timed as a whole process: a network data set
of 1,000 customers (a Barabasi-Albert edge list, mean degree 8, with a node list) and one
customer table of adoption years over 10 years, drawn from the model at known values; then
`womsim calibrate SCENARIO --data FILE` with no --fit (innovation, imitation, potential and
mixing), 8 replicates, and the same with --train-until 5 (the first half of the years).

    python benchmarks/calibration.py                # the Bass special case and the full model
    python benchmarks/calibration.py --model bass

Prints, per model: wall time and the machine's load, the fitted values beside the truth, the
fit RMSE beside the better Bass fit, and the forecast RMSE beside Bass's; and, as the floor no fit
can be held below, the same errors of the model at the true values (the mean of the same 8
replicate seeds against the one history drawn). Target: under 60 s on 2 cores. Written as JSON
to benchmarks/results/calibration.json too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, load, machine, table, write_json

from sim.core.rng import replicate_seed
from sim.graph import barabasi_albert
from sim.run.engine import Engine, build_scenario_graph
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent

TRUTH = {"market.innovation": 0.05, "market.imitation": 0.8, "market.potential": 0.8,
         "market.mixing": 0.3}
CUSTOMERS, YEARS, REPLICATES = 1000, 10, 8
# The simulator's Bass special case (docs/model.md section 5); the full model keeps the defaults.
BASS = {"market": {"talk": "uniform"}, "media": {"spend": 5000.0, "reference_spend": 5000.0},
        "journey": {"zmot_weeks": 0.0, "conversion": 1.0}, "sharing": {"base": 0.0},
        "loyalty": {"retention": 1.0, "valence_effect": 0.0}}


def data_set(folder: Path, model: str) -> tuple[Path, Path, np.ndarray]:
    """The network files, the scenario at the true values, and one run's adoption years (the
    file, and the cumulative percent by year)."""
    graph = barabasi_albert(CUSTOMERS, 4, seed=11)
    rows = ["source,target"]
    for i in range(CUSTOMERS):
        rows += [f"v{i},v{j}" for j in graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
                 if i < j]
    (folder / "edges.csv").write_text("\n".join(rows) + "\n")
    (folder / "nodes.csv").write_text("id\n" + "".join(f"v{i}\n" for i in range(CUSTOMERS)))
    settings = {section: dict(values) for section, values in BASS.items()} \
        if model == "bass" else {}
    market = settings.setdefault("market", {})
    market.update({key.split(".")[1]: value for key, value in TRUTH.items()})
    settings.update(name=f"village_{model}", weeks=52 * YEARS, replications=REPLICATES,
                    network={"kind": "edgelist", "path": "edges.csv", "nodes": "nodes.csv"})
    scenario_path = folder / "scenario.toml"
    scenario_path.write_text(Scenario.from_dict(settings, base_dir=folder).to_toml())
    engine = Engine(Scenario.load(scenario_path), seed=20261204).run()
    years = np.ceil((engine.customers.adopted_week + 1) / 52.0)
    lines = ["id,adopted_year"] + [
        f"{label},{int(y) if engine.customers.adopted_week[i] >= 0 else ''}"
        for i, (label, y) in enumerate(zip(engine.graph.labels, years, strict=True))]
    data_path = folder / "adoption.csv"
    data_path.write_text("\n".join(lines) + "\n")
    return scenario_path, data_path, cumulative_percent(engine.customers.adopted_week)


def cumulative_percent(adopted_week: np.ndarray) -> np.ndarray:
    """Percent of the customers adopted by the end of each year 1..YEARS."""
    return np.array([np.count_nonzero((adopted_week >= 0) & (adopted_week < 52 * year))
                     for year in range(1, YEARS + 1)]) * (100.0 / CUSTOMERS)


def truth_errors(scenario_path: Path, observed: np.ndarray) -> tuple[float, float]:
    """The RMSE (points) of the model at the true values, the mean of the calibration's replicate
    seeds, against the data: over every year, and over the years that the forecast from the
    first half predicts. A calibration scores below it only by fitting the one history's luck."""
    scenario = Scenario.load(scenario_path)
    graph = build_scenario_graph(scenario)
    simulated = np.mean([cumulative_percent(Engine(scenario, replicate_seed(scenario.seed, r),
                                                   graph).run().customers.adopted_week)
                         for r in range(REPLICATES)], axis=0)
    error = simulated - observed
    return (float(np.sqrt(np.mean(error ** 2))),
            float(np.sqrt(np.mean(error[YEARS // 2:] ** 2))))


def calibrate(scenario: Path, data: Path, out: Path, *extra: str) -> tuple[float, dict]:
    """`womsim calibrate` as a whole process: its wall time and summary.json."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim.app.cli", "calibrate", str(scenario), "--data",
                    str(data), "--out", str(out), *extra], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("bass", "full", "both"), default="both")
    args = parser.parse_args()
    models = ("bass", "full") if args.model == "both" else (args.model,)
    results, rows = {}, []
    for model in models:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            scenario, data, observed = data_set(folder, model)
            truth_rmse, truth_forecast = truth_errors(scenario, observed)
            before = load()
            seconds, fit = calibrate(scenario, data, folder / "fit")
            cut_seconds, cut = calibrate(scenario, data, folder / "cut", "--train-until",
                                         str(YEARS // 2))
        best_bass = min(fit["bass"]["rmse_points"], fit["bass_free_market"]["rmse_points"])
        results[model] = {"seconds": seconds, "forecast_seconds": cut_seconds, "load": before,
                          "fit": {k: v["value"] for k, v in fit["fit"].items()},
                          "rmse_points": fit["rmse_points"], "best_bass_rmse_points": best_bass,
                          "forecast": cut["forecast"], "runs": fit["runs"],
                          "evaluations": fit["evaluations"],
                          "truth_rmse_points": truth_rmse,
                          "truth_forecast_rmse_points": truth_forecast}
        rows.append((model, f"{seconds:.1f}", f"{cut_seconds:.1f}", before, fit["evaluations"],
                     f"{fit['rmse_points']:.2f}", f"{best_bass:.2f}",
                     f"{cut['forecast']['rmse_points']:.2f}",
                     f"{cut['forecast']['bass_rmse_points']:.2f}", f"{truth_rmse:.2f}",
                     f"{truth_forecast:.2f}"))
        print(f"{model}: fitted " + ", ".join(
            f"{key.split('.')[1]} {fit['fit'][key]['value']:.3g} (truth {TRUTH[key]:g})"
            for key in fit["fit"]))
    print(table(("model", "fit s", "with cut s", "load", "evaluations", "RMSE", "best Bass",
                 "forecast RMSE", "Bass forecast", "truth RMSE", "truth forecast"), rows))
    write_json(RESULTS / "calibration.json", {"machine": machine(), "results": results})


if __name__ == "__main__":
    main()
