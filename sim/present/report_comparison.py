"""The comparison folder and its report: `write_comparison` writes what `womsim compare` leaves
on disk (the tables of `Comparison.write_tables`, each scenario's run folder with its figures and
report, the comparison's `figures/` and `report.html`) atomically; `write_comparison_report`
writes the page alone.

The page reads which way each KPI is better from `sim.core.kpis` and states only what the 95%
interval of the mean paired difference supports (`sim.present.report_text.verdict`), in the
words of the terminal table (`difference_cells`); it embeds only the comparison's own figures
and links each scenario's, so it stays small.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sim.analysis.economics import (
    MONEY_ASSUMPTIONS,
    assumption_values,
    profit_sensitivity,
    sensitivity_line,
)
from sim.core.kpis import CARD_KPIS, KPI, KPI_NAMES
from sim.present import figures as plots
from sim.present.figures.comparison import plot_adoption, plot_differences, plot_profit
from sim.present.report import (
    REPORT_NAME,
    RUN_FIGURES,
    economics_rows,
    embed_figures,
    kpi_row,
    provenance,
    render_page,
    scenario_block,
    write_page,
    write_run_report,
)
from sim.present.report_text import kpi_label, pair_cells, verdict
from sim.run.folders import staged_folder

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison

COMPARISON_SECTIONS = {
    "headline": "Headline",
    "differences": "Paired differences",
    "scenario": "What the scenarios are",
    "figures": "Figures",
    "economics": "Economics",
    "provenance": "Provenance",
}
"""Section id -> heading, in the order of the page."""

# The comparison's own figures, by file name: how to draw one, title, caption.
COMPARISON_FIGURES: dict[str, tuple[Callable[[Comparison, Path], Path], str, str]] = {
    "differences.png": (
        plot_differences,
        "What changes",
        "For each pair B vs A, B minus A run by run with the same seeds: the dot is the mean "
        "difference, the bar its 95% interval (Student t over the paired runs). Green: better; "
        "vermilion: worse; grey: the interval includes 0, no detectable difference."),
    "profit.png": (
        plot_profit,
        "Cumulative profit by scenario, and when each breaks even",
        "Profit to date. Lines are the mean of the runs; bands hold 90% of runs; a dot on the "
        "zero line marks the week from which a scenario's mean stays in profit."),
    "adoption.png": (
        plot_adoption,
        "Adoption over time by scenario",
        "Customers who ever bought, in percent. Lines are the mean of the runs; bands hold 90% of "
        "runs."),
}


def _difference_rows(comparison: Comparison, name: str, reference: str) -> list[dict[str, Any]]:
    """One row per KPI for `name` vs `reference`: the cells of `pair_cells` (as the terminal
    table shows them), and the verdict and its tone, both read from the 95% interval of the
    mean; the headline KPIs first."""
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    customers = (comparison.results[name].n, comparison.results[reference].n)
    table = comparison.pair(name, reference)
    order = [*CARD_KPIS, *(k for k in KPI_NAMES if k not in CARD_KPIS)]
    rows = []
    for kpi in order:
        d = table.loc[kpi]
        cells = pair_cells(kpi, d, (float(means[name, kpi]), float(means[reference, kpi])),
                           customers)
        rows.append({
            "kpi": kpi, "label": kpi_label(kpi), "headline": kpi in CARD_KPIS,
            **{key: cells[key] for key in ("reference", "value", "difference", "spread")},
            "interval": cells["interval"] or cells["note"], "prob_better": cells["chance"],
            "verdict": verdict(kpi, *(float(d[c]) for c in ("mean", "ci_low", "ci_high",
                                                            "prob_better", "runs_needed"))),
            "tone": plots.difference_tone(d["ci_low"], d["ci_high"], KPI[kpi].direction),
        })
    return rows


def _scenario_links(comparison: Comparison) -> list[dict[str, Any]]:
    """Per scenario, relative links to the run report and figures `write_comparison` writes in
    the scenario's folder beside the comparison's report."""
    return [{"name": name, "report": f"{quote(name)}/{REPORT_NAME}",
             "figures": [{"href": f"{quote(name)}/figures/{file}", "title": title}
                         for file, (title, _) in RUN_FIGURES.items()]}
            for name in comparison.names]


def render_comparison_report(comparison: Comparison, command: str | None = None,
                             figures: Path | None = None) -> str:
    """The comparison report as an HTML string (see `write_comparison_report`); the
    comparison's figures are read from `figures` if given, else drawn afresh."""
    names = comparison.names
    results = list(comparison.results.values())
    first = results[0]
    reference = comparison.reference or names[0]
    scenarios = {name: result.scenario for name, result in comparison.results.items()}
    against = (f"each is compared with {comparison.reference}, run by run"
               if comparison.reference else "every pair is compared, run by run")
    context = {
        "kind": "comparison",
        "title": f"{' vs '.join(names)}: the strategist's report",
        "subtitle": f"{len(names)} scenarios run with the same {comparison.replications} "
                    f"replicate seeds; {against}.",
        "meta": f"{first.n:,} customers · {first.scenario.weeks} weeks · "
                f"{comparison.replications} runs per scenario",
        "sections": COMPARISON_SECTIONS,
        "reference": reference,
        "runs": comparison.replications,
        "columns": names,
        "warnings": comparison.warnings,
        "headline": [kpi_row(kpi, results) for kpi in CARD_KPIS],
        "against": [{"name": name, "reference": base,
                     "rows": _difference_rows(comparison, name, base)}
                    for name, base in comparison.pairs],
        "scenarios": [scenario_block(name, result,
                                     None if name == reference else scenarios[reference])
                      for name, result in comparison.results.items()],
        "figures": _comparison_figures(comparison, figures),
        "details": _scenario_links(comparison),
        "economics": economics_rows(results),
        **profit_basis(comparison),
        "provenance": provenance(command, scenarios, comparison.seeds, comparison.seed),
    }
    return render_page(context)


