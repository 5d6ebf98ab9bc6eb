"""The strategist's report: one self-contained HTML page per run or comparison.

`write_run_report` writes `report.html` into a run folder: the headline KPIs with their 5-95%
intervals in plain words, what the scenario is and what it changes, the run figures of
`sim.present.figures`, the economics, every KPI, and how to reproduce it. The comparison's page
(`sim.present.report_comparison`) is built from the same pieces. Pages are rendered from the
Jinja2 template `sim/present/templates/report.html.j2`; figures are embedded as base64 PNG data
URIs and the CSS is inline, so the file opens offline in any browser and can be forwarded as it
is. A Content-Security-Policy in the page forbids loading anything from elsewhere. What each KPI
is called and how it is written comes from `sim.core.kpis` (via `sim.present.report_text`).
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from sim import __version__
from sim.core.files import write_file
from sim.core.kpis import CARD_KPIS, KPI, KPI_NAMES
from sim.present import figures as plots
from sim.present.figures.comparison import SCENARIO_COLOURS
from sim.present.report_text import (
    amount,
    budget_note,
    describe_event,
    format_interval,
    format_value,
    kpi_label,
    setting_changes,
    with_count,
)
from sim.run.results import SimulationResult, summarise
from sim.scenario.events import paid_spend, weekly_paid_spend
from sim.scenario.load import Scenario, ScenarioError

REPORT_NAME = "report.html"
TEMPLATE = "report.html.j2"

RUN_SECTIONS = {
    "headline": "Headline",
    "scenario": "What was simulated",
    "figures": "Figures",
    "economics": "Economics",
    "kpis": "Every KPI",
    "provenance": "Provenance",
}
"""Section id -> heading, in the order of the page."""

# Costs by kind: timeseries columns summed over each run (the KPIs hold only their total).
COST_KINDS = {
    "cost_paid": ("Cost: paid media", "paid media spend, campaigns included"),
    "cost_seed": ("Cost: seeding", "seeded customers times economics.seed_cost"),
    "cost_referral": ("Cost: referral rewards", "rewards paid for purchases by share recruits"),
    "cost_quality": ("Cost: quality", "quality_cost per purchase per unit of quality above "
                     "quality_cost_base"),
}
_ECONOMICS_AFTER_COSTS = ("cost", "profit", "discounted_profit", "roi", "cac", "cac_paid",
                          "cac_talk", "cac_share", "cac_seed", "clv")

# The figures of a run, by file name as `plots.write_run_figures` writes them: title, caption.
RUN_FIGURES = {
    "states.png": (
        "Where customers are, week by week",
        "Customers in each state of the circle of life. Lines are the mean of the runs; the shaded "
        "band holds 90% of runs (5th to 95th percentile). The lower panel zooms on customers "
        "researching (ZMOT) and using the product (SMOT)."),
    "adoption_by_source.png": (
        "Adoption by source",
        "Customers who ever bought or were given the product, by what brought them in: paid "
        "media, talk with neighbours, shares (reviews and messages) or seeding. Below: the new "
        "buyers of each week, and the week they peak."),
    "circle_of_life.png": (
        "The circle of life",
        "Where customers go over the whole run: arrows are as wide as the flows between the "
        "stages; the boxes show where customers are at the end."),
    "funnel.png": (
        "The moments of truth",
        "Journeys into research that reached each moment of truth, and how many were lost at "
        "each step, with why. Whiskers: 5th to 95th percentile over runs."),
    "share_ratio.png": (
        "Positive and negative word of mouth",
        "Positive shares per negative one over a trailing quarter, against the 3:1 ratio found "
        "across categories by East, Hammond & Wright (2007). Below: the shares behind it."),
    "outcomes.png": (
        "How customers feel, week by week",
        "The net promoter score of each week's experiences, their mean satisfaction, the share "
        "of returning customers retained, the share of experiences shared, and how far customers "
        "believe the brand's promise (credibility). Shaded: the scenario's event windows."),
    "cumulative_profit.png": (
        "Cumulative profit",
        "Revenue, cost and profit to date. Lines are the mean of the runs; bands hold 90% of "
        "runs."),
}


# --- the scenario ---------------------------------------------------------------------------------


def scenario_block(name: str, result: SimulationResult, first: Scenario | None
                    ) -> dict[str, Any]:
    """What a result's scenario is, for the template: facts, events, what it changes from the
    file it extends (and from `first`, the reference of a comparison, if given)."""
    scenario = result.scenario
    sized_for = scenario.economics.sized_for
    block: dict[str, Any] = {
        "name": name,
        "description": scenario.description,
        "path": str(scenario.path) if scenario.path else "built in Python",
        "facts": [
            ("Customers", f"{result.n:,}"),
            ("Network", scenario.network.kind.replace("_", "-")),
            ("Horizon", f"{scenario.weeks} weeks"),
            ("Runs", f"{scenario.replications}"),
            ("Paid media", f"{amount(weekly_paid_spend(scenario, result.n))} a week"
                           + (f" ({amount(paid_spend(scenario))} per {sized_for:,} customers)"
                              if result.n != sized_for else "")),
            *([("Budget", note.removeprefix("budget "))] if (note := budget_note(result))
              else []),
            ("Quality", f"{scenario.product.quality:g}"),
            ("Brand promise", f"{scenario.media.promise:g}"),
            ("Margin", f"{amount(scenario.economics.margin)} a purchase"),
        ],
        "events": [describe_event(event) for event in scenario.events],
        "parent": None,
        "parent_name": None,
        "parent_changes": [],
        "parent_error": None,
        "first_changes": None,
    }
    if scenario.extends is not None:
        block["parent"] = str(scenario.extends)
        block["parent_name"] = scenario.extends.name
        try:
            block["parent_changes"] = setting_changes(scenario, Scenario.load(scenario.extends))
        except ScenarioError as error:  # a moved or edited parent: say so, report the rest
            block["parent_error"] = str(error)
    if first is not None:
        block["first_changes"] = setting_changes(scenario, first)
    return block


# --- tables -------------------------------------------------------------------------------------


def kpi_cells(kpi: str, stats: Mapping[str, float], customers: float = math.nan
              ) -> dict[str, str]:
    """A KPI's mean and interval, formatted; a share of all `customers` with its count beside
    it ("86.4% (8,640)")."""
    return {key: with_count(kpi, format_value(kpi, stats[key]), stats[key] * customers)
            for key in ("mean", "p05", "p95")}


def _cost_kinds(result: SimulationResult) -> dict[str, dict[str, float]]:
    """Each cost kind's total per run, summarised (mean, p05, p95)."""
    totals = result.timeseries.groupby("replicate")[list(COST_KINDS)].sum()
    return {column: summarise(totals[column]) for column in COST_KINDS}


