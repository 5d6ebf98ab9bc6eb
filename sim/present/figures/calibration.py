"""The calibration figure (`calibration.png`): observed adoption against the model at the fit and
the closed-form Bass fits; and the writing of a calibration's output folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.calibrate import WEEKS_PER_UNIT, CalibrationResult
from sim.core.files import json_text
from sim.core.stages import SOURCE_COLOURS, STATE_COLOURS, Source, State
from sim.present.figures import BAND_ALPHA, band_by_week, figure, save
from sim.run.folders import staged_folder

_SIMULATED_COLOUR = STATE_COLOURS[State.LOYAL]  # adopters are the customers who bought
_BASS_COLOUR = SOURCE_COLOURS[Source.PAID]
_BASS_FREE_COLOUR = "#555555"


def write_calibration(result: CalibrationResult, folder: str | os.PathLike,
                      command: str | None = None) -> Path:
    """Write `fitted.toml`, `summary.json`, `curve.csv` and `calibration.png` into `folder`,
    atomically: all are written into a new folder beside it, which then replaces it. An
    existing `folder` must be empty or one womsim wrote (InputError otherwise).
    `command` is recorded in the summary as the command that made it."""
    folder = Path(folder)
    with staged_folder(folder, command) as staging:
        (staging / "fitted.toml").write_text(result.fitted_toml(folder))
        (staging / "summary.json").write_text(json_text(result.summary(command)))
        result.curve_table().to_csv(staging / "curve.csv", index=False)
        plot_calibration(result, staging / "calibration.png")
    return folder


def plot_calibration(result: CalibrationResult, path: str | os.PathLike) -> Path:
    """The observed curve against the simulated mean and 5-95% band at the fitted values and
    the two closed-form Bass fits, in percent of the population over time since the launch;
    with a training cut, the cut marked and the points after it (hollow) forecast by both."""
    data = result.data
    per_unit = WEEKS_PER_UNIT[data.unit]
    weeks = result.counts.shape[1]
    tidy = pd.DataFrame({
        "replicate": np.repeat(np.arange(result.counts.shape[0]), weeks),
        "week": np.tile(np.arange(weeks), result.counts.shape[0]),
        "percent": result.counts.ravel() * (100.0 / data.population),
    })
    band = band_by_week(tidy, "percent")
    band.index = band.index / per_unit  # weeks -> the data's unit
    # The line is the mean, the quantity the fit scores: when take-off times are spread (a small
    # market, rare innovators) the median lags it and would look like a miss.
    mean = result.counts.mean(axis=0) * (100.0 / data.population)
    t = np.linspace(0.0, (weeks - 1) / per_unit, 400)
    years = t * per_unit / WEEKS_PER_UNIT["year"]
    fitted = ", ".join(f"{k.split('.')[-1]} = {v:.4g}" for k, v in result.values.items())
    who = ("all customers" if data.kind == "aggregate"
           else f"the {data.population} customers listed")
    with figure() as fig:
        ax = fig.subplots()
        ax.fill_between(band.index, band["low"], band["high"], color=_SIMULATED_COLOUR,
                        alpha=BAND_ALPHA, lw=0)
        ax.plot(band.index, mean, color=_SIMULATED_COLOUR, lw=2.2,
                label=f"Model at the fit: mean and 5–95% band over {result.counts.shape[0]} "
                      f"runs; RMSE {result.rmse:.2f} points\n({fitted})")
        ax.plot(t, 100.0 * result.bass.curve(years), color=_BASS_COLOUR, lw=2, ls="--",
                label=f"Bass, m = 100% (p = {result.bass.p:.4g}, q = {result.bass.q:.4g}/yr); "
                      f"RMSE {100 * result.bass.rmse:.2f}")
        free = result.bass_free
        ax.plot(t, 100.0 * free.curve(years), color=_BASS_FREE_COLOUR, lw=1.6, ls=":",
                label=f"Bass, m fitted (p = {free.p:.4g}, q = {free.q:.4g}/yr, "
                      f"m = {100 * free.m:.1f}%); RMSE {100 * free.rmse:.2f}")
        train = result.training
        ax.plot(data.times[train], data.percent[train], "o", color="black", ms=5,
                label="Observed" if result.train_until is None else "Observed, fitted",
                zorder=5)
        forecast = result.forecast
        if forecast is not None:
            ax.plot(data.times[~train], data.percent[~train], "o", mfc="white", mec="black",
                    ms=5, zorder=5,
                    label=f"Observed, forecast: RMSE model {forecast['rmse_points']:.2f}, "
                          f"Bass {forecast['bass_m100_rmse_points']:.2f} (m = 100%) and "
                          f"{forecast['bass_m_fitted_rmse_points']:.2f} (m fitted)")
            ax.axvline(result.train_until, color="black", lw=1, ls="--")
            # at the foot of the line: a cumulative curve leaves the bottom right empty
            ax.annotate(f" training cut: {data.unit} {result.train_until:g}",
                        (result.train_until, 1), va="bottom", fontsize=9)
        ax.set_xlim(0, t[-1])
        ax.set_ylim(0, 100)
        ax.set_xlabel(f"{data.unit.capitalize()}s since the launch")
        ax.set_ylabel(f"Adopted, % of {who}")
        ax.legend(loc="upper left", frameon=False, fontsize=10)
        fig.suptitle(f"{result.scenario.name} calibrated to {data.path.name}", x=0.01,
                     ha="left")
        return save(fig, path)
