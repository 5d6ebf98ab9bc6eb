"""What the model says against what marketing research knows (docs/validation.md).

    python experiments/model_claims.py [--reps 12] [--workers N] [--out out/model_claims]

Each claim is a paired comparison of two scenario files of experiments/claims/ (or scenarios/):
the same replicate seeds, so the runs share their random draws, and the claim holds when the
95% interval of the mean paired difference excludes zero on the claimed side. The promise sweep,
the failure's adopter gap, the media response and the NPS mapping are checked the same way. The
tables go to OUT/claims.md (docs/validation.md shows them) and the figures to OUT/*.png; every
line also prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sim import Scenario, simulate
from sim.analysis.compare import compare, difference_stats
from sim.core.stages import ADOPTED_COLUMNS
from sim.present import figures as plots
from sim.present.figures.comparison import SCENARIO_COLOURS

HERE = Path(__file__).resolve().parent
CLAIMS = HERE / "claims"
SCENARIOS = HERE.parent / "scenarios"

# (claim, reference scenario, scenario, {KPI: the sign the difference scenario - reference has})
PAIRS = [
    ("Over-promising backfires: quality 0.5, promise 1.0 against an honest 0.5",
     CLAIMS / "honest_q05.toml", CLAIMS / "overpromise_q05.toml",
     {"profit": -1, "nps": -1, "credibility": -1}),
    ("A failure is remembered: quality 0.4 in weeks 10-19, six years",
     CLAIMS / "market_6y.toml", CLAIMS / "failure_6y.toml",
     {"adopted_fraction": -1, "profit": -1, "credibility": -1}),
    ("A stronger arousal effect does not lower sharing: odds ratio 2.6 against 1.3 per sd",
     CLAIMS / "market.toml", CLAIMS / "strong_arousal.toml", {"share_rate": +1}),
    ("Customer-voiced content travels further than brand-heavy, at equal spend",
     CLAIMS / "brand_heavy_campaign.toml", CLAIMS / "voiced_campaign.toml",
     {"adopters_paid": +1}),
    ("A recovery campaign after a failure pays back within three years",
     SCENARIOS / "service_failure.toml", SCENARIOS / "recovery_campaign.toml",
     {"profit": +1, "adopted_fraction": +1}),
]
PROMISE_STEPS = np.round(np.arange(-0.2, 0.31, 0.1), 2)  # promise minus delivered quality
TRIAL_WEEKS = 26  # the short run in which over-promising may still win trial


def number(value: float) -> str:
    """A signed number as a person reads it: +12,345 for large values, +0.0123 for small ones."""
    return f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+.3g}"


def interval(stats: dict) -> str:
    """'+1.23 [+0.45, +2.01]' (mean and 95% interval) or the exact difference."""
    if stats["outcome"] in ("equal", "exact"):
        return f"{number(stats['mean'])} in every run"
    return f"{number(stats['mean'])} [{number(stats['ci_low'])}, {number(stats['ci_high'])}]"


def holds(stats: dict, sign: int) -> bool:
    """Whether the 95% interval of the mean lies entirely on the side `sign` of zero."""
    return bool(stats["ci_low"] > 0) if sign > 0 else bool(stats["ci_high"] < 0)


def adopted_by_week(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Cumulative adopters, one column per replicate, one row per week."""
    adopted = timeseries.assign(adopted=timeseries[list(ADOPTED_COLUMNS)].sum(axis=1))
    return adopted.pivot(index="week", columns="replicate", values="adopted").cumsum()


def paired_claims(reps: int, workers: int | None) -> tuple[list[str], dict]:
    """The table of PAIRS, and the comparisons by claim for the figures."""
    lines = ["| claim | KPI | difference: mean [95% interval] | holds |", "|---|---|---|---|"]
    comparisons = {}
    for claim, reference, scenario, expected in PAIRS:
        result = compare([reference, scenario], replications=reps, workers=workers)
        comparisons[claim] = result
        rows = result.differences.set_index("kpi")
        for kpi, sign in expected.items():
            stats = rows.loc[kpi].to_dict()
            lines.append(f"| {claim} | {kpi} | {interval(stats)} | "
                         f"{'yes' if holds(stats, sign) else 'NO'} |")
    return lines, comparisons


def trial_gain(comparison) -> str:
    """The short-run trial gain of over-promising: paired difference in adopters by week 26."""
    honest, over = (adopted_by_week(r.timeseries) for r in comparison.results.values())
    stats = difference_stats((over.loc[TRIAL_WEEKS - 1] - honest.loc[TRIAL_WEEKS - 1]).to_numpy(),
                             1)
    return f"adopters by week {TRIAL_WEEKS}, over-promise minus honest: {interval(stats)}"


