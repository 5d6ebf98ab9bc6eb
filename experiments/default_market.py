"""The default market's headline facts, and whether they hold on other graph families.

    python experiments/default_market.py [--reps 16] [--workers N]

Prints docs/model.md section 8's figures for the default market (Watts-Strogatz), then the same
facts (adoption at weeks 52, 104 and 156, peak week, positive:negative share ratio, NPS, annual
retention) with every other default unchanged on Barabasi-Albert and Erdos-Renyi graphs of the
same size and mean degree and on the real CKM physicians' network (246 doctors, directed
nomination ties), and whether each lies in the bands docs/model.md section 8 states.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim import Scenario, simulate
from sim.core.stages import ADOPTED_COLUMNS

HERE = Path(__file__).resolve().parent
FAMILIES = {
    "Watts-Strogatz (default)": {},
    "Barabasi-Albert": {"network.kind": "barabasi_albert"},
    "Erdos-Renyi": {"network.kind": "erdos_renyi"},
    "CKM physicians (246, directed)": {"network.kind": "edgelist", "network.directed": True,
                                        "network.path": str(HERE.parent / "data" /
                                                            "ckm_edges.csv")},
}
# The bands of docs/model.md section 8 that the default market's facts should keep on any graph.
BANDS = {"positive_negative_ratio": (2.0, 4.5), "nps": (-10.0, 30.0),
         "annual_retention": (0.80, 0.92), "adopted_156": (0.60, 0.97)}


def facts(overrides: dict, reps: int, workers: int | None) -> dict[str, float]:
    """The headline facts of the default market with `overrides`, means over `reps` runs."""
    result = simulate(Scenario.default().with_overrides(overrides), replications=reps,
                      workers=workers)
    series = result.timeseries
    adopted = (series.assign(adopted=series[list(ADOPTED_COLUMNS)].sum(axis=1))
               .pivot(index="week", columns="replicate", values="adopted").cumsum()
               .mean(axis=1) / result.n)
    runs = result.runs.mean(numeric_only=True)
    buyers = runs[["adopters_paid", "adopters_talk", "adopters_share"]]
    return {
        **{f"adopted_{week}": adopted.loc[week - 1] for week in (13, 26, 52, 104, 156)},
        "peak_adoption_week": runs["peak_adoption_week"],
        **{f"share_{k.split('_')[1]}": v / buyers.sum() for k, v in buyers.items()},
        **{k: runs[k] for k in ("positive_negative_ratio", "nps", "annual_retention",
                                "credibility")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=16)
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    print("| graph | bought by week 52 / 104 / 156 | peak week | paid / talk / share | "
          "pos:neg | NPS | retention | credibility | in the bands |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, overrides in FAMILIES.items():
        f = facts(overrides, args.reps, args.workers)
        outside = [key for key, (low, high) in BANDS.items() if not low <= f[key] <= high]
        print(f"| {name} | {100 * f['adopted_52']:.1f}% / {100 * f['adopted_104']:.1f}% / "
              f"{100 * f['adopted_156']:.1f}% | {f['peak_adoption_week']:.0f} | "
              f"{100 * f['share_paid']:.0f}% / {100 * f['share_talk']:.0f}% / "
              f"{100 * f['share_share']:.0f}% | {f['positive_negative_ratio']:.2f} | "
              f"{f['nps']:+.1f} | {f['annual_retention']:.3f} | {f['credibility']:.2f} | "
              f"{'yes' if not outside else 'no: ' + ', '.join(outside)} |", flush=True)
        if not overrides:
            print(f"|   (weeks 13 / 26: {100 * f['adopted_13']:.1f}% / "
                  f"{100 * f['adopted_26']:.1f}%) | | | | | | | | |", flush=True)


if __name__ == "__main__":
    main()