def economics_rows(results: Sequence[SimulationResult]) -> list[dict[str, Any]]:
    """The economics table: one row per item (revenue, costs by kind, profit, ROI, CAC, CLV),
    one cell per result (mean and interval, formatted)."""
    kinds = [_cost_kinds(result) for result in results]
    rows = [kpi_row("revenue", results)]
    for column, (label, doc) in COST_KINDS.items():
        rows.append({"label": label, "doc": doc, "total": False,
                     "cells": [kpi_cells("cost", k[column]) for k in kinds]})
    discount = results[0].scenario.economics.discount_rate
    for kpi in _ECONOMICS_AFTER_COSTS:
        row = kpi_row(kpi, results)
        row["total"] = kpi in ("cost", "profit")
        if kpi == "discounted_profit":
            row["label"] += f" (at {100 * discount:g}% a year)"
        rows.append(row)
    return rows


def kpi_row(kpi: str, results: Sequence[SimulationResult]) -> dict[str, Any]:
    """A KPI's row of a table with one column per result: its label, meaning and cells."""
    return {"kpi": kpi, "label": kpi_label(kpi), "doc": KPI[kpi].meaning,
            "total": False, "cells": [kpi_cells(kpi, r.summary[kpi], r.n) for r in results]}


def _headline_cards(result: SimulationResult) -> list[dict[str, str]]:
    """The headline KPIs of one result as cards: value, interval and a sentence."""
    scenario = result.scenario
    summary = result.summary
    discounted = format_value("discounted_profit", summary["discounted_profit"]["mean"])
    sentences = {
        "adopted_fraction": f"of {result.n:,} customers bought or were given the product "
                            f"within {scenario.weeks} weeks",
        "wom_share": "of those adopters were brought in by talk or by shares",
        "nps": "net promoter score of customers who used the product (−100 to 100; read it "
               "against a baseline)",
        "profit": f"profit over {scenario.weeks} weeks (revenue minus every cost); "
                  f"{discounted} discounted",
        "roi": "return on investment: profit per unit of cost",
    }
    titles = {"adopted_fraction": "Adoption", "wom_share": "Word of mouth", "nps": "Net promoter "
              "score", "profit": "Profit", "roi": "Return on investment"}
    return [{"kpi": kpi, "title": titles[kpi], "value": format_value(kpi, summary[kpi]["mean"]),
             "interval": format_interval(kpi, summary[kpi]["p05"], summary[kpi]["p95"]),
             "sentence": sentences[kpi]} for kpi in CARD_KPIS]