def failure_gap(comparison, path: Path) -> str:
    """The failure's cumulative-adopter gap week by week (mean and 95% interval), drawn; returns
    the largest mean gap, which must never be positive."""
    base, failed = (adopted_by_week(r.timeseries) for r in comparison.results.values())
    gap = failed - base
    stats = [difference_stats(gap.loc[week].to_numpy(), 1) for week in gap.index]
    mean = np.array([s["mean"] for s in stats])
    low = np.array([s["ci_low"] for s in stats])
    high = np.array([s["ci_high"] for s in stats])
    with plots.figure() as fig:
        ax = fig.subplots()
        ax.axvspan(10, 20, color="#DDDDDD", label="failure, weeks 10-19")
        ax.fill_between(gap.index, low, high, color=SCENARIO_COLOURS[1], alpha=plots.BAND_ALPHA)
        ax.plot(gap.index, mean, color=SCENARIO_COLOURS[1], label="mean and 95% interval")
        ax.axhline(0, color="black", lw=0.8)
        ax.set(xlabel="Week", ylabel="Adopters, failure minus baseline",
               title="A failure is never made up: cumulative adopters stay below the baseline")
        ax.legend(loc="lower right")
        plots.save(fig, path)
    worst = int(np.argmax(mean))
    return (f"largest mean gap in cumulative adopters, failure minus baseline: {mean[worst]:+.2f} "
            f"(week {gap.index[worst]}); gap at the horizon {interval(stats[-1])}")


def promise_sweep(reps: int, workers: int | None, path: Path) -> list[str]:
    """Profit against the promise at delivered quality 0.5 and 0.8; the profit-maximising
    promise must lie between the quality and the quality + 0.15."""
    base = Scenario.load(CLAIMS / "market.toml")
    lines = ["| quality | promise | profit: mean [95% interval of the mean] | NPS |",
             "|---|---|---|---|"]
    with plots.figure() as fig:
        ax = fig.subplots()
        for colour, quality in zip(SCENARIO_COLOURS, (0.5, 0.8), strict=False):
            profits = []
            for promise in np.unique(np.clip(quality + PROMISE_STEPS, 0.0, 1.0)):
                runs = simulate(base.with_overrides({"product.quality": quality,
                                                     "media.promise": float(promise)}),
                                replications=reps, workers=workers).runs
                stats = difference_stats(runs["profit"].to_numpy(), 1)
                profits.append((promise, stats))
                lines.append(f"| {quality} | {promise:.1f} | {interval(stats)} | "
                             f"{runs['nps'].mean():+.1f} |")
            promises = np.array([p for p, _ in profits])
            means = np.array([s["mean"] for _, s in profits])
            ax.errorbar(promises, means, yerr=[means - [s["ci_low"] for _, s in profits],
                                               [s["ci_high"] for _, s in profits] - means],
                        color=colour, marker="o", capsize=3, label=f"quality {quality}")
            best = promises[int(np.argmax(means))]
            within = 0.0 <= best - quality <= 0.15 + 1e-9
            lines.append(f"| {quality} | best {best:.1f} | promise minus quality "
                         f"{best - quality:+.1f} | {'holds' if within else 'NO'} |")
        ax.set(xlabel="Promise B", ylabel="Profit over three years",
               title="Profit peaks where the promise matches what is delivered")
        ax.yaxis.set_major_formatter(lambda v, _: plots.money(v))
        ax.legend()
        plots.save(fig, path)
    return lines


def single_scenarios(reps: int, workers: int | None) -> list[str]:
    """The media response near zero spend and the NPS mapping at the extremes."""
    market = simulate(CLAIMS / "market.toml", replications=reps, workers=workers).runs
    low = simulate(CLAIMS / "spend_1pct.toml", replications=reps, workers=workers).runs
    ratio = low["adopters_paid"].mean() / market["adopters_paid"].mean()
    lines = [f"- paid adopters at 1% of the reference spend: {low['adopters_paid'].mean():.1f} "
             f"against {market['adopters_paid'].mean():.1f} at the reference ({100 * ratio:.1f}%; "
             f"the claim is at most 20%)"]
    for name, bound, sign in (("excellent", 30, 1), ("poor", -50, -1)):
        nps = simulate(CLAIMS / f"{name}.toml", replications=reps, workers=workers).runs["nps"]
        stats = difference_stats(nps.to_numpy(), 1)
        ok = stats["ci_low"] >= bound if sign > 0 else stats["ci_high"] <= bound
        lines.append(f"- NPS of the {name} product: {interval(stats)} (claim: "
                     f"{'at least' if sign > 0 else 'at most'} {bound:+d}; "
                     f"{'holds' if ok else 'NO'})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--out", type=Path, default=Path("out/model_claims"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pairs, comparisons = paired_claims(args.reps, args.workers)
    lines = ["## Paired claims", "", *pairs, "",
             "- " + trial_gain(comparisons[PAIRS[0][0]]),
             "- " + failure_gap(comparisons[PAIRS[1][0]], args.out / "failure_gap.png"), "",
             "## Promise sweep", "",
             *promise_sweep(args.reps, args.workers, args.out / "promise_sweep.png"), "",
             "## Media response and NPS", "", *single_scenarios(args.reps, args.workers)]
    (args.out / "claims.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {args.out}/claims.md, failure_gap.png, promise_sweep.png")


if __name__ == "__main__":
    main()
