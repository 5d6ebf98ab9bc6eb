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
Ishigami function with its known indices. The figures of the indices are drawn by
`sim.present.figures.sensitivity`, which also writes the analysis folder.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.sweep import Design, Experiment, failure_message, run_sweep
from sim.analysis.sweep.design import MORRIS_LEVELS
from sim.core.files import json_text
from sim.scenario.load import ScenarioError

CONFIDENCE = 0.95  # of SALib's bootstrap intervals
RESAMPLES = 1000  # bootstrap resamples
COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "mu", "sigma"],
}

Evaluate = Callable[[np.ndarray], Mapping[str, np.ndarray]]
WIDE = 0.1  # a Sobol index known to no better than +-0.1 cannot rank parameters reliably
_LEGEND = {
    "sobol": "S1: first-order Sobol index (the share of the output's variance a parameter "
             "explains alone); ST: total index (with its interactions); *_conf: half-width of "
             "the 95% bootstrap interval.",
    "morris": "mu_star: mean absolute elementary effect (importance); mu: mean effect (sign); "
              "sigma: spread of the effects (non-linearity, interactions); mu_star_conf: "
              "half-width of the 95% bootstrap interval of mu_star.",
}


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
        """The indices as plain text, one block per output, after a line saying what the
        columns are, and followed by any `ranking_warnings`."""
        lines = [_LEGEND[self.method]]
        for output, rows in self.indices.groupby("output", sort=False):
            lines += ["", output]
            lines += rows.drop(columns="output").to_string(
                index=False, float_format=lambda v: f"{v:.3f}").splitlines()
        for output, count in self.undefined.items():
            lines.append(f"\n{output}: left out, undefined (NaN) at {count} points")
        lines += [f"\nwarning: {warning}" for warning in self.ranking_warnings()]
        return "\n".join(lines)

    def ranking_warnings(self) -> list[str]:
        """The outputs whose indices are too uncertain to rank the parameters: a Sobol interval
        wider than +-WIDE (or an index below -WIDE), or a Morris mu* interval wider than half
        the largest mu*; each says how many samples were used."""
        warnings_ = []
        for output, rows in self.indices.groupby("output", sort=False):
            if self.method == "sobol":
                wide = (rows[["S1_conf", "ST_conf"]].max().max() > WIDE
                        or rows[["S1", "ST"]].min().min() < -WIDE)
            else:
                wide = rows["mu_star_conf"].max() > 0.5 * rows["mu_star"].max()
            if wide:
                warnings_.append(f"{output}: the intervals are too wide to rank the parameters "
                                 f"({self.design.samples} samples); raise `samples` and run "
                                 f"again (the sweep resumes)")
        return warnings_

    def write_tables(self, folder: str | os.PathLike) -> None:
        """Write `indices.csv` and `sensitivity.json` into `folder`, which must exist."""
        folder = Path(folder)
        self.indices.to_csv(folder / "indices.csv", index=False)
        record = {"method": self.method, "samples": self.design.samples,
                  "parameters": self.design.names, "confidence": CONFIDENCE,
                  "conf": "half-width of the bootstrap confidence interval (SALib)",
                  "indices": self.indices.to_dict(orient="records"),
                  "undefined": self.undefined}
        (folder / "sensitivity.json").write_text(json_text(record, indent=1))


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
                                       conf_level=CONFIDENCE, num_levels=MORRIS_LEVELS,
                                       seed=design.seed)
        for index, name in enumerate(design.names):
            rows.append({"output": output, "parameter": name,
                         **{column: float(found[column][index])
                            for column in COLUMNS[design.method]}})
    indices = pd.DataFrame(rows, columns=["output", "parameter", *COLUMNS[design.method]])
    return SensitivityResult(design.method, design, indices, undefined)


class IncompleteSweep(RuntimeError):
    """Some runs of the sweep behind a sensitivity analysis failed: there is nothing to analyse
    until every point has its values."""


def sensitivity(experiment: Experiment | str | os.PathLike, out_dir: str | os.PathLike,
                workers: int | None = None, scheduler: str | None = None, *,
                progress: bool = False) -> SensitivityResult:
    """Run (or resume) an experiment's sweep in OUT/sweep/ and analyse its replicate-averaged
    KPIs (`sim.present.figures.sensitivity.write_sensitivity` writes the analysis, figures
    included, to a folder such as OUT/sensitivity/). Raises IncompleteSweep if runs failed."""
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

    return analyse(experiment.design, evaluate)
