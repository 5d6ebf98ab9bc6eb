"""Money at any scale and the budget lever: spends follow the market's size without changing the
dynamics, and one total split between ads, seeding, referral and quality spends what each share
says (docs/model.md section 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.app.cli import main
from sim.core.kernels import Column
from sim.present.report_text import budget_note, equal_money_note
from sim.run.engine import Engine
from sim.run.replicates import simulate
from sim.scenario.load import Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SMALL = ["network.n=1200", "weeks=60"]
WEEKS = 60
COSTS = (Column.COST, Column.COST_PAID)


def history(scenario: Scenario, seed: int = 5) -> np.ndarray:
    return Engine(scenario, seed).run().history


def with_budget(*settings: str, base: list[str] = SMALL) -> Scenario:
    return Scenario.load(SCENARIOS / "baseline.toml", overrides=[*base, *settings])


def test_spends_scale_with_the_market_and_nothing_else_does() -> None:
    scaled = history(with_budget())  # 1,200 customers, spends sized for 10,000
    own = history(with_budget("economics.sized_for=1200"))
    others = [c for c in range(own.shape[1]) if c not in COSTS]
    np.testing.assert_array_equal(scaled[:, others], own[:, others])  # the same dynamics
    np.testing.assert_allclose(own[:, Column.COST_PAID], 5000.0)
    np.testing.assert_allclose(scaled[:, Column.COST_PAID], 5000.0 * 1200 / 10_000)


def test_a_budget_all_on_ads_is_media_spend_of_the_same_money_bit_for_bit() -> None:
    plain = history(with_budget("media.spend=3000"))
    budget = history(with_budget(f"budget.total={3000 * WEEKS}", "budget.to_ads=1"))
    np.testing.assert_array_equal(plain, budget)


def test_the_seeding_share_buys_seeds_at_the_seed_cost_in_week_0() -> None:
    # 100,000 sized for 10,000 customers is 12,000 here; 5% of it at 25 a seed buys 24 seeds
    rows = history(with_budget("budget.total=100000", "budget.to_ads=0.95",
                               "budget.to_seeding=0.05"))
    assert rows[0, Column.STIMULUS_SEED] == 24
    assert rows[1:, Column.STIMULUS_SEED].sum() == 0
    assert rows[:, Column.COST_SEED].sum() == 24 * 25
    np.testing.assert_allclose(rows[:, Column.COST_PAID], 0.95 * 12_000 / WEEKS)


@pytest.mark.parametrize(("share", "column", "unit"), [
    ("quality", Column.COST_QUALITY, 100.0 * 0.1),  # quality_cost x lift above the paid base
    ("referral", Column.COST_REFERRAL, 10.0),  # the reward per referred purchase
])
def test_a_programme_runs_until_its_money_is_spent_and_then_stops(share, column, unit) -> None:
    allowance = 0.04 * 300_000 * 1200 / 10_000  # 1,440 for this market
    rows = history(with_budget("budget.total=300000", "budget.to_ads=0.96",
                               f"budget.to_{share}=0.04", "weeks=60"))
    paid = np.cumsum(rows[:, column])
    stop = int(np.argmax(paid >= allowance))  # the week its payments reached the allowance
    assert paid[-1] >= allowance > 0, "the programme never spent its money: test too weak"
    assert np.all(rows[stop + 1:, column] == 0), "it paid after its money was spent"
    # every payment is of the programme's unit, and it overshoots by at most one week's
    assert np.all(np.isclose(rows[: stop + 1, column] / unit,
                             np.round(rows[: stop + 1, column] / unit)))
    assert paid[-1] - allowance < rows[stop, column]


def test_the_quality_programme_lifts_quality_while_it_runs() -> None:
    split = ("budget.total=300000", "budget.to_ads=0.5", "budget.to_quality=0.5")
    lifted = history(with_budget(*split))
    plain = history(with_budget(*split, "budget.quality_lift=1e-9"))
    weeks = lifted[:, Column.EXPERIENCES] > 0
    performance = lifted[weeks, Column.PERFORMANCE_SUM] / lifted[weeks, Column.EXPERIENCES]
    baseline = plain[weeks, Column.PERFORMANCE_SUM] / plain[weeks, Column.EXPERIENCES]
    assert performance[:10].mean() > baseline[:10].mean() + 0.05


def test_the_shipped_equal_money_pair_spends_the_same_total(tmp_path: Path) -> None:
    mix = Scenario.load(SCENARIOS / "budget_mix.toml")
    ads = Scenario.load(SCENARIOS / "budget_all_ads.toml")
    assert mix.budget.total == ads.budget.total == 780_000
    assert ads.budget.to_ads == 1 and mix.budget.to_ads < 1
    # 780,000 over its 156 weeks is the baseline's 5,000 a week: the same runs, bit for bit
    small = ["network.n=1200"]
    np.testing.assert_array_equal(history(ads.with_overrides(small)),
                                  history(Scenario.load(SCENARIOS / "baseline.toml",
                                                        overrides=small)))


@pytest.mark.parametrize(("settings", "message"), [
    (["budget.total=1000", "budget.to_ads=0.5", "budget.to_quality=0.2"],
     "budget.to_ads: the shares of budget.total must add up to 1, got to_ads 0.5 + to_seeding 0 "
     "+ to_referral 0 + to_quality 0.2 = 0.7"),
    (["budget.total=1000", "budget.to_ads=0.5", "budget.to_seeding=0.5", "economics.seed_cost=0"],
     "budget.to_seeding: a seeding share needs economics.seed_cost > 0"),
    (["budget.to_ads=0.5", "budget.to_quality=0.5"],  # shares of nothing: a forgotten total
     "budget.total: the budget's shares split budget.total, which is 0 (no budget)"),
])
def test_a_budget_that_does_not_split_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: list[str], message: str
) -> None:
    args = [arg for setting in settings for arg in ("--set", setting)]
    code = main(["run", str(SCENARIOS / "baseline.toml"), *args, "--out", str(tmp_path / "o")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_notes_say_how_the_money_was_split_spent_and_compared() -> None:
    mix = simulate(with_budget("budget.total=300000", "budget.to_ads=0.9",
                               "budget.to_seeding=0.05", "budget.to_referral=0.05",
                               base=["network.n=1200", "weeks=30"]), 2)
    note = budget_note(mix)
    # 300,000 sized for 10,000 customers is 36,000 for 1,200: 5% seeds 72 customers at 25
    assert note.startswith("budget 36,000: ads 90% (32,400, 1,080 a week in place of "
                           "media.spend), seeding 5% (1,800: 72 customers at 25), referral 5% "
                           "(1,800; spent "), note
    spent = mix.timeseries.groupby("replicate")["cost_referral"].sum().mean()
    assert note.endswith(f"{1800 - spent:,.0f} unspent)") if spent < 1800 else "over" in note
    ads = simulate(with_budget("budget.total=300000", base=["network.n=1200", "weeks=30"]), 2)
    assert equal_money_note({"mix": mix, "ads": ads}) == (
        "an equal-money comparison: every scenario's budget is 36,000")
    plain = simulate(with_budget(base=["network.n=1200", "weeks=30"]), 2)
    assert equal_money_note({"mix": mix, "plain": plain}) is None
    less = simulate(with_budget("budget.total=200000", base=["network.n=1200", "weeks=30"]), 2)
    assert equal_money_note({"mix": mix, "less": less}) == (
        "not an equal-money comparison: the budgets differ (mix 36,000, less 24,000)")

