"""The house style of every figure: colours, slide size, fonts, how a figure is made and saved,
how uncertainty over replicates is computed and drawn, and the axis and number formats.

Every figure takes the colours and names of states and sources from `sim.core.stages`, so a state
looks the same everywhere. Uncertainty over replicates is always drawn the same way: the mean
line (the statistic the tables report) and the 5-95% band of `band_by_week`, the one home of that
computation; counts come from `run_books`, the KPIs of summary.json.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patheffects import Normal, Stroke

from sim.core.metrics import AT_END, BOOK_TOTALS
from sim.core.stages import STATE_COLOURS, Source, State

STATE_COLUMNS: tuple[str, ...] = tuple(state.column for state in State)
"""The state count columns of a `timeseries` table, in `State` order."""

# Colours of share (UMOT) valence. They are the Okabe-Ito green and vermilion already used for
# LOYAL and REJECTED, so "good" and "bad" read the same way in every figure.
POSITIVE_COLOUR = STATE_COLOURS[State.LOYAL]
NEGATIVE_COLOUR = STATE_COLOURS[State.REJECTED]
FLOW_COLOUR = "#3B4B5C"  # the circulation that keeps customers on the circle; neutral
ZERO_FLOW_COLOUR = "#B0B0B0"
SOURCE_NAMES: dict[Source, str] = {
    Source.PAID: "Paid media",
    Source.TALK: "Talk",
    Source.SHARE: "Shares",
    Source.SEED: "Seeding",
}

FIGSIZE = (11.0, 6.2)  # inches; with DPI this is a 1650 x 930 px slide image
DPI = 150
STYLE: dict[str, object] = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 15,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "savefig.facecolor": "white",
}
BAND_ALPHA = 0.22


def band_by_week(
    timeseries: pd.DataFrame, column: str, low: float = 5.0, high: float = 95.0
) -> pd.DataFrame:
    """Mean and [low, high] percentile band of `column` over replicates, week by week: the mean,
    as the KPI tables and summary.json report it, so a line ends where the table says.

    `timeseries` holds one row per replicate x week (one scenario). Percentiles use numpy's default
    linear interpolation; replicates where the value is undefined (NaN) that week are left out,
    and a week undefined in every replicate is NaN. Returns a frame indexed by week with columns
    `mean`, `low`, `high`.
    """
    wide = timeseries.pivot(index="week", columns="replicate", values=column)
    values = wide.to_numpy(dtype=float)
    with warnings.catch_warnings():  # numpy warns of all-NaN weeks, which are meant to be NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return pd.DataFrame(
            {
                "mean": np.nanmean(values, axis=1),
                "low": np.nanpercentile(values, low, axis=1),
                "high": np.nanpercentile(values, high, axis=1),
            },
            index=wide.index,
        )


def run_books(timeseries: pd.DataFrame) -> pd.DataFrame:
    """The run's books counted from its timeseries, one row per replicate: the KPIs of the same
    names (`sim.core.metrics.BOOK_TOTALS`, totals over the run, and `<state>_at_end`), so that a
    figure prints what summary.json and the tables print."""
    by_replicate = timeseries.groupby("replicate")
    columns = sorted({column.name.lower() for group in BOOK_TOTALS.values() for column in group})
    totals = by_replicate[columns].sum()
    books = pd.DataFrame({name: totals[[column.name.lower() for column in group]].sum(axis=1)
                          for name, group in BOOK_TOTALS.items()})
    last = timeseries.loc[by_replicate["week"].idxmax()].set_index("replicate")
    for name, state in AT_END.items():
        books[name] = last[state.column]
    return books.astype(float)


def cumulative_by_replicate(timeseries: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy of `timeseries` in which each of `columns` is replaced by its running total over
    weeks within each replicate (weekly flows become totals to date)."""
    ordered = timeseries.sort_values(["replicate", "week"]).copy()
    ordered[list(columns)] = ordered.groupby("replicate")[list(columns)].cumsum()
    return ordered


def population(timeseries: pd.DataFrame) -> int:
    """The number of customers N: the sum of the state counts of any row."""
    return int(timeseries.iloc[0][list(STATE_COLUMNS)].sum())


