"""What a profit verdict rests on: the money assumptions of a scenario (docs/decisions.md,
Economics) and whether a comparison's profit verdict survives halving or doubling each of them.

The margin, the quality cost, the seeding cost and the referral reward are accounting only: no
customer's behaviour depends on them, and each enters profit linearly through one column of the
weekly history. So profit under another value is exact arithmetic on the runs already made, and
no simulation is repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.compare import Comparison, difference_stats
from sim.core.kpis import KPI


@dataclass(frozen=True)
class MoneyAssumption:
    """A money input: `key` (the scenario key, or where it is set), `column` (the weekly history
    column its money lands in), `sign` (+1 revenue, -1 cost) and `label` for people."""

    key: str
    column: str
    sign: int
    label: str


MONEY_ASSUMPTIONS = (
    MoneyAssumption("economics.margin", "revenue", +1, "margin per purchase"),
    MoneyAssumption("economics.quality_cost", "cost_quality", -1, "cost of quality"),
    MoneyAssumption("economics.seed_cost", "cost_seed", -1, "cost per seeded customer"),
    MoneyAssumption("events[*].reward", "cost_referral", -1, "referral reward"),
)
FACTORS = (0.5, 2.0)  # the one-line sensitivity: half and double each assumption


def assumption_values(scenario: Any) -> dict[str, str]:
    """The values a scenario gives each money assumption, as people read them."""
    rewards = sorted({event.reward for event in scenario.events
                      if event.kind == "referral" and event.reward})
    return {
        "economics.margin": f"{scenario.economics.margin:,.2f}",
        "economics.quality_cost": (f"{scenario.economics.quality_cost:,.2f} per unit of quality "
                                   f"above {scenario.economics.quality_cost_base:g}"),
        "economics.seed_cost": f"{scenario.economics.seed_cost:,.2f}",
        "events[*].reward": ", ".join(f"{r:,.2f}" for r in rewards) or "none",
    }


def _totals(result: Any) -> pd.DataFrame:
    """Per replicate: profit and the total of each assumption's column."""
    columns = [assumption.column for assumption in MONEY_ASSUMPTIONS]
    totals = result.timeseries.groupby("replicate")[columns].sum()
    return totals.assign(profit=result.runs.set_index("replicate")["profit"])


def _verdict(stats: dict) -> str:
    """'better', 'worse' or 'unresolved' for a profit difference (higher profit is better)."""
    if stats["outcome"] in ("separated", "exact"):
        return "better" if stats["mean"] > 0 else "worse"
    return "unresolved"


def profit_sensitivity(comparison: Comparison, scenario: str, reference: str) -> pd.DataFrame:
    """For the pair `scenario vs reference`: the profit difference (mean and 95% interval) and
    its verdict as run, then with each money assumption halved and doubled in both scenarios,
    and whether the verdict is still the same."""
    other, base = (_totals(comparison.results[name]) for name in (scenario, reference))
    rows = []
    settings = [(None, 1.0)] + [(a, f) for a in MONEY_ASSUMPTIONS for f in FACTORS]
    for assumption, factor in settings:
        difference = (other["profit"] - base["profit"]).to_numpy(dtype=np.float64)
        if assumption is not None:
            extra = (other[assumption.column] - base[assumption.column]).to_numpy()
            difference = difference + assumption.sign * (factor - 1.0) * extra
        stats = difference_stats(difference, int(KPI["profit"].direction))
        rows.append({"assumption": assumption.key if assumption else "as run",
                     "factor": factor, "mean": stats["mean"], "ci_low": stats["ci_low"],
                     "ci_high": stats["ci_high"], "verdict": _verdict(stats)})
    table = pd.DataFrame(rows)
    return table.assign(same=table["verdict"] == table["verdict"].iloc[0])


def sensitivity_line(table: pd.DataFrame) -> str:
    """One line: does the profit verdict hold at half and double each money assumption?"""
    verdict = table["verdict"].iloc[0]
    flips = table[~table["same"]]
    if flips.empty:
        return (f"The profit verdict ({verdict}) holds at half and at double the margin, the "
                "cost of quality, the seeding cost and the referral reward.")
    changes = "; ".join(f"{'half' if row.factor < 1 else 'double'} {row.assumption}: "
                        f"{row.verdict}" for row in flips.itertuples())
    return f"The profit verdict ({verdict}) depends on the money assumptions: {changes}."
