"""The KPI table: one row per KPI a run reports, and the only place that says what a KPI is.

Each row gives the KPI's name (the column in `runs.parquet` and the key in `summary.json`), its
unit, which way is better, its words (a label for sentences, a short title for figure panels, a
one-line meaning, the comparatives for a rise and a fall), where its formula is written down, and
where it is shown (the terminal tables, the report's headline, the comparison figures). Metrics,
comparisons, terminal tables, the HTML report and the dashboard all read this table; adding a KPI
is one row here plus its computation in `sim.core.metrics.compute_kpis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from sim.core.stages import STATE_LABELS, State


class Direction(IntEnum):
    """Which way a KPI is better: higher, lower, or neither (it describes, it does not judge)."""

    HIGHER = 1
    LOWER = -1
    NEITHER = 0


UNITS = frozenset({"percent", "customers", "week", "weeks", "ratio", "score", "number", "money"})
"""A KPI's unit: "percent" for a fraction (shown in percent), "customers" for a count, "week" for a
week number, "weeks" for a duration, "score" for a bounded score (NPS), "ratio", "number" or
"money" (the scenario's currency)."""

MODEL = "docs/model.md section 7"
ECONOMICS = "docs/decisions.md, Economics"
REPORTS = "docs/model.md section 7; docs/decisions.md, Reports"


@dataclass(frozen=True)
class Kpi:
    """One KPI: `name`; `unit` (one of `UNITS`); `direction` (which way is better); `label`, how
    it reads in a sentence ("word-of-mouth share of adopters"); `short`, a title for a figure
    panel; `meaning`, one line on what it is (`womsim kpis`); `formula`, where its formula is
    written down; `headline`, shown in the terminal tables of `womsim run` and `womsim compare`;
    `card`, one of the few the HTML report leads with; `panel`, a panel of the comparison
    figures; `up` and `down`, the comparatives for a rise and a fall ("more", "fewer")."""

    name: str
    unit: str
    direction: Direction
    label: str
    short: str
    meaning: str
    formula: str = MODEL
    headline: bool = False
    card: bool = False
    panel: bool = False
    up: str = "higher"
    down: str = "lower"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"KPI {self.name}: unknown unit {self.unit!r}")


_HIGHER, _LOWER, _NEITHER = Direction.HIGHER, Direction.LOWER, Direction.NEITHER

