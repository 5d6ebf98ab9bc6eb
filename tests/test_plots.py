"""Figures of a run's timeseries: the band helper's numbers, and every figure written as a PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from sim.core.stages import State
from sim.present import figures as plots

STATES = [state.column for state in State]


def synthetic_timeseries(
    replicates: int = 3, weeks: int = 30, n: int = 1000, seeds: int = 5, seed: int = 7
) -> pd.DataFrame:
    """A well-mixed, stochastic compartment version of the circle of life (MODEL.md section 4).

    Every flow moves customers between state counts, so the counts sum to `n` in every row; the
    hazards are scaled so that adoption takes off within `weeks`. Not the model: a table of the
    right shape with plausible numbers.
    """
    rng = np.random.default_rng(seed)
    pace = 156 / weeks
    rows = []
    for replicate in range(replicates):
        unaware, smot, loyal, rejected, churned = n, 0, 0, 0, 0
        zmot = np.zeros(3, dtype=int)  # by source: paid, talk, share
        positive = negative = 0  # shares sent last week
        for week in range(weeks):
            row = dict.fromkeys(
                ["winback", "fmot_buy", "fmot_reject", "experiences", "repurchase", "churn"], 0
            )
            seeded = min(seeds, unaware) if week == 0 else 0
            unaware, smot = unaware - seeded, smot + seeded
            talkers = smot + loyal
            # Stimulus: shares first, then paid media and talk, for unaware and rejected customers.
            recruited = rng.binomial(unaware, 1 - np.exp(-10 * (positive + 0.5 * negative) / n))
            paid_hazard, talk_hazard = 0.0006 * pace, 0.007 * pace * talkers / n
            entering = rng.binomial(unaware - recruited, 1 - np.exp(-paid_hazard - talk_hazard))
            back = rng.binomial(rejected, 1 - np.exp(-0.3 * (paid_hazard + talk_hazard)))
            paid = rng.binomial(entering + back, paid_hazard / (paid_hazard + talk_hazard))
            entries = np.array([paid, entering + back - paid, recruited])
            unaware -= recruited + entering
            rejected -= back
            zmot += entries
            row["winback"] = back
            # FMOT: a third of ZMOT decides each week; buyers are first purchases.
            deciding = rng.binomial(zmot, 1 / 3)
            buying = rng.binomial(deciding, 0.45)
            zmot -= deciding
            rejected += int(deciding.sum() - buying.sum())
            smot += int(buying.sum())
            row["fmot_buy"], row["fmot_reject"] = int(buying.sum()), int((deciding - buying).sum())
            # Loyalty: returns every 13 weeks on average; a few churn.
            returning = rng.binomial(loyal, 1 / 13)
            churn = rng.binomial(returning, 0.04)
            loyal -= returning
            smot += returning - churn
            churned += churn
            row["repurchase"], row["churn"] = returning - churn, churn
            # SMOT and UMOT: half leave each week, sharing now and then, mostly positively.
            leaving = rng.binomial(smot, 0.5)
            shares = rng.binomial(leaving, 0.18)
            positive = rng.binomial(shares, 0.75)
            negative = shares - positive
            smot -= leaving
            loyal += leaving
            row["experiences"] = leaving
            rows.append(
                {
                    "replicate": replicate,
                    "week": week,
                    **dict(
                        zip(
                            STATES,
                            [unaware, int(zmot.sum()), smot, loyal, rejected, churned],
                            strict=True,
                        )
                    ),
                    "stimulus_paid": entries[0],
                    "stimulus_talk": entries[1],
                    "stimulus_share": entries[2],
                    "stimulus_seed": seeded,
                    **row,
                    "umot_positive": positive,
                    "umot_negative": negative,
                    "umot_first_positive": positive // 2,
                    "umot_first_negative": negative // 2,
                    "dropped": round(10 * shares * (smot + loyal + churned) / n),
                    "adopted_paid": buying[0],
                    "adopted_talk": buying[1],
                    "adopted_share": buying[2],
                    "adopted_seed": seeded,
                    "revenue": 30.0 * (row["fmot_buy"] + row["repurchase"]),
                    "cost": 500.0 + 20.0 * seeded,
                    # the week's outcomes (NaN without experiences or returns, as in a run)
                    "satisfaction": rng.uniform(0.6, 0.8) if leaving else np.nan,
                    "nps_week": rng.uniform(-20, 40) if leaving else np.nan,
                    "share_rate": shares / leaving if leaving else np.nan,
                    "retention_week": (returning - churn) / returning if returning else np.nan,
                    "credibility": 1.0 - 0.002 * week,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def timeseries() -> pd.DataFrame:
    frame = synthetic_timeseries()
    assert (frame[STATES].sum(axis=1) == 1000).all()
    return frame


def assert_slide_png(path: Path) -> None:
    """A real PNG, slide-sized (about 1600 x 900 px), with something drawn on it."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert 1400 <= width <= 2000 and 780 <= height <= 1100, (width, height)
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_band_by_week_matches_numpy_percentiles(timeseries: pd.DataFrame) -> None:
    band = plots.band_by_week(timeseries, "loyal")
    # Expected: numpy percentiles over replicates of each week's values, computed independently.
    by_week = np.array(
        [timeseries.loc[timeseries["week"] == week, "loyal"].to_numpy() for week in range(30)]
    )
    assert list(band.index) == list(range(30))
    np.testing.assert_allclose(band["mean"], np.mean(by_week, axis=1))
    np.testing.assert_allclose(band["low"], np.percentile(by_week, 5, axis=1))
    np.testing.assert_allclose(band["high"], np.percentile(by_week, 95, axis=1))
    quartiles = plots.band_by_week(timeseries, "loyal", low=25, high=75)
    np.testing.assert_allclose(quartiles["low"], np.percentile(by_week, 25, axis=1))
    np.testing.assert_allclose(quartiles["high"], np.percentile(by_week, 75, axis=1))


