"""Per-run KPIs (MODEL.md section 7), computed from a run's weekly history and final arrays.

What each KPI is (unit, direction, wording) is in `sim.core.kpis`; this module computes them.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.kernels import DETRACTOR_VALENCE, PROMOTER_VALENCE, Column
from sim.core.kpis import KPI_NAMES
from sim.core.stages import ACQUISITION_SOURCES, Source, State
from sim.core.state import Customers

PEAK_SMOOTHING_WEEKS = 9  # centred moving average before finding the peak (MODEL.md section 7)


def centred_moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Mean over a centred window of `width` weeks (fewer at the ends, never padded with 0)."""
    kernel = np.ones(width)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(np.ones_like(values, dtype=float), kernel, mode="same")
    return sums / counts


def peak_week(first_purchases: np.ndarray) -> float:
    """The `peak_adoption_week` of a run's weekly first purchases (seeds excluded): the week of
    the most after a centred PEAK_SMOOTHING_WEEKS moving average; NaN without any."""
    if first_purchases.sum() <= 0:
        return math.nan
    return float(np.argmax(centred_moving_average(first_purchases, PEAK_SMOOTHING_WEEKS)))


def weekly_outcomes(history: np.ndarray) -> dict[str, np.ndarray]:
    """The weekly outcomes of section 7 for each row of a history (weeks x HISTORY_COLUMNS), by
    name: `satisfaction`, the mean of (v + 1)/2 over the week's experiences; `nps_week`, their net
    promoter score; `retention_week`, the share of returning customers retained; `share_rate`, the
    share of experiences shared. NaN in a week without experiences (or returns)."""
    experiences = history[:, Column.EXPERIENCES]
    returns = history[:, Column.REPURCHASE] + history[:, Column.CHURN]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "satisfaction": (history[:, Column.VALENCE_SUM] / experiences + 1.0) / 2.0,
            "nps_week": 100.0 * (history[:, Column.PROMOTERS] - history[:, Column.DETRACTORS])
            / experiences,
            "retention_week": history[:, Column.REPURCHASE] / returns,
            "share_rate": (history[:, Column.UMOT_POSITIVE] + history[:, Column.UMOT_NEGATIVE])
            / experiences,
        }


# The run's books in the KPI table, each the total over the run of these history columns; the
# customers in each state at the end are the `<state>_at_end` rows. `compute_kpis` and the figures
# (from a timeseries table) both count them from here, so they cannot disagree.
BOOK_TOTALS: dict[str, tuple[Column, ...]] = {
    **{f"adopters_{source.column}": (Column(Column.ADOPTED_PAID + source),)
       for source in ACQUISITION_SOURCES},
    "research_entries": (Column.STIMULUS_PAID, Column.STIMULUS_TALK, Column.STIMULUS_SHARE),
    "share_entries": (Column.STIMULUS_SHARE,),
    "won_back": (Column.WINBACK,),
    "fmot_decisions": (Column.FMOT_BUY, Column.FMOT_REJECT),
    "fmot_purchases": (Column.FMOT_BUY,),
    "fmot_rejections": (Column.FMOT_REJECT,),
    "experiences": (Column.EXPERIENCES,),
    "repurchases": (Column.REPURCHASE,),
    "churns": (Column.CHURN,),
    "shares_positive": (Column.UMOT_POSITIVE,),
    "shares_negative": (Column.UMOT_NEGATIVE,),
    "first_shares_positive": (Column.UMOT_FIRST_POSITIVE,),
    "first_shares_negative": (Column.UMOT_FIRST_NEGATIVE,),
}
AT_END: dict[str, State] = {f"{state.column}_at_end": state for state in State}