# In the order tables show them. Adopters by source describe the mix of acquisition (fewer from
# paid media is not worse in itself) and seeded customers are an input: neither is better.
KPIS: tuple[Kpi, ...] = (
    Kpi("adopted_fraction", "percent", _HIGHER, "adoption", "Adoption",
        "customers who ever bought or were seeded, over N", headline=True, card=True,
        panel=True),
    Kpi("wom_share", "percent", _HIGHER, "word-of-mouth share of adopters",
        "Word-of-mouth share", "fraction of adopters acquired through talk or shares",
        headline=True, card=True, panel=True),
    Kpi("adopters_paid", "customers", _NEITHER, "adopters brought by paid media",
        "Adopters from paid media", "adopters whose first purchase came from paid media",
        up="more", down="fewer"),
    Kpi("adopters_talk", "customers", _NEITHER, "adopters brought by talk", "Adopters from talk",
        "adopters whose first purchase came from talk", up="more", down="fewer"),
    Kpi("adopters_share", "customers", _NEITHER, "adopters brought by shares",
        "Adopters from shares", "adopters whose first purchase came from a share", up="more",
        down="fewer"),
    Kpi("adopters_seed", "customers", _NEITHER, "seeded customers", "Seeded",
        "seeded customers", up="more", down="fewer"),
    # The run's books: the journeys, purchases and shares counted over the whole run, and where
    # customers are at the end. Every figure and report draws these rows (their mean over runs),
    # so a number means the same wherever it is printed. A customer can make several journeys.
    *(Kpi(name, "customers", _NEITHER, label, label.capitalize(), meaning, up="more",
          down="fewer") for name, label, meaning in (
        ("research_entries", "journeys into research",
         "entries into research (ZMOT) by paid media, talk or shares, win-backs included; seeds "
         "skip research"),
        ("share_entries", "journeys into research brought by a share",
         "entries into research (ZMOT) that a share started"),
        ("won_back", "rejecters won back", "rejected customers back in research (ZMOT)"),
        ("fmot_decisions", "decisions at the first moment of truth",
         "decisions at FMOT, to buy or to reject"),
        ("fmot_purchases", "purchases at the first moment of truth",
         "purchases at FMOT (each customer's first purchase, seeds excluded)"),
        ("fmot_rejections", "rejections at the first moment of truth", "rejections at FMOT"),
        ("experiences", "experiences judged",
         "experiences judged after use (SMOT): first purchases, seeds' and repeat purchases"),
        ("repurchases", "repeat purchases", "returns of loyal customers that ended in a purchase"),
        ("churns", "customers churned", "returns of loyal customers that ended in churn"),
        ("shares_positive", "positive shares", "positive shares after an experience (UMOT)"),
        ("shares_negative", "negative shares", "negative shares after an experience (UMOT)"),
        ("first_shares_positive", "positive shares of a first experience",
         "positive shares of the first experience after buying at FMOT"),
        ("first_shares_negative", "negative shares of a first experience",
         "negative shares of the first experience after buying at FMOT"),
    )),
    *(Kpi(f"{state.column}_at_end", "customers", _NEITHER,
          f"{STATE_LABELS[state]} at the end", f"{STATE_LABELS[state]} at the end",
          f"customers in state {state.name} at the horizon", up="more", down="fewer")
      for state in State),
    Kpi("peak_adoption_week", "week", _LOWER, "peak of first purchases", "Peak week",
        "week of most first purchases (9-week centred moving average)", headline=True,
        up="later", down="earlier"),  # an earlier peak: faster take-off
    Kpi("weeks_to_half", "weeks", _LOWER, "time to half of final adoption",
        "Weeks to half adoption", "weeks until half of the final adopters had adopted",
        headline=True, panel=True, up="longer", down="shorter"),
    Kpi("positive_negative_ratio", "ratio", _HIGHER, "positive-to-negative share ratio",
        "Positive : negative shares", "positive over negative shares", headline=True),
    Kpi("share_rate", "percent", _NEITHER, "share rate", "Share rate",
        "shares (UMOT) per experience judged", up="more", down="fewer"),
    Kpi("satisfaction", "percent", _HIGHER, "satisfaction", "Satisfaction",
        "mean of (v + 1)/2 over every experience judged"),
    Kpi("credibility", "percent", _HIGHER, "credibility of the promise", "Credibility",
        "how far customers believe the promise at the horizon (0..1)"),
    Kpi("nps", "score", _HIGHER, "net promoter score", "Net promoter score",
        "net promoter score over customers with an experience (-100..100)", REPORTS,
        headline=True, card=True, panel=True),
    Kpi("annual_retention", "percent", _HIGHER, "annual retention", "Annual retention",
        "share of customers kept over a year, from returns retained", REPORTS, headline=True),
    Kpi("viral_coefficient", "number", _HIGHER, "viral coefficient", "Viral coefficient",
        "first purchases sourced by a share per customer who shared", headline=True),
    Kpi("revenue", "money", _HIGHER, "revenue", "Revenue", "margin x paid purchases",
        ECONOMICS, headline=True),
    Kpi("cost", "money", _LOWER, "cost", "Cost",
        "paid spend + seeding + referral rewards + quality cost", ECONOMICS, headline=True),
    Kpi("profit", "money", _HIGHER, "profit", "Profit", "revenue - cost", ECONOMICS,
        headline=True, card=True, panel=True),
    Kpi("discounted_profit", "money", _HIGHER, "discounted profit", "Discounted profit",
        "profit discounted at economics.discount_rate per year", ECONOMICS),
    Kpi("roi", "percent", _HIGHER, "return on investment (ROI)", "ROI", "profit / cost",
        ECONOMICS, headline=True, card=True, panel=True),
    Kpi("cac", "money", _LOWER, "acquisition cost per adopter", "CAC",
        "acquisition cost (paid spend, seeding, referral rewards) per adopter", ECONOMICS),
    Kpi("cac_paid", "money", _LOWER, "paid-media cost per adopter it brought", "CAC, paid media",
        "paid spend per adopter brought by paid media", ECONOMICS),
    Kpi("cac_talk", "money", _LOWER, "acquisition cost per adopter brought by talk",
        "CAC, talk", "acquisition cost per adopter brought by talk (organic: 0)", ECONOMICS),
    Kpi("cac_share", "money", _LOWER, "referral cost per adopter brought by a share",
        "CAC, shares", "referral rewards per adopter brought by a share", ECONOMICS),
    Kpi("cac_seed", "money", _LOWER, "cost per seeded customer", "CAC, seeding",
        "seeding cost per seeded customer", ECONOMICS),
    Kpi("clv", "money", _HIGHER, "customer lifetime value", "CLV",
        "expected discounted margin of a new customer: first purchase and returns every "
        "repurchase_weeks, each kept at the observed retention", ECONOMICS),
)

KPI: dict[str, Kpi] = {kpi.name: kpi for kpi in KPIS}
"""The rows of `KPIS` by name."""

KPI_NAMES: tuple[str, ...] = tuple(KPI)
HEADLINE_KPIS: tuple[str, ...] = tuple(kpi.name for kpi in KPIS if kpi.headline)
CARD_KPIS: tuple[str, ...] = tuple(kpi.name for kpi in KPIS if kpi.card)
PANEL_KPIS: tuple[str, ...] = tuple(kpi.name for kpi in KPIS if kpi.panel)
