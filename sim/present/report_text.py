"""Numbers and settings in words, as the strategist's report writes them.

KPI values, differences and intervals in each KPI's unit (from `sim.core.kpis`) with a Unicode
minus ("48.7%", "+4.1 points", "week 94.0", "\u221212,300"), with counts of customers beside
shares of all customers; a paired difference's cells and a one-line `verdict` on it that claims
no more than its interval supports; what-if events and changed scenario settings in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from sim.core.kpis import KPI
from sim.present.figures import difference_tone
from sim.scenario.events import (
    budget_allowances,
    budget_money,
    budget_seed_event,
    money_scale,
    weekly_paid_spend,
)
from sim.scenario.load import Scenario
from sim.scenario.schema import SECTIONS, Event, TopParams

_MINUS = "\u2212"


# --- numbers for people -------------------------------------------------------------------------


def _signed(text: str, value: float, plus: bool) -> str:
    """`text`, the formatted magnitude of `value`, with a Unicode minus when negative (and a
    plus when positive, if `plus`); no sign when it shows as zero."""
    if not any(c in "123456789" for c in text):
        return text
    return _MINUS + text if value < 0 else ("+" + text if plus else text)


def amount(value: float) -> str:
    """An amount without sign: 1,250,000, 48,213, 12.50, 0."""
    size = abs(value)
    if size >= 100 or size == 0:
        return f"{size:,.0f}"
    return f"{size:,.2f}"


def spend_note(scenario, customers: int) -> str | None:
    """How the scenario's weekly spends were scaled to a market of `customers` (None when they
    were sized for it): 'spends are sized for 10,000 customers (economics.sized_for); this
    market of 2,000 spends 0.2 x: paid media 1,000 a week'."""
    sized_for = scenario.economics.sized_for
    if customers == sized_for:
        return None
    scale = money_scale(scenario, customers)
    factor = f"{scale:,.0f}" if scale >= 100 else f"{scale:.3g}"
    return (f"spends are sized for {sized_for:,} customers (economics.sized_for); this market of "
            f"{customers:,} spends {factor} x: paid media "
            f"{amount(weekly_paid_spend(scenario, customers))} a week")


def budget_note(result: Any) -> str | None:
    """How a result's budget was split and spent (None without a budget), the programmes'
    spending as the mean over runs of all referral rewards and quality costs paid: 'budget
    780,000: ads 50% (390,000, 2,500 a week in place of media.spend), seeding 20% (156,000:
    6,240 customers at 25), referral 15% (117,000; spent 36,868 on average, 80,132 unspent),
    ...'."""
    scenario, customers = result.scenario, result.n
    budget = scenario.budget
    if budget.total <= 0:
        return None
    spent = result.timeseries.groupby("replicate")[["cost_referral", "cost_quality"]].sum().mean()
    money = budget_money(scenario, customers)
    parts = []
    if budget.to_ads > 0:
        parts.append(f"ads {budget.to_ads:.0%} ({amount(budget.to_ads * money)}, "
                     f"{amount(weekly_paid_spend(scenario, customers))} a week in place of "
                     "media.spend)")
    seeds = budget_seed_event(scenario, customers)
    if seeds is not None:
        seed_cost = scenario.economics.seed_cost
        parts.append(f"seeding {budget.to_seeding:.0%} ({amount(budget.to_seeding * money)}: "
                     f"{seeds.count:,} customers at {seed_cost:,g})")
    allowances = budget_allowances(scenario, customers)
    for share, allowance, kind, column in (
            (budget.to_referral, allowances[0], "referral", "cost_referral"),
            (budget.to_quality, allowances[1], "quality", "cost_quality")):
        if share > 0:
            paid = float(spent[column])
            left = (f", {amount(allowance - paid)} unspent" if paid < allowance
                    else ", over by its last week's payments" if paid > allowance else "")
            parts.append(f"{kind} {share:.0%} ({amount(allowance)}; spent {amount(paid)} on "
                         f"average{left})")
    return f"budget {amount(money)}: " + ", ".join(parts)


def equal_money_note(results: Mapping[str, Any]) -> str | None:
    """Whether scenarios that all have a budget compare equal money (None when some have none):
    'an equal-money comparison: every scenario's budget is 780,000', or which budgets differ."""
    money = {name: budget_money(result.scenario, result.n) for name, result in results.items()}
    if len(money) < 2 or min(money.values()) <= 0:
        return None
    if max(money.values()) - min(money.values()) < 0.5:
        total = amount(min(money.values()))
        return f"an equal-money comparison: every scenario's budget is {total}"
    return ("not an equal-money comparison: the budgets differ ("
            + ", ".join(f"{name} {amount(total)}" for name, total in money.items()) + ")")


def _number(kpi: str, value: float) -> str:
    """The magnitude of `value` in `kpi`'s unit, bare: no sign, no unit (fractions in percent)."""
    unit = KPI[kpi].unit
    size = abs(value)
    if unit == "percent":
        return f"{100 * size:.1f}"
    if unit == "money":
        return amount(size)
    if unit == "customers":
        return f"{size:,.0f}"
    if unit in ("week", "weeks", "score"):
        return f"{size:.1f}"
    return f"{size:.2f}"


def _affixes(kpi: str, difference: bool) -> tuple[str, str]:
    """What goes before and after a number of `kpi`: ('week ', ''), ('', '%'), ('', ' points')."""
    unit = KPI[kpi].unit
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


COUNTED_KPIS = frozenset({"adopted_fraction"})
"""KPIs that are a share of all customers, shown with the number of customers beside them."""


