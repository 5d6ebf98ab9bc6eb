"""Paired comparison of scenarios (`womsim compare A B [C ...]`).

Every scenario runs with the same replicate seeds (common random numbers, MODEL.md section 2), so
replicate r of B differs from replicate r of A only by what the scenarios change, not by luck. For
each KPI and each scenario against the first, the comparison reports the mean of the paired
differences (scenario minus first) over replicates, their 90% interval (the 5th and 95th
percentiles of the paired differences over replicates, not a confidence interval for the mean)
and the probability that it is better (the fraction of replicates in which it is better, by the
KPI's direction in `BETTER`; ties count as not better).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.present import figures as plots
from sim.core.metrics import KPI_NAMES
from sim.run.results import SimulationResult, staged_folder, summarise
from sim.run.replicates import simulate
from sim.scenario.load import Scenario, ScenarioError
from sim.core.stages import ADOPTED_COLUMNS, SOURCE_COLOURS, STATE_COLOURS, Source, State

# Which way is better, for every KPI: +1 higher, -1 lower, 0 neither. Adopters by source describe
# the mix of acquisition (fewer from paid media is not worse in itself), and seeded customers are
# an input, so they have no direction. A new KPI needs its entry here.
BETTER: dict[str, int] = {
    "adopted_fraction": 1,
    "wom_share": 1,
    "adopters_paid": 0,
    "adopters_talk": 0,
    "adopters_share": 0,
    "adopters_seed": 0,
    "peak_adoption_week": -1,  # an earlier peak: faster take-off
    "weeks_to_half": -1,
    "positive_negative_ratio": 1,
    "nps": 1,
    "annual_retention": 1,
    "viral_coefficient": 1,
    "revenue": 1,
    "cost": -1,
    "profit": 1,
    "discounted_profit": 1,
    "roi": 1,
    "cac": -1,  # acquisition cost per adopter, overall and by source
    "cac_paid": -1,
    "cac_talk": -1,
    "cac_share": -1,
    "cac_seed": -1,
    "clv": 1,
}

FIGURE_KPIS = ("adopted_fraction", "wom_share", "weeks_to_half", "nps", "profit", "roi")
# One colour per scenario, in order, from the project's palette (sim.stages).
SCENARIO_COLOURS = (SOURCE_COLOURS[Source.PAID], STATE_COLOURS[State.REJECTED],
                    STATE_COLOURS[State.LOYAL], STATE_COLOURS[State.ZMOT],
                    SOURCE_COLOURS[Source.TALK], STATE_COLOURS[State.SMOT],
                    STATE_COLOURS[State.CHURNED])


@dataclass
class Comparison:
    """Scenarios run with the same replicate seeds, and what a report needs of them.

    `results`: name -> SimulationResult, in the order given (the first is the reference);
    `summary`: one row per scenario and KPI (mean, p05, p95 over replicates);
    `differences`: one row per later scenario and KPI: the paired difference's mean, p05 and p95
    (percentiles of the differences over replicates) and `prob_better` (NaN for KPIs with no
    better direction, or with no replicate where both values are defined)."""

    results: dict[str, SimulationResult]
    seed: int
    replications: int
    seeds: list[int]
    summary: pd.DataFrame
    differences: pd.DataFrame

    @property
    def names(self) -> list[str]:
        """The scenarios' names, the reference first."""
        return list(self.results)

    def table(self, kpis: Sequence[str] | None = None) -> str:
        """The comparison as plain text: one block per scenario against the first."""
        from sim.app.cli import HEADLINE_KPIS, format_value

        kpis = list(kpis or HEADLINE_KPIS)
        first = self.names[0]
        lines = [f"Paired comparison over {self.replications} replicates with the same seeds "
                 f"(seed {self.seed}). Difference = scenario - {first}: mean, and 5% / 95% = "
                 f"percentiles of the {self.replications} paired differences; P(better) = "
                 f"share of replicates in which the scenario is better."]
        means = self.summary.set_index(["scenario", "kpi"])["mean"]
        for name in self.names[1:]:
            rows = [("KPI", first, name, "difference", "5%", "95%", "P(better)")]
            diffs = self.differences[self.differences["scenario"] == name].set_index("kpi")
            for kpi in kpis:
                d = diffs.loc[kpi]
                rows.append((kpi, format_value(kpi, means[first, kpi]),
                             format_value(kpi, means[name, kpi]),
                             *(_format_difference(kpi, d[c]) for c in ("mean", "p05", "p95")),
                             "n/a" if np.isnan(d["prob_better"]) else
                             f"{100 * d['prob_better']:.0f}%"))
            lines += ["", f"{name} vs {first}", *_columns(rows)]
        return "\n".join(lines)

    def write(self, folder: str | os.PathLike, command: str | None = None) -> Path:
        """Write the comparison folder atomically: one run folder per scenario (runs.parquet,
        timeseries.parquet, summary.json, scenario.toml), `comparison.json`, `differences.csv`
        and `figures/` (kpis.png, adoption.png)."""
        folder = Path(folder)
        with staged_folder(folder) as staging:
            for name, result in self.results.items():
                result.write(staging / name, command=command)
            record = {
                "scenarios": self.names, "reference": self.names[0], "seed": self.seed,
                "replications": self.replications, "replicate_seeds": self.seeds,
                "command": command,
                "interval": "5th and 95th percentiles of the paired differences over replicates",
                "prob_better": "fraction of replicates in which the scenario is better than "
                               "the reference (ties are not better)",
                "better": BETTER,
                "summary": self.summary.to_dict(orient="records"),
                "differences": self.differences.to_dict(orient="records"),
            }
            (staging / "comparison.json").write_text(json.dumps(record, indent=1) + "\n")
            self.differences.to_csv(staging / "differences.csv", index=False)
            plot_kpis(self, staging / "figures" / "kpis.png")
            plot_adoption(self, staging / "figures" / "adoption.png")
            from sim.present.report import write_comparison_report  # report imports this module

            write_comparison_report(self, staging, command)
        return folder


