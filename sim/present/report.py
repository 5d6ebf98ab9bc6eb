"""The strategist's report: one self-contained HTML page per run or comparison (issue 6).

`write_run_report` and `write_comparison_report` write `report.html` into a folder: the headline
KPIs with their 5-95% intervals in plain words, what the scenario is and what it changes, the
figures of `sim.plots`, the economics, and how to reproduce it. The page is rendered from the
Jinja2 template `sim/templates/report.html.j2`; figures are embedded as base64 PNG data URIs and
the CSS is inline, so the file opens offline in any browser and can be forwarded as it is. A
Content-Security-Policy in the page forbids loading anything from elsewhere.

Comparisons read "better" from `sim.compare.BETTER` and state only what the paired interval
supports (`verdict`).
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import numpy as np

from sim import __version__
from sim.present import figures as plots
from sim.analysis.compare import BETTER, FIGURE_KPIS, SCENARIO_COLOURS, Comparison, plot_adoption
from sim.core.metrics import KPI_DESCRIPTIONS, KPI_NAMES
from sim.scenario.schema import SECTIONS, Event, TopParams
from sim.run.results import SimulationResult, summarise
from sim.scenario.load import Scenario, ScenarioError

REPORT_NAME = "report.html"
TEMPLATE = "report.html.j2"

HEADLINE_KPIS = ("adopted_fraction", "wom_share", "nps", "profit", "roi")
"""The KPIs of the headline, in order: adoption, word of mouth, promoters, money."""

RUN_SECTIONS = {
    "headline": "Headline",
    "scenario": "What was simulated",
    "figures": "Figures",
    "economics": "Economics",
    "kpis": "Every KPI",
    "provenance": "Provenance",
}
COMPARISON_SECTIONS = {
    "headline": "Headline",
    "differences": "Against the reference",
    "scenario": "What the scenarios are",
    "figures": "Figures",
    "economics": "Economics",
    "provenance": "Provenance",
}
"""Section id -> heading, in the order of the page."""


class KpiText(NamedTuple):
    """How a KPI reads in words: its `label`, a `short` one for figure panels, its `unit`
    ("percent" for fractions, "money", "customers", "week" for a week number, "weeks" for a
    duration, "score", "ratio" or "number") and the comparatives for a rise and a fall."""

    label: str
    short: str
    unit: str
    up: str = "higher"
    down: str = "lower"


KPI_TEXT: dict[str, KpiText] = {
    "adopted_fraction": KpiText("adoption", "Adoption", "percent"),
    "wom_share": KpiText("word-of-mouth share of adopters", "Word-of-mouth share", "percent"),
    "adopters_paid": KpiText("adopters brought by paid media", "Adopters from paid media",
                             "customers", "more", "fewer"),
    "adopters_talk": KpiText("adopters brought by talk", "Adopters from talk", "customers",
                             "more", "fewer"),
    "adopters_share": KpiText("adopters brought by shares", "Adopters from shares",
                              "customers", "more", "fewer"),
    "adopters_seed": KpiText("seeded customers", "Seeded", "customers", "more", "fewer"),
    "peak_adoption_week": KpiText("peak of first purchases", "Peak week", "week", "later",
                                  "earlier"),
    "weeks_to_half": KpiText("time to half of final adoption", "Weeks to half adoption",
                             "weeks", "longer", "shorter"),
    "positive_negative_ratio": KpiText("positive-to-negative share ratio",
                                       "Positive : negative shares", "ratio"),
    "nps": KpiText("net promoter score", "Net promoter score", "score"),
    "annual_retention": KpiText("annual retention", "Annual retention", "percent"),
    "viral_coefficient": KpiText("viral coefficient", "Viral coefficient", "number"),
    "revenue": KpiText("revenue", "Revenue", "money"),
    "cost": KpiText("cost", "Cost", "money"),
    "profit": KpiText("profit", "Profit", "money"),
    "discounted_profit": KpiText("discounted profit", "Discounted profit", "money"),
    "roi": KpiText("return on investment (ROI)", "ROI", "percent"),
    "cac": KpiText("acquisition cost per adopter", "CAC", "money"),
    "cac_paid": KpiText("paid-media cost per adopter it brought", "CAC, paid media", "money"),
    "cac_talk": KpiText("acquisition cost per adopter brought by talk", "CAC, talk", "money"),
    "cac_share": KpiText("referral cost per adopter brought by a share", "CAC, shares",
                         "money"),
    "cac_seed": KpiText("cost per seeded customer", "CAC, seeding", "money"),
    "clv": KpiText("customer lifetime value", "CLV", "money"),
}

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
        "Customers in each state of the circle of life. Lines are the median run; the shaded "
        "band holds 90% of runs (5th to 95th percentile). The lower panel zooms on customers "
        "researching (ZMOT) and using the product (SMOT)."),
    "adoption_by_source.png": (
        "Adoption by source",
        "Customers who ever bought or were given the product, by what brought them in: paid "
        "media, talk with neighbours, shares (reviews and messages) or seeding."),
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
    "cumulative_profit.png": (
        "Cumulative profit",
        "Revenue, cost and profit to date. Lines are the median run; bands hold 90% of runs."),
}
COMPARISON_FIGURES = {
    "differences.png": (
        "What changes against the reference",
        "Each scenario minus the reference, run by run with the same seeds: the dot is the mean "
        "difference, the bar holds 90% of the paired differences. Green: better; vermilion: "
        "worse; grey: the interval includes 0, no detectable difference."),
    "adoption.png": (
        "Adoption over time by scenario",
        "Customers who ever bought, in percent. Lines are the median run; bands hold 90% of "
        "runs."),
    "profit.png": (
        "Cumulative profit by scenario",
        "Profit to date. Lines are the median run; bands hold 90% of runs."),
}

_MINUS = "\u2212"
_MONEY_KPIS = frozenset(k for k, t in KPI_TEXT.items() if t.unit == "money")


# --- numbers for people -------------------------------------------------------------------------


def _signed(text: str, value: float, plus: bool) -> str:
    """`text`, the formatted magnitude of `value`, with a Unicode minus when negative (and a
    plus when positive, if `plus`); no sign when it shows as zero."""
    if not any(c in "123456789" for c in text):
        return text
    return _MINUS + text if value < 0 else ("+" + text if plus else text)


def _money(value: float) -> str:
    """An amount without sign: 1,250,000, 48,213, 12.50, 0."""
    size = abs(value)
    if size >= 100 or size == 0:
        return f"{size:,.0f}"
    return f"{size:,.2f}"


def _number(kpi: str, value: float) -> str:
    """The magnitude of `value` in `kpi`'s unit, bare: no sign, no unit (fractions in percent)."""
    unit = KPI_TEXT[kpi].unit
    size = abs(value)
    if unit == "percent":
        return f"{100 * size:.1f}"
    if unit == "money":
        return _money(size)
    if unit == "customers":
        return f"{size:,.0f}"
    if unit in ("week", "weeks", "score"):
        return f"{size:.1f}"
    return f"{size:.2f}"