def profit_basis(comparison: Comparison) -> dict[str, list[dict[str, str]]]:
    """What each pair's profit verdict rests on: the money assumptions (with the reference's
    values) and, per pair, whether the verdict holds at half and double each of them."""
    reference = comparison.results[comparison.reference or comparison.names[0]].scenario
    values = assumption_values(reference)
    return {
        "money_assumptions": [{"key": a.key, "label": a.label, "value": values[a.key]}
                              for a in MONEY_ASSUMPTIONS],
        "profit_sensitivity": [
            {"pair": f"{name} vs {base}",
             "line": sensitivity_line(profit_sensitivity(comparison, name, base))}
            for name, base in comparison.pairs],
    }


def _comparison_figures(comparison: Comparison, folder: Path | None) -> list[dict[str, str]]:
    """The comparison's own figures embedded: from `folder`, or drawn in a temporary one."""
    captions = {name: (title, caption)
                for name, (_, title, caption) in COMPARISON_FIGURES.items()}
    if folder is not None:
        return embed_figures({name: folder / name for name in COMPARISON_FIGURES}, captions)
    with tempfile.TemporaryDirectory(prefix="womsim-report-") as scratch:
        return embed_figures(write_comparison_figures(comparison, Path(scratch)), captions)


def write_comparison_figures(comparison: Comparison, folder: Path) -> dict[str, Path]:
    """Draw the comparison's figures (`COMPARISON_FIGURES`) into `folder`; file name -> path."""
    return {name: draw(comparison, folder / name)
            for name, (draw, _, _) in COMPARISON_FIGURES.items()}


def write_comparison_report(comparison: Comparison, folder: str | os.PathLike,
                            command: str | None = None, figures: Path | None = None) -> Path:
    """Write `report.html` for a paired comparison into `folder` (created if missing, the file
    replaced atomically) and return its path.

    The page holds the headline KPIs of every scenario with their 5-95% intervals and any
    warning about the pairing; for each pair B vs A: both means, the mean paired difference
    with its 95% interval of the mean, the spread of runs, P(better) and a one-line `verdict`
    per KPI; what each scenario is, what it changes from the file it extends and from the
    reference; the comparison's figures (embedded: from `figures` if given, else drawn) and
    links to each scenario's run report and figures in the scenario folders `write_comparison`
    writes beside it; the economics side by side; and the provenance (package version, seeds,
    `command`).
    """
    return write_page(folder, render_comparison_report(comparison, command, figures))


def write_comparison(comparison: Comparison, folder: str | os.PathLike,
                     command: str | None = None) -> Path:
    """Write the comparison folder atomically (it appears whole or not at all, replacing an
    existing one only once complete): the tables of `Comparison.write_tables`, each scenario's
    folder completed as a run folder (`figures/` and its own `report.html`), the comparison's
    `figures/` (`COMPARISON_FIGURES`) and `report.html`. `command` is the command that
    reproduces it, recorded as it is."""
    folder = Path(folder)
    with staged_folder(folder, command) as staging:
        comparison.write_tables(staging, command)
        for name, result in comparison.results.items():
            plots.write_run_figures(result.timeseries, staging / name / "figures",
                                    events=result.scenario.events)
            write_run_report(result, staging / name, command, figures=staging / name / "figures")
        write_comparison_figures(comparison, staging / "figures")
        write_comparison_report(comparison, staging, command, staging / "figures")
    return folder
