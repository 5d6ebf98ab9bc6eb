"""Rebuild the calibration data in this folder from the source files (data/README.md).

    python data/prepare.py SOURCE_FOLDER

SOURCE_FOLDER holds owid_us_household_adoption.csv, ckm_nodes.csv and ckm_edges.csv as
README.md describes them. The output files are written beside this script; running it again on
the same sources gives the same bytes.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Aggregate series: (OWID technology name, output file, launch year, last year kept). The last
# year is the last before the series first falls, since cumulative adoption cannot fall.
SERIES = (
    ("Refrigerator", "refrigerator_us.csv", 1920, 1941),
    ("Colour TV", "colour_tv_us.csv", 1954, 1991),
)
# Tie strength of each CKM nomination type: whom a physician asks for advice counts fully,
# a discussion partner half, a friend a quarter (the weak-tie weight of MODEL.md section 2).
TIE_WEIGHT = {"advice": 1.0, "discussion": 0.5, "friendship": 0.25}
OBSERVED = ("adopted", "never")  # CKM statuses with a known adoption month or "never"


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def series(source: Path) -> None:
    """The adoption series, years counted from the launch."""
    with (source / "owid_us_household_adoption.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    for name, filename, launch, last in SERIES:
        rows = [[int(r["year"]) - launch, float(r["percent"]), int(r["year"])]
                for r in table if r["technology"] == name and int(r["year"]) <= last]
        rows.sort()
        _write(HERE / filename, ["year", "adopted_percent", "calendar_year"], rows)


def ckm(source: Path) -> None:
    """The CKM network as a weighted directed edge list (nominee -> nominator: the nominator
    hears the nominee) and the respondents' adoption months."""
    with (source / "ckm_nodes.csv").open(newline="") as handle:
        nodes = list(csv.DictReader(handle))
    with (source / "ckm_edges.csv").open(newline="") as handle:
        nominations = list(csv.DictReader(handle))
    ties: dict[tuple[int, int], set[str]] = {}
    for row in nominations:
        pair = (int(row["dst"]), int(row["src"]))
        ties.setdefault(pair, set()).add(row["tie"])
    rows = [[u, v, max(TIE_WEIGHT[t] for t in kinds), "+".join(sorted(kinds))]
            for (u, v), kinds in sorted(ties.items())]
    linked = {u for u, _ in ties} | {v for _, v in ties}
    # A physician in no nomination is kept as a node by a self-loop (which the loader drops).
    rows += [[n, n, 1.0, "none"] for n in sorted(int(r["node_id"]) for r in nodes)
             if n not in linked]
    _write(HERE / "ckm_edges.csv", ["source", "target", "weight", "ties"], rows)
    adoption = [[int(r["node_id"]), r["toa_month"] if r["status"] == "adopted" else ""]
                for r in nodes if r["status"] in OBSERVED]
    _write(HERE / "ckm_adoption.csv", ["id", "adopted_month"], sorted(adoption))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = Path(sys.argv[1])
    series(folder)
    ckm(folder)
