"""Money figures: revenue, cost and profit to date over a run, and profit by scenario; and how
an amount of money is written for people to read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from sim.present.figures.style import (
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    band_by_week,
    cumulative_by_replicate,
    draw_band,
    figure,
    runs_phrase,
    save,
    week_axis,
)

PROFIT_COLOUR = "#222222"  # profit is the bottom line: drawn in black, like "all adopters"
REVENUE_COLOUR = POSITIVE_COLOUR
COST_COLOUR = NEGATIVE_COLOUR


def money(value: float) -> str:
    """An amount for people to read: −1.25M, 150k, 950 (Unicode minus)."""
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:.3g}M"
    elif size >= 1e3:
        text = f"{size / 1e3:.3g}k"
    else:
        text = f"{size:.0f}"
    return ("−" if value < 0 and text.strip("0.kM") else "") + text


def cumulative_money(timeseries: pd.DataFrame) -> pd.DataFrame:
    """A copy of `timeseries` with `revenue`, `cost` and `profit` (revenue − cost) as running
    totals over weeks within each replicate."""
    table = timeseries.assign(profit=timeseries["revenue"] - timeseries["cost"])
    return cumulative_by_replicate(table, ["revenue", "cost", "profit"])


def payback_week(profit: pd.Series) -> int | None:
    """The week from which cumulative profit `profit` (indexed by week) stays at or above 0:
    the first week when it never dips below 0 again; None when it ends below 0."""
    if profit.iloc[-1] < 0:
        return None
    negative = profit.index[profit.to_numpy() < 0]
    return int(profit.index[0]) if len(negative) == 0 else int(negative[-1]) + 1


def lead_week(difference: pd.Series) -> int | None:
    """The week from which `difference` (one scenario's cumulative profit less another's, indexed
    by week) stays above 0; None when it does not end above 0."""
    behind = difference.index[difference.to_numpy() <= 0]
    if len(behind) and behind[-1] == difference.index[-1]:
        return None
    return int(difference.index[0]) if len(behind) == 0 else int(behind[-1]) + 1


def _money_axis(ax: Axes, label: str) -> None:
    ax.set_ylabel(label)
    ax.yaxis.set_major_formatter(lambda v, _: money(v))
    ax.axhline(0.0, color="#444444", lw=1.2, zorder=1.5)


def plot_cumulative_profit(timeseries: pd.DataFrame, path: str | Path,
                           events: Sequence[Any] = ()) -> Path:
    """Revenue, cost and profit to date, week by week (mean and 5-95% band over replicates);
    the title gives the final profit (the `profit` KPI's mean) and when the run paid back."""
    table = cumulative_money(timeseries)
    with figure() as fig:
        ax = fig.subplots()
        for column, colour, label, lw in (("revenue", REVENUE_COLOUR, "Revenue to date", 2.0),
                                          ("cost", COST_COLOUR, "Cost to date", 2.0),
                                          ("profit", PROFIT_COLOUR, "Profit to date", 2.8)):
            draw_band(ax, band_by_week(table, column), colour, label, lw=lw)
        profit = band_by_week(table, "profit")["mean"]
        _money_axis(ax, "Money to date")
        week_axis(ax, timeseries, events)
        payback = payback_week(profit)
        if payback is None:
            when = f"not paid back within {timeseries['week'].nunique()} weeks"
        elif payback == profit.index[0]:
            when = "in profit from the first week"
        else:
            when = f"paid back in week {payback}"
            ax.axvline(payback, color="#444444", lw=1.0, ls=(0, (3, 3)))
            ax.annotate(f"Paid back\nweek {payback}", (payback, 0.0), xytext=(8, -10),
                        textcoords="offset points", ha="left", va="top", fontsize=11,
                        color="#222222")
        ax.legend(loc="upper left", frameon=False)
        ax.set_title(f"{runs_phrase(timeseries).capitalize()}. Revenue: margin × paid "
                     "purchases; cost: paid media, seeding, referral rewards, quality.",
                     loc="left", fontsize=11, color="#444444")
        fig.suptitle(f"Cumulative profit: {money(profit.iloc[-1])} after "
                     f"{timeseries['week'].nunique()} weeks (mean), {when}", x=0.01, ha="left")
        return save(fig, path)


def plot_profit_by_scenario(timeseries: Mapping[str, pd.DataFrame], path: str | Path,
                            colours: Sequence[str], reference: str | None = None) -> Path:
    """Profit to date by week for each scenario (name -> timeseries): mean and 5-95% band over
    replicates, in `colours` by order, each scenario's break-even week (`payback_week` of its
    mean) marked on the zero line and named in the legend; with a `reference`, the week from
    which each other scenario's mean stays above the reference's (`lead_week`) marked on its line
    with a diamond and named too."""
    names = list(timeseries)
    first = timeseries[names[0]]
    weeks = first["week"].nunique()
    bands = {name: band_by_week(cumulative_money(timeseries[name]), "profit") for name in names}
    with figure() as fig:
        ax = fig.subplots()
        for index, name in enumerate(names):
            colour = colours[index % len(colours)]
            band = bands[name]
            payback = payback_week(band["mean"])
            when = (f"not paid back in {weeks} weeks" if payback is None
                    else f"breaks even in week {payback}")
            if reference is not None and name != reference:
                ahead = lead_week(band["mean"] - bands[reference]["mean"])
                when += (f"; behind {reference} at the end" if ahead is None
                         else f"; ahead of {reference} from week {ahead}")
                if ahead is not None:
                    ax.plot(ahead, band["mean"].loc[ahead], "D", color=colour, ms=9,
                            markeredgecolor="white", zorder=4)
            draw_band(ax, band, colour, f"{name}: {money(band['mean'].iloc[-1])} at the "
                                        f"end, {when}")
            if payback is not None:
                ax.axvline(payback, color=colour, lw=1.2, ls=(0, (4, 3)))
                ax.plot(payback, 0.0, "o", color=colour, ms=9, markeredgecolor="white",
                        zorder=4)
        _money_axis(ax, "Profit to date")
        week_axis(ax, first)
        ax.legend(loc="best", frameon=False)
        ahead_of = (f"\ndiamonds: the week from which a scenario stays ahead of {reference}"
                    if reference else "")
        ax.set_title(f"{runs_phrase(first).capitalize()}, same seeds in every scenario; dots: "
                     f"the week from which the mean stays in profit{ahead_of}",
                     loc="left", fontsize=11, color="#444444")
        fig.suptitle("Cumulative profit by scenario, and when each breaks even", x=0.01,
                     ha="left")
        return save(fig, path)
