"""The funnel of the moments of truth: of the journeys into research, how many reached a
decision, bought, and shared after use, and why the others stopped."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd
from matplotlib.axes import Axes

from sim.core.stages import STATE_COLOURS, State
from sim.present.figures.style import (
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    darker,
    figure,
    percent,
    run_books,
    runs_phrase,
    save,
    text_colour,
    thousands,
)


class _Stage(NamedTuple):
    """One step of the funnel: its `key` in `funnel_totals`, its name and definition, the colour
    of what goes on, and what the customers who did not go on were doing (None: the first)."""

    key: str
    name: str
    definition: str
    colour: str
    loss: str | None
    loss_colour: str


_STAGES = (
    _Stage("stimulated", "Stimulated", "entered research (ZMOT)", STATE_COLOURS[State.ZMOT], None,
           ""),
    _Stage(
        "decided",
        "Researched",
        "decided at FMOT",
        STATE_COLOURS[State.ZMOT],
        "still researching at the end",
        STATE_COLOURS[State.ZMOT],
    ),
    _Stage(
        "bought",
        "Bought",
        "at the first moment of truth",
        STATE_COLOURS[State.SMOT],
        "rejected at FMOT",
        STATE_COLOURS[State.REJECTED],
    ),
    _Stage(
        "shared",
        "Shared",
        "their first experience (UMOT)",
        POSITIVE_COLOUR,
        "did not share it, or not used yet",
        STATE_COLOURS[State.UNAWARE],
    ),
)
_LOSS_ALPHA = 0.28


def funnel_totals(timeseries: pd.DataFrame) -> pd.DataFrame:
    """The moments of truth as a funnel of journeys: one row per replicate, from the run's books
    (`run_books`, the KPIs of the same names in summary.json).

    - `stimulated`: journeys into research, `research_entries` (win-backs included; seeds skip
      research);
    - `decided`: `fmot_decisions`; the rest are still researching at the end of the run;
    - `bought`: `fmot_purchases`, one per customer;
    - `shared`: buyers who shared their first experience, `first_shares_positive +
      first_shares_negative` (`shared_positive` its positive part); the other buyers did not
      share it or have not used the product yet;
    - `seeded`: `adopters_seed`.
    """
    books = run_books(timeseries)
    return pd.DataFrame(
        {
            "stimulated": books["research_entries"],
            "decided": books["fmot_decisions"],
            "bought": books["fmot_purchases"],
            "shared": books["first_shares_positive"] + books["first_shares_negative"],
            "shared_positive": books["first_shares_positive"],
            "seeded": books["adopters_seed"],
        }
    )


class _Bars(NamedTuple):
    """The funnel's numbers for drawing: means, 5% and 95% quantiles over replicates (Series
    by `funnel_totals` column), the bar thickness and the gap between a bar and its labels."""

    mean: pd.Series
    low: pd.Series
    high: pd.Series
    height: float
    pad: float


def _draw_stage(ax: Axes, row: int, bars: _Bars) -> None:
    """Draw stage `row` of `_STAGES`: its bar (split into positive and negative shares for the
    shared stage), its whisker, its count and share of the stimulated, inside the bar when it
    fits, and the pale hatched part lost since the stage before, labelled with why."""
    stage = _STAGES[row]
    mean, low, high, height, pad = bars
    first = mean["stimulated"]
    y = len(_STAGES) - 1 - row
    value = mean[stage.key]
    if stage.key == "shared":
        positive = mean["shared_positive"]
        ax.barh(y, positive, height, color=POSITIVE_COLOUR, label="Positive shares")
        ax.barh(y, value - positive, height, left=positive, color=NEGATIVE_COLOUR,
                label="Negative shares")
    else:
        ax.barh(y, value, height, color=stage.colour)
    ax.errorbar(value, y, xerr=[[value - low[stage.key]], [high[stage.key] - value]],
                fmt="none", ecolor="#222222", elinewidth=1.2, capsize=5, zorder=3)
    share = f"{value / first:.0%} of stimulated" if first > 0 and row else ""
    if value > 0.3 * first:  # room inside the bar for the numbers
        colour = text_colour(stage.colour)
        ax.text(value / 2, y + (0.1 if share else 0.0), thousands(value), ha="center",
                va="center", fontsize=13, fontweight="bold", color=colour)
        ax.text(value / 2, y - 0.16, share, ha="center", va="center", fontsize=11,
                color=colour)
    else:  # beside the bar, clear of its whisker, over the pale part
        ax.text(max(value, high[stage.key]) + pad, y,
                thousands(value) + (f" ({share})" if share else ""), ha="left",
                va="center", fontsize=12, fontweight="bold", color="#222222", zorder=4)
    if stage.loss is None:
        return
    previous = mean[_STAGES[row - 1].key]
    lost = max(previous - value, 0.0)
    ax.barh(y, lost, height, left=value, color=stage.loss_colour, alpha=_LOSS_ALPHA,
            hatch="///", edgecolor=darker(stage.loss_colour), linewidth=0)
    ax.text(max(previous, high[stage.key]) + pad, y,
            f"−{thousands(lost)} {stage.loss}{percent(lost, previous)}", ha="left",
            va="center", fontsize=11, color="#333333")


def plot_funnel(timeseries: pd.DataFrame, path: str | Path) -> Path:
    """The funnel of the moments of truth, stimulated -> researched -> bought -> shared.

    Bars are the mean over replicates of `funnel_totals` (whiskers: 5-95%); each stage's bar
    is as long as the one above it, split into those who went on (solid) and those lost there
    (pale and hatched, labelled with why). The shared bar is split into positive and negative
    shares.
    """
    table = funnel_totals(timeseries)
    mean = table.mean()
    low, high = (table.quantile(q) for q in (0.05, 0.95))  # linear, as np.percentile
    first = mean["stimulated"]
    bars = _Bars(mean, low, high, height=0.62, pad=0.012 * max(first, 1.0))
    weeks = timeseries["week"].nunique()
    with figure() as fig:
        ax = fig.subplots()
        ax.set_axisbelow(True)
        for row in range(len(_STAGES)):
            _draw_stage(ax, row, bars)
        ax.set_yticks(range(len(_STAGES)),
                      [f"{s.name}\n{s.definition}" for s in reversed(_STAGES)])
        ax.tick_params(axis="y", length=0)
        for label in ax.get_yticklabels():
            label.set_fontsize(12)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, max(first, 1.0) * 1.5)
        ax.xaxis.set_major_formatter(lambda v, _: thousands(v))
        ax.set_xlabel("Customer journeys, total over the run (a customer can make several)")
        ax.legend(loc="upper right", frameon=False)
        seeded = mean["seeded"]
        seeds = f" Seeded customers ({thousands(seeded)}) skip research." if seeded else ""
        ax.set_title(
            f"Totals over {weeks} weeks, {runs_phrase(timeseries).replace('band', 'whiskers')}."
            f"{seeds}\nStimulated: entries into research by ads, talk or shares (win-backs "
            "included). Researched: decisions at FMOT.\nBought: FMOT purchases (first "
            "purchases). Shared: buyers who shared their first experience.",
            loc="left", fontsize=11, color="#444444",
        )
        if first > 0:
            headline = (f"Moments of truth: of {thousands(first)} journeys into research, "
                        f"{mean['bought'] / first:.0%} bought")
            if mean["bought"] > 0:
                headline += f"; {mean['shared'] / mean['bought']:.0%} of buyers shared"
        else:
            headline = "Moments of truth: nobody entered research"
        fig.suptitle(headline, x=0.01, ha="left")
        return save(fig, path)
