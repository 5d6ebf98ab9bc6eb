"""Plain-text tables for the terminal: KPI values as a person reads them and one table printer.

`text_table` lays out any rows in aligned columns; `kpi_table` (`womsim run`), `comparison_table`
(`womsim compare`) and `kpi_list` (`womsim kpis`) are built on it, reading the KPI table of
`sim.core.kpis` for units and order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sim.core.kpis import HEADLINE_KPIS, KPI, KPIS

if TYPE_CHECKING:  # only a type here: `womsim run` need not import the analysis layer
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


def format_difference(name: str, value: float) -> str:
    """A difference in a KPI, signed: percentage points for fractions; NaN as n/a."""
    if math.isnan(value):
        return "n/a"
    if KPI[name].unit == "percent":
        return f"{100 * value:+.1f} pp"
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.2f}"


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


def comparison_table(comparison: Comparison, kpis: Sequence[str] = HEADLINE_KPIS) -> str:
    """A paired comparison as plain text: what the numbers are, then one table per scenario
    against the first (both means, the paired difference with its 5-95% percentiles, and the
    share of replicates in which the scenario is better)."""
    first = comparison.names[0]
    replications = comparison.replications
    lines = [f"Paired comparison over {replications} replicates with the same seeds "
             f"(seed {comparison.seed}). Difference = scenario - {first}: mean, and 5% / 95% = "
             f"percentiles of the {replications} paired differences; P(better) = "
             f"share of replicates in which the scenario is better."]
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    for name in comparison.names[1:]:
        rows = [("KPI", first, name, "difference", "5%", "95%", "P(better)")]
        differences = comparison.differences
        by_kpi = differences[differences["scenario"] == name].set_index("kpi")
        for kpi in kpis:
            d = by_kpi.loc[kpi]
            rows.append((kpi, format_value(kpi, means[first, kpi]),
                         format_value(kpi, means[name, kpi]),
                         *(format_difference(kpi, d[c]) for c in ("mean", "p05", "p95")),
                         "n/a" if math.isnan(d["prob_better"]) else
                         f"{100 * d['prob_better']:.0f}%"))
        lines += ["", f"{name} vs {first}", text_table(rows)]
    return "\n".join(lines)