def _affixes(kpi: str, difference: bool) -> tuple[str, str]:
    """What goes before and after a number of `kpi`: ('week ', ''), ('', '%'), ('', ' points')."""
    unit = KPI_TEXT[kpi].unit
    if unit == "week" and not difference:
        return "week ", ""
    if unit in ("week", "weeks"):
        return "", " weeks"
    if unit == "percent":
        return "", " points" if difference else "%"
    if unit == "score" and difference:
        return "", " points"
    return "", ""


def _bare(kpi: str, value: float, difference: bool) -> str:
    """A number of `kpi` without affixes, signed (+ too, for differences); n/a if undefined."""
    if not math.isfinite(value):
        return "n/a"
    return _signed(_number(kpi, value), value, plus=difference)


def format_value(kpi: str, value: float) -> str:
    """A KPI's value as a person reads it: 48.7%, 1,250,000, week 94.0, −20.3; n/a if
    undefined."""
    if not math.isfinite(value):
        return "n/a"
    before, after = _affixes(kpi, difference=False)
    return f"{before}{_bare(kpi, value, False)}{after}"


def format_difference(kpi: str, value: float) -> str:
    """A difference in `kpi` with its sign: +4.1 points (fractions), −12,300, +3.0 weeks; n/a if
    undefined. A difference that shows as zero has no sign."""
    if not math.isfinite(value):
        return "n/a"
    before, after = _affixes(kpi, difference=True)
    return f"{before}{_bare(kpi, value, True)}{after}"