def _books(history: np.ndarray, customers: Customers) -> dict[str, float]:
    """The run's books: `BOOK_TOTALS` over the run and the customers in each state at the end."""
    totals = history.sum(axis=0)
    books = {name: float(sum(totals[column] for column in columns))
             for name, columns in BOOK_TOTALS.items()}
    at_end = np.bincount(customers.state, minlength=len(State))
    books.update({name: float(at_end[state]) for name, state in AT_END.items()})
    return books


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def compute_kpis(history: np.ndarray, customers: Customers, scenario) -> dict[str, float]:
    """The KPIs of one run: `history` is its weekly rows (kernels.HISTORY_COLUMNS), `customers`
    its final arrays. Undefined ratios (nothing to divide by) are NaN."""
    n = customers.state.shape[0]
    first_adopted = Column.ADOPTED_PAID
    adopters_by_week = history[:, first_adopted: first_adopted + len(ACQUISITION_SOURCES)]
    kpis = _books(history, customers)
    by_source = [kpis[f"adopters_{source.column}"] for source in ACQUISITION_SOURCES]
    adopters = float(sum(by_source))
    kpis["adopted_fraction"] = adopters / n
    kpis["wom_share"] = _ratio(by_source[Source.TALK] + by_source[Source.SHARE], adopters)

    kpis["peak_adoption_week"] = peak_week(adopters_by_week[:, : Source.SEED].sum(axis=1))
    cumulative = np.cumsum(adopters_by_week.sum(axis=1))
    kpis["weeks_to_half"] = (
        float(np.argmax(cumulative >= adopters / 2.0)) if adopters > 0 else math.nan)

    positive = history[:, Column.UMOT_POSITIVE].sum()
    negative = history[:, Column.UMOT_NEGATIVE].sum()
    kpis["positive_negative_ratio"] = _ratio(positive, negative)
    experiences = history[:, Column.EXPERIENCES].sum()
    kpis["share_rate"] = _ratio(positive + negative, experiences)
    kpis["satisfaction"] = (_ratio(history[:, Column.VALENCE_SUM].sum(), experiences) + 1.0) / 2.0
    kpis["credibility"] = float(history[-1, Column.CREDIBILITY]) if len(history) else math.nan

    judged = customers.experiences > 0
    # from the running valence, the whole relationship; compared in float64 as the kernel does
    valence = customers.running_valence[judged].astype(np.float64)
    kpis["nps"] = (100.0 * (np.count_nonzero(valence >= PROMOTER_VALENCE)
                            - np.count_nonzero(valence <= DETRACTOR_VALENCE)) / judged.sum()
                   if judged.any() else math.nan)

    retained = history[:, Column.REPURCHASE].sum()
    returns = retained + history[:, Column.CHURN].sum()
    per_return = _ratio(retained, returns)
    kpis["annual_retention"] = per_return ** (52.0 / scenario.loyalty.repurchase_weeks)

    sharers = np.count_nonzero(customers.shares > 0)
    kpis["viral_coefficient"] = _ratio(by_source[Source.SHARE], sharers)

    revenue = history[:, Column.REVENUE]
    cost = history[:, Column.COST]
    kpis["revenue"] = float(revenue.sum())
    kpis["cost"] = float(cost.sum())
    kpis["profit"] = kpis["revenue"] - kpis["cost"]
    years = np.arange(history.shape[0]) / 52.0
    economics = scenario.economics
    discount = (1.0 + economics.discount_rate) ** -years
    kpis["discounted_profit"] = float(((revenue - cost) * discount).sum())
    kpis["roi"] = _ratio(kpis["profit"], kpis["cost"])

    paid, seeding, referral = (history[:, column].sum() for column in
                               (Column.COST_PAID, Column.COST_SEED, Column.COST_REFERRAL))
    kpis["cac"] = _ratio(paid + seeding + referral, adopters)
    kpis["cac_paid"] = _ratio(paid, by_source[Source.PAID])
    kpis["cac_talk"] = 0.0 if by_source[Source.TALK] > 0 else math.nan
    kpis["cac_share"] = _ratio(referral, by_source[Source.SHARE])
    kpis["cac_seed"] = _ratio(seeding, by_source[Source.SEED])

    # CLV: margin net of the average quality cost, on the first purchase and on each return
    # (every T_rep weeks on average), each kept with the run's per-return retention.
    purchases = history[:, Column.FMOT_BUY].sum() + retained
    net_margin = economics.margin - _ratio(history[:, Column.COST_QUALITY].sum(), purchases)
    per_return_discount = (1.0 + economics.discount_rate) ** -(
        scenario.loyalty.repurchase_weeks / 52.0)
    kpis["clv"] = net_margin / (1.0 - per_return * per_return_discount)
    return {name: float(kpis[name]) for name in KPI_NAMES}
