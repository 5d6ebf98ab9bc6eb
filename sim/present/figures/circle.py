"""The circle of life: the stages as a wheel, with arrows as wide as the customers that moved
between them over a run."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import ArrowStyle, FancyArrowPatch, FancyBboxPatch

from sim.core.stages import (
    SOURCE_COLOURS,
    STATE_COLOURS,
    STATE_LABELS,
    Source,
    State,
)
from sim.present.figures.style import (
    FLOW_COLOUR,
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    ZERO_FLOW_COLOUR,
    darker,
    figure,
    percent,
    run_books,
    save,
    text_colour,
    thousands,
)

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
    """The flows between the stages over the run and the customers in each state at the end: the
    run's books (`run_books`), mean over replicates, as summary.json reports them, and
    `stimulus`, the journeys into research from UNAWARE (research entries less win-backs)."""
    books = run_books(timeseries).mean()
    flows = {name: float(value) for name, value in books.items()}
    flows["stimulus"] = flows["research_entries"] - flows["won_back"]
    return flows


def _draw_node(ax: Axes, state: State, count: float) -> FancyBboxPatch:
    """A rounded box for `state` with its name and its count at the end of the run."""
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
    lines.append((f"{thousands(count)} at end", 11, "normal"))
    ink = text_colour(colour)
    for row, (text, size, weight) in enumerate(lines):
        ax.text(
            x,
            y + 0.17 * ((len(lines) - 1) / 2 - row),
            text,
            ha="center",
            va="center",
            fontsize=size,
            fontweight=weight,
            color=ink,
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
        line = {"facecolor": flow.colour, "edgecolor": darker(flow.colour), "linewidth": 0.8}
    else:
        style = ArrowStyle("-|>", head_width=3, head_length=5)
        line = {"color": ZERO_FLOW_COLOUR, "linestyle": (0, (2, 2)), "linewidth": 1.2}
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


def _circle_arrows(flows: dict[str, float]) -> list[_Flow]:
    """The arrows of the circle of life, labelled with the `circle_flows` totals they carry:
    FMOT outcomes as a share of decisions, repurchase and churn as a share of loyal customers'
    returns, and the negative shares with how many positive ones there were per negative one."""
    decisions = flows["fmot_decisions"]
    returns = flows["repurchases"] + flows["churns"]

    def number(key: str, whole: float | None = None) -> str:
        share = percent(flows[key], whole) if whole is not None else ""
        return f"{thousands(flows[key])}{share}"

    u, z, s, lo = State.UNAWARE, State.ZMOT, State.SMOT, State.LOYAL
    rejected, churned = State.REJECTED, State.CHURNED
    return [
        _Flow(u, z, "stimulus", FLOW_COLOUR, f"Stimulus\n{number('stimulus')}",
              (_WHEEL_X, _WHEEL_Y)),
        _Flow(z, s, "fmot_purchases", FLOW_COLOUR,
              f"FMOT: buy\n{number('fmot_purchases', decisions)}", (_WHEEL_X, -_WHEEL_Y)),
        _Flow(s, lo, "experiences", FLOW_COLOUR, f"Experience\n{number('experiences')}",
              (-_WHEEL_X, -_WHEEL_Y)),
        _Flow(lo, s, "repurchases", FLOW_COLOUR,
              f"Repurchase\n{number('repurchases', returns)}", (-0.45, -0.5),
              place=(-0.25, -0.05)),
        _Flow(u, s, "adopters_seed", SOURCE_COLOURS[Source.SEED],
              f"Seeded\n{number('adopters_seed')}", (0.8, 0.0), at=0.3),
        _Flow(z, rejected, "fmot_rejections", STATE_COLOURS[rejected],
              f"FMOT: reject\n{number('fmot_rejections', decisions)}", (2.15, 0.45)),
        _Flow(rejected, z, "won_back", STATE_COLOURS[z], f"Won back\n{number('won_back')}",
              (2.15, -0.45)),
        _Flow(lo, churned, "churns", STATE_COLOURS[churned],
              f"Churn\n{number('churns', returns)}", None),
        _Flow(lo, u, "shares_positive", POSITIVE_COLOUR,
              f"UMOT: positive shares\n{number('shares_positive')}", (-_WHEEL_X, _WHEEL_Y),
              side=-1),
        _Flow(lo, u, "shares_negative", NEGATIVE_COLOUR,
              f"UMOT: negative shares\n{number('shares_negative')}",
              (-_WHEEL_X - 0.45, _WHEEL_Y + 0.55)),
    ]


def plot_circle_of_life(timeseries: pd.DataFrame, path: str | Path) -> Path:
    """The circle of life as a wheel of stages with arrows as wide as the flows between them.

    Arrows carry the total customers moved over the run (mean over replicates, `circle_flows`):
    stimulus, FMOT buy and reject, win-back, experience, repurchase, churn and seeding; the UMOT
    shares, positive and negative, are the arc that closes the circle back to others' stimulus.
    Boxes show each state's mean count at the end of the run.
    """
    flows = circle_flows(timeseries)
    arrows = _circle_arrows(flows)
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
        boxes = {state: _draw_node(ax, state, flows[f"{state.column}_at_end"]) for state in State}
        for arrow in arrows:
            value = flows[arrow.key]
            width = max(_MIN_ARROW_PT, _MAX_ARROW_PT * value / largest) if value > 0 else 1.0
            _draw_flow(ax, boxes, arrow, value, width)
        ax.set_title(
            f"Customers moved over {weeks} weeks, mean of {runs} run{'s' if runs != 1 else ''};"
            " arrow width in proportion. Boxes: customers there at the end.",
            loc="left", fontsize=12, color="#444444",
        )
        ax.text(
            0.0, 0.0,
            f"Shares (UMOT) led to {thousands(flows['share_entries'])} journeys into research "
            "(a share reaches several people; win-backs included). FMOT % of decisions;\n"
            "repurchase and churn % of loyal customers' returns. Seeded customers skip research.",
            transform=ax.transAxes, ha="left", va="bottom", fontsize=11, color="#444444",
        )
        fig.suptitle(
            "The circle of life: where customers go and where they are lost", x=0.01, ha="left"
        )
        return save(fig, path)
