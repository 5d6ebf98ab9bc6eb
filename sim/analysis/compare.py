"""Paired comparison of scenarios (`womsim compare A B [C ...]`).

Every scenario runs with the same replicate seeds (common random numbers, MODEL.md section 2), so
replicate r of B differs from replicate r of A only by what the scenarios change, not by luck
(as long as both run on the same network: `network_warning` says when they do not). Each pair
"B vs A" (B against its reference A: every scenario against the first, against `--reference`, or
every pair) is summarised per KPI by `difference_stats`:

- the mean of the paired differences B - A over replicates and its 95% confidence interval
  (Student t with replicates - 1 degrees of freedom: mean +- t * sd / sqrt(n));
- the spread of runs: the 5th and 95th percentiles of the paired differences (where 90% of
  single runs fall; not an interval of the mean);
- P(better), the fraction of replicates in which B is better by the KPI's direction in
  `sim.core.kpis`, and P(tie), the fraction in which both are equal;
- when the interval includes 0 and the mean is not 0, the replicates needed for an interval of
  the same sd to exclude 0: ceil((t * sd / |mean|)^2);
- an `outcome`: "equal" (the same value in every run), "exact" (the same nonzero difference in
  every run: no interval to speak of), "separated" (the interval excludes 0), "unresolved" (it
  includes 0, or there is a single pair), "undefined" (no replicate where both are defined).

This module computes; the figures are in `sim.present.figures.comparison`, the terminal table in
`sim.present.tables` and the report in `sim.present.report_comparison`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.files import json_text
from sim.core.kpis import KPI, KPI_NAMES, KPIS
from sim.run.engine import build_scenario_graph, graph_seed
from sim.run.replicates import simulate
from sim.run.results import SimulationResult
from sim.scenario.load import Scenario, ScenarioError

CONFIDENCE = 0.95
"""The confidence level of the interval of the mean paired difference."""

DIFFERENCE_COLUMNS = ("scenario", "reference", "kpi", "pairs", "mean", "sd", "ci_low", "ci_high",
                      "p05", "p95", "prob_better", "prob_tie", "runs_needed", "outcome")
"""The columns of `Comparison.differences` (and of differences.csv), in order."""

_NOTES = {
    "mean": "mean of the paired differences scenario - reference over replicates",
    "ci_low": "95% confidence interval of that mean (Student t over replicates): low end",
    "ci_high": "95% confidence interval of that mean: high end",
    "p05": "spread of runs: 5th percentile of the paired differences (not an interval of "
           "the mean)",
    "p95": "spread of runs: 95th percentile of the paired differences",
    "prob_better": "fraction of replicates in which the scenario is better (ties are not)",
    "prob_tie": "fraction of replicates in which both are equal",
    "runs_needed": "replicates for the 95% interval to exclude 0 at this mean and sd, "
                   "ceil((t * sd / |mean|)^2); only when it includes 0 now",
    "outcome": "equal (in every run), exact (the same nonzero difference in every run), "
               "separated (the interval excludes 0), unresolved, undefined",
}


@dataclass
class Comparison:
    """Scenarios run with the same replicate seeds, and what a report needs of them.

    `results`: name -> SimulationResult, in the order given; `pairs`: (scenario, reference) for
    each pair compared, "scenario vs reference"; `reference`: the one every scenario is compared
    with, or None when every pair is; `summary`: one row per scenario and KPI (mean, p05, p95 over
    replicates); `differences`: one row per pair and KPI (`DIFFERENCE_COLUMNS`, see the module
    docstring); `warnings`: what makes the pairing less than it claims (`network_warning`)."""

    results: dict[str, SimulationResult]
    seed: int
    replications: int
    seeds: list[int]
    summary: pd.DataFrame
    differences: pd.DataFrame
    pairs: list[tuple[str, str]]
    reference: str | None
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The scenarios' names, in the order given."""
        return list(self.results)

    def pair(self, name: str, reference: str) -> pd.DataFrame:
        """The rows of `differences` for `name` vs `reference`, indexed by KPI."""
        table = self.differences
        chosen = (table["scenario"] == name) & (table["reference"] == reference)
        return table[chosen].set_index("kpi")

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
            "scenarios": self.names, "reference": self.reference,
            "pairs": [{"scenario": a, "reference": b} for a, b in self.pairs],
            "seed": self.seed, "replications": self.replications,
            "replicate_seeds": self.seeds, "command": command, "warnings": self.warnings,
            "columns": _NOTES,
            "better": {kpi.name: int(kpi.direction) for kpi in KPIS},
            "summary": self.summary.to_dict(orient="records"),
            "differences": self.differences.to_dict(orient="records"),
        }
        (folder / "comparison.json").write_text(json_text(record, indent=1))
        self.differences.to_csv(folder / "differences.csv", index=False)


