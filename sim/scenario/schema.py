"""Every parameter a scenario can set: one frozen dataclass per scenario section, with defaults,
sources and allowed ranges (MODEL.md; DESIGN.md "Conventions").

This module is the schema. `sim.scenario.load` reads files against it; the engine reads the
values.
A default's source is in its `doc`: a citation, [assumption] or [tuned] as in MODEL.md.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from sim.scenario.limits import MAX_REPLICATIONS, MAX_SEED, MAX_WEEKS


def param(
    default: Any,
    doc: str,
    *,
    type: str = "float",
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[str, ...] | None = None,
    optional: bool = False,
) -> Any:
    """A dataclass field carrying what validation needs.

    `type` is one of "float", "int", "str", "bool", "int_list", "node_list", "path";
    `low`/`high` bound numbers, or each element of a list (inclusive unless `*_open`);
    `optional` allows None (unset); a `default` of `dataclasses.MISSING` makes the field required.
    """
    meta = dict(
        doc=doc, type=type, low=low, high=high, low_open=low_open, high_open=high_open,
        choices=choices, optional=optional,
    )
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


NETWORK_KINDS = (
    "complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", "random_regular",
    "configuration", "edgelist",
)


@dataclass(frozen=True)
class NetworkParams:
    kind: str = param("watts_strogatz", "graph generator [assumption]", type="str",
                      choices=NETWORK_KINDS)
    n: int = param(10_000, "number of customers (ignored for edge lists and degree lists); at "
                   "most 2**31 - 1, as node indices are int32", type="int", low=1,
                   high=2**31 - 1)
    mean_degree: float = param(10.0, "mean number of neighbours; barabasi_albert uses "
                               "m = mean_degree/2, watts_strogatz an even whole number, "
                               "random_regular a whole number with n*mean_degree even", low=0)
    rewire: float = param(0.1, "Watts-Strogatz rewiring probability; rewired edges are weak ties",
                          low=0, high=1)
    weak_tie_weight: float = param(0.25, "tie strength of weak ties (Goldenberg, Libai & Muller "
                                   "2001: beta_w/beta_s ~ 0.01/0.04)", low=0, high=1,
                                   low_open=True)
    seed: int | None = param(None, "graph seed; unset: derived from the scenario seed, so the "
                             "graph is the same for every replicate", type="int", low=0,
                             high=MAX_SEED,
                             optional=True)
    path: str | None = param(None, "edge-list CSV `source,target[,weight]`, relative to the "
                             "scenario file", type="path", optional=True)
    directed: bool = param(False, "edge list is directed (edge u->v: v hears u)", type="bool")
    degrees: tuple[int, ...] | None = param(None, "degree list for the configuration model",
                                            type="int_list", low=0, optional=True)
    nodes: str | None = param(None, "node-list CSV with an `id` column, relative to the scenario "
                              "file: with an edge list, the customers it lists belong to the "
                              "population even without ties", type="path", optional=True)


@dataclass(frozen=True)
class MarketParams:
    innovation: float = param(0.03, "p, external influence per year (Sultan, Farley & Lehmann "
                              "1990)", low=0)
    imitation: float = param(0.38, "q, internal influence per year (Sultan, Farley & Lehmann "
                             "1990)", low=0)
    talk: str = param("emotional", "talk hazard weights talkers by their emotion, or not",
                      type="str", choices=("emotional", "uniform"))
    potential: float = param(1.0, "m, share of customers who could ever adopt; the rest are "
                             "never stimulated (Bass 1969's market potential; 1: everybody, "
                             "[assumption])", low=0, high=1, low_open=True)
    mixing: float = param(0.0, "share of the imitation pressure that is market-wide (mentions "
                          "in mass media, people beyond one's ties, as in Bass) rather than "
                          "from one's own ties (0: ties only, [assumption])", low=0, high=1)


@dataclass(frozen=True)
class MediaParams:
    spend: float = param(5000.0, "baseline paid spend per week [assumption]", low=0)
    reference_spend: float = param(5000.0, "weekly spend at which p_t = p [assumption]", low=0,
                                   low_open=True)
    adstock_decay: float = param(0.9, "adstock carry-over per week [assumption]", low=0, high=1,
                                 high_open=True)
    elasticity: float = param(0.12, "advertising elasticity at the reference spend (Sethuraman, "
                              "Tellis & Briesch 2011)", low=0, high=1, high_open=True)
    promise: float = param(0.85, "brand promise B [tuned]", low=0, high=1)
    owned_quality: float = param(0.5, "owned-media quality o [assumption]", low=0, high=1)
    pass_on: float = param(0.05, "s_c, probability that a customer reached by wholly "
                           "customer-voiced paid content passes it on to its out-neighbours "
                           "[assumption]", low=0, high=1)
    brand_heaviness: float = param(0.5, "h, how brand-heavy the baseline paid content is: 0 "
                                   "customer-voiced (testimonials, stories of use), 1 brand-heavy "
                                   "(logo, claims) [assumption]", low=0, high=1)
    brand_odds: float = param(0.5, "odds ratio of passing on wholly brand-heavy against wholly "
                              "customer-voiced content (direction: Teixeira, Wedel & Pieters "
                              "2012; Tucker 2015; Akpinar & Berger 2017; size [assumption])",
                              low=0, low_open=True)
    tolerance: float = param(0.1, "delta, zone of tolerance: performance this far below the "
                             "promise does not count against it (Zeithaml, Berry & "
                             "Parasuraman 1993) [assumption]", low=0, high=1)
    credibility_gap: float = param(0.3, "g_0, mean shortfall below the promise that leaves it no "
                                   "credibility [assumption]", low=0, low_open=True)
    credibility_loss: float = param(0.25, "alpha_C-, weekly rate at which credibility falls "
                                    "towards what experiences show [assumption]", low=0, high=1)
    credibility_gain: float = param(0.01, "alpha_C+, weekly rate at which it recovers: a "
                                    "half-life of about 70 weeks (Mitra & Golder 2006: years) "
                                    "[assumption]", low=0, high=1)


@dataclass(frozen=True)
class JourneyParams:
    zmot_weeks: float = param(2.0, "T_Z, mean weeks of research after the first [assumption]",
                              low=0)
    sources: int = param(10, "n_src, sources read at FMOT (Google ZMOT study 2011: 10.4)",
                         type="int", low=0)
    conversion: float = param(0.18, "pi_0, buy probability at neutral evidence and a neutral "
                              "brand [tuned]", low=0,
                              high=1)
    review_weight: float = param(math.log(3), "beta_W, weight of net sentiment [assumption]",
                                 low=0)
    owned_weight: float = param(0.5, "beta_o, weight of owned media [assumption]", low=0)
    promise_weight: float = param(3.0, "beta_B, weight of the promise at full credibility [tuned: "
                                  "the profit-maximising promise lies within +0.15 of delivered "
                                  "quality, after Kopalle & Lehmann 2006]", low=0)
    negativity_weight: float = param(1.0, "lambda_N, weight of negative sources (East, Hammond "
                                     "& Lomax 2008)", low=0, low_open=True)
    wom_anchor: float = param(3.0, "the 3 in w = n/(n + 3) [assumption]", low=0, low_open=True)
    repeat_promise_weight: float = param(0.3, "mu, weight of the current promise in a repeat "
                                         "buyer's expectation; the rest is its last experience "
                                         "(Oliver 1980; Kopalle & Lehmann 2006) [assumption]",
                                         low=0, high=1)
    smot_weeks: int = param(2, "d_S, weeks of use before the experience is judged [assumption]",
                            type="int", low=1)


@dataclass(frozen=True)
class ProductParams:
    quality: float = param(0.8, "delivered quality Q [tuned]", low=0, high=1)
    quality_sd: float = param(0.1, "sigma_Q, spread of perceived performance [assumption]",
                              low=0)
    loss_aversion: float = param(2.25, "lambda_L (Tversky & Kahneman 1992)", low=0,
                                 low_open=True)


@dataclass(frozen=True)
class SharingParams:
    mode: str = param("emotional", "share probability from emotion (Berger & Milkman 2012) or "
                      "constant", type="str", choices=("emotional", "constant"))
    base: float = param(0.18, "s_0, share probability of a neutral experience [tuned]", low=0,
                        high=1)
    arousal_odds: float = param(1.30, "odds ratio per sd of arousal (Berger & Milkman 2012)",
                                low=0, low_open=True)
    valence_odds: float = param(1.13, "odds ratio per sd of positivity (Berger & Milkman 2012)",
                                low=0, low_open=True)
    standardise: str = param("experiences", "the typical experience that arousal and valence "
                             "are measured from: the experiences so far (as Berger & Milkman "
                             "standardised across articles), or the prior alone", type="str",
                             choices=("experiences", "prior"))
    prior_experiences: float = param(100.0, "n_0, pseudo-experiences behind the prior typical "
                                     "experience [assumption]", low=0)
    reach: float = param(1.0, "r, probability a share reaches a strong tie [tuned]", low=0,
                         high=1)
    negative_recruit: float = param(0.5, "tau-, probability a negative message recruits "
                                    "(Berger, Sorensen & Rasmussen 2010) [assumption]", low=0,
                                    high=1)
    pool_weeks: int = param(52, "weeks a public review stays readable [assumption]", type="int",
                            low=1)


@dataclass(frozen=True)
class LoyaltyParams:
    repurchase_weeks: float = param(13.0, "T_rep, mean weeks between purchases [assumption]",
                                    low=1)
    retention: float = param(0.95, "rho_0, retention at a returning purchase [assumption]",
                             low=0, high=1)
    valence_effect: float = param(1.5, "gamma_v, effect of running valence on retention "
                                  "[assumption]")
    memory_worse: float = param(0.5, "alpha-, weight of an experience worse than the running "
                                "valence (Mitra & Golder 2006: drops are learnt fast) "
                                "[assumption]", low=0, high=1)
    memory_better: float = param(0.35, "alpha+, weight of an experience better than the running "
                                 "valence (recoveries are learnt slowly) [assumption]", low=0,
                                 high=1)


@dataclass(frozen=True)
class EconomicsParams:
    margin: float = param(25.0, "contribution margin per paid purchase [assumption]", low=0)
    discount_rate: float = param(0.08, "discount rate per year for discounted profit "
                                 "[assumption]", low=0)
    seed_cost: float = param(25.0, "cost of each seeded customer [assumption]", low=0)
    quality_cost: float = param(100.0, "cost per paid purchase per unit of delivered quality "
                                "above quality_cost_base: what quality costs [assumption]", low=0)
    quality_cost_base: float = param(0.8, "delivered quality already paid for in the margin "
                                     "[assumption]", low=0, high=1)
    sized_for: int = param(10000, "customers the weekly spends (media.spend, "
                             "media.reference_spend, campaigns) are sized for: a market of N "
                             "customers spends N / sized_for of them, so the spend per "
                             "customer, and profit and ROI per customer, do not depend on N",
                             type="int", low=1)


EVENT_KINDS = ("campaign", "quality", "promise", "owned", "seed", "referral")
SEED_STRATEGIES = ("random", "degree", "kcore", "betweenness", "community", "greedy")


@dataclass(frozen=True)
class Event:
    """One what-if event (MODEL.md section 6). Windows are [start, end) in weeks; `seed` uses
    `week`. Which keys a kind takes is in `EVENT_KEYS`."""

    kind: str = param(MISSING, "what the event changes", type="str", choices=EVENT_KINDS)
    start: int | None = param(None, "first week of the window", type="int", low=0, optional=True)
    end: int | None = param(None, "week after the last week of the window", type="int", low=0,
                            optional=True)
    week: int | None = param(None, "seed: the week the product is given", type="int", low=0,
                             optional=True)
    value: float | None = param(None, "quality Q, promise B or owned-media quality o over the "
                                "window", low=0, high=1, optional=True)
    sd: float | None = param(None, "quality: sigma_Q over the window", low=0, optional=True)
    spend: float | None = param(None, "campaign: extra paid spend per week", low=0,
                                optional=True)
    brand_heaviness: float | None = param(None, "campaign: how brand-heavy its content is, 0 "
                                          "customer-voiced to 1 brand-heavy (default: "
                                          "media.brand_heaviness)", low=0, high=1,
                                          optional=True)
    count: int | None = param(None, "seed: customers to seed (default: the number of `nodes`)",
                              type="int", low=0, optional=True)
    strategy: str | None = param(None, "seed: how customers are chosen (default random)",
                                 type="str", choices=SEED_STRATEGIES, optional=True)
    nodes: tuple[Any, ...] | None = param(None, "seed: explicit customers (node labels: ids "
                                          "from 0, or edge-list labels)", type="node_list",
                                          low=0, optional=True)
    reward: float | None = param(None, "referral: paid per purchase by a share-recruited "
                                 "customer", low=0, optional=True)
    boost: float | None = param(None, "referral: added to the share logit", optional=True)


@dataclass(frozen=True)
class BudgetParams:
    """One total split between ads, seeding, a referral programme and quality (docs/model.md
    section 6): with the same total, two splits are an equal-money comparison."""

    total: float = param(0.0, "money over the horizon split between ads, seeding, referral and "
                         "quality, sized for economics.sized_for customers (0: no budget; the "
                         "spends are media.spend's and the events')", low=0)
    to_ads: float = param(1.0, "share of the total spent on paid media, evenly over the weeks, "
                          "in place of media.spend", low=0, high=1)
    to_seeding: float = param(0.0, "share spent seeding customers in week 0, at "
                              "economics.seed_cost each", low=0, high=1)
    to_referral: float = param(0.0, "share for a referral programme from week 0, while its "
                               "money lasts", low=0, high=1)
    to_quality: float = param(0.0, "share for quality above product.quality from week 0, while "
                              "its money lasts", low=0, high=1)
    seed_strategy: str = param("degree", "how the budget's seeds are chosen", type="str",
                               choices=SEED_STRATEGIES)
    referral_reward: float = param(10.0, "the referral programme's reward per purchase by a "
                                   "share-recruited customer [assumption]", low=0)
    referral_boost: float = param(0.5, "the referral programme's boost to the share logit "
                                  "[assumption]")
    quality_lift: float = param(0.1, "quality delivered above product.quality while the quality "
                                "money lasts (at most 1) [assumption]", low=0, high=1,
                                low_open=True)


# Required and optional keys per event kind (besides `kind`).
EVENT_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "campaign": (frozenset({"start", "end", "spend"}), frozenset({"brand_heaviness"})),
    "quality": (frozenset({"start", "end", "value"}), frozenset({"sd"})),
    "promise": (frozenset({"start", "end", "value"}), frozenset()),
    "owned": (frozenset({"start", "end", "value"}), frozenset()),
    "seed": (frozenset({"week"}), frozenset({"count", "strategy", "nodes"})),
    "referral": (frozenset({"start", "end"}), frozenset({"reward", "boost"})),
}


@dataclass(frozen=True)
class TopParams:
    name: str = param("scenario", "short name; the default output folder is out/<name>/",
                      type="str")
    description: str = param("", "what the scenario tests", type="str")
    weeks: int = param(156, "horizon in weeks", type="int", low=1,
                       high=MAX_WEEKS)
    seed: int = param(20261125, "run seed; replicate seeds are derived from it", type="int",
                      low=0,
                      high=MAX_SEED)
    replications: int = param(16, "runs with different replicate seeds", type="int", low=1,
                              high=MAX_REPLICATIONS)


SECTIONS: dict[str, type] = {
    "network": NetworkParams,
    "market": MarketParams,
    "media": MediaParams,
    "journey": JourneyParams,
    "product": ProductParams,
    "sharing": SharingParams,
    "loyalty": LoyaltyParams,
    "economics": EconomicsParams,
    "budget": BudgetParams,
}


# Each key's field (its metadata holds the type, range and help text), by where the key lives.
TOP_FIELDS: dict[str, Field] = {f.name: f for f in fields(TopParams)}
EVENT_FIELDS: dict[str, Field] = {f.name: f for f in fields(Event)}
SECTION_FIELDS: dict[str, dict[str, Field]] = {
    name: {f.name: f for f in fields(cls)} for name, cls in SECTIONS.items()
}


def section_keys(section_class: type) -> list[str]:
    """The keys of a section dataclass, in declaration order."""
    return [f.name for f in fields(section_class)]