def _format_difference(kpi: str, value: float) -> str:
    """A difference as a person reads it: percentage points for fractions, signed numbers."""
    from sim.app.cli import PERCENT_KPIS

    if np.isnan(value):
        return "n/a"
    if kpi in PERCENT_KPIS:
        return f"{100 * value:+.1f} pp"
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.2f}"


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{row[0]:<{widths[0]}}  " + "  ".join(
        f"{cell:>{width}}" for cell, width in zip(row[1:], widths[1:], strict=True))
        for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def paired_differences(reference: pd.DataFrame, other: pd.DataFrame,
                       kpis: Sequence[str] = KPI_NAMES) -> pd.DataFrame:
    """Per KPI: the mean, p05 and p95 of `other - reference` over replicates, and the fraction
    of replicates in which `other` is better (`BETTER`). Rows are paired by replicate, whose
    seeds must match; replicates where either value is undefined (NaN) are left out."""
    left = reference.set_index("replicate")
    right = other.set_index("replicate").loc[left.index]
    if not (left["seed"] == right["seed"]).all():
        raise ValueError("the runs were not made with the same replicate seeds")
    rows = []
    for kpi in kpis:
        difference = (right[kpi] - left[kpi]).to_numpy(dtype=np.float64)
        difference = difference[np.isfinite(difference)]
        stats = summarise(difference)
        direction = BETTER.get(kpi, 0)  # tests/test_compare.py checks every KPI has one
        better = (float(np.mean(direction * difference > 0))
                  if direction and difference.size else np.nan)
        rows.append({"kpi": kpi, **stats, "prob_better": better})
    return pd.DataFrame(rows, columns=["kpi", "mean", "p05", "p95", "prob_better"])


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike],
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    *,
    progress: bool = False,
) -> Comparison:
    """Run each scenario's replicates with the same seeds (`seed` and `replications` default to
    the first scenario's) and compare every later scenario with the first."""
    loaded = [s if isinstance(s, Scenario) else Scenario.load(s) for s in scenarios]
    if len(loaded) < 2:
        raise ScenarioError("a comparison needs at least two scenarios")
    replications = replications if replications is not None else loaded[0].replications
    seed = seed if seed is not None else loaded[0].seed
    results: dict[str, SimulationResult] = {}
    for scenario in loaded:
        result = simulate(scenario, replications=replications, seed=seed, workers=workers,
                          progress=progress)
        results[_unique(scenario.name, results)] = result
    names = list(results)
    summary = pd.DataFrame([{"scenario": name, "kpi": kpi, **stats}
                            for name, result in results.items()
                            for kpi, stats in result.summary.items()],
                           columns=["scenario", "kpi", "mean", "p05", "p95"])
    reference = results[names[0]].runs
    differences = pd.concat(
        [paired_differences(reference, results[name].runs).assign(scenario=name)
         for name in names[1:]], ignore_index=True)
    differences = differences[["scenario", "kpi", "mean", "p05", "p95", "prob_better"]]
    return Comparison(results, seed, replications, list(results[names[0]].seeds), summary,
                      differences)


