"""Whether an answer depends on where the horizon was cut: a market still mid-diffusion, or a
profit not yet broken even, when the run stops; and, for a comparison, how its verdicts read when
the same scenarios run longer with the same seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.compare import Comparison, compare

TAIL_FRACTION = 0.05  # a mean peak in the last 5% of the weeks has not been passed
LONGER = 1.5  # how much longer the check runs
CHECKED_KPIS = ("adopted_fraction", "profit", "roi", "nps")


def horizon_warnings(name: str, result: Any) -> list[str]:
    """What about `result` (one scenario's replications) depends on its horizon: adoption that
    has not peaked (the mean peak week in the last TAIL_FRACTION of the weeks) and a mean
    profit still below zero at the end: means, as the KPI tables report."""
    weeks = result.scenario.weeks
    warnings = []
    peak = float(result.runs["peak_adoption_week"].mean())
    if np.isfinite(peak) and peak >= weeks * (1.0 - TAIL_FRACTION) - 1:
        warnings.append(f"{name}: adoption has not peaked by week {weeks} (mean peak week "
                        f"{peak:.0f}); answers about the S-curve may change with a longer "
                        f"horizon")
    profit = float(result.runs["profit"].mean())
    if profit < 0:
        warnings.append(f"{name}: profit has not broken even by week {weeks} (mean "
                        f"{profit:,.0f})")
    return warnings


def comparison_warnings(comparison: Comparison) -> list[str]:
    """`horizon_warnings` of every scenario of a comparison."""
    return [warning for name, result in comparison.results.items()
            for warning in horizon_warnings(name, result)]


def longer_horizon(comparison: Comparison, workers: int | None = None,
                   factor: float = LONGER) -> tuple[int, pd.DataFrame]:
    """The same comparison run `factor` times longer with the same seeds. Returns the longer
    horizon and, per pair and KPI of CHECKED_KPIS, the difference (mean and 95% interval) at the
    horizon and at the longer one (`_longer` columns), and whether the verdict changed: the side
    of zero the interval lies on (or neither)."""
    scenarios = [result.scenario for result in comparison.results.values()]
    weeks = int(round(max(s.weeks for s in scenarios) * factor))
    longer = compare(scenarios, replications=comparison.replications, seed=comparison.seed,
                     workers=workers, reference=comparison.reference, weeks=weeks,
                     all_pairs=comparison.reference is None and len(scenarios) > 2)
    joined = _sides(comparison.differences).join(_sides(longer.differences),
                                                 suffixes=("", "_longer"))
    return weeks, joined.assign(verdict_changed=joined["side"] != joined["side_longer"])


def _sides(differences: pd.DataFrame) -> pd.DataFrame:
    """CHECKED_KPIS' rows of a differences table, by pair and KPI, with `side`: +1 when the 95%
    interval lies above zero, -1 below, 0 when it holds zero or is undefined."""
    chosen = differences[differences["kpi"].isin(CHECKED_KPIS)].set_index(
        ["scenario", "reference", "kpi"])[["mean", "ci_low", "ci_high"]]
    side = np.where(chosen["ci_low"] > 0, 1, np.where(chosen["ci_high"] < 0, -1, 0))
    return chosen.assign(side=side)
