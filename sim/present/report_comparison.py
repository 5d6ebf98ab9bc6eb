"""The comparison folder and its report: `write_comparison` writes what `womsim compare` leaves
on disk (the tables of `Comparison.write_tables`, `figures/` and `report.html`) atomically;
`write_comparison_report` writes the page alone.

The page reads which way each KPI is better from `sim.core.kpis` and states only what the paired
interval supports (`sim.present.report_text.verdict`).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.core.kpis import CARD_KPIS, KPI, KPI_NAMES
from sim.present import figures as plots
from sim.present.figures.comparison import plot_adoption, plot_differences, plot_kpis, plot_profit
from sim.present.report import (
    economics_rows,
    embed_figures,
    kpi_row,
    provenance,
    render_page,
    run_figures,
    scenario_block,
    write_page,
)
from sim.present.report_text import (
    format_difference,
    format_interval,
    format_value,
    kpi_label,
    verdict,
)
from sim.run.results import staged_folder

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison

COMPARISON_SECTIONS = {
    "headline": "Headline",
    "differences": "Against the reference",
    "scenario": "What the scenarios are",
    "figures": "Figures",
    "economics": "Economics",
    "provenance": "Provenance",
}
"""Section id -> heading, in the order of the page."""

# The comparison's own figures in the report, by file name: how to draw one, title, caption.
COMPARISON_FIGURES: dict[str, tuple[Callable[[Comparison, Path], Path], str, str]] = {
    "differences.png": (
        plot_differences,
        "What changes against the reference",
        "Each scenario minus the reference, run by run with the same seeds: the dot is the mean "
        "difference, the bar holds 90% of the paired differences. Green: better; vermilion: "
        "worse; grey: the interval includes 0, no detectable difference."),
    "adoption.png": (
        plot_adoption,
        "Adoption over time by scenario",
        "Customers who ever bought, in percent. Lines are the median run; bands hold 90% of "
        "runs."),
    "profit.png": (
        plot_profit,
        "Cumulative profit by scenario",
        "Profit to date. Lines are the median run; bands hold 90% of runs."),
}


def _difference_rows(comparison: Comparison, name: str) -> list[dict[str, Any]]:
    """One row per KPI for scenario `name` against the reference: both means, the paired
    difference with its interval, P(better) and the verdict; the headline KPIs first."""
    first = comparison.names[0]
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    table = comparison.differences[comparison.differences["scenario"] == name].set_index("kpi")
    order = [*CARD_KPIS, *(k for k in KPI_NAMES if k not in CARD_KPIS)]
    rows = []
    for kpi in order:
        d = table.loc[kpi]
        mean, p05, p95, better = (float(d[c]) for c in ("mean", "p05", "p95", "prob_better"))
        rows.append({
            "kpi": kpi, "label": kpi_label(kpi), "headline": kpi in CARD_KPIS,
            "reference": format_value(kpi, float(means[first, kpi])),
            "value": format_value(kpi, float(means[name, kpi])),
            "difference": format_difference(kpi, mean),
            "interval": format_interval(kpi, p05, p95, difference=True),
            "prob_better": "n/a" if math.isnan(better) else f"{better:.0%}",
            "verdict": verdict(kpi, mean, p05, p95, better),
            "tone": plots.difference_tone(p05, p95, KPI[kpi].direction),
        })
    return rows


def _comparison_figures(comparison: Comparison) -> list[dict[str, str]]:
    """The comparison's own figures, drawn in a temporary folder and embedded."""
    captions = {name: (title, caption)
                for name, (_, title, caption) in COMPARISON_FIGURES.items()}
    with tempfile.TemporaryDirectory(prefix="womsim-report-") as scratch:
        paths = {name: draw(comparison, Path(scratch) / name)
                 for name, (draw, _, _) in COMPARISON_FIGURES.items()}
        return embed_figures(paths, captions)


def render_comparison_report(comparison: Comparison, command: str | None = None) -> str:
    """The comparison report as an HTML string (see `write_comparison_report`)."""
    names = comparison.names
    results = list(comparison.results.values())
    first = results[0]
    scenarios = {name: result.scenario for name, result in comparison.results.items()}
    context = {
        "kind": "comparison",
        "title": f"{' vs '.join(names)}: the strategist's report",
        "subtitle": f"{len(names)} scenarios run with the same {comparison.replications} "
                    f"replicate seeds; each is compared with {names[0]}, run by run.",
        "meta": f"{first.n:,} customers · {first.scenario.weeks} weeks · "
                f"{comparison.replications} runs per scenario",
        "sections": COMPARISON_SECTIONS,
        "reference": names[0],
        "runs": comparison.replications,
        "columns": names,
        "headline": [kpi_row(kpi, results) for kpi in CARD_KPIS],
        "against": [{"name": name, "rows": _difference_rows(comparison, name)}
                    for name in names[1:]],
        "scenarios": [scenario_block(name, result, None if index == 0 else first.scenario)
                      for index, (name, result) in enumerate(comparison.results.items())],
        "figures": _comparison_figures(comparison),
        "details": [{"name": name, "figures": run_figures(result, None)}
                    for name, result in comparison.results.items()],
        "economics": economics_rows(results),
        "provenance": provenance(command, scenarios, comparison.seeds, comparison.seed),
    }
    return render_page(context)


def write_comparison_report(comparison: Comparison, folder: str | os.PathLike,
                            command: str | None = None) -> Path:
    """Write `report.html` for a paired comparison into `folder` (created if missing, the file
    replaced atomically) and return its path.

    The page holds the headline KPIs of every scenario with their 5-95% intervals; each
    scenario against the first: both means, the paired difference with its 90% interval, the
    probability it is better and a one-line `verdict` per KPI; what each scenario is, what it
    changes from the file it extends and from the first; the comparison's figures and each
    scenario's run figures; the economics side by side; and the provenance (package version,
    seeds, `command`).
    """
    return write_page(folder, render_comparison_report(comparison, command))


def write_comparison(comparison: Comparison, folder: str | os.PathLike,
                     command: str | None = None) -> Path:
    """Write the comparison folder atomically (it appears whole or not at all, replacing an
    existing one only once complete): the tables of `Comparison.write_tables` (one run folder
    per scenario, `comparison.json`, `differences.csv`), `figures/` (kpis.png, adoption.png)
    and `report.html`. `command` is the command that reproduces it, recorded as it is."""
    folder = Path(folder)
    with staged_folder(folder, command) as staging:
        comparison.write_tables(staging, command)
        plot_kpis(comparison, staging / "figures" / "kpis.png")
        plot_adoption(comparison, staging / "figures" / "adoption.png")
        write_comparison_report(comparison, staging, command)
    return folder