def format_interval(kpi: str, low: float, high: float, difference: bool = False) -> str:
    """An interval in `kpi`'s unit: '83.1% to 88.0%', '+2.0 to +6.3' (differences: the unit is
    left to the number it follows), 'weeks 86.3 to 110.6'."""
    if difference:
        return f"{_bare(kpi, low, True)} to {_bare(kpi, high, True)}"
    before, after = _affixes(kpi, difference=False)
    if after == "%":
        return f"{format_value(kpi, low)} to {format_value(kpi, high)}"
    before = "weeks " if before == "week " else before
    return f"{before}{_bare(kpi, low, False)} to {_bare(kpi, high, False)}{after}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def verdict(kpi: str, mean: float, p05: float, p95: float, prob_better: float) -> str:
    """One line on a paired difference that claims no more than its interval supports.

    "No detectable difference in <kpi>" when the 5-95% interval [p05, p95] includes 0; otherwise
    the direction ("higher adoption: +4.1 points (90% interval +2.0 to +6.3)"), led by "Better"
    or "Worse" by `compare.BETTER` for KPIs with a better direction. `prob_better` (the fraction
    of replicates in which the scenario was better) is added where a direction is claimed.
    """
    text = KPI_TEXT[kpi]
    if not all(math.isfinite(v) for v in (mean, p05, p95)):
        return f"No comparison: {text.label} is not defined in these runs."
    interval = f"90% interval {format_interval(kpi, p05, p95, difference=True)}"
    tone = plots.difference_tone(p05, p95, BETTER[kpi])
    if tone == "none":
        return (f"No detectable difference in {text.label}: "
                f"{format_difference(kpi, mean)} ({interval}).")
    change = (f"{text.up if p05 > 0.0 else text.down} {text.label}: "
              f"{format_difference(kpi, mean)} ({interval})")
    if tone == "neutral":
        return _capital(change) + "."
    share = (f", better in {prob_better:.0%} of paired runs"
             if math.isfinite(prob_better) else "")
    return f"{_capital(tone)}: {change}{share}."




# --- the scenario in words ----------------------------------------------------------------------


def _weeks(start: int | None, end: int | None) -> str:
    """A window [start, end) as people say it: 'weeks 10-19'."""
    if start is None or end is None:
        return "the whole run"
    return f"week {start}" if end - start == 1 else f"weeks {start}–{end - 1}"


def describe_event(event: Event) -> str:
    """One what-if event in words: 'delivered quality 0.4 over weeks 10–19'."""
    window = _weeks(event.start, event.end)
    if event.kind == "campaign":
        return f"extra paid spend of {_money(event.spend or 0.0)} a week over {window}"
    if event.kind == "quality":
        spread = f" (spread {event.sd:g})" if event.sd is not None else ""
        return f"delivered quality {event.value:g}{spread} over {window}"
    if event.kind == "promise":
        return f"brand promise {event.value:g} over {window}"
    if event.kind == "owned":
        return f"owned-media quality {event.value:g} over {window}"
    if event.kind == "seed":
        if event.nodes:
            return f"{len(event.nodes)} chosen customers given the product at week {event.week}"
        return (f"{event.count} customers given the product at week {event.week}, chosen by "
                f"{event.strategy or 'random'}")
    parts = ([f"share logit {event.boost:+g}"] if event.boost else []) + (
        [f"reward {event.reward:g} per referred purchase"] if event.reward else [])
    return f"referral programme over {window}" + (f": {', '.join(parts)}" if parts else "")


def _setting_doc(key: str) -> str:
    """What a dotted scenario key is, from the schema (its doc, sources included)."""
    if key == "events":
        return "what-if events"
    section, _, name = key.rpartition(".")
    schema = SECTIONS[section] if section else TopParams
    return next(f.metadata["doc"] for f in fields(schema) if f.name == name)


def _setting_value(key: str, value: Any) -> str:
    if key == "events":
        return "; ".join(describe_event(e) for e in value) or "none"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def setting_changes(scenario: Scenario, other: Scenario) -> list[dict[str, str]]:
    """The settings in which `scenario` differs from `other`: key, what it is, the value here
    and there. Name, description and replications are left out: they change no result (as in
    `Scenario.stable_hash`), and a run's replications are often set on the command line."""
    return [{"key": key, "doc": _setting_doc(key), "value": _setting_value(key, mine),
             "other": _setting_value(key, theirs)}
            for key, (mine, theirs) in scenario.differences(other).items()
            if key not in ("name", "description", "replications")]


