"""The validation study: the simulator's Bass and independent-cascade special cases (MODEL.md
section 5) across their parameters, with the simulated points drawn over the analytic curves.

    python experiments/validation.py [--workers N] [--scheduler ADDRESS] [--out out/validation]

Runs (or resumes) the sweeps of validation_bass.toml and validation_cascade.toml into OUT/bass and
OUT/cascade, writes OUT/bass.png and OUT/cascade.png, and prints the largest gap between the
simulated means and the analytic values. The formulas are in sim/analysis/analytic.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import analytic
from sim.analysis.sweep import Experiment, run_sweep
from sim.present import figures as plots
from sim.present.figures.comparison import SCENARIO_COLOURS

HERE = Path(__file__).resolve().parent
STATES = ["unaware", "zmot", "smot", "loyal", "rejected", "churned"]


def bass_figure(sweep, experiment: Experiment, path: Path) -> tuple[float, float]:
    """One panel per imitation q: for each innovation p the closed-form curve and the simulated
    mean fraction not UNAWARE every 8 weeks. Returns the largest |mean - weekly recursion| (the
    exact expectation) and |mean - closed form| (which also carries the weekly step's error)."""
    series = sweep.timeseries
    n = int(series.loc[0, STATES].sum())
    series = series.assign(aware=1.0 - series["unaware"] / n)
    runs = sweep.runs.drop_duplicates("point").set_index("point")
    weeks = experiment.base.weeks
    worst_recursion = worst_closed = 0.0
    with plots.figure() as fig:
        qs = sorted(runs["market.imitation"].unique())
        axes = fig.subplots(1, len(qs), sharey=True, squeeze=False)[0]
        for ax, q in zip(axes, qs, strict=True):
            for index, (point, row) in enumerate(runs[runs["market.imitation"] == q].iterrows()):
                p, colour = row["market.innovation"], SCENARIO_COLOURS[index]
                curve = analytic.bass_weekly_closed_form(p, q, weeks)
                mean = series[series["point"] == point].groupby("week")["aware"].mean()
                recursion = analytic.bass_weekly_recursion(p, q, n, weeks)
                worst_closed = max(worst_closed, float(np.abs(mean.to_numpy() - curve).max()))
                worst_recursion = max(worst_recursion,
                                      float(np.abs(mean.to_numpy() - recursion).max()))
                ax.plot(np.arange(weeks), 100 * curve, color=colour, lw=1.8, label=f"p = {p:g}")
                shown = mean.index[::8]
                ax.plot(shown, 100 * mean.loc[shown], "o", color=colour, ms=5)
            ax.set_title(f"q = {q:g} per year", loc="left")
            ax.set_xlabel("Week")
        axes[0].set_ylabel("Aware of the product (%)")
        axes[0].legend(loc="upper left", title="lines: Bass (1969)\ndots: simulated mean")
        fig.suptitle(f"Bass special case on the complete graph ({n:,} customers, "
                     f"{sweep.runs['replicate'].nunique()} runs per point)", x=0.01, ha="left")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=plots.DPI)
    return worst_recursion, worst_closed


def cascade_figure(sweep, experiment: Experiment, path: Path) -> float:
    """The giant-cascade fraction S(cT) against cT, with every simulated run (small dots) and
    each T's mean over graphs and replicates (large dots). Returns the largest |mean - S|."""
    c = experiment.base.network.mean_degree
    runs = sweep.runs
    means = runs.groupby("sharing.reach")["adopted_fraction"].mean()
    expected = pd.Series([analytic.cascade_final_fraction(c, t) for t in means.index],
                         index=means.index)
    grid = np.linspace(0.0, c * runs["sharing.reach"].max() * 1.05, 400)
    with plots.figure() as fig:
        ax = fig.subplots()
        ax.plot(grid, [100 * analytic.cascade_final_fraction(x, 1.0) for x in grid],
                color=SCENARIO_COLOURS[0], lw=2, label="S = 1 - exp(-cTS) (Newman 2002)")
        ax.plot(c * runs["sharing.reach"], 100 * runs["adopted_fraction"], ".",
                color=SCENARIO_COLOURS[1], alpha=0.4, ms=5, label="each run")
        ax.plot(c * means.index, 100 * means, "o", color=SCENARIO_COLOURS[1], ms=9,
                label="mean over graphs and replicates")
        ax.axvline(1.0, color="#777777", lw=1, ls="--")
        ax.set_xlabel("c T (mean degree x transmissibility)")
        ax.set_ylabel("Customers ever recruited (%)")
        ax.legend(loc="upper left")
        ax.set_title(f"Erdos-Renyi, {experiment.base.network.n:,} customers, c = {c:g}; "
                     f"threshold at c T = 1", loc="left")
        fig.suptitle("Independent cascade: final size against bond percolation", x=0.01,
                     ha="left")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=plots.DPI)
    return float((means - expected).abs().max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int)
    parser.add_argument("--scheduler")
    parser.add_argument("--out", default="out/validation")
    args = parser.parse_args(argv)
    out = Path(args.out)
    gaps = {}
    for name, draw in (("bass", bass_figure), ("cascade", cascade_figure)):
        experiment = Experiment.load(HERE / f"validation_{name}.toml")
        sweep = run_sweep(experiment, out / name, args.workers, args.scheduler, progress=True)
        if len(sweep.failed):
            print(f"{name}: {len(sweep.failed)} runs failed; see {out / name}/manifest.json",
                  file=sys.stderr)
            return 1
        gaps[name] = draw(sweep, experiment, out / f"{name}.png")
    print(f"Bass: largest gap between the simulated mean fraction aware and the weekly "
          f"recursion, any point and week: {gaps['bass'][0]:.4f}; and the closed form: "
          f"{gaps['bass'][1]:.4f}")
    print(f"Cascade: largest gap between the mean final size and S(cT), any T: "
          f"{gaps['cascade']:.4f}")
    print(f"wrote {out}/bass.png and {out}/cascade.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
