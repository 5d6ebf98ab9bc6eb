"""Paired differences between scenarios: what the 95% interval of a mean paired difference
supports (better, worse, no detectable difference) and one panel per KPI showing each pair's
mean effect with that interval."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib.lines
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
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
    """An axis number: thousands and more as money() writes them (6k, −1.25M), small ones short;
    Unicode minus."""
    if abs(value) >= 1e3:
        return money(value)
    return f"{value:g}".replace("-", "−")


class DifferencePanel(NamedTuple):
    """One panel of `plot_kpi_differences`: the KPI, its panel title (with its unit), the factor
    from the KPI's values to the axis (100 for fractions shown in points) and which way is better
    (+1 higher, -1 lower, 0 neither)."""

    kpi: str
    title: str
    scale: float
    better: int


def difference_tone(low: float, high: float, better: int) -> str:
    """What a paired difference whose 95% interval of the mean is [low, high] supports (a key of
    `TONE_COLOURS`): "none" when the interval includes 0 or is undefined, "better" or "worse"
    when it lies wholly on that side by `better` (+1 higher is better, -1 lower), "neutral" when
    `better` is 0. A point interval (the same difference in every run) is judged like any
    other."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0.0 <= high:
        return "none"
    if better == 0:
        return "neutral"
    return "better" if better * low > 0 else "worse"


def pair_label(name: str, reference: str, common: str | None) -> str:
    """How a pair is named on an axis: "B" when every pair has the same reference (`common`),
    else "B vs A"."""
    return name if common is not None else f"{name} vs {reference}"


def _draw_panel(ax: Axes, rows: pd.DataFrame, pairs: Sequence[tuple[str, str]],
                panel: DifferencePanel) -> None:
    """One KPI's panel: per pair, the mean (dot) and 95% interval of the mean (bar), coloured
    by `difference_tone`; a line at 0, kept in view."""
    for index, (name, reference) in enumerate(pairs):
        row = rows.loc[(name, reference, panel.kpi)]
        mean, low, high = (row[c] * panel.scale for c in ("mean", "ci_low", "ci_high"))
        y = len(pairs) - 1 - index
        colour = TONE_COLOURS[difference_tone(low, high, panel.better)]
        ax.plot([low, high], [y, y], color=colour, lw=6, alpha=0.55, solid_capstyle="round")
        ax.plot(mean, y, "o", color=colour, ms=10, markeredgecolor="white")
    ax.axvline(0.0, color="#444444", lw=1.0)
    ax.set_ylim(-0.7, len(pairs) - 0.3)
    ax.grid(axis="y", visible=False)
    low, high = ax.get_xlim()  # keep 0 in view with some room on both sides
    span = max(high, 0.0) - min(low, 0.0)
    ax.set_xlim(min(low, 0.0) - 0.08 * span, max(high, 0.0) + 0.08 * span)
    ax.xaxis.set_major_locator(MaxNLocator(3, symmetric=False))
    ax.xaxis.set_major_formatter(lambda v, _: _number(v))
    direction = {1: "higher is better", -1: "lower is better", 0: "no better direction"}
    ax.set_title(f"{panel.title}\n{direction[panel.better]}", loc="left", fontsize=12)


def plot_kpi_differences(differences: pd.DataFrame, path: str | Path, common: str | None,
                         panels: Sequence[DifferencePanel]) -> Path:
    """One panel per KPI: each pair's paired difference (a row of a `Comparison.differences`
    table: the mean as a dot, the 95% interval of the mean as a bar), a line at 0, and colours
    by what the interval supports (`difference_tone`). `common` is the reference of every pair,
    or None when the pairs have different references."""
    pairs = list(dict.fromkeys(zip(differences["scenario"], differences["reference"],
                                   strict=True)))
    rows = differences.set_index(["scenario", "reference", "kpi"])
    columns = min(3, len(panels))
    with figure() as fig:
        axes = fig.subplots(-(-len(panels) // columns), columns, squeeze=False,
                            sharey=True).ravel()
        for ax, panel in zip(axes, panels, strict=False):
            _draw_panel(ax, rows, pairs, panel)
        axes[0].set_yticks(range(len(pairs)),
                           [pair_label(b, a, common) for b, a in reversed(pairs)])
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        handles = [matplotlib.lines.Line2D([], [], color=c, lw=6, alpha=0.7, marker="o", ms=9)
                   for c in (TONE_COLOURS["better"], TONE_COLOURS["worse"], TONE_COLOURS["none"])]
        fig.legend(handles, ["Better", "Worse", "No detectable difference (interval includes 0)"],
                   loc="outside lower center", ncols=3, frameon=False)
        against = f"each scenario minus {common}" if common is not None else "B minus A"
        fig.suptitle(f"What changes: {against}, run by run with the same seeds\n"
                     "dot: the mean effect; bar: its 95% interval", x=0.01, ha="left")
        return save(fig, path)
