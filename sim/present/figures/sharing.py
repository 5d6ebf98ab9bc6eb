"""Positive against negative shares over time, beside the field benchmark of three positive
shares for each negative one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.present.figures.style import (
    FLOW_COLOUR,
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    band_by_week,
    draw_band,
    figure,
    runs_phrase,
    save,
    week_axis,
)

# East, Hammond & Wright (2007), "The relative incidence of positive and negative word of mouth"
# (International Journal of Research in Marketing 24): positive word of mouth is about three
# times as common as negative across categories.
SHARE_RATIO_BENCHMARK = 3.0
RATIO_WINDOW_WEEKS = 13  # a quarter: long enough to hold a few negative shares in small markets
RATIO_MIN_SHARES = 10  # a ratio of fewer shares than this is mostly noise, and is not drawn
_RATIO_TICKS = (1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def trailing_shares(timeseries: pd.DataFrame, window: int = RATIO_WINDOW_WEEKS,
                    min_shares: int = RATIO_MIN_SHARES) -> pd.DataFrame:
    """A copy of `timeseries` with `positive_window` and `negative_window` (shares over the
    trailing `window` weeks of each replicate, fewer in its first weeks) and `share_ratio` (their
    ratio; NaN where the window holds no negative share or fewer than `min_shares` shares)."""
    ordered = timeseries.sort_values(["replicate", "week"]).copy()
    grouped = ordered.groupby("replicate")
    for column, name in (("umot_positive", "positive_window"),
                         ("umot_negative", "negative_window")):
        ordered[name] = grouped[column].transform(
            lambda values: values.rolling(window, min_periods=1).sum())
    negative = ordered["negative_window"]
    enough = (negative > 0) & (ordered["positive_window"] + negative >= min_shares)
    ordered["share_ratio"] = (ordered["positive_window"] / negative).where(enough)
    return ordered


def _ratio_label(value: float) -> str:
    """'3:1' for 3, '1:4' for 0.25."""
    return f"{value:g}:1" if value >= 1 else f"1:{1 / value:g}"


def plot_share_ratio(timeseries: pd.DataFrame, path: str | Path,
                     window: int = RATIO_WINDOW_WEEKS, events: Sequence[Any] = ()) -> Path:
    """Positive over negative shares over time, against the 3:1 field benchmark.

    Top: the ratio over a trailing `window` weeks (mean and 5-95% band over replicates, on a
    log scale so that 1:2 and 2:1 lie equally far from parity). Bottom: the shares behind it,
    positive and negative, per week on average over the same window.
    """
    table = trailing_shares(timeseries, window)
    totals = timeseries.groupby("replicate")[["umot_positive", "umot_negative"]].sum()
    # the positive_negative_ratio KPI: each run's ratio, the mean over runs that have one
    overall = (totals["umot_positive"] / totals["umot_negative"].where(
        totals["umot_negative"] > 0)).mean()
    with figure() as fig:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.7, 1])
        band = band_by_week(table, "share_ratio")
        draw_band(top, band, FLOW_COLOUR, f"Positive : negative, trailing {window} weeks")
        top.axhline(SHARE_RATIO_BENCHMARK, color=POSITIVE_COLOUR, lw=1.8, ls=(0, (6, 3)),
                    label="3:1 field benchmark (East, Hammond & Wright 2007)")
        top.axhline(1.0, color="#888888", lw=1.0, label="1:1 as many negative as positive")
        top.set_yscale("log")
        finite = band[["low", "high"]].to_numpy()
        finite = finite[np.isfinite(finite) & (finite > 0)]
        lowest = min(float(finite.min()) if finite.size else 1.0, 1.0) / 1.3
        highest = max(float(finite.max()) if finite.size else 3.0, SHARE_RATIO_BENCHMARK) * 1.3
        top.set_ylim(lowest, highest)
        ticks = [t for t in _RATIO_TICKS if lowest <= t <= highest]
        top.set_yticks(ticks, [_ratio_label(t) for t in ticks])
        top.minorticks_off()
        top.set_ylabel("Positive : negative shares")
        top.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none")
        top.set_title(f"{runs_phrase(timeseries).capitalize()}; a window with fewer than "
                      f"{RATIO_MIN_SHARES} shares or no negative one has no ratio",
                      loc="left", fontsize=11, color="#444444")
        if not finite.size:
            top.text(0.5, 0.5, f"Too few shares for a ratio (fewer than {RATIO_MIN_SHARES} in "
                     f"every {window}-week window)", transform=top.transAxes, ha="center",
                     va="center", fontsize=12, color="#444444")
        for column, colour, label in (("positive_window", POSITIVE_COLOUR, "Positive"),
                                      ("negative_window", NEGATIVE_COLOUR, "Negative")):
            draw_band(bottom, band_by_week(table, column), colour, label, scale=1.0 / window)
        bottom.set_ylim(bottom=0)
        bottom.set_ylabel(f"Shares a week\n({window}-week mean)")
        bottom.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}")
        bottom.legend(loc="upper left", frameon=False, ncols=2)
        week_axis(bottom, timeseries, events)
        verdict = (f"{overall:.1f} positive shares per negative one over the run"
                   if np.isfinite(overall) else "no negative share in the run")
        fig.suptitle(f"Word of mouth: {verdict} (field benchmark 3)", x=0.01, ha="left")
        return save(fig, path)
