"""The week's outcomes over a run: NPS of the week's experiences, satisfaction and the brand's
credibility, retention of returning customers, and the share rate (docs/model.md section 7)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.ticker import PercentFormatter

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

CREDIBILITY_COLOUR = "#7A5C99"
# (column, label, colour, scale) by panel: what each panel of the figure draws.
_PANELS = (
    ("Net promoter score of the week's experiences", (("nps_week", "NPS", FLOW_COLOUR, 1.0),)),
    ("Satisfaction and credibility", (
        ("satisfaction", "Satisfaction (mean of (v + 1)/2)", POSITIVE_COLOUR, 100.0),
        ("credibility", "Credibility of the promise", CREDIBILITY_COLOUR, 100.0))),
    ("Retention of returning customers", (
        ("retention_week", "Retained at return", POSITIVE_COLOUR, 100.0),)),
    ("Share rate", (("share_rate", "Experiences shared", NEGATIVE_COLOUR, 100.0),)),
)


def plot_outcomes(timeseries: pd.DataFrame, path: str | Path,
                  events: Sequence[Any] = ()) -> Path:
    """Four panels of weekly outcomes (mean and 5-95% band over replicates); weeks without
    experiences (or returns) are gaps."""
    with figure() as fig:
        axes = fig.subplots(2, 2, sharex=True).ravel()
        for ax, (title, lines) in zip(axes, _PANELS, strict=True):
            for column, label, colour, scale in lines:
                draw_band(ax, band_by_week(timeseries, column), colour, label, scale=scale)
            ax.set_title(title, loc="left")
            if lines[0][3] == 100.0:
                ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
            if len(lines) > 1:
                ax.legend(loc="lower right", frameon=False)
        axes[0].axhline(0.0, color="#444444", lw=1.0, zorder=1.5)
        for ax in axes[2:]:
            week_axis(ax, timeseries, events)
        fig.suptitle(f"How customers feel, week by week ({runs_phrase(timeseries)})", x=0.01,
                     ha="left")
        return save(fig, path)
