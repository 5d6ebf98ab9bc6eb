"""Global sensitivity analysis (`womsim sensitivity EXPERIMENT`), through SALib.

An experiment with `design = "sobol"` gives, for each KPI it keeps, first-order and total Sobol
indices (S1, ST) with the half-widths of their 95% bootstrap confidence intervals (S1_conf,
ST_conf); `design = "morris"` gives Morris's mu* (mean absolute elementary effect), its 95%
bootstrap half-width, mu and sigma. The model's output at a point is the mean of the KPI over the
point's replicates, which share their seeds with every other point (common random numbers), so a
parameter without effect has indices of exactly 0 rather than noise.

`analyse(design, evaluate)` is the one code path: `Design.sample()` draws the points and SALib
analyses `evaluate`'s outputs. For an experiment, `evaluate` runs the sweep (resumable, local or
on Dask, in OUT/sweep/); for a test it can be any function of the design matrix, such as SALib's
Ishigami function with its known indices.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.present import figures as plots
from sim.analysis.experiment import Design, Experiment, failure_message, run_sweep
from sim.run.results import staged_folder
from sim.scenario.load import ScenarioError
from sim.core.stages import SOURCE_COLOURS, STATE_COLOURS, Source, State

CONFIDENCE = 0.95  # of SALib's bootstrap intervals
RESAMPLES = 1000  # bootstrap resamples
COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "mu", "sigma"],
}

Evaluate = Callable[[np.ndarray], Mapping[str, np.ndarray]]


@dataclass
class SensitivityResult:
    """Indices for each output and parameter: `indices` has columns output, parameter, then
    S1, S1_conf, ST, ST_conf (sobol) or mu_star, mu_star_conf, mu, sigma (morris); a *_conf is
    the half-width of the 95% bootstrap confidence interval. `undefined` lists the outputs left
    out because some point gave no value (NaN), with how many points."""

    method: str
    design: Design
    indices: pd.DataFrame
    undefined: dict[str, int]

    def table(self) -> str:
        """The indices as plain text, one block per output."""
        lines = []
        for output, rows in self.indices.groupby("output", sort=False):
            lines += ["", output]
            lines += rows.drop(columns="output").to_string(
                index=False, float_format=lambda v: f"{v:.3f}").splitlines()
        for output, count in self.undefined.items():
            lines.append(f"\n{output}: left out, undefined (NaN) at {count} points")
        return "\n".join(lines).lstrip("\n")

    def write(self, folder: str | os.PathLike) -> Path:
        """Write `indices.csv`, `sensitivity.json` and `figures/<output>.png` into `folder`,
        atomically (the folder appears complete or not at all)."""
        folder = Path(folder)
        with staged_folder(folder) as staging:
            self.indices.to_csv(staging / "indices.csv", index=False)
            record = {"method": self.method, "samples": self.design.samples,
                      "parameters": self.design.names, "confidence": CONFIDENCE,
                      "conf": "half-width of the bootstrap confidence interval (SALib)",
                      "indices": self.indices.to_dict(orient="records"),
                      "undefined": self.undefined}
            (staging / "sensitivity.json").write_text(json.dumps(record, indent=1) + "\n")
            for output in self.indices["output"].unique():
                plot_indices(self, output, staging / "figures" / f"{output}.png")
        return folder


def analyse(design: Design, evaluate: Evaluate) -> SensitivityResult:
    """Sample the design, evaluate it (points x factors -> {output: one value per point}) and
    compute each output's indices with SALib (seeded by the design's seed: reproducible)."""
    from SALib.analyze import morris, sobol

    if design.method not in COLUMNS:
        raise ValueError(f"sensitivity needs a sobol or morris design, not {design.method!r}")
    matrix = design.sample()
    problem = design.problem()
    rows, undefined = [], {}
    for output, values in evaluate(matrix).items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(matrix),):
            raise ValueError(f"{output}: expected {len(matrix)} values, got {values.shape}")
        if not np.isfinite(values).all():
            undefined[output] = int((~np.isfinite(values)).sum())
            continue
        with warnings.catch_warnings():
            # a constant output has no variance to share: SALib divides by 0 and gives NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            if design.method == "sobol":
                found = sobol.analyze(problem, values, calc_second_order=False,
                                      num_resamples=RESAMPLES, conf_level=CONFIDENCE,
                                      seed=design.seed)
            else:
                found = morris.analyze(problem, matrix, values, num_resamples=RESAMPLES,
                                       conf_level=CONFIDENCE, num_levels=4, seed=design.seed)
        for index, name in enumerate(design.names):
            rows.append({"output": output, "parameter": name,
                         **{column: float(found[column][index])
                            for column in COLUMNS[design.method]}})
    indices = pd.DataFrame(rows, columns=["output", "parameter", *COLUMNS[design.method]])
    return SensitivityResult(design.method, design, indices, undefined)


class IncompleteSweep(RuntimeError):
    """Some runs of the sweep behind a sensitivity analysis failed: there is nothing to analyse
    until every point has its values."""


def sensitivity(
    experiment: Experiment | str | os.PathLike,
    out_dir: str | os.PathLike,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    progress: bool = False,
) -> SensitivityResult:
    """Run (or resume) an experiment's sweep in OUT/sweep/ and analyse its replicate-averaged
    KPIs; write the analysis to OUT/sensitivity/. Raises IncompleteSweep if runs failed."""
    if not isinstance(experiment, Experiment):
        experiment = Experiment.load(experiment)
    if experiment.design.method not in COLUMNS:
        raise ScenarioError(f"sensitivity needs design = 'sobol' or 'morris', got "
                            f"'{experiment.design.method}'", file=experiment.path, key="design")
    out_dir = Path(out_dir)

    def evaluate(matrix: np.ndarray) -> dict[str, np.ndarray]:
        sweep = run_sweep(experiment, out_dir / "sweep", workers, scheduler, progress=progress)
        if len(sweep.failed):
            raise IncompleteSweep(failure_message(sweep, str(experiment.path)))
        means = sweep.runs.groupby("point")[list(experiment.kpis)].mean()
        return {kpi: means[kpi].to_numpy() for kpi in experiment.kpis}

    result = analyse(experiment.design, evaluate)
    result.write(out_dir / "sensitivity")
    return result


def plot_indices(result: SensitivityResult, output: str, path: str | Path) -> Path:
    """Bars per parameter for one output: S1 and ST (sobol) or mu* and sigma (morris), with the
    95% bootstrap half-widths as error bars where SALib gives them."""
    rows = result.indices[result.indices["output"] == output]
    if result.method == "sobol":
        bars = [("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total ST")]
        ylabel = "Sobol index (share of variance)"
    else:
        bars = [("mu_star", "mu_star_conf", "mu* (mean |effect|)"), ("sigma", None, "sigma")]
        ylabel = f"effect on {output} over each range"
    colours = (SOURCE_COLOURS[Source.PAID], STATE_COLOURS[State.ZMOT])
    positions = np.arange(len(rows))
    width = 0.38
    with plots.figure() as fig:
        ax = fig.subplots()
        for offset, (column, conf, label), colour in zip((-0.5, 0.5), bars, colours,
                                                         strict=True):
            ax.bar(positions + offset * width, rows[column], width, color=colour, label=label,
                   yerr=rows[conf] if conf else None, capsize=4, ecolor="#333333")
        ax.set_xticks(positions, rows["parameter"], rotation=20, ha="right")
        ax.axhline(0.0, color="#333333", lw=0.8)
        ax.set_ylabel(ylabel)
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper right")
        samples = f"{len(result.design.sample())} points"
        ax.set_title(f"{result.method} analysis, {samples}; error bars: 95% bootstrap "
                     f"intervals (SALib)", loc="left")
        fig.suptitle(f"Sensitivity of {output}", x=0.01, ha="left")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=plots.DPI)
    return path


# --- command line ------------------------------------------------------------------------------


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """`womsim sensitivity`: sweep (resumable), analyse, print and write the indices."""
    experiment = Experiment.load(args.experiment)
    out = Path(args.out) if args.out else Path("out") / experiment.name
    print(f"{experiment.name}: {experiment.design.method} design, {len(experiment.points)} "
          f"points x {experiment.replications} replicates = {experiment.run_count} runs")
    try:
        result = sensitivity(experiment, out, workers=args.workers, scheduler=args.scheduler,
                             progress=True)
    except IncompleteSweep as error:
        print(f"womsim: {error}", file=sys.stderr)
        return 1
    print(result.table())
    print(f"\nwrote {out}/sweep/ and {out}/sensitivity/ (indices.csv, sensitivity.json, "
          f"figures/)")
    return 0


def register(commands: Any) -> None:
    """Add `womsim sensitivity` to the CLI's subcommands."""
    parser = commands.add_parser(
        "sensitivity", help="Sobol or Morris indices of an experiment's KPIs",
        description="Run a sobol or morris experiment's sweep (resumable) and compute, for each "
                    "KPI it keeps, Sobol S1 and ST or Morris mu* and sigma on the "
                    "replicate-averaged values, with 95% bootstrap intervals.")
    parser.add_argument("experiment", help="experiment file (TOML) with design = sobol|morris")
    parser.add_argument("--out", help="output folder (default: out/<experiment name>/)")
    parser.add_argument("--workers", type=int, help="local worker processes")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the sweep on a Dask distributed cluster")
    parser.set_defaults(func=cmd_sensitivity)
