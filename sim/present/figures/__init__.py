"""Figures of runs and comparisons (MODEL.md section 7), as slide-ready PNG files.

One module per kind of figure: `states` (states and adopters by source over weeks), `circle`
(the circle of life), `funnel` (the moments of truth), `sharing` (positive against negative
shares), `money` (profit to date), `differences` (paired differences between scenarios) and
`run_set` (a run's standard figures together); `style` is the one home of colours, sizes, the
uncertainty band and axis formats. This package re-exports the names other modules use.

Figures are built on `matplotlib.figure.Figure` objects, never through `pyplot`, and written with
the Agg renderer: nothing here touches the interactive backend or global figure state, so the
package is safe in worker processes, notebooks and servers alike. The package may import
`sim.analysis` (the results it draws), `sim.run` (the worker pool), `sim.scenario` and `sim.core`
(the KPI table, the states' colours), never the reports or tables beside it in `sim.present`.
"""

from sim.present.figures.circle import circle_flows, plot_circle_of_life
from sim.present.figures.differences import (
    TONE_COLOURS,
    DifferencePanel,
    difference_tone,
    plot_kpi_differences,
)
from sim.present.figures.funnel import funnel_totals, plot_funnel
from sim.present.figures.money import (
    COST_COLOUR,
    PROFIT_COLOUR,
    REVENUE_COLOUR,
    cumulative_money,
    lead_week,
    money,
    payback_week,
    plot_cumulative_profit,
    plot_profit_by_scenario,
)
from sim.present.figures.run_set import RUN_FIGURES, write_run_figures
from sim.present.figures.sharing import (
    RATIO_MIN_SHARES,
    RATIO_WINDOW_WEEKS,
    SHARE_RATIO_BENCHMARK,
    plot_share_ratio,
    trailing_shares,
)
from sim.present.figures.states import plot_adoption_by_source, plot_states
from sim.present.figures.style import (
    BAND_ALPHA,
    DPI,
    FIGSIZE,
    FLOW_COLOUR,
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    STATE_COLUMNS,
    band_by_week,
    cumulative_by_replicate,
    draw_band,
    figure,
    population,
    run_books,
    runs_phrase,
    save,
)

__all__ = [
    "BAND_ALPHA",
    "COST_COLOUR",
    "DPI",
    "FIGSIZE",
    "FLOW_COLOUR",
    "NEGATIVE_COLOUR",
    "POSITIVE_COLOUR",
    "PROFIT_COLOUR",
    "RATIO_MIN_SHARES",
    "RATIO_WINDOW_WEEKS",
    "REVENUE_COLOUR",
    "RUN_FIGURES",
    "SHARE_RATIO_BENCHMARK",
    "STATE_COLUMNS",
    "TONE_COLOURS",
    "DifferencePanel",
    "band_by_week",
    "circle_flows",
    "cumulative_by_replicate",
    "cumulative_money",
    "difference_tone",
    "draw_band",
    "figure",
    "funnel_totals",
    "money",
    "lead_week",
    "payback_week",
    "plot_adoption_by_source",
    "plot_circle_of_life",
    "plot_cumulative_profit",
    "plot_funnel",
    "plot_kpi_differences",
    "plot_profit_by_scenario",
    "plot_share_ratio",
    "plot_states",
    "population",
    "run_books",
    "runs_phrase",
    "save",
    "trailing_shares",
    "write_run_figures",
]
