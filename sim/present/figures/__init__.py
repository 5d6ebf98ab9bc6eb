"""Figures of one run's `timeseries` table (MODEL.md section 7), as slide-ready PNG files.

Every figure takes the colours and names of states and sources from `sim.stages`, so a state looks
the same everywhere. Uncertainty over replicates is always drawn the same way: the median line and
the 5-95% band of `band_by_week`, the one home of that computation.

Figures are built on `matplotlib.figure.Figure` objects, never through `pyplot`, and written with
the Agg renderer: nothing here touches the interactive backend or global figure state, so the module
is safe in worker processes, notebooks and servers alike.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import NamedTuple

import matplotlib
import matplotlib.lines
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import ArrowStyle, FancyArrowPatch, FancyBboxPatch
from matplotlib.patheffects import Normal, Stroke
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.core.stages import (
    ACQUISITION_SOURCES,
    ADOPTED_COLUMNS,
    SOURCE_COLOURS,
    STATE_COLOURS,
    STATE_LABELS,
    Source,
    State,
)

STATE_COLUMNS: tuple[str, ...] = tuple(state.column for state in State)
"""The state count columns of a `timeseries` table, in `State` order."""

# Colours of share (UMOT) valence. They are the Okabe-Ito green and vermilion already used for
# LOYAL and REJECTED, so "good" and "bad" read the same way in every figure.
POSITIVE_COLOUR = STATE_COLOURS[State.LOYAL]
NEGATIVE_COLOUR = STATE_COLOURS[State.REJECTED]
FLOW_COLOUR = "#3B4B5C"  # the circulation that keeps customers on the circle; neutral
_ZERO_FLOW_COLOUR = "#B0B0B0"
_SOURCE_NAMES: dict[Source, str] = {
    Source.PAID: "Paid media",
    Source.TALK: "Talk",
    Source.SHARE: "Shares",
    Source.SEED: "Seeding",
}

FIGSIZE = (11.0, 6.2)  # inches; with DPI this is a 1650 x 930 px slide image
DPI = 150
_STYLE: dict[str, object] = {
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


# --- shared helpers -----------------------------------------------------------------------------


def band_by_week(
    timeseries: pd.DataFrame, column: str, low: float = 5.0, high: float = 95.0
) -> pd.DataFrame:
    """Median and [low, high] percentile band of `column` over replicates, week by week.

    `timeseries` holds one row per replicate x week (one scenario). Percentiles use numpy's default
    linear interpolation; replicates where the value is undefined (NaN) that week are left out,
    and a week undefined in every replicate is NaN. Returns a frame indexed by week with columns
    `median`, `low`, `high`.
    """
    wide = timeseries.pivot(index="week", columns="replicate", values=column)
    values = wide.to_numpy(dtype=float)
    with warnings.catch_warnings():  # numpy warns of all-NaN weeks, which are meant to be NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return pd.DataFrame(
            {
                "median": np.nanmedian(values, axis=1),
                "low": np.nanpercentile(values, low, axis=1),
                "high": np.nanpercentile(values, high, axis=1),
            },
            index=wide.index,
        )


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
    """Draw a `band_by_week` frame on `ax`: the median as a line, the band shaded behind it.

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
    (line,) = ax.plot(weeks, band["median"] * scale, color=colour, lw=lw, label=label)
    if _luminance(colour) > 0.7:  # pale lines (seed yellow, unaware grey) get a darker outline
        line.set_path_effects([Stroke(linewidth=lw + 1.4, foreground=_darker(colour)), Normal()])


def _luminance(colour: str) -> float:
    """Relative luminance of `colour`, 0 (black) to 1 (white), from its sRGB channels."""
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _darker(colour: str) -> tuple[float, float, float]:
    """`colour` at 70% brightness, for outlines that keep pale colours visible on white."""
    r, g, b = to_rgb(colour)
    return 0.7 * r, 0.7 * g, 0.7 * b


def runs_phrase(timeseries: pd.DataFrame) -> str:
    """'median and 5–95% band over 16 runs', the standard description of an uncertainty band."""
    n = timeseries["replicate"].nunique()
    return f"median and 5–95% band over {n} run{'s' if n != 1 else ''}"


@contextmanager
def figure() -> Iterator[Figure]:
    """A slide-sized `Figure` under the house style (fonts, grid, spines); save it inside the
    `with` block so the style applies throughout."""
    with matplotlib.rc_context(_STYLE):
        yield Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")


