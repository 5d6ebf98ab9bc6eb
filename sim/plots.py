"""Figures of one run's `timeseries` table (MODEL.md section 7), as slide-ready PNG files.

Every figure takes the colours and names of states and sources from `sim.stages`, so a state looks
the same everywhere. Uncertainty over replicates is always drawn the same way: the median line and
the 5-95% band of `band_by_week`, the one home of that computation.

Figures are built on `matplotlib.figure.Figure` objects, never through `pyplot`, and written with
the Agg renderer: nothing here touches the interactive backend or global figure state, so the module
is safe in worker processes, notebooks and servers alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import ArrowStyle, FancyArrowPatch, FancyBboxPatch
from matplotlib.patheffects import Normal, Stroke
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.stages import (
    ACQUISITION_SOURCES,
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
_FLOW_COLOUR = "#3B4B5C"  # the circulation that keeps customers on the circle
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
    linear interpolation. Returns a frame indexed by week with columns `median`, `low`, `high`.
    """
    wide = timeseries.pivot(index="week", columns="replicate", values=column)
    values = wide.to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "median": np.median(values, axis=1),
            "low": np.percentile(values, low, axis=1),
            "high": np.percentile(values, high, axis=1),
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
    columns = [f"adopted_{source.column}" for source in ACQUISITION_SOURCES]
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
            u, z, "stimulus", _FLOW_COLOUR, f"Stimulus\n{number('stimulus')}", (_WHEEL_X, _WHEEL_Y)
        ),
        _Flow(
            z,
            s,
            "fmot_buy",
            _FLOW_COLOUR,
            f"FMOT: buy\n{number('fmot_buy', decisions)}",
            (_WHEEL_X, -_WHEEL_Y),
        ),
        _Flow(
            s,
            lo,
            "experiences",
            _FLOW_COLOUR,
            f"Experience\n{number('experiences')}",
            (-_WHEEL_X, -_WHEEL_Y),
        ),
        _Flow(
            lo,
            s,
            "repurchase",
            _FLOW_COLOUR,
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


def write_run_figures(timeseries: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write a run's standard figures into `folder` (created if missing): `states.png`,
    `adoption_by_source.png` and `circle_of_life.png`. Returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        plot_states(timeseries, folder / "states.png"),
        plot_adoption_by_source(timeseries, folder / "adoption_by_source.png"),
        plot_circle_of_life(timeseries, folder / "circle_of_life.png"),
    ]