def test_band_by_week_interpolates_linearly_between_replicates() -> None:
    # Three replicates at 0, 10, 20: the 5th percentile sits 10% of the way from 0 to 10 (rank
    # 0.05 x 2 = 0.1), the 95th 90% of the way from 10 to 20 (numpy's default, linear).
    frame = pd.DataFrame({"replicate": [0, 1, 2], "week": [0, 0, 0], "loyal": [20, 0, 10]})
    band = plots.band_by_week(frame, "loyal")
    assert band.loc[0].tolist() == pytest.approx([10.0, 1.0, 19.0])


def test_cumulative_by_replicate_totals_each_replicate_separately(
    timeseries: pd.DataFrame,
) -> None:
    totals = plots.cumulative_by_replicate(timeseries, ["fmot_buy", "churn"])
    last = totals[totals["week"] == 29].set_index("replicate")[["fmot_buy", "churn"]]
    expected = timeseries.groupby("replicate")[["fmot_buy", "churn"]].sum()
    pd.testing.assert_frame_equal(last, expected, check_names=False)
    assert (totals["unaware"].to_numpy() == timeseries["unaware"].to_numpy()).all()


def test_circle_flows_are_mean_totals_with_stimulus_net_of_winbacks_and_seeds(
    timeseries: pd.DataFrame,
) -> None:
    flows = plots.circle_flows(timeseries)
    totals = timeseries.groupby("replicate").sum(numeric_only=True).mean()
    stimulus = totals[["stimulus_paid", "stimulus_talk", "stimulus_share"]].sum()
    assert flows["stimulus"] == pytest.approx(stimulus - totals["winback"])
    assert flows["adopters_seed"] == pytest.approx(5)
    assert flows["fmot_rejections"] == pytest.approx(totals["fmot_reject"])
    assert flows["shares_negative"] == pytest.approx(totals["umot_negative"])
    last = timeseries[timeseries["week"] == timeseries["week"].max()]
    assert flows["loyal_at_end"] == pytest.approx(last["loyal"].mean())


def test_population_is_the_row_sum_of_states(timeseries: pd.DataFrame) -> None:
    assert plots.population(timeseries) == 1000


def test_figures_cope_with_unused_sources_and_a_single_run(tmp_path: Path) -> None:
    # No seeding and one replicate: zero flows are drawn faintly, bands collapse onto the mean.
    frame = synthetic_timeseries(replicates=1, seeds=0)
    assert_slide_png(plots.plot_states(frame, tmp_path / "s.png", title="One run"))
    assert_slide_png(plots.plot_adoption_by_source(frame, tmp_path / "a.png"))
    assert_slide_png(plots.plot_circle_of_life(frame, tmp_path / "c.png"))


def test_write_run_figures_creates_the_folder_and_seven_pngs(
    timeseries: pd.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "run" / "figures"
    paths = plots.write_run_figures(timeseries, folder)
    assert [path.name for path in paths] == [
        "states.png",
        "adoption_by_source.png",
        "circle_of_life.png",
        "funnel.png",
        "share_ratio.png",
        "cumulative_profit.png",
        "outcomes.png",
    ]
    for path in paths:
        assert path.parent == folder
        assert_slide_png(path)
