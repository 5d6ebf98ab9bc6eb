"""The analytic results the simulator is validated against (MODEL.md section 5), in one place.

- Bass on the complete graph: the fraction not UNAWARE in the row for week t follows the weekly
  recursion F_{t+1} = F_t + (1 - F_t)[1 - exp(-(p + q F_t M/(M - 1)) dt)] from F = 0 before week 0
  (exact in expectation up to O(1/M); Fibich & Gibori 2010), and the Bass (1969) closed form at
  tau = (t + 1) dt (`sim.bass.bass_cdf`).
- Independent cascade on a large Erdos-Renyi graph of mean degree c with edge probability T: the
  final fraction S solves S = 1 - exp(-c T S) (Newman 2002), 0 at or below the threshold cT = 1.

`experiments/validation.py` draws simulated points over these curves.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from sim.analysis.bass import bass_cdf

WEEK = 1.0 / 52.0  # one step in years (MODEL.md section 2)


def bass_weekly_closed_form(innovation: float, imitation: float, weeks: int) -> np.ndarray:
    """The Bass closed form at the end of each week: F((t + 1)/52) for t = 0 .. weeks - 1."""
    return bass_cdf((np.arange(weeks) + 1.0) * WEEK, innovation, imitation)


def bass_weekly_recursion(innovation: float, imitation: float, customers: int,
                          weeks: int) -> np.ndarray:
    """The expected fraction not UNAWARE in each week's row on the complete graph of `customers`
    (MODEL.md section 5's recursion, with talk heard from the M - 1 others)."""
    fractions = np.empty(weeks)
    f = 0.0
    for t in range(weeks):
        hazard = innovation + imitation * f * customers / (customers - 1)
        f += (1.0 - f) * -math.expm1(-hazard * WEEK)
        fractions[t] = f
    return fractions


def cascade_final_fraction(mean_degree: float, transmissibility: float) -> float:
    """The giant cascade's share of the graph: the root in (0, 1] of S = 1 - exp(-c T S), or 0
    when c T <= 1 (no large cascade)."""
    ct = mean_degree * transmissibility
    if ct <= 1.0:
        return 0.0
    # g(S) = 1 - exp(-ct S) - S is positive just above 0 (slope ct - 1 > 0) and negative at 1.
    return brentq(lambda s: -math.expm1(-ct * s) - s, 1e-12, 1.0, xtol=1e-14)