def _unique(name: str, taken: dict[str, Any]) -> str:
    """`name`, or `name-2`, `name-3` ... if already taken (a scenario compared with itself)."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


# --- figures -----------------------------------------------------------------------------------


def _colour(index: int) -> str:
    return SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)]


def plot_kpis(comparison: Comparison, path: str | Path,
              kpis: Sequence[str] = FIGURE_KPIS) -> Path:
    """One panel per KPI: each scenario's mean (dot) and 5-95% interval over replicates (bar)."""
    from sim.app.cli import PERCENT_KPIS

    names = comparison.names
    stats = comparison.summary.set_index(["scenario", "kpi"])
    with plots.figure() as fig:
        columns = 3
        axes = fig.subplots(-(-len(kpis) // columns), columns, squeeze=False).ravel()
        for ax, kpi in zip(axes, kpis, strict=False):
            scale = 100.0 if kpi in PERCENT_KPIS else 1.0
            for index, name in enumerate(names):
                row = stats.loc[(name, kpi)]
                y = len(names) - 1 - index  # the reference on top
                ax.plot([row["p05"] * scale, row["p95"] * scale], [y, y], color=_colour(index),
                        lw=3, alpha=0.5, solid_capstyle="round")
                ax.plot(row["mean"] * scale, y, "o", color=_colour(index), ms=8)
            ax.set_yticks(range(len(names)), list(reversed(names)))
            ax.set_title(kpi + (" (%)" if scale == 100.0 else ""), loc="left")
            ax.set_ylim(-0.6, len(names) - 0.4)
            ax.grid(axis="y", visible=False)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.xaxis.set_major_formatter(FuncFormatter(_tick))
        for ax in axes[len(kpis):]:
            ax.set_visible(False)
        fig.suptitle(f"KPIs by scenario: mean and 5–95% interval over "
                     f"{comparison.replications} replicates (same seeds)", x=0.01, ha="left")
        return _save(fig, path)


def _tick(value: float, _position: int) -> str:
    """An axis number: thousands separated, small numbers as short as they can be."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def plot_adoption(comparison: Comparison, path: str | Path) -> Path:
    """Customers who ever bought, in percent, by week: each scenario's median and 5-95% band."""
    first_result = next(iter(comparison.results.values()))
    with plots.figure() as fig:
        ax = fig.subplots()
        for index, (name, result) in enumerate(comparison.results.items()):
            table = plots.cumulative_by_replicate(result.timeseries, ADOPTED_COLUMNS)
            table["adopted"] = table[list(ADOPTED_COLUMNS)].sum(axis=1)
            plots.draw_band(ax, plots.band_by_week(table, "adopted"), _colour(index), name,
                            scale=100.0 / result.n)
        weeks = first_result.timeseries["week"]
        ax.set_xlim(weeks.min(), weeks.max())
        ax.set_xlabel("Week")
        ax.set_ylabel("Customers who ever bought (%)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
        ax.set_title(plots.runs_phrase(first_result.timeseries) + ", same seeds in every scenario",
                     loc="left")
        fig.suptitle("Adoption over time by scenario", x=0.01, ha="left")
        return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=plots.DPI)
    return path


# --- command line ------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    """`womsim compare`: run, print the paired table, write the comparison folder."""
    started = time.perf_counter()
    comparison = compare(args.scenarios, replications=args.reps, seed=args.seed,
                         workers=args.workers, progress=True)
    elapsed = time.perf_counter() - started
    names = comparison.names
    out = Path(args.out) if args.out else Path("out") / ("compare_" + "_vs_".join(names))
    from sim.app.cli import command_line

    command = command_line()
    comparison.write(out, command=command)
    print(f"{len(names)} scenarios x {comparison.replications} replicates in {elapsed:.1f} s")
    print(comparison.table())
    print(f"\nwrote {out}/ (report.html, comparison.json, differences.csv, figures/, one folder "
          f"per scenario)")
    return 0


def register(commands: Any) -> None:
    """Add `womsim compare` to the CLI's subcommands."""
    parser = commands.add_parser(
        "compare", help="compare scenarios run with the same replicate seeds",
        description="Run each scenario with the same replicate seeds and report, for every KPI "
                    "and every scenario against the first, the paired difference (mean and "
                    "5-95%% percentiles over replicates) and the probability it is better.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help="scenario files (TOML); the first is the reference")
    parser.add_argument("--reps", type=int, help="replicates (default: the first scenario's)")
    parser.add_argument("--seed", type=int, help="seed (default: the first scenario's)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core "
                        "for large jobs)")
    parser.add_argument("--out", help="output folder (default: out/compare_A_vs_B/)")
    parser.set_defaults(func=cmd_compare)
