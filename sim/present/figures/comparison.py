"""Figures of a paired comparison: the paired differences (each KPI's mean effect with its 95%
interval), adoption over time and cumulative profit (with break-even weeks) by scenario; one
colour per scenario, in order, from the project's palette."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.core.kpis import KPI, PANEL_KPIS
from sim.core.stages import ADOPTED_COLUMNS, SOURCE_COLOURS, STATE_COLOURS, Source, State
from sim.present import figures as plots

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison

SCENARIO_COLOURS = (SOURCE_COLOURS[Source.PAID], STATE_COLOURS[State.REJECTED],
                    STATE_COLOURS[State.LOYAL], STATE_COLOURS[State.ZMOT],
                    SOURCE_COLOURS[Source.TALK], STATE_COLOURS[State.SMOT],
                    STATE_COLOURS[State.CHURNED])
"""One colour per scenario, in order (from sim.core.stages' palette)."""

# The unit a difference of each kind of KPI is counted in, for panel titles.
_DIFFERENCE_UNITS = {"percent": "points", "score": "points", "week": "weeks", "weeks": "weeks"}


def _colour(index: int) -> str:
    return SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)]


def _scale(kpi: str) -> float:
    """What a KPI's values are multiplied by on an axis: 100 for fractions (percent)."""
    return 100.0 if KPI[kpi].unit == "percent" else 1.0


def plot_adoption(comparison: Comparison, path: str | Path) -> Path:
    """Customers who ever bought, in percent, by week: each scenario's mean and 5-95% band."""
    first_result = next(iter(comparison.results.values()))
    with plots.figure() as fig:
        ax = fig.subplots()
        for index, (name, result) in enumerate(comparison.results.items()):
            table = plots.cumulative_by_replicate(result.timeseries, ADOPTED_COLUMNS)
            table["adopted"] = table[list(ADOPTED_COLUMNS)].sum(axis=1)
            plots.draw_band(ax, plots.band_by_week(table, "adopted"), _colour(index), name,
                            scale=100.0 / result.n)
        weeks = first_result.timeseries["week"]
        ax.set_xlim(weeks.min(), weeks.max())
        ax.set_xlabel("Week")
        ax.set_ylabel("Customers who ever bought (%)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
        ax.set_title(plots.runs_phrase(first_result.timeseries) + ", same seeds in every scenario",
                     loc="left")
        fig.suptitle("Adoption over time by scenario", x=0.01, ha="left")
        return plots.save(fig, path)


def difference_panels(kpis: Sequence[str] = PANEL_KPIS) -> list[plots.DifferencePanel]:
    """The panels of the differences figure (`plots.plot_kpi_differences`): each KPI's title
    with the unit its differences are counted in, its scale and its better direction."""
    panels = []
    for kpi in kpis:
        row = KPI[kpi]
        unit = _DIFFERENCE_UNITS.get(row.unit)
        title = row.short + (f" ({unit})" if unit else "")
        panels.append(plots.DifferencePanel(kpi, title, _scale(kpi), row.direction))
    return panels


def plot_differences(comparison: Comparison, path: str | Path) -> Path:
    """Each pair B vs A, KPI by KPI (`difference_panels`): the mean paired difference and its
    95% interval of the mean, coloured by what the interval supports."""
    return plots.plot_kpi_differences(comparison.differences, path, comparison.reference,
                                      difference_panels())


def plot_profit(comparison: Comparison, path: str | Path) -> Path:
    """Cumulative profit by week, each scenario's mean and 5-95% band, the week from which each
    one's mean stays in profit, and from which each stays ahead of the reference (the first
    scenario unless the comparison names one)."""
    return plots.plot_profit_by_scenario(
        {name: result.timeseries for name, result in comparison.results.items()}, path,
        SCENARIO_COLOURS, reference=comparison.reference or comparison.names[0])