def _scenario_block(name: str, result: SimulationResult, first: Scenario | None
                    ) -> dict[str, Any]:
    """What a result's scenario is, for the template: facts, events, what it changes from the
    file it extends (and from `first`, the reference of a comparison, if given)."""
    scenario = result.scenario
    block: dict[str, Any] = {
        "name": name,
        "description": scenario.description,
        "path": str(scenario.path) if scenario.path else "built in Python",
        "facts": [
            ("Customers", f"{result.n:,}"),
            ("Network", scenario.network.kind.replace("_", "-")),
            ("Horizon", f"{scenario.weeks} weeks"),
            ("Runs", f"{scenario.replications}"),
            ("Paid media", f"{_money(scenario.media.spend)} a week"),
            ("Quality", f"{scenario.product.quality:g}"),
            ("Brand promise", f"{scenario.media.promise:g}"),
            ("Margin", f"{_money(scenario.economics.margin)} a purchase"),
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


def _stats(kpi: str, stats: Mapping[str, float]) -> dict[str, str]:
    """A KPI's mean and interval, formatted."""
    return {"mean": format_value(kpi, stats["mean"]), "p05": format_value(kpi, stats["p05"]),
            "p95": format_value(kpi, stats["p95"])}


def _cost_kinds(result: SimulationResult) -> dict[str, dict[str, float]]:
    """Each cost kind's total per run, summarised (mean, p05, p95)."""
    totals = result.timeseries.groupby("replicate")[list(COST_KINDS)].sum()
    return {column: summarise(totals[column]) for column in COST_KINDS}


def _economics_rows(results: Sequence[SimulationResult]) -> list[dict[str, Any]]:
    """The economics table: one row per item (revenue, costs by kind, profit, ROI, CAC, CLV),
    one cell per result (mean and interval, formatted)."""
    kinds = [_cost_kinds(result) for result in results]
    rows = [_kpi_row("revenue", results)]
    for column, (label, doc) in COST_KINDS.items():
        rows.append({"label": label, "doc": doc, "total": False,
                     "cells": [_stats("cost", k[column]) for k in kinds]})
    discount = results[0].scenario.economics.discount_rate
    for kpi in _ECONOMICS_AFTER_COSTS:
        row = _kpi_row(kpi, results)
        row["total"] = kpi in ("cost", "profit")
        if kpi == "discounted_profit":
            row["label"] += f" (at {100 * discount:g}% a year)"
        rows.append(row)
    return rows


def _kpi_row(kpi: str, results: Sequence[SimulationResult]) -> dict[str, Any]:
    return {"kpi": kpi, "label": _capital(KPI_TEXT[kpi].label), "doc": KPI_DESCRIPTIONS[kpi],
            "total": False, "cells": [_stats(kpi, r.summary[kpi]) for r in results]}


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
             "sentence": sentences[kpi]} for kpi in HEADLINE_KPIS]


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
    text += (f". The plan {verb} {_money(profit)} "
             f"(return on investment {format_value('roi', s['roi']['mean'])}).")
    return text


# --- figures ------------------------------------------------------------------------------------


def data_uri(path: str | Path) -> str:
    """A PNG file as a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figures(paths: Mapping[str, Path], captions: Mapping[str, tuple[str, str]],
             ) -> list[dict[str, str]]:
    """Embed each figure (file name -> path) with its title and caption."""
    return [{"title": captions[name][0], "caption": captions[name][1], "uri": data_uri(path),
             "name": name} for name, path in paths.items()]


def _run_figures(result: SimulationResult, folder: Path | None) -> list[dict[str, str]]:
    """The run's figures, from `folder` if given (as `plots.write_run_figures` wrote them),
    otherwise drawn afresh in a temporary folder."""
    if folder is not None:
        missing = [name for name in RUN_FIGURES if not (Path(folder) / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: missing figures {', '.join(missing)}")
        return _figures({name: Path(folder) / name for name in RUN_FIGURES}, RUN_FIGURES)
    with tempfile.TemporaryDirectory(prefix="womsim-report-") as scratch:
        paths = plots.write_run_figures(result.timeseries, scratch)
        return _figures({path.name: path for path in paths}, RUN_FIGURES)


def difference_panels(kpis: Sequence[str] = FIGURE_KPIS) -> list[plots.DifferencePanel]:
    """The panels of the differences figure: each KPI's title with its unit, its scale and its
    better direction."""
    panels = []
    for kpi in kpis:
        text = KPI_TEXT[kpi]
        unit = {"percent": "points", "score": "points", "week": "weeks",
                "weeks": "weeks"}.get(text.unit)
        title = text.short + (f" ({unit})" if unit else "")
        panels.append(plots.DifferencePanel(kpi, title, 100.0 if text.unit == "percent" else 1.0,
                                            BETTER[kpi]))
    return panels


def _comparison_figures(comparison: Comparison) -> list[dict[str, str]]:
    """The comparison's own figures, drawn in a temporary folder and embedded."""
    names = comparison.names
    draw: dict[str, Callable[[Path], Path]] = {
        "differences.png": lambda p: plots.plot_kpi_differences(
            comparison.differences, p, names[0], difference_panels()),
        "adoption.png": lambda p: plot_adoption(comparison, p),
        "profit.png": lambda p: plots.plot_profit_by_scenario(
            {n: r.timeseries for n, r in comparison.results.items()}, p, SCENARIO_COLOURS),
    }
    with tempfile.TemporaryDirectory(prefix="womsim-report-") as scratch:
        paths = {name: make(Path(scratch) / name) for name, make in draw.items()}
        return _figures(paths, COMPARISON_FIGURES)