def difference_stats(differences: np.ndarray, direction: int) -> dict[str, Any]:
    """What the paired differences of one KPI support (the module docstring's columns, from
    `pairs` to `outcome`); undefined values (NaN) are left out, `direction` is +1 when higher
    is better, -1 when lower is, 0 when neither (P(better) is then NaN)."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    n = int(d.size)
    row: dict[str, Any] = {"pairs": n, **dict.fromkeys(
        ("mean", "sd", "ci_low", "ci_high", "p05", "p95", "prob_better", "prob_tie",
         "runs_needed"), math.nan), "outcome": "undefined"}
    if n == 0:
        return row
    p05, p95 = np.percentile(d, [5, 95])
    row.update(mean=float(d.mean()), p05=float(p05), p95=float(p95),
               prob_tie=float(np.mean(d == 0.0)), outcome="unresolved")
    if direction:
        row["prob_better"] = float(np.mean(direction * d > 0.0))
    if n == 1:
        return row
    if np.all(d == d[0]):  # no spread: the difference is the same in every run
        value = float(d[0])
        row.update(mean=value, sd=0.0, ci_low=value, ci_high=value, p05=value, p95=value,
                   outcome="equal" if value == 0.0 else "exact")
        return row
    from scipy.stats import t as student_t  # here: importing scipy.stats takes most of a second

    sd = float(d.std(ddof=1))
    quantile = float(student_t.ppf(0.5 + CONFIDENCE / 2, n - 1))
    half = quantile * sd / math.sqrt(n)
    mean = row["mean"]
    row.update(sd=sd, ci_low=mean - half, ci_high=mean + half)
    if mean - half > 0.0 or mean + half < 0.0:
        row["outcome"] = "separated"
    elif mean != 0.0:
        row["runs_needed"] = float(math.ceil((quantile * sd / abs(mean)) ** 2))
    return row


def paired_differences(reference: pd.DataFrame, other: pd.DataFrame,
                       kpis: Sequence[str] = KPI_NAMES) -> pd.DataFrame:
    """Per KPI, `difference_stats` of `other - reference` over replicates (one row per KPI with
    `kpi` first). Rows are paired by replicate, whose seeds must match; replicates where either
    value is undefined (NaN) are left out."""
    left = reference.set_index("replicate")
    right = other.set_index("replicate").loc[left.index]
    if not (left["seed"] == right["seed"]).all():
        raise ValueError("the runs were not made with the same replicate seeds")
    rows = [{"kpi": kpi, **difference_stats((right[kpi] - left[kpi]).to_numpy(dtype=np.float64),
                                            int(KPI[kpi].direction))} for kpi in kpis]
    return pd.DataFrame(rows, columns=[c for c in DIFFERENCE_COLUMNS
                                       if c not in ("scenario", "reference")])


def network_warning(scenarios: Mapping[str, Scenario]) -> str | None:
    """A one-line warning when the scenarios do not all run on the same network (different
    network parameters or graph seed): replicate r of one then meets other customers than
    replicate r of another, so the pairing is not common random numbers; None when they do."""
    names = list(scenarios)
    first = scenarios[names[0]]
    changes: list[str] = []
    for name in names[1:]:
        other = scenarios[name]
        changes += [f"{key} {theirs!r} in {name} against {mine!r} in {names[0]}"
                    for key, (theirs, mine) in other.differences(first).items()
                    if key.startswith("network.")]
        if graph_seed(other) != graph_seed(first):
            changes.append(f"graph seed {graph_seed(other)} in {name} against "
                           f"{graph_seed(first)} in {names[0]}")
    if not changes:
        return None
    return ("the scenarios run on different networks (" + "; ".join(dict.fromkeys(changes))
            + "): replicate r of one does not meet the same customers as replicate r of "
            "another, so the pairing is not common random numbers and the paired intervals "
            "include the networks' own differences")


def _load(scenario: Scenario | str | os.PathLike, overrides: Sequence[str] | None) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario.with_overrides(overrides) if overrides else scenario
    return Scenario.load(scenario, overrides or None)


def choose_pairs(names: Sequence[str], given: Sequence[str], reference: str | None,
                 all_pairs: bool) -> tuple[list[tuple[str, str]], str | None]:
    """The pairs (scenario, reference) to compare and the common reference (None for all
    pairs): every pair "later vs earlier" with `all_pairs`, else every scenario against
    `reference` (a name, or a scenario argument as `given`), by default the first. Raises
    ScenarioError for a reference that is none of them, or both options at once."""
    if all_pairs:
        if reference is not None:
            raise ScenarioError("give --reference or --all-pairs, not both")
        return [(b, a) for i, a in enumerate(names) for b in names[i + 1:]], None
    if reference is None:
        chosen = names[0]
    elif reference in names:
        chosen = reference
    elif reference in given:
        chosen = names[list(given).index(reference)]
    else:
        raise ScenarioError(f"--reference {reference!r} is none of the scenarios compared "
                            f"({', '.join(names)})")
    return [(name, chosen) for name in names if name != chosen], chosen


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike],
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    *,
    progress: bool = False,
    reference: str | None = None,
    all_pairs: bool = False,
    overrides: Sequence[str] | None = None,
    weeks: int | None = None,
) -> Comparison:
    """Run each scenario's replicates with the same seeds (`seed` and `replications` default to
    the first scenario's; `overrides`, "KEY=VALUE" as `womsim run --set` takes them, and `weeks`
    apply to every scenario) and compare the pairs `choose_pairs` picks."""
    loaded = [_load(s, overrides) for s in scenarios]
    if len(loaded) < 2:
        raise ScenarioError("a comparison needs at least two scenarios")
    for scenario in loaded:  # a broken edge list stops the comparison before any run
        if scenario.network.kind == "edgelist":
            build_scenario_graph(scenario)
    scenario_names = unique_names(loaded)
    given = ["" if isinstance(s, Scenario) else os.fspath(s) for s in scenarios]
    pairs, common = choose_pairs(scenario_names, given, reference, all_pairs)
    replications = replications if replications is not None else loaded[0].replications
    seed = seed if seed is not None else loaded[0].seed
    results = {name: simulate(scenario, replications=replications, seed=seed, weeks=weeks,
                              workers=workers, progress=progress)
               for name, scenario in zip(scenario_names, loaded, strict=True)}
    summary = pd.DataFrame([{"scenario": name, "kpi": kpi, **stats}
                            for name, result in results.items()
                            for kpi, stats in result.summary.items()],
                           columns=["scenario", "kpi", "mean", "p05", "p95"])
    differences = pd.concat(
        [paired_differences(results[a].runs, results[b].runs).assign(scenario=b, reference=a)
         for b, a in pairs], ignore_index=True)[list(DIFFERENCE_COLUMNS)]
    warning = network_warning({name: result.scenario for name, result in results.items()})
    return Comparison(results, seed, replications, list(results[scenario_names[0]].seeds),
                      summary, differences, pairs, common, [warning] if warning else [])


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
