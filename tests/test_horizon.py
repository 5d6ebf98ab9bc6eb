"""Warnings when the horizon decides the answer, and the same comparison run longer."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import make_scenario

from sim.analysis.compare import compare
from sim.analysis.horizon import (
    CHECKED_KPIS,
    horizon_warnings,
    longer_horizon,
)
from sim.present.report_text import format_difference
from sim.present.tables import longer_horizon_lines


def result(peaks: list[float], profits: list[float], weeks: int = 100) -> SimpleNamespace:
    return SimpleNamespace(scenario=SimpleNamespace(weeks=weeks),
                           runs=pd.DataFrame({"peak_adoption_week": peaks, "profit": profits}))


def test_a_late_peak_and_a_loss_are_flagged_and_an_early_peak_and_a_profit_are_not():
    flagged = horizon_warnings("late", result([97.0, 99.0, 95.0], [-10.0, -5.0, 3.0]))
    assert len(flagged) == 2
    assert "has not peaked by week 100 (mean peak week 97)" in flagged[0]
    assert "has not broken even by week 100 (mean -4)" in flagged[1]
    assert horizon_warnings("early", result([40.0, 50.0, 60.0], [1.0, 2.0, -1.0])) == []


@pytest.fixture(scope="module")
def small():
    settings = {"network.n": 1000}
    base = make_scenario(settings, weeks=30, name="base")
    seeded = make_scenario(settings, events=[{"kind": "seed", "week": 0, "count": 50}],
                           weeks=30, name="seeded")
    return compare([base, seeded], replications=3, workers=1), base, seeded


def test_the_longer_run_is_the_same_comparison_with_45_weeks(small):
    comparison, base, seeded = small
    weeks, table = longer_horizon(comparison, workers=1)
    assert weeks == 45
    assert set(table.index.get_level_values("kpi")) == set(CHECKED_KPIS)
    now = comparison.differences.set_index("kpi")
    later = compare([base, seeded], replications=3, weeks=45, workers=1).differences.set_index(
        "kpi")
    for kpi in CHECKED_KPIS:
        row = table.loc[("seeded", "base", kpi)]
        assert row["mean"] == pytest.approx(now.loc[kpi, "mean"])
        assert row["mean_longer"] == pytest.approx(later.loc[kpi, "mean"])
        side = int(later.loc[kpi, "ci_low"] > 0) - int(later.loc[kpi, "ci_high"] < 0)
        assert row["side_longer"] == side
    line = longer_horizon_lines(weeks, table)[0]
    assert line.startswith("seeded vs base at 45 weeks (same seeds): adopted_fraction")
    # in the comparison table's units: points for a fraction, and the interval named
    adoption = table.loc[("seeded", "base", "adopted_fraction")]
    assert (f"adopted_fraction {format_difference('adopted_fraction', adoption['mean_longer'])} "
            "(95% interval ") in line
    assert "points" in line