def _save(fig: Figure, path: str | Path) -> Path:
    """Write `fig` to `path` as a PNG (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def _week_axis(ax: Axes, timeseries: pd.DataFrame) -> None:
    """Label the x axis in weeks and fit it to the run."""
    ax.set_xlim(timeseries["week"].min(), timeseries["week"].max())
    ax.set_xlabel("Week")


def _right_axis(ax: Axes, factor: float, label: str) -> Axes:
    """A right-hand axis reading the left one's values times `factor` (customers <-> percent)."""
    secondary = ax.secondary_yaxis("right", functions=(lambda v: v * factor, lambda v: v / factor))
    secondary.set_ylabel(label)
    return secondary


def _thousands(value: float) -> str:
    """A count for people to read: 12,345."""
    return f"{value:,.0f}"


# --- time series figures ------------------------------------------------------------------------


def plot_states(timeseries: pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Each state's count over weeks: median line and 5-95% band over replicates.

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
        top.yaxis.set_major_formatter(lambda v, _: _thousands(v))
        _right_axis(top, 100.0 / n_customers, "% of customers")
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
        bottom.yaxis.set_major_formatter(lambda v, _: _thousands(v))
        bottom.set_title("Zoom: customers researching (ZMOT) and using (SMOT)", loc="left")
        _week_axis(bottom, timeseries)
        fig.suptitle(title, x=0.01, ha="left")
        return _save(fig, path)


def plot_adoption_by_source(timeseries: pd.DataFrame, path: str | Path) -> Path:
    """Cumulative adopters (first purchases and seeds) by acquisition source, in percent of N.

    One median line and 5-95% band per source, plus all adopters together; the legend gives each
    source's median share of final adopters. Sources that brought no adopter in any replicate are
    not drawn; the legend says so.
    """
    n_customers = population(timeseries)
    columns = list(ADOPTED_COLUMNS)
    totals = cumulative_by_replicate(
        timeseries.assign(adopted_all=timeseries[columns].sum(axis=1)), [*columns, "adopted_all"]
    )
    final = totals[totals["week"] == totals["week"].max()].set_index("replicate")
    share_of_final = final[columns].div(final["adopted_all"].replace(0, np.nan), axis=0)
    scale = 100.0 / n_customers
    with figure() as fig:
        ax = fig.subplots()
        everyone = band_by_week(totals, "adopted_all")
        draw_band(ax, everyone, "#222222", "All adopters", scale, lw=2.6, alpha=0.12)
        for source, column in zip(ACQUISITION_SOURCES, columns, strict=True):
            name = _SOURCE_NAMES[source]
            if not (final[column] > 0).any():
                ax.plot([], [], linestyle="none", label=f"{name}: no adopters")
                continue
            share = np.nanmedian(share_of_final[column])
            label = f"{name} ({share:.0%} of adopters)"
            draw_band(ax, band_by_week(totals, column), SOURCE_COLOURS[source], label, scale)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Adopters, % of customers")
        ax.yaxis.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
        ax.yaxis.set_major_formatter(PercentFormatter())
        right = _right_axis(ax, n_customers / 100.0, "Customers")
        right.yaxis.set_major_formatter(lambda v, _: _thousands(v))
        _week_axis(ax, timeseries)
        legend = ax.legend(loc="upper left", frameon=False, title="Brought in by", alignment="left")
        legend.get_title().set_fontweight("bold")
        fig.suptitle(
            f"Cumulative adopters by source ({runs_phrase(timeseries)})", x=0.01, ha="left"
        )
        return _save(fig, path)


# --- circle of life -----------------------------------------------------------------------------

# Where each state sits: the wheel UNAWARE -> ZMOT -> SMOT -> LOYAL runs clockwise from the top;
# the two ways off it, REJECTED (at the first moment of truth) and CHURNED (after loyalty), sit
# outside on either side, so customers lost read to the left and right of the circle.
_WHEEL_X, _WHEEL_Y = 1.35, 1.2  # half-axes of the wheel, data units
_NODE_XY: dict[State, tuple[float, float]] = {
    State.UNAWARE: (0.0, _WHEEL_Y),
    State.ZMOT: (_WHEEL_X, 0.0),
    State.SMOT: (0.0, -_WHEEL_Y),
    State.LOYAL: (-_WHEEL_X, 0.0),
    State.REJECTED: (2.95, 0.0),
    State.CHURNED: (-2.95, 0.0),
}
_NODE_SIZE = (1.0, 0.6)  # data units
_MAX_ARROW_PT = 26.0  # width of the largest flow's arrow, in points
_MIN_ARROW_PT = 1.6  # no non-zero flow is drawn thinner than this


class _Flow(NamedTuple):
    """One arrow of the circle: from `source` to `target`, carrying `circle_flows()[key]`, bent
    through `control` (straight when None), with `label` at fraction `at` of its length, on the
    side it bends to (`side` = -1: the other side), or centred on `place` (data coordinates)."""

    source: State
    target: State
    key: str
    colour: str
    label: str
    control: tuple[float, float] | None
    at: float = 0.5
    side: float = 1.0
    place: tuple[float, float] | None = None


def circle_flows(timeseries: pd.DataFrame) -> dict[str, float]:
    """Total flows between the stages over the run, mean over replicates.

    Keys: `stimulus` (UNAWARE -> ZMOT: all stimulus minus win-backs and seeds), `seed`
    (-> SMOT; the table does not say which state seeds came from, they are drawn from UNAWARE),
    `fmot_buy`, `fmot_reject`, `winback`, `experiences`, `repurchase`, `churn`, `umot_positive`,
    `umot_negative` and `share_recruits` (ZMOT entries triggered by shares).
    """
    stimulus_columns = [f"stimulus_{source.column}" for source in ACQUISITION_SOURCES]
    moment_columns = [
        "winback",
        "fmot_buy",
        "fmot_reject",
        "experiences",
        "repurchase",
        "churn",
        "umot_positive",
        "umot_negative",
    ]
    mean = timeseries.groupby("replicate")[stimulus_columns + moment_columns].sum().mean()
    return {
        "stimulus": float(mean[stimulus_columns].sum() - mean["winback"] - mean["stimulus_seed"]),
        "seed": float(mean["stimulus_seed"]),
        "share_recruits": float(mean["stimulus_share"]),
        **{column: float(mean[column]) for column in moment_columns},
    }


def _text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background`."""
    return "black" if _luminance(background) > 0.4 else "white"


def _draw_node(ax: Axes, state: State, count: float) -> FancyBboxPatch:
    """A rounded box for `state` with its name and its median count at the end of the run."""
    x, y = _NODE_XY[state]
    width, height = _NODE_SIZE
    colour = STATE_COLOURS[state]
    box = FancyBboxPatch(
        (x - width / 2, y - height / 2),
        width,
        height,
        boxstyle="round,pad=0,rounding_size=0.1",
        facecolor=colour,
        edgecolor="white",
        linewidth=2,
        zorder=3,
    )
    ax.add_patch(box)
    name, _, detail = STATE_LABELS[state].partition(" (")
    detail = "stimulus" if state is State.UNAWARE else detail.rstrip(")")
    lines = [(name, 13, "bold"), *([(detail, 11, "normal")] if detail else [])]
    lines.append((f"{_thousands(count)} at end", 11, "normal"))
    text_colour = _text_colour(colour)
    for row, (text, size, weight) in enumerate(lines):
        ax.text(
            x,
            y + 0.17 * ((len(lines) - 1) / 2 - row),
            text,
            ha="center",
            va="center",
            fontsize=size,
            fontweight=weight,
            color=text_colour,
            zorder=4,
        )
    return box


def _draw_flow(
    ax: Axes, boxes: dict[State, FancyBboxPatch], flow: _Flow, value: float, width: float
) -> None:
    """Draw `flow` as an arrow `width` points wide (dotted and grey when `value` is 0), with its
    label beside it, clear of the arrow whatever its width."""
    start = np.array(_NODE_XY[flow.source])
    end = np.array(_NODE_XY[flow.target])
    chord = end - start
    normal = np.array([chord[1], -chord[0]])  # matplotlib's arc3 bends along this
    if flow.control is None:
        rad, control = 0.0, (start + end) / 2
    else:
        control = np.array(flow.control)
        rad = float((control - (start + end) / 2) @ normal / (chord @ chord))
    if value > 0:
        style = ArrowStyle(
            "Simple",
            tail_width=width,
            head_width=width + max(8.0, 0.6 * width),
            head_length=max(9.0, 0.7 * width),
        )
        line = {"facecolor": flow.colour, "edgecolor": _darker(flow.colour), "linewidth": 0.8}
    else:
        style = ArrowStyle("-|>", head_width=3, head_length=5)
        line = {"color": _ZERO_FLOW_COLOUR, "linestyle": (0, (2, 2)), "linewidth": 1.2}
    ax.add_patch(
        FancyArrowPatch(
            tuple(start),
            tuple(end),
            arrowstyle=style,
            connectionstyle=f"arc3,rad={rad}",
            patchA=boxes[flow.source],
            patchB=boxes[flow.target],
            shrinkA=3,
            shrinkB=3,
            mutation_scale=1,
            zorder=2,
            **line,
        )
    )
    t = flow.at
    anchor = (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end
    tangent = 2 * (1 - t) * (control - start) + 2 * t * (end - control)
    outward = np.array([tangent[1], -tangent[0]]) / np.hypot(*tangent)
    outward *= (np.sign(rad) if rad else 1.0) * flow.side
    ha = "left" if outward[0] > 0.35 else "right" if outward[0] < -0.35 else "center"
    va = "bottom" if outward[1] > 0.35 else "top" if outward[1] < -0.35 else "center"
    offset = (width / 2 + 5) * outward
    if flow.place is not None:
        anchor, offset, ha, va = np.array(flow.place), np.zeros(2), "center", "center"
    ax.annotate(
        flow.label,
        xy=tuple(anchor),
        xytext=tuple(offset),
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=11,
        color="#222222" if value > 0 else "#888888",
        linespacing=1.25,
        zorder=5,
    )


def _percent(part: float, whole: float) -> str:
    """' (45%)', `part` as a share of `whole`; empty when `whole` is 0."""
    return f" ({part / whole:.0%})" if whole > 0 else ""


def plot_circle_of_life(timeseries: pd.DataFrame, path: str | Path) -> Path:
    """The circle of life as a wheel of stages with arrows as wide as the flows between them.

    Arrows carry the total customers moved over the run (mean over replicates, `circle_flows`):
    stimulus, FMOT buy and reject, win-back, experience, repurchase, churn and seeding; the UMOT
    shares, positive and negative, are the arc that closes the circle back to others' stimulus.
    Boxes show each state's median count at the end of the run.
    """
    flows = circle_flows(timeseries)
    last_week = timeseries[timeseries["week"] == timeseries["week"].max()]
    decisions = flows["fmot_buy"] + flows["fmot_reject"]
    returns = flows["repurchase"] + flows["churn"]
    ratio = (
        f" (1 per {flows['umot_positive'] / flows['umot_negative']:.1f} positive)"
        if flows["umot_negative"] > 0
        else ""
    )

    def number(key: str, whole: float | None = None) -> str:
        share = _percent(flows[key], whole) if whole is not None else ""
        return f"{_thousands(flows[key])}{share}"

    u, z, s, lo = State.UNAWARE, State.ZMOT, State.SMOT, State.LOYAL
    arrows = [
        _Flow(
            u, z, "stimulus", FLOW_COLOUR, f"Stimulus\n{number('stimulus')}", (_WHEEL_X, _WHEEL_Y)
        ),
        _Flow(
            z,
            s,
            "fmot_buy",
            FLOW_COLOUR,
            f"FMOT: buy\n{number('fmot_buy', decisions)}",
            (_WHEEL_X, -_WHEEL_Y),
        ),
        _Flow(
            s,
            lo,
            "experiences",
            FLOW_COLOUR,
            f"Experience\n{number('experiences')}",
            (-_WHEEL_X, -_WHEEL_Y),
        ),
        _Flow(
            lo,
            s,
            "repurchase",
            FLOW_COLOUR,
            f"Repurchase\n{number('repurchase', returns)}",
            (-0.45, -0.5),
            place=(-0.25, -0.05),
        ),
        _Flow(
            u,
            s,
            "seed",
            SOURCE_COLOURS[Source.SEED],
            f"Seeded\n{number('seed')}",
            (0.8, 0.0),
            at=0.3,
        ),
        _Flow(
            z,
            State.REJECTED,
            "fmot_reject",
            STATE_COLOURS[State.REJECTED],
            f"FMOT: reject\n{number('fmot_reject', decisions)}",
            (2.15, 0.45),
        ),
        _Flow(
            State.REJECTED,
            z,
            "winback",
            STATE_COLOURS[State.ZMOT],
            f"Won back\n{number('winback')}",
            (2.15, -0.45),
        ),
        _Flow(
            lo,
            State.CHURNED,
            "churn",
            STATE_COLOURS[State.CHURNED],
            f"Churn\n{number('churn', returns)}",
            None,
        ),
        _Flow(
            lo,
            u,
            "umot_positive",
            POSITIVE_COLOUR,
            f"UMOT: positive shares\n{number('umot_positive')}",
            (-_WHEEL_X, _WHEEL_Y),
            side=-1,
        ),
        _Flow(
            lo,
            u,
            "umot_negative",
            NEGATIVE_COLOUR,
            f"UMOT: negative shares\n{number('umot_negative')}{ratio}",
            (-_WHEEL_X - 0.45, _WHEEL_Y + 0.55),
        ),
    ]
    largest = max(flows[arrow.key] for arrow in arrows)
    weeks = timeseries["week"].nunique()
    runs = timeseries["replicate"].nunique()
    with figure() as fig:
        ax = fig.subplots()
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-1.75, 1.6)
        ax.set_anchor("N")  # any spare height goes below the footnote, not under the title
        boxes = {state: _draw_node(ax, state, last_week[state.column].median()) for state in State}
        for arrow in arrows:
            value = flows[arrow.key]
            width = max(_MIN_ARROW_PT, _MAX_ARROW_PT * value / largest) if value > 0 else 1.0
            _draw_flow(ax, boxes, arrow, value, width)
        ax.set_title(
            f"Customers moved over {weeks} weeks, mean of {runs} run{'s' if runs != 1 else ''};"
            " arrow width in proportion. Boxes: customers there at the end (median).",
            loc="left",
            fontsize=12,
            color="#444444",
        )
        ax.text(
            0.0,
            0.0,
            f"Shares (UMOT) led to {_thousands(flows['share_recruits'])} entries into ZMOT. "
            "FMOT % of decisions; repurchase and churn % of loyal customers' returns.",
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=11,
            color="#444444",
        )
        fig.suptitle(
            "The circle of life: where customers go and where they are lost", x=0.01, ha="left"
        )
        return _save(fig, path)


# --- the moments of truth funnel ----------------------------------------------------------------


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
        "after use (UMOT)",
        POSITIVE_COLOUR,
        "did not share",
        STATE_COLOURS[State.UNAWARE],
    ),
)
_LOSS_ALPHA = 0.28


def funnel_totals(timeseries: pd.DataFrame) -> pd.DataFrame:
    """The moments of truth as a funnel of journeys: one row per replicate, totals over the run.

    - `stimulated`: entries into research (ZMOT) by paid media, talk or shares, win-backs
      included (`stimulus_paid + stimulus_talk + stimulus_share`); seeds skip research;
    - `decided`: decisions at the first moment of truth (`fmot_buy + fmot_reject`); the rest are
      still researching at the end of the run;
    - `bought`: purchases at FMOT (`fmot_buy`);
    - `shared`: buyers who shared after using the product, estimated as `bought` times the run's
      shares per experience (`(umot_positive + umot_negative) / experiences`), since the table
      counts the shares of every experience, repeat purchases included; `shared_positive` is its
      positive part, at the run's share of positive shares.
    """
    totals = timeseries.groupby("replicate").sum(numeric_only=True)
    shares = totals["umot_positive"] + totals["umot_negative"]
    per_experience = (shares / totals["experiences"]).where(totals["experiences"] > 0, 0.0)
    positive = (totals["umot_positive"] / shares).where(shares > 0, 0.0)
    bought = totals["fmot_buy"].astype(float)
    return pd.DataFrame(
        {
            "stimulated": totals[["stimulus_paid", "stimulus_talk", "stimulus_share"]].sum(axis=1),
            "decided": totals["fmot_buy"] + totals["fmot_reject"],
            "bought": bought,
            "shared": bought * per_experience,
            "shared_positive": bought * per_experience * positive,
            "seeded": totals["stimulus_seed"],
        }
    ).astype(float)


def plot_funnel(timeseries: pd.DataFrame, path: str | Path) -> Path:
    """The funnel of the moments of truth, stimulated -> researched -> bought -> shared.

    Bars are the median over replicates of `funnel_totals` (whiskers: 5-95%); each stage's bar
    is as long as the one above it, split into those who went on (solid) and those lost there
    (pale and hatched, labelled with why). The shared bar is split into positive and negative
    shares.
    """
    table = funnel_totals(timeseries)
    median = table.median()
    low, high = (table.quantile(q) for q in (0.05, 0.95))  # linear, as np.percentile
    first = median["stimulated"]
    pad = 0.012 * max(first, 1.0)
    weeks = timeseries["week"].nunique()
    height = 0.62
    with figure() as fig:
        ax = fig.subplots()
        ax.set_axisbelow(True)
        for row, stage in enumerate(_STAGES):
            y = len(_STAGES) - 1 - row
            value = median[stage.key]
            if stage.key == "shared":
                positive = median["shared_positive"]
                ax.barh(y, positive, height, color=POSITIVE_COLOUR, label="Positive shares")
                ax.barh(y, value - positive, height, left=positive, color=NEGATIVE_COLOUR,
                        label="Negative shares")
            else:
                ax.barh(y, value, height, color=stage.colour)
            ax.errorbar(value, y, xerr=[[value - low[stage.key]], [high[stage.key] - value]],
                        fmt="none", ecolor="#222222", elinewidth=1.2, capsize=5, zorder=3)
            share = f"{value / first:.0%} of stimulated" if first > 0 and row else ""
            if value > 0.3 * first:  # room inside the bar for the numbers
                colour = _text_colour(stage.colour)
                ax.text(value / 2, y + (0.1 if share else 0.0), _thousands(value), ha="center",
                        va="center", fontsize=13, fontweight="bold", color=colour)
                ax.text(value / 2, y - 0.16, share, ha="center", va="center", fontsize=11,
                        color=colour)
            else:  # beside the bar, clear of its whisker, over the pale part
                ax.text(max(value, high[stage.key]) + pad, y,
                        _thousands(value) + (f" ({share})" if share else ""), ha="left",
                        va="center", fontsize=12, fontweight="bold", color="#222222", zorder=4)
            if stage.loss is None:
                continue
            previous = median[_STAGES[row - 1].key]
            lost = max(previous - value, 0.0)
            ax.barh(y, lost, height, left=value, color=stage.loss_colour, alpha=_LOSS_ALPHA,
                    hatch="///", edgecolor=_darker(stage.loss_colour), linewidth=0)
            ax.text(max(previous, high[stage.key]) + pad, y,
                    f"−{_thousands(lost)} {stage.loss}{_percent(lost, previous)}", ha="left",
                    va="center", fontsize=11, color="#333333")
        ax.set_yticks(range(len(_STAGES)),
                      [f"{s.name}\n{s.definition}" for s in reversed(_STAGES)])
        ax.tick_params(axis="y", length=0)
        for label in ax.get_yticklabels():
            label.set_fontsize(12)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, max(first, 1.0) * 1.5)
        ax.xaxis.set_major_formatter(lambda v, _: _thousands(v))
        ax.set_xlabel("Customer journeys, total over the run (a customer can make several)")
        ax.legend(loc="lower right", frameon=False)
        seeded = median["seeded"]
        seeds = f" Seeded customers ({_thousands(seeded)}) skip research." if seeded else ""
        ax.set_title(
            f"Totals over {weeks} weeks, {runs_phrase(timeseries).replace('band', 'whiskers')}."
            f"{seeds}\nStimulated: entries into research by ads, talk or shares (win-backs "
            "included). Researched: decisions at FMOT.\nBought: FMOT purchases. Shared: buyers "
            "× the run's shares per experience (repeat purchases included).",
            loc="left", fontsize=11, color="#444444",
        )
        if first > 0:
            headline = (f"Moments of truth: of {_thousands(first)} journeys into research, "
                        f"{median['bought'] / first:.0%} bought, ~{median['shared'] / first:.0%}"
                        " shared")
        else:
            headline = "Moments of truth: nobody entered research"
        fig.suptitle(headline, x=0.01, ha="left")
        return _save(fig, path)


# --- positive and negative shares ---------------------------------------------------------------

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
                     window: int = RATIO_WINDOW_WEEKS) -> Path:
    """Positive over negative shares over time, against the 3:1 field benchmark.

    Top: the ratio over a trailing `window` weeks (median and 5-95% band over replicates, on a
    log scale so that 1:2 and 2:1 lie equally far from parity). Bottom: the shares behind it,
    positive and negative, per week on average over the same window.
    """
    table = trailing_shares(timeseries, window)
    totals = timeseries.groupby("replicate")[["umot_positive", "umot_negative"]].sum()
    overall = (totals["umot_positive"] / totals["umot_negative"].where(
        totals["umot_negative"] > 0)).median()
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
        _week_axis(bottom, timeseries)
        verdict = (f"{overall:.1f} positive shares per negative one over the run"
                   if np.isfinite(overall) else "no negative share in the run")
        fig.suptitle(f"Word of mouth: {verdict} (field benchmark 3)", x=0.01, ha="left")
        return _save(fig, path)


# --- money --------------------------------------------------------------------------------------

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


def _money_axis(ax: Axes, label: str) -> None:
    ax.set_ylabel(label)
    ax.yaxis.set_major_formatter(lambda v, _: money(v))
    ax.axhline(0.0, color="#444444", lw=1.2, zorder=1.5)


def plot_cumulative_profit(timeseries: pd.DataFrame, path: str | Path) -> Path:
    """Revenue, cost and profit to date, week by week (median and 5-95% band over replicates);
    the title gives the final profit and when the run paid back."""
    table = cumulative_money(timeseries)
    with figure() as fig:
        ax = fig.subplots()
        for column, colour, label, lw in (("revenue", REVENUE_COLOUR, "Revenue to date", 2.0),
                                          ("cost", COST_COLOUR, "Cost to date", 2.0),
                                          ("profit", PROFIT_COLOUR, "Profit to date", 2.8)):
            draw_band(ax, band_by_week(table, column), colour, label, lw=lw)
        profit = band_by_week(table, "profit")["median"]
        _money_axis(ax, "Money to date")
        _week_axis(ax, timeseries)
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
                     f"{timeseries['week'].nunique()} weeks (median), {when}", x=0.01, ha="left")
        return _save(fig, path)


def plot_profit_by_scenario(timeseries: Mapping[str, pd.DataFrame], path: str | Path,
                            colours: Sequence[str]) -> Path:
    """Profit to date by week for each scenario (name -> timeseries, the reference first):
    median and 5-95% band over replicates, in `colours` by order."""
    names = list(timeseries)
    first = timeseries[names[0]]
    with figure() as fig:
        ax = fig.subplots()
        for index, name in enumerate(names):
            band = band_by_week(cumulative_money(timeseries[name]), "profit")
            label = f"{name}: {money(band['median'].iloc[-1])} at the end"
            draw_band(ax, band, colours[index % len(colours)], label)
        _money_axis(ax, "Profit to date")
        _week_axis(ax, first)
        ax.legend(loc="upper left", frameon=False)
        ax.set_title(f"{runs_phrase(first).capitalize()}, same seeds in every scenario",
                     loc="left", fontsize=11, color="#444444")
        fig.suptitle("Cumulative profit by scenario, week by week", x=0.01, ha="left")
        return _save(fig, path)


# --- paired differences -------------------------------------------------------------------------

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
        return _save(fig, path)


RUN_FIGURES: tuple[tuple[str, Callable[[pd.DataFrame, Path], Path]], ...] = (
    ("states.png", plot_states),
    ("adoption_by_source.png", plot_adoption_by_source),
    ("circle_of_life.png", plot_circle_of_life),
    ("funnel.png", plot_funnel),
    ("share_ratio.png", plot_share_ratio),
    ("cumulative_profit.png", plot_cumulative_profit),
)


def _draw(timeseries: pd.DataFrame, folder: Path, index: int) -> Path:
    name, draw = RUN_FIGURES[index]
    return draw(timeseries, folder / name)


def write_run_figures(timeseries: pd.DataFrame, folder: str | Path,
                      workers: int | None = None) -> list[Path]:
    """Write a run's standard figures into `folder` (created if missing): `states.png`,
    `adoption_by_source.png`, `circle_of_life.png`, `funnel.png`, `share_ratio.png` and
    `cumulative_profit.png`. Returns their paths, in that order. Drawing is most of the time a
    run folder takes, so the figures are drawn by forked processes, one per core (`workers`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = min(workers or cores, len(RUN_FIGURES))
    draw = partial(_draw, timeseries, folder)
    if workers <= 1 or not hasattr(os, "fork"):
        return [draw(index) for index in range(len(RUN_FIGURES))]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(draw, range(len(RUN_FIGURES))))
