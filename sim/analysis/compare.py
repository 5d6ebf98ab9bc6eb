"""Paired comparison of scenarios (`womsim compare A B [C ...]`).

Every scenario runs with the same replicate seeds (common random numbers, MODEL.md section 2), so
replicate r of B differs from replicate r of A only by what the scenarios change, not by luck. For
each KPI and each scenario against the first, the comparison reports the mean of the paired
differences (scenario minus first) over replicates, their 90% interval (the 5th and 95th
percentiles of the paired differences over replicates, not a confidence interval for the mean)
and the probability that it is better (the fraction of replicates in which it is better, by the
KPI's direction in `sim.core.kpis`; ties count as not better).

This module computes; the figures are in `sim.present.figures.comparison`, the terminal table in
`sim.present.tables` and the report in `sim.present.report_comparison`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.kpis import KPI, KPI_NAMES, KPIS
from sim.run.engine import build_scenario_graph
from sim.run.replicates import simulate
from sim.run.results import SimulationResult, summarise
from sim.scenario.load import Scenario, ScenarioError


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

    def write_tables(self, folder: Path, command: str | None = None) -> None:
        """Write the comparison's tables into the existing `folder`: one run folder per scenario
        (runs.parquet, timeseries.parquet, summary.json, scenario.toml), `comparison.json` and
        `differences.csv`. `command` is the command that reproduces the comparison, recorded
        as it is. (`sim.present.report_comparison.write_comparison` writes the whole folder,
        figures and report included, atomically.)"""
        for name, result in self.results.items():
            (folder / name).mkdir()
            result.write_tables(folder / name, command)
        record = {
            "scenarios": self.names, "reference": self.names[0], "seed": self.seed,
            "replications": self.replications, "replicate_seeds": self.seeds,
            "command": command,
            "interval": "5th and 95th percentiles of the paired differences over replicates",
            "prob_better": "fraction of replicates in which the scenario is better than "
                           "the reference (ties are not better)",
            "better": {kpi.name: int(kpi.direction) for kpi in KPIS},
            "summary": self.summary.to_dict(orient="records"),
            "differences": self.differences.to_dict(orient="records"),
        }
        (folder / "comparison.json").write_text(json.dumps(record, indent=1) + "\n")
        self.differences.to_csv(folder / "differences.csv", index=False)


def paired_differences(reference: pd.DataFrame, other: pd.DataFrame,
                       kpis: Sequence[str] = KPI_NAMES) -> pd.DataFrame:
    """Per KPI: the mean, p05 and p95 of `other - reference` over replicates, and the fraction
    of replicates in which `other` is better (by the KPI's direction). Rows are paired by
    replicate, whose seeds must match; replicates where either value is undefined (NaN) are
    left out."""
    left = reference.set_index("replicate")
    right = other.set_index("replicate").loc[left.index]
    if not (left["seed"] == right["seed"]).all():
        raise ValueError("the runs were not made with the same replicate seeds")
    rows = []
    for kpi in kpis:
        difference = (right[kpi] - left[kpi]).to_numpy(dtype=np.float64)
        difference = difference[np.isfinite(difference)]
        stats = summarise(difference)
        direction = KPI[kpi].direction
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
    for scenario in loaded:  # a broken edge list stops the comparison before any run
        if scenario.network.kind == "edgelist":
            build_scenario_graph(scenario)
    replications = replications if replications is not None else loaded[0].replications
    seed = seed if seed is not None else loaded[0].seed
    results: dict[str, SimulationResult] = {}
    for scenario, name in zip(loaded, unique_names(loaded), strict=True):
        results[name] = simulate(scenario, replications=replications, seed=seed,
                                 workers=workers, progress=progress)
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


def unique_names(scenarios: Sequence[Scenario]) -> list[str]:
    """The scenarios' names as a comparison labels them: a name already taken becomes
    `name-2`, `name-3` ... (a scenario compared with itself)."""
    names: list[str] = []
    for scenario in scenarios:
        candidate, number = scenario.name, 1
        while candidate in names:
            number += 1
            candidate = f"{scenario.name}-{number}"
        names.append(candidate)
    return names