def draw_band(
    ax: Axes,
    band: pd.DataFrame,
    colour: str,
    label: str,
    scale: float = 1.0,
    lw: float = 2.2,
    alpha: float = BAND_ALPHA,
) -> None:
    """Draw a `band_by_week` frame on `ax`: the mean as a line, the band shaded behind it.

    Values are multiplied by `scale` (for example 100 / N for percent of customers); `alpha` is the
    band's opacity (lighter for a band that others overlap).
    """
    weeks = band.index.to_numpy()
    ax.fill_between(
        weeks,
        band["low"] * scale,
        band["high"] * scale,
        color=colour,
        alpha=alpha,
        linewidth=0,
    )
    (line,) = ax.plot(weeks, band["mean"] * scale, color=colour, lw=lw, label=label)
    if luminance(colour) > 0.7:  # pale lines (seed yellow, unaware grey) get a darker outline
        line.set_path_effects([Stroke(linewidth=lw + 1.4, foreground=darker(colour)), Normal()])


def luminance(colour: str) -> float:
    """Relative luminance of `colour`, 0 (black) to 1 (white), from its sRGB channels."""
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def darker(colour: str) -> tuple[float, float, float]:
    """`colour` at 70% brightness, for outlines that keep pale colours visible on white."""
    r, g, b = to_rgb(colour)
    return 0.7 * r, 0.7 * g, 0.7 * b


def runs_phrase(timeseries: pd.DataFrame) -> str:
    """'mean and 5–95% band over 16 runs', the standard description of an uncertainty band."""
    n = timeseries["replicate"].nunique()
    return f"mean and 5–95% band over {n} run{'s' if n != 1 else ''}"


@contextmanager
def figure() -> Iterator[Figure]:
    """A slide-sized `Figure` under the house style (fonts, grid, spines); save it inside the
    `with` block so the style applies throughout."""
    with matplotlib.rc_context(STYLE):
        yield Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")


def save(fig: Figure, path: str | Path) -> Path:
    """Write `fig` to `path` as a PNG (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


EVENT_SHADE = "#E8E0F0"  # event windows: a pale violet no state or source uses


def event_label(event: Any) -> str:
    """A few words for a scenario event on a figure: 'quality 0.4', 'campaign +20,000/week'."""
    if event.kind == "campaign":
        return f"campaign +{event.spend:,.0f}/week"
    if event.kind == "seed":
        return f"{event.count if event.count is not None else len(event.nodes)} seeds"
    if event.kind == "referral":
        return "referral programme"
    names = {"quality": "quality", "promise": "promise", "owned": "owned media"}
    return f"{names[event.kind]} {event.value:g}"


def week_axis(ax: Axes, timeseries: pd.DataFrame, events: Sequence[Any] = ()) -> None:
    """Label the x axis in weeks, fit it to the run, and mark the scenario's `events` on it and
    on every panel sharing it: windows shaded and labelled, seed weeks as dotted lines."""
    first, last = timeseries["week"].min(), timeseries["week"].max()
    ax.set_xlim(first, last)
    ax.set_xlabel("Week")
    panels = ax.get_shared_x_axes().get_siblings(ax)
    top = min(panels, key=lambda panel: (panel.get_subplotspec().rowspan.start,
                                         panel.get_subplotspec().colspan.start))
    for index, event in enumerate(events):
        start = event.week if event.kind == "seed" else event.start
        end = start if event.kind == "seed" else min(event.end, last + 1)
        if start > last:
            continue
        for panel in panels:
            if event.kind == "seed":
                panel.axvline(start, color="#7A5C99", ls=":", lw=1.4, zorder=0.5)
            else:
                panel.axvspan(start, end, color=EVENT_SHADE, zorder=0, lw=0)
        top.annotate(event_label(event), xy=(start, 1.0), xycoords=("data", "axes fraction"),
                     xytext=(2, -2 - 11 * index), textcoords="offset points", va="top", fontsize=9,
                     color="#4B3A5E")


def right_axis(ax: Axes, factor: float, label: str) -> Axes:
    """A right-hand axis reading the left one's values times `factor` (customers <-> percent)."""
    secondary = ax.secondary_yaxis("right", functions=(lambda v: v * factor, lambda v: v / factor))
    secondary.set_ylabel(label)
    return secondary


def thousands(value: float) -> str:
    """A count for people to read: 12,345."""
    return f"{value:,.0f}"


def percent(part: float, whole: float) -> str:
    """' (45%)', `part` as a share of `whole`; empty when `whole` is 0."""
    return f" ({part / whole:.0%})" if whole > 0 else ""


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background`."""
    return "black" if luminance(background) > 0.4 else "white"
