"""The standard figures of one run, written together into a run folder's `figures/`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sim.present.figures.circle import plot_circle_of_life
from sim.present.figures.funnel import plot_funnel
from sim.present.figures.money import plot_cumulative_profit
from sim.present.figures.outcomes import plot_outcomes
from sim.present.figures.sharing import plot_share_ratio
from sim.present.figures.states import plot_adoption_by_source, plot_states
from sim.run.pool import available_cores, worker_pool

RUN_FIGURES: tuple[tuple[str, Callable[[pd.DataFrame, Path], Path]], ...] = (
    ("states.png", plot_states),
    ("adoption_by_source.png", plot_adoption_by_source),
    ("circle_of_life.png", plot_circle_of_life),
    ("funnel.png", plot_funnel),
    ("share_ratio.png", plot_share_ratio),
    ("cumulative_profit.png", plot_cumulative_profit),
    ("outcomes.png", plot_outcomes),
)
# The figures drawn over weeks, on which the scenario's events are marked.
_TIMED = frozenset({"states.png", "adoption_by_source.png", "share_ratio.png",
                    "cumulative_profit.png", "outcomes.png"})


def _draw(timeseries: pd.DataFrame, folder: Path, events: Sequence[Any], index: int) -> Path:
    name, draw = RUN_FIGURES[index]
    if name in _TIMED:
        return draw(timeseries, folder / name, events=events)
    return draw(timeseries, folder / name)


def write_run_figures(timeseries: pd.DataFrame, folder: str | Path,
                      workers: int | None = None, events: Sequence[Any] = ()) -> list[Path]:
    """Write a run's standard figures into `folder` (created if missing): `states.png`,
    `adoption_by_source.png`, `circle_of_life.png`, `funnel.png`, `share_ratio.png` and
    `cumulative_profit.png` and `outcomes.png`, with the scenario's `events` marked on those
    drawn over weeks. Returns their paths, in that order. Drawing is most of the time a
    run folder takes, so the figures are drawn by forked processes, one per core (`workers`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    workers = min(workers or available_cores(), len(RUN_FIGURES))
    draw = partial(_draw, timeseries, folder, tuple(events))
    if workers <= 1 or not hasattr(os, "fork"):
        return [draw(index) for index in range(len(RUN_FIGURES))]
    with worker_pool(workers) as pool:
        return list(pool.map(draw, range(len(RUN_FIGURES))))
