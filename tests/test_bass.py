"""The closed-form Bass curve and its least-squares fit (sim/bass.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.bass import _intervals, bass_cdf, fit_bass

DATA = Path(__file__).resolve().parents[1] / "data"


def test_curve_starts_at_zero_and_tends_to_the_market_size():
    assert bass_cdf(0.0, 0.03, 0.38) == 0.0
    assert bass_cdf(-1.0, 0.03, 0.38) == 0.0  # nothing before the launch
    assert bass_cdf(1e4, 0.03, 0.38, m=0.7) == pytest.approx(0.7)


def test_curve_solves_the_bass_equation():
    # Bass (1969): dF/dt = (p + q F/m)(m - F); central differences of the closed form.
    p, q, m = 0.03, 0.38, 0.8
    t = np.linspace(0.1, 30.0, 60)
    h = 1e-5
    slope = (bass_cdf(t + h, p, q, m) - bass_cdf(t - h, p, q, m)) / (2 * h)
    f = bass_cdf(t, p, q, m)
    np.testing.assert_allclose(slope, (p + q * f / m) * (m - f), rtol=1e-6)


def test_without_imitation_the_curve_is_exponential():
    t = np.linspace(0.0, 10.0, 11)
    np.testing.assert_allclose(bass_cdf(t, 0.2, 0.0), 1.0 - np.exp(-0.2 * t), rtol=1e-12)


@pytest.mark.parametrize(("p", "q", "years"), [
    (0.03, 0.38, np.arange(1.0, 21.0)),       # Sultan, Farley & Lehmann's means
    (0.0034, 0.24, np.arange(5.0, 22.0)),     # a slow start, seen only from year 5
    (1.2, 0.7, np.arange(1.0, 18.0) / 12.0),  # monthly, innovation-led
])
def test_fit_recovers_p_and_q_from_a_noiseless_curve(p, q, years):
    fit = fit_bass(years, bass_cdf(years, p, q))
    assert fit.p == pytest.approx(p, rel=0.01)
    assert fit.q == pytest.approx(q, rel=0.01)
    assert fit.m == 1.0 and not fit.fitted_market
    assert fit.rmse < 1e-6


def test_fit_recovers_the_market_size_when_asked():
    years = np.arange(1.0, 21.0)
    fit = fit_bass(years, bass_cdf(years, 0.03, 0.38, m=0.6), fit_market=True)
    assert (fit.p, fit.q, fit.m) == pytest.approx((0.03, 0.38, 0.6), rel=0.01)
    assert fit.fitted_market


def test_intervals_hold_the_estimate_and_widen_with_noise():
    years = np.arange(1.0, 21.0)
    clean = bass_cdf(years, 0.03, 0.38)
    noise = np.random.default_rng(1).normal(0.0, 1.0, years.size)
    small = fit_bass(years, clean + 0.002 * noise)
    large = fit_bass(years, clean + 0.02 * noise)
    for fit in (small, large):
        assert fit.p_interval[0] < fit.p < fit.p_interval[1]
        assert fit.q_interval[0] < fit.q < fit.q_interval[1]
    width = lambda interval: interval[1] - interval[0]  # noqa: E731
    assert width(large.q_interval) > width(small.q_interval)


def test_a_parameter_the_data_do_not_pin_down_gets_no_interval():
    # A Jacobian column near zero: the curve does not move with p, so its variance is beyond
    # what a float holds; the fit says "no interval" rather than overflowing to infinity.
    jacobian = np.array([[1e-150, 0.0], [0.0, 1.0], [0.0, 2.0]])
    with np.errstate(over="raise"):
        p_interval, q_interval = _intervals(jacobian, np.ones(3), 3, 2, np.zeros(2))
    assert p_interval is None
    assert q_interval[0] < 1.0 < q_interval[1]


def test_refrigerator_series_gives_the_published_fit():
    # data/README.md: the closed-form Bass fit of the US refrigerator series 1925-41 with launch
    # year 1920 gives p ~ 0.0034, q ~ 0.24 per year, RMSE ~ 1.6 percentage points.
    with (DATA / "refrigerator_us.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    years = np.array([float(row["year"]) for row in rows])
    fraction = np.array([float(row["adopted_percent"]) for row in rows]) / 100.0
    fit = fit_bass(years, fraction)
    assert fit.p == pytest.approx(0.0034, abs=0.00005)
    assert fit.q == pytest.approx(0.24, abs=0.005)
    assert 100 * fit.rmse == pytest.approx(1.6, abs=0.05)


def test_too_few_points_are_refused():
    with pytest.raises(ValueError, match="at least 2 points"):
        fit_bass(np.array([1.0]), np.array([0.1]))
    with pytest.raises(ValueError, match="at least 3 points"):
        fit_bass(np.array([1.0, 2.0]), np.array([0.1, 0.2]), fit_market=True)
