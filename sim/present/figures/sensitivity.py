"""Figures of a sensitivity analysis (`womsim sensitivity`): one bar chart of the indices per
output, and the analysis folder that holds them beside the tables."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sim.analysis.sensitivity import SensitivityResult
from sim.core.stages import SOURCE_COLOURS, STATE_COLOURS, Source, State
from sim.present.figures import figure, save
from sim.run.folders import staged_folder


def write_sensitivity(result: SensitivityResult, folder: str | os.PathLike) -> Path:
    """Write `indices.csv`, `sensitivity.json` and `figures/<output>.png` into `folder`,
    atomically (the folder appears complete or not at all)."""
    folder = Path(folder)
    with staged_folder(folder) as staging:
        result.write_tables(staging)
        for output in result.indices["output"].unique():
            plot_indices(result, output, staging / "figures" / f"{output}.png")
    return folder


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
    with figure() as fig:
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
        return save(fig, path)
