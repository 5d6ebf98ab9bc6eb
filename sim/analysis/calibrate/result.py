"""A calibration's result: the fitted values and their intervals, the fit errors beside the
closed-form Bass fits, and the tables a reader needs (the fitted scenario, a summary, the curve).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.bass import BassFit
from sim.analysis.calibrate.data import WEEKS_PER_UNIT, ObservedData
from sim.analysis.calibrate.runs import percent_at, rmse
from sim.scenario import Scenario, toml_text

if TYPE_CHECKING:
    from sim.analysis.calibrate.keys import FitKey
    from sim.analysis.calibrate.likelihood import LikelihoodFit
    from sim.analysis.calibrate.search import Identifiability

# The files of a calibration's output folder.
OUTPUT_FILES = ("fitted.toml", "summary.json", "curve.csv", "calibration.png")


@dataclass
class CalibrationResult:
    """A calibration: the keys fitted, their values and 5-95% intervals over the refits, the fit
    error (RMSE in percentage points, over the training observations) of the simulated mean and
    of the closed-form Bass fits to the same observations, warnings, the identifiability
    report, the forecast of the observations after `train_until`, and what the figure and files
    need. `counts` holds `adoption_counts` of every replicate at the fitted values; `training`
    marks the observations fitted (all of them unless the data were cut)."""

    scenario: Scenario
    fitted: Scenario
    data: ObservedData
    keys: list[FitKey]
    values: dict[str, float]
    rmse: float
    refits: list[dict[str, float]]
    refit_rmse: list[float]
    bass: BassFit
    bass_free: BassFit
    counts: np.ndarray
    seeds: list[int]
    evaluations: int
    runs: int
    seconds: float
    training: np.ndarray
    train_until: float | None = None
    identifiability: Identifiability | None = None
    warnings: list[str] = field(default_factory=list)
    likelihood: tuple[LikelihoodFit, LikelihoodFit] | None = None  # the model's, Bass's

    @property
    def forecast(self) -> dict | None:
        """With a training cut: the RMSE (points) over the observations after it of the model
        at the fit and of the two Bass fits to the same training points (`bass_rmse_points` is
        the better of the two, the stricter yardstick); None without a cut."""
        if self.train_until is None:
            return None
        ahead = ~self.training
        observed = self.data.percent[ahead]
        model = self.simulated_percent().mean(axis=0)[ahead]
        bass = [rmse(100.0 * fit.curve(self.data.years[ahead]), observed)
                for fit in (self.bass, self.bass_free)]
        return {"train_until": self.train_until, "time_unit": self.data.unit,
                "training_points": int(self.training.sum()), "forecast_points": int(ahead.sum()),
                "rmse_points": rmse(model, observed), "bass_rmse_points": min(bass),
                "bass_m100_rmse_points": bass[0], "bass_m_fitted_rmse_points": bass[1]}

    @property
    def intervals(self) -> dict[str, tuple[float, float] | None]:
        """Each key's 5-95% interval over the bootstrap refits (None without refits); for a
        likelihood fit, its asymptotic 95% interval."""
        if self.likelihood is not None:
            return {fit.key: self.likelihood[0].intervals.get(fit.key) for fit in self.keys}
        if not self.refits:
            return {fit.key: None for fit in self.keys}
        return {fit.key: tuple(float(v) for v in np.percentile(
            [refit[fit.key] for refit in self.refits], [5, 95])) for fit in self.keys}

    @property
    def monte_carlo_error(self) -> float:
        """The root-mean-square standard error of the simulated mean over the training times, in
        percentage points: how much of `rmse` the finite replicate set alone could explain (the
        RMSE of a perfect model is about this large)."""
        simulated = self.simulated_percent()[:, self.training]
        if simulated.shape[0] < 2:
            return math.nan
        variance = simulated.var(axis=0, ddof=1) / simulated.shape[0]
        return float(np.sqrt(variance.mean()))

    def simulated_percent(self) -> np.ndarray:
        """The replicates' cumulative adoption at the observed times (one row per replicate)."""
        return percent_at(self.counts, self.data.weeks, self.data.population)

    def curve_table(self) -> pd.DataFrame:
        """One row per observed time: the observed percent, the simulated mean and 5-95% band,
        and both Bass fits."""
        simulated = self.simulated_percent()
        p05, p95 = np.percentile(simulated, [5, 95], axis=0)
        unit = self.data.unit
        return pd.DataFrame({
            unit: self.data.times, "weeks": self.data.weeks, "training": self.training,
            "observed_percent": self.data.percent,
            "simulated_mean": simulated.mean(axis=0), "simulated_p05": p05,
            "simulated_p95": p95,
            "bass_percent": 100.0 * self.bass.curve(self.data.years),
            "bass_free_market_percent": 100.0 * self.bass_free.curve(self.data.years),
        })

    def summary(self, command: str | None = None) -> dict:
        """Everything a reader needs to judge the fit, as plain data for JSON."""
        intervals = self.intervals
        return {
            "scenario": self.scenario.name,
            "scenario_file": str(self.scenario.path) if self.scenario.path else None,
            "data_file": str(self.data.path),
            "data_kind": self.data.kind,
            "time_unit": self.data.unit,
            "weeks_per_unit": WEEKS_PER_UNIT[self.data.unit],
            "observations": int(self.data.times.size),
            "population": self.data.population,
            "seed": self.scenario.seed,
            "replications": len(self.seeds),
            "replicate_seeds": self.seeds,
            "fit": {fit.key: {"value": self.values[fit.key],
                              "interval": list(intervals[fit.key]) if intervals[fit.key] else None,
                              "bounds": [fit.low, fit.high], "start": fit.start}
                    for fit in self.keys},
            "rmse_points": self.rmse,
            "monte_carlo_error_points": self.monte_carlo_error,
            "warnings": self.warnings,
            "identifiability": (self.identifiability.to_dict()
                                if self.identifiability is not None else None),
            "forecast": self.forecast,
            "objective": "rmse" if self.likelihood is None else "likelihood",
            "likelihood": None if self.likelihood is None else {
                "model": self.likelihood[0].to_dict(), "bass": self.likelihood[1].to_dict()},
            "refits": {"count": len(self.refits), "values": self.refits,
                       "rmse_points": self.refit_rmse,
                       "method": "bounded Nelder-Mead from the fit over bootstrap resamples of "
                                 "the replicate seeds: Monte-Carlo uncertainty of the fit"},
            "search": {"scales": {fit.key: "log" if fit.log else "linear" for fit in self.keys},
                       "method": "scrambled Sobol design (16 points per key, rounded up to a "
                                 "power of two), then bounded Nelder-Mead from its two best "
                                 "separated points; common random numbers"},
            "bass": _bass_summary(self.bass),
            "bass_free_market": _bass_summary(self.bass_free),
            "evaluations": self.evaluations,
            "runs": self.runs,
            "seconds": self.seconds,
            "command": command,
            "files": list(OUTPUT_FILES),
        }

    def fitted_toml(self, folder: Path) -> str:
        """The fitted scenario as a TOML file to be written in `folder`: it `extends` the input
        scenario (a path relative to `folder`) and sets the fitted keys, and the seed and
        replications where the calibration changed them, so `womsim run` repeats the band.
        Without a scenario file, it is the whole resolved scenario."""
        header = "\n".join([
            f"Calibrated to {self.data.path.name}: RMSE {self.rmse:.3g} percentage points "
            f"(closed-form Bass, m = 100%: {100 * self.bass.rmse:.3g})",
            f"over {len(self.seeds)} replicates of seed {self.scenario.seed}; "
            f"see summary.json beside this file."])
        if self.scenario.path is None:
            return self.fitted.to_toml(header=header)
        parent = os.path.relpath(self.scenario.path, folder.resolve())
        data: dict = {"extends": Path(parent).as_posix(), "name": self.fitted.name,
                      "description": self.fitted.description}
        original = Scenario.load(self.scenario.path)
        for key in ("seed", "replications"):
            if getattr(self.fitted, key) != getattr(original, key):
                data[key] = getattr(self.fitted, key)
        for fit in self.keys:
            section, name = fit.key.split(".")
            data.setdefault(section, {})[name] = self.values[fit.key]
        return toml_text(data, header)


def _bass_summary(fit: BassFit) -> dict:
    """A Bass fit for summary.json, with its RMSE in percentage points."""
    out = fit.to_dict()
    out["rmse_points"] = 100.0 * out.pop("rmse")
    return out