# --- rendering ----------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sim.present", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _palette() -> dict[str, str]:
    """The page's colours, the figures' own (sim.plots, sim.compare)."""
    return {**plots.TONE_COLOURS, "accent": SCENARIO_COLOURS[0]}


def _provenance(command: str | None, scenarios: Mapping[str, Scenario], seeds: Sequence[int],
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


def _write(folder: str | os.PathLike, page: str) -> Path:
    """Write `page` as `folder/report.html` atomically (a temporary file renamed into place)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # A fresh name opened exclusively, rather than mkstemp, so the file gets the usual
    # permissions (umask) instead of owner-only.
    temporary = folder / f".{REPORT_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        with temporary.open("x", encoding="utf-8") as file:
            file.write(page)
        target = folder / REPORT_NAME
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


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
        "scenarios": [_scenario_block(scenario.name, result, None)],
        "figures": _run_figures(result, Path(figures) if figures is not None else None),
        "columns": [scenario.name],
        "economics": _economics_rows([result]),
        "kpis": [{"kpi": kpi, "label": _capital(KPI_TEXT[kpi].label),
                  "doc": KPI_DESCRIPTIONS[kpi], **_stats(kpi, result.summary[kpi])}
                 for kpi in KPI_NAMES],
        "provenance": _provenance(command, {scenario.name: scenario}, result.seeds,
                                  scenario.seed),
        "colours": _palette(),
    }
    return _environment().get_template(TEMPLATE).render(context)


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
    return _write(folder, render_run_report(result, command, figures))


def _difference_rows(comparison: Comparison, name: str) -> list[dict[str, Any]]:
    """One row per KPI for scenario `name` against the reference: both means, the paired
    difference with its interval, P(better) and the verdict."""
    first = comparison.names[0]
    means = comparison.summary.set_index(["scenario", "kpi"])["mean"]
    table = comparison.differences[comparison.differences["scenario"] == name].set_index("kpi")
    order = [*HEADLINE_KPIS, *(k for k in KPI_NAMES if k not in HEADLINE_KPIS)]
    rows = []
    for kpi in order:
        d = table.loc[kpi]
        mean, p05, p95, better = (float(d[c]) for c in ("mean", "p05", "p95", "prob_better"))
        rows.append({
            "kpi": kpi, "label": _capital(KPI_TEXT[kpi].label), "headline": kpi in HEADLINE_KPIS,
            "reference": format_value(kpi, float(means[first, kpi])),
            "value": format_value(kpi, float(means[name, kpi])),
            "difference": format_difference(kpi, mean),
            "interval": format_interval(kpi, p05, p95, difference=True),
            "prob_better": "n/a" if np.isnan(better) else f"{better:.0%}",
            "verdict": verdict(kpi, mean, p05, p95, better),
            "tone": plots.difference_tone(p05, p95, BETTER[kpi]),
        })
    return rows


def render_comparison_report(comparison: Comparison, command: str | None = None) -> str:
    """The comparison report as an HTML string (see `write_comparison_report`)."""
    names = comparison.names
    results = list(comparison.results.values())
    first = results[0]
    scenarios = {name: result.scenario for name, result in comparison.results.items()}
    details = [{"name": name, "figures": _run_figures(result, None)}
               for name, result in comparison.results.items()]
    headline = [{"label": _capital(KPI_TEXT[kpi].label), "kpi": kpi,
                 "cells": [_stats(kpi, r.summary[kpi]) for r in results]}
                for kpi in HEADLINE_KPIS]
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
        "headline": headline,
        "against": [{"name": name, "rows": _difference_rows(comparison, name)}
                    for name in names[1:]],
        "scenarios": [_scenario_block(name, result, None if index == 0 else first.scenario)
                      for index, (name, result) in enumerate(comparison.results.items())],
        "figures": _comparison_figures(comparison),
        "details": details,
        "economics": _economics_rows(results),
        "provenance": _provenance(command, scenarios, comparison.seeds, comparison.seed),
        "colours": _palette(),
    }
    return _environment().get_template(TEMPLATE).render(context)


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
    return _write(folder, render_comparison_report(comparison, command))