def _lede(result: SimulationResult) -> str:
    """The headline in one paragraph of plain words."""
    s = result.summary
    adoption = format_value("adopted_fraction", s["adopted_fraction"]["mean"])
    text = (f"Over {result.scenario.weeks} weeks, {adoption} of {result.n:,} customers bought "
            "or were given the product")
    if math.isfinite(s["wom_share"]["mean"]):
        text += f", {format_value('wom_share', s['wom_share']['mean'])} of them through word of "\
                "mouth"
    profit = s["profit"]["mean"]
    verb = "made a profit of" if profit >= 0 else "made a loss of"
    text += (f". The plan {verb} {amount(profit)} "
             f"(return on investment {format_value('roi', s['roi']['mean'])}).")
    return text


# --- figures ------------------------------------------------------------------------------------


def data_uri(path: str | Path) -> str:
    """A PNG file as a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def embed_figures(paths: Mapping[str, Path], captions: Mapping[str, tuple[str, str]],
             ) -> list[dict[str, str]]:
    """Embed each figure (file name -> path) with its title and caption."""
    return [{"title": captions[name][0], "caption": captions[name][1], "uri": data_uri(path),
             "name": name} for name, path in paths.items()]


def run_figures(result: SimulationResult, folder: Path | None) -> list[dict[str, str]]:
    """The run's figures, from `folder` if given (as `plots.write_run_figures` wrote them),
    otherwise drawn afresh in a temporary folder."""
    if folder is not None:
        missing = [name for name in RUN_FIGURES if not (Path(folder) / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: missing figures {', '.join(missing)}")
        return embed_figures({name: Path(folder) / name for name in RUN_FIGURES}, RUN_FIGURES)
    with tempfile.TemporaryDirectory(prefix="womsim-report-") as scratch:
        paths = plots.write_run_figures(result.timeseries, scratch, events=result.scenario.events)
        return embed_figures({path.name: path for path in paths}, RUN_FIGURES)


# --- rendering ----------------------------------------------------------------------------------


def render_page(context: Mapping[str, Any]) -> str:
    """The report template rendered with `context` and the page's colours, which are the
    figures' own (the tones of a difference, the first scenario's colour as the accent)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("sim.present", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    colours = {**plots.TONE_COLOURS, "accent": SCENARIO_COLOURS[0]}
    return environment.get_template(TEMPLATE).render({**context, "colours": colours})


def provenance(command: str | None, scenarios: Mapping[str, Scenario], seeds: Sequence[int],
                seed: int) -> dict[str, Any]:
    """Version, command, seeds and scenario files, for the provenance section."""
    return {
        "version": __version__,
        "command": command,
        "seed": seed,
        "seeds": ", ".join(str(s) for s in seeds),
        "replications": len(seeds),
        "scenarios": [{"name": name, "path": str(s.path) if s.path else "built in Python",
                       "hash": s.stable_hash()[:16]} for name, s in scenarios.items()],
        "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_page(folder: str | os.PathLike, page: str) -> Path:
    """Write `page` as `folder/report.html` atomically (`sim.core.files.write_file`)."""
    return write_file(Path(folder) / REPORT_NAME, page)


def render_run_report(result: SimulationResult, command: str | None = None,
                      figures: str | os.PathLike | None = None) -> str:
    """The run report as an HTML string (see `write_run_report`)."""
    scenario = result.scenario
    context = {
        "kind": "run",
        "title": f"{scenario.name}: the strategist's report",
        "subtitle": scenario.description,
        "meta": f"{result.n:,} customers · {scenario.weeks} weeks · {len(result.seeds)} runs",
        "sections": RUN_SECTIONS,
        "lede": _lede(result),
        "runs": len(result.seeds),
        "cards": _headline_cards(result),
        "scenarios": [scenario_block(scenario.name, result, None)],
        "figures": run_figures(result, Path(figures) if figures is not None else None),
        "columns": [scenario.name],
        "economics": economics_rows([result]),
        "kpis": [{"kpi": kpi, "label": kpi_label(kpi),
                  "doc": KPI[kpi].meaning, **kpi_cells(kpi, result.summary[kpi], result.n)}
                 for kpi in KPI_NAMES],
        "provenance": provenance(command, {scenario.name: scenario}, result.seeds,
                                  scenario.seed),
    }
    return render_page(context)


def write_run_report(result: SimulationResult, folder: str | os.PathLike,
                     command: str | None = None,
                     figures: str | os.PathLike | None = None) -> Path:
    """Write `report.html` for one scenario's replications into `folder` (created if missing,
    the file replaced atomically) and return its path.

    The page holds the headline (adoption, word-of-mouth share, NPS, profit, ROI with their
    5-95% intervals), what the scenario is and what it changes from the file it extends, the
    six figures of `plots.write_run_figures`, the economics, every KPI and the provenance
    (package version, seeds, `command`). `figures` is a folder where those figures were already
    written for this result (as `SimulationResult.write` does), to embed instead of drawing
    them again.
    """
    return write_page(folder, render_run_report(result, command, figures))


