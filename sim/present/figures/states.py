"""Time-series figures of where customers are: each state's count week by week, and cumulative
adopters by the source that brought them in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.core.metrics import peak_week
from sim.core.stages import (
    ACQUISITION_SOURCES,
    ADOPTED_COLUMNS,
    SOURCE_COLOURS,
    STATE_COLOURS,
    STATE_LABELS,
    Source,
    State,
)
from sim.present.figures.style import (
    SOURCE_NAMES,
    band_by_week,
    cumulative_by_replicate,
    draw_band,
    figure,
    population,
    right_axis,
    run_books,
    runs_phrase,
    save,
    thousands,
    week_axis,
)


def plot_states(timeseries: pd.DataFrame, path: str | Path, title: str | None = None,
                events: Sequence[Any] = ()) -> Path:
    """Each state's count over weeks: mean line and 5-95% band over replicates.

    The top panel shows all states on one customer scale (right axis in percent of N); the bottom
    panel zooms on the short-lived states, ZMOT and SMOT, which are small next to the others.
    """
    n_customers = population(timeseries)
    title = title or f"Where customers are, week by week ({runs_phrase(timeseries)})"
    transient = (State.ZMOT, State.SMOT)
    with figure() as fig:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.3, 1])
        for state in State:
            band = band_by_week(timeseries, state.column)
            draw_band(top, band, STATE_COLOURS[state], STATE_LABELS[state])
            if state in transient:
                draw_band(bottom, band, STATE_COLOURS[state], STATE_LABELS[state])
        top.set_ylim(0, n_customers * 1.02)
        top.set_ylabel("Customers")
        top.yaxis.set_major_formatter(lambda v, _: thousands(v))
        right_axis(top, 100.0 / n_customers, "% of customers")
        legend = top.legend(
            loc="upper left",
            bbox_to_anchor=(1.09, 1.0),
            frameon=False,
            title="State",
            alignment="left",
        )
        legend.get_title().set_fontweight("bold")
        bottom.set_ylim(bottom=0)
        bottom.set_ylabel("Customers")
        bottom.yaxis.set_major_formatter(lambda v, _: thousands(v))
        bottom.set_title("Zoom: customers researching (ZMOT) and using (SMOT)", loc="left")
        week_axis(bottom, timeseries, events)
        fig.suptitle(title, x=0.01, ha="left")
        return save(fig, path)


def plot_adoption_by_source(timeseries: pd.DataFrame, path: str | Path,
                            events: Sequence[Any] = ()) -> Path:
    """Cumulative adopters (first purchases and seeds) by acquisition source, in percent of N,
    and below them the new buyers (first purchases) of each week.

    One mean line and 5-95% band per source, plus all adopters together; the legend gives each
    source's share of the adopters (`adopters_<source>` KPIs, mean over replicates). Sources
    that brought no adopter in any run are not drawn; the legend says so. The lower panel marks
    the mean of the runs' `peak_adoption_week`, each found as the KPI finds it.
    """
    n_customers = population(timeseries)
    columns = list(ADOPTED_COLUMNS)
    totals = cumulative_by_replicate(
        timeseries.assign(adopted_all=timeseries[columns].sum(axis=1)), [*columns, "adopted_all"]
    )
    adopters = run_books(timeseries)[[f"adopters_{s.column}" for s in ACQUISITION_SOURCES]].mean()
    scale = 100.0 / n_customers
    bought = [f"adopted_{s.column}" for s in ACQUISITION_SOURCES if s != Source.SEED]
    weekly = timeseries.assign(new_buyers=timeseries[bought].sum(axis=1))
    peaks = weekly.sort_values("week").groupby("replicate")["new_buyers"].apply(
        lambda buyers: peak_week(buyers.to_numpy()))
    with figure() as fig:
        ax, below = fig.subplots(2, 1, sharex=True, height_ratios=[2.3, 1])
        everyone = band_by_week(totals, "adopted_all")
        draw_band(ax, everyone, "#222222", "All adopters", scale, lw=2.6, alpha=0.12)
        for source, column in zip(ACQUISITION_SOURCES, columns, strict=True):
            name = SOURCE_NAMES[source]
            if not adopters.iloc[source] > 0:
                ax.plot([], [], linestyle="none", label=f"{name}: no adopters")
                continue
            label = f"{name} ({adopters.iloc[source] / adopters.sum():.0%} of adopters)"
            draw_band(ax, band_by_week(totals, column), SOURCE_COLOURS[source], label, scale)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Adopters, % of customers")
        ax.yaxis.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
        ax.yaxis.set_major_formatter(PercentFormatter())
        right = right_axis(ax, n_customers / 100.0, "Customers")
        right.yaxis.set_major_formatter(lambda v, _: thousands(v))
        draw_band(below, band_by_week(weekly, "new_buyers"), "#222222", "New buyers", lw=1.6,
                  alpha=0.12)
        below.set_ylim(bottom=0)
        below.set_ylabel("New buyers\na week")
        below.yaxis.set_major_formatter(lambda v, _: thousands(v))
        if peaks.notna().any():
            peak = float(peaks.mean())
            below.axvline(peak, color="#222222", lw=1.0, ls=(0, (3, 3)))
            below.set_title(f"First purchases each week (seeds excluded); peak week {peak:.1f} "
                            "(9-week average)", loc="left", fontsize=11, color="#444444")
        week_axis(below, timeseries, events)
        legend = ax.legend(loc="upper left", frameon=False, title="Brought in by", alignment="left")
        legend.get_title().set_fontweight("bold")
        fig.suptitle(
            f"Adopters by source, and new buyers each week ({runs_phrase(timeseries)})", x=0.01,
            ha="left"
        )
        return save(fig, path)
