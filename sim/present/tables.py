"""Plain-text tables for the terminal: KPI values as a person reads them and one table printer.

`text_table` lays out any rows in aligned columns; `kpi_table` (`womsim run`), `comparison_table`
(`womsim compare`, in the report's words) and `kpi_list` (`womsim kpis`) are built on it, reading
the KPI table of `sim.core.kpis` for units and order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sim.core.kpis import HEADLINE_KPIS, KPI, KPIS

if TYPE_CHECKING:  # only types here: `womsim run` need not import the analysis layer
    import pandas as pd

    from sim.analysis.compare import Comparison


def format_value(name: str, value: float) -> str:
    """A KPI value as a person reads it: fractions in percent, thousands separated; NaN as n/a."""
    if math.isnan(value):
        return "n/a"
    if KPI[name].unit == "percent":
        return f"{100 * value:.1f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def text_table(rows: Sequence[Sequence[str]], align: str | None = None, rule: bool = True
               ) -> str:
    """`rows` in columns as wide as their widest cell, two spaces apart, without trailing spaces.

    `align` has one character per column, "<" (left) or ">" (right); by default the first column
    is left-aligned and the others right-aligned (labels, then numbers). `rule` underlines the
    first row (the header) with dashes as long as it is."""
    count = len(rows[0])
    align = align or "<" + ">" * (count - 1)
    widths = [max(len(row[i]) for row in rows) for i in range(count)]
    lines = ["  ".join(f"{cell:{side}{width}}" for cell, side, width in
                       zip(row, align, widths, strict=True)).rstrip() for row in rows]
    if rule:
        lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def kpi_table(summary: Mapping[str, Mapping[str, float]],
              names: Sequence[str] = HEADLINE_KPIS) -> str:
    """KPIs over replicates, one row each: mean and 5-95% interval (`womsim run`)."""
    rows = [("KPI", "mean", "5%", "95%")]
    for name in names:
        stats = summary[name]
        rows.append((name, *(format_value(name, stats[k]) for k in ("mean", "p05", "p95"))))
    return text_table(rows)


def kpi_list() -> str:
    """Every KPI with what it is, one line each (`womsim kpis`)."""
    return text_table([(kpi.name, kpi.meaning) for kpi in KPIS], align="<<", rule=False)


def longer_horizon_lines(weeks: int, table: pd.DataFrame) -> list[str]:
    """The longer-horizon check (`sim.analysis.horizon.longer_horizon`) as one line per pair:
    each checked KPI's difference and 95% interval at the longer horizon, formatted as the
    comparison table formats them, and the difference at the horizon, with the verdicts that
    change named."""
    from sim.present.report_text import format_difference, format_interval  # draws on figures

    lines = []
    for (scenario, reference), rows in table.groupby(level=["scenario", "reference"], sort=False):
        parts = []
        for (_, _, kpi), row in rows.iterrows():
            change = ", the verdict changes" if row["verdict_changed"] else ""
            interval = format_interval(kpi, row["ci_low_longer"], row["ci_high_longer"],
                                       difference=True)
            parts.append(f"{kpi} {format_difference(kpi, row['mean_longer'])} (95% interval "
                         f"{interval}; was {format_difference(kpi, row['mean'])}{change})")
        lines.append(f"{scenario} vs {reference} at {weeks} weeks (same seeds): "
                     + "; ".join(parts))
    return lines


def comparison_table(comparison: Comparison, kpis: Sequence[str] = HEADLINE_KPIS) -> str:
    """A paired comparison as plain text: what the numbers are, then one table per
    pair "B vs A": both means, the mean paired difference with the 95% interval of the mean, the
    spread of runs (5-95% of the paired differences), P(better) and, where the interval includes
    0, about how many runs would separate the two (cells as in the report,
    `sim.present.report_text.difference_cells`)."""
    # imported here: `womsim run` prints with this module and need not load the report's words
    from sim.present.report_text import pair_cells

    replications = comparison.replications
    lines = [f"Paired comparison over {replications} replicates with the same seeds "
             f"(seed {comparison.seed}). For B vs A, difference = B - A run by run: its mean "
             f"and the 95% interval of the mean (Student t); spread of runs = 5% to 95% "
             f"percentiles of the {replications} paired differences (where single runs fall, "
             f"not an interval of the mean); P(better) = share of replicates in which B is "
             f"better (tie: equal in every run)."]
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    for name, reference in comparison.pairs:
        customers = (comparison.results[name].n, comparison.results[reference].n)
        rows = [("KPI", reference, name, "difference", "95% interval of mean",
                 "spread of runs", "P(better)", "")]
        table = comparison.pair(name, reference)
        for kpi in kpis:
            cells = pair_cells(kpi, table.loc[kpi], (float(means[name, kpi]),
                                                    float(means[reference, kpi])), customers)
            rows.append((kpi, *(cells[c] for c in ("reference", "value", "difference",
                                                   "interval", "spread", "chance", "note"))))
        lines += ["", f"{name} vs {reference}", text_table(rows, align="<>>>>>><")]
    return "\n".join(lines)
