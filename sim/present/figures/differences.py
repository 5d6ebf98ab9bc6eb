"""Paired differences between scenarios: what an interval of differences supports (better,
worse, no detectable difference) and one panel per KPI showing each scenario against the
reference."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib.lines
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.present.figures.money import money
from sim.present.figures.style import (
    FLOW_COLOUR,
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    figure,
    save,
)

# What an interval of paired differences supports, and its colour in figures and the report.
TONE_COLOURS: dict[str, str] = {
    "better": POSITIVE_COLOUR,
    "worse": NEGATIVE_COLOUR,
    "none": "#9A9A9A",  # no detectable difference
    "neutral": FLOW_COLOUR,  # a detectable change in a KPI with no better direction
}


def _number(value: float) -> str:
    """An axis number: large ones as money() writes them, thousands with a separator, small
    ones short; Unicode minus."""
    if abs(value) >= 1e4:
        return money(value)
    return (f"{value:,.0f}" if abs(value) >= 1e3 else f"{value:g}").replace("-", "−")


class DifferencePanel(NamedTuple):
    """One panel of `plot_kpi_differences`: the KPI, its panel title (with its unit), the factor
    from the KPI's values to the axis (100 for fractions shown in points) and which way is better
    (+1 higher, -1 lower, 0 neither)."""

    kpi: str
    title: str
    scale: float
    better: int


def difference_tone(p05: float, p95: float, better: int) -> str:
    """What a paired difference with interval [p05, p95] supports (a key of `TONE_COLOURS`):
    "none" when the interval includes 0 or is undefined, "better" or "worse" when it lies wholly
    on that side by `better` (+1 higher is better, -1 lower), "neutral" when `better` is 0."""
    if not (np.isfinite(p05) and np.isfinite(p95)) or p05 <= 0.0 <= p95:
        return "none"
    if better == 0:
        return "neutral"
    return "better" if better * p05 > 0 else "worse"


def plot_kpi_differences(differences: pd.DataFrame, path: str | Path, reference: str,
                         panels: Sequence[DifferencePanel]) -> Path:
    """One panel per KPI: each scenario's paired difference against `reference` (a row of a
    `Comparison.differences` table: mean as a dot, 5-95% interval as a bar), a line at 0, and
    colours by what the interval supports (`difference_tone`)."""
    names = list(dict.fromkeys(differences["scenario"]))
    rows = differences.set_index(["scenario", "kpi"])
    columns = min(3, len(panels))
    with figure() as fig:
        axes = fig.subplots(-(-len(panels) // columns), columns, squeeze=False,
                            sharey=True).ravel()
        for ax, panel in zip(axes, panels, strict=False):
            for index, name in enumerate(names):
                mean, p05, p95 = (rows.loc[(name, panel.kpi), c] * panel.scale
                                  for c in ("mean", "p05", "p95"))
                y = len(names) - 1 - index
                colour = TONE_COLOURS[difference_tone(p05, p95, panel.better)]
                ax.plot([p05, p95], [y, y], color=colour, lw=5, alpha=0.55,
                        solid_capstyle="round")
                ax.plot(mean, y, "o", color=colour, ms=9, markeredgecolor="white")
            ax.axvline(0.0, color="#444444", lw=1.0)
            ax.set_yticks(range(len(names)), list(reversed(names)))
            ax.set_ylim(-0.7, len(names) - 0.3)
            ax.grid(axis="y", visible=False)
            ax.xaxis.set_major_locator(MaxNLocator(4, symmetric=False))
            ax.xaxis.set_major_formatter(lambda v, _: _number(v))
            direction = {1: "higher is better", -1: "lower is better", 0: ""}[panel.better]
            ax.set_title(f"{panel.title}\n{direction}", loc="left", fontsize=12)
            low, high = ax.get_xlim()  # keep 0 in view with some room on both sides
            span = max(high, 0.0) - min(low, 0.0)
            ax.set_xlim(min(low, 0.0) - 0.05 * span, max(high, 0.0) + 0.05 * span)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        handles = [matplotlib.lines.Line2D([], [], color=c, lw=5, alpha=0.7, marker="o", ms=8)
                   for c in (TONE_COLOURS["better"], TONE_COLOURS["worse"], TONE_COLOURS["none"])]
        fig.legend(handles, ["Better", "Worse", "No detectable difference (interval includes 0)"],
                   loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle(f"Each scenario minus {reference}, paired by seed: mean and 90% interval",
                     x=0.01, ha="left")
        return save(fig, path)