def with_count(kpi: str, text: str, customers: float, difference: bool = False) -> str:
    """`text` (a value or difference of `kpi`) with `customers`, the number of customers it
    stands for, beside it for `COUNTED_KPIS` ("48.7% (4,870)", "+4.1 points (+410)"); `text`
    alone for other KPIs or an undefined count."""
    if kpi not in COUNTED_KPIS or not math.isfinite(customers):
        return text
    return f"{text} ({_signed(f'{abs(customers):,.0f}', customers, plus=difference)})"


def capital(text: str) -> str:
    """`text` with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def kpi_label(kpi: str) -> str:
    """A KPI's label as the start of a line: 'Word-of-mouth share of adopters'."""
    return capital(KPI[kpi].label)


def format_chance(prob_better: float, prob_tie: float) -> str:
    """P(better) as a person reads it: "tie" when the two are equal in every run, else a
    percentage with the ties beside it ("40% (20% tied)"); n/a when undefined."""
    if not math.isfinite(prob_tie):
        return "n/a"
    if prob_tie == 1.0:
        return "tie"
    if not math.isfinite(prob_better):
        return "n/a"
    return f"{prob_better:.0%}" + (f" ({prob_tie:.0%} tied)" if prob_tie > 0.0 else "")


def runs_hint(mean: float, runs_needed: float) -> str:
    """What more replicates would do for an interval that includes 0: "about N runs to
    separate them", or "no detectable difference" when the mean difference is 0; "" when the
    estimate does not apply (`runs_needed` NaN and the mean not 0)."""
    if math.isfinite(runs_needed):
        return f"about {runs_needed:,.0f} runs to separate them"
    return "no detectable difference" if mean == 0.0 else ""


def difference_cells(kpi: str, row: Mapping[str, Any]) -> dict[str, str]:
    """A paired difference's cells (a row of `Comparison.differences`) as the terminal table and
    the report show them: `difference` (the mean, or "equal in every run", or "exactly +X in
    every run" when the runs show no spread), `interval` (95% interval of the mean), `spread`
    (5th to 95th percentile of the runs' differences), `chance` (`format_chance`) and `note`
    (`runs_hint` when the interval includes 0)."""
    outcome = row["outcome"]
    mean = float(row["mean"])
    cells = {"difference": format_difference(kpi, mean), "interval": "", "spread": "",
             "chance": format_chance(float(row["prob_better"]), float(row["prob_tie"])),
             "note": ""}
    if outcome == "equal":
        cells["difference"] = "equal in every run"
    elif outcome == "exact":
        cells["difference"] = f"exactly {format_difference(kpi, mean)} in every run"
    elif outcome != "undefined":
        cells["spread"] = format_interval(kpi, row["p05"], row["p95"], difference=True)
        if math.isfinite(row["ci_low"]):
            cells["interval"] = format_interval(kpi, row["ci_low"], row["ci_high"],
                                                difference=True)
        else:
            cells["note"] = "a single run: no interval"
        if outcome == "unresolved" and not cells["note"]:
            cells["note"] = runs_hint(mean, float(row["runs_needed"]))
    return cells


def pair_cells(kpi: str, row: Mapping[str, Any], means: tuple[float, float],
               customers: tuple[int, int]) -> dict[str, str]:
    """`difference_cells` of a pair B vs A with both means: `reference` (A's) and `value`
    (B's), given as `means` = (B's, A's) over markets of `customers` = (B's, A's), with counts
    of customers beside shares of them (`with_count`), the difference's too."""
    cells = difference_cells(kpi, row)
    counts = (means[0] * customers[0], means[1] * customers[1])
    if cells["interval"]:
        cells["difference"] = with_count(kpi, cells["difference"], counts[0] - counts[1],
                                         difference=True)
    cells["value"] = with_count(kpi, format_value(kpi, means[0]), counts[0])
    cells["reference"] = with_count(kpi, format_value(kpi, means[1]), counts[1])
    return cells


def verdict(kpi: str, mean: float, low: float, high: float, prob_better: float,
            runs_needed: float = math.nan) -> str:
    """One line on a paired difference that claims no more than its interval supports.

    `low` and `high` are the 95% confidence interval of the mean paired difference. "Equal in
    every run" when it is 0 to 0; "No detectable difference in <kpi>" when it includes 0 (with
    `runs_hint`); otherwise the direction ("higher adoption: +4.1 points (95% interval of the
    mean +2.0 to +6.3)", or "exactly +4.1 points in every run" when the interval is a point),
    led by "Better" or "Worse" by the KPI's direction (`sim.core.kpis`) for KPIs that have one,
    with `prob_better` (the fraction of replicates in which the scenario was better).
    """
    text = KPI[kpi]
    if not math.isfinite(mean):
        return f"No comparison: {text.label} is not defined in these runs."
    if not (math.isfinite(low) and math.isfinite(high)):
        return (f"No interval for {text.label} from a single run: "
                f"{format_difference(kpi, mean)}.")
    exact = low == high == mean
    if exact and mean == 0.0:
        return f"Equal in every run: {text.label}."
    tone = difference_tone(low, high, text.direction)
    amount = (f"exactly {format_difference(kpi, mean)} in every run" if exact else
              f"{format_difference(kpi, mean)} (95% interval of the mean "
              f"{format_interval(kpi, low, high, difference=True)})")
    if tone == "none":
        hint = runs_hint(mean, runs_needed)
        return (f"No detectable difference in {text.label}: {amount}"
                + (f"; {hint}" if hint and hint != "no detectable difference" else "") + ".")
    change = f"{text.up if low > 0.0 else text.down} {text.label}: {amount}"
    if tone == "neutral":
        return capital(change) + "."
    share = (f", better in {prob_better:.0%} of paired runs"
             if math.isfinite(prob_better) and not exact else "")
    return f"{capital(tone)}: {change}{share}."


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
        return f"extra paid spend of {amount(event.spend or 0.0)} a week over {window}"
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
