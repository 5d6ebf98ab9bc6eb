"""One set of books: the journey counts balance within every run, and every count a figure
prints is the number summary.json holds for it (the mean over runs of the KPI of that name)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from sim.app.cli import main
from sim.present import figures as plots
from sim.present.figures.money import money
from sim.run.replicates import simulate
from sim.scenario.load import Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SMALL = ["--set", "network.n=1500", "--weeks", "70", "--reps", "5"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five runs of a scenario with seeds, so that every arrow of the circle carries some."""
    out = tmp_path_factory.mktemp("books") / "run"
    assert main(["run", str(SCENARIOS / "seeding_random.toml"), "--out", str(out), *SMALL]) == 0
    return out


@pytest.mark.parametrize("scenario", ["baseline.toml", "seeding_random.toml",
                                      "service_failure.toml", "recovery_campaign.toml"])
def test_the_books_balance_in_every_run(scenario: str) -> None:
    result = simulate(Scenario.load(SCENARIOS / scenario, overrides=["network.n=1500"]), 5,
                      weeks=70)
    runs, n = result.runs, result.n
    at_end = runs[[c for c in runs.columns if c.endswith("_at_end")]].sum(axis=1)
    np.testing.assert_array_equal(at_end, n)
    # research ends only at FMOT: the journeys not yet decided are the customers researching now
    np.testing.assert_array_equal(runs["research_entries"] - runs["fmot_decisions"],
                                  runs["zmot_at_end"])
    np.testing.assert_array_equal(runs["fmot_purchases"] + runs["fmot_rejections"],
                                  runs["fmot_decisions"])
    # a customer buys at FMOT once: FMOT purchases and seeds are the adopters
    adopters = runs[["adopters_paid", "adopters_talk", "adopters_share", "adopters_seed"]]
    np.testing.assert_array_equal(runs["fmot_purchases"] + runs["adopters_seed"],
                                  adopters.sum(axis=1))
    np.testing.assert_allclose(adopters.sum(axis=1) / n, runs["adopted_fraction"])
    first_shares = runs["first_shares_positive"] + runs["first_shares_negative"]
    assert (first_shares <= runs["fmot_purchases"]).all()
    assert (runs["first_shares_positive"] <= runs["shares_positive"]).all()
    assert (runs["first_shares_negative"] <= runs["shares_negative"]).all()
    assert (runs["share_entries"] <= runs["research_entries"]).all()
    assert (runs["won_back"] <= runs["research_entries"]).all()
    shares = runs["shares_positive"] + runs["shares_negative"]
    np.testing.assert_allclose(shares / runs["experiences"], runs["share_rate"])


def _texts(monkeypatch: pytest.MonkeyPatch, draw, *args, **kwargs) -> str:
    """Every text a figure draws (titles, labels, annotations, legend entries), joined by
    newlines, captured as the figure is saved."""
    seen: list[str] = []

    def capture(fig: Figure, *_, **__) -> None:
        seen.extend(t.get_text() for t in fig.findobj(Text) if t.get_text())

    monkeypatch.setattr(Figure, "savefig", capture)
    draw(*args, **kwargs)
    return "\n".join(seen)


def _count(texts: str, pattern: str) -> str:
    """The number printed where `pattern` (a regex with one group) matches, or a failure."""
    found = re.search(pattern, texts)
    assert found, f"no {pattern!r} in the figure's texts:\n{texts}"
    return found.group(1)


def test_the_figures_print_the_numbers_of_summary_json(
    run_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mean = {k: v["mean"] for k, v in
            json.loads((run_folder / "summary.json").read_text())["kpis"].items()}
    timeseries = pd.read_parquet(run_folder / "timeseries.parquet")
    assert mean["adopters_seed"] > 0 and mean["shares_negative"] > 0  # every arrow carries some

    def count(name: str) -> str:
        return f"{mean[name]:,.0f}"

    circle = _texts(monkeypatch, plots.plot_circle_of_life, timeseries, tmp_path / "c.png")
    for label, kpi in (("FMOT: buy", "fmot_purchases"), ("FMOT: reject", "fmot_rejections"),
                       ("Won back", "won_back"), ("Experience", "experiences"),
                       ("Repurchase", "repurchases"), ("Churn", "churns"),
                       ("Seeded", "adopters_seed"), ("UMOT: positive shares", "shares_positive"),
                       ("UMOT: negative shares", "shares_negative")):
        assert _count(circle, rf"(?m)^{re.escape(label)}\n([\d,]+)") == count(kpi), label
    stimulus = mean["research_entries"] - mean["won_back"]
    assert _count(circle, r"(?m)^Stimulus\n([\d,]+)") == f"{stimulus:,.0f}"
    assert _count(circle, r"led to ([\d,]+) journeys into research") == count("share_entries")
    for state in ("unaware", "zmot", "smot", "loyal", "rejected", "churned"):
        assert re.search(rf"(?m)^{count(f'{state}_at_end')} at end$", circle), state

    funnel = _texts(monkeypatch, plots.plot_funnel, timeseries, tmp_path / "f.png")
    assert _count(funnel, r"of ([\d,]+) journeys into research") == count("research_entries")
    for kpi in ("research_entries", "fmot_decisions", "fmot_purchases"):
        assert re.search(rf"(?m)^{count(kpi)}( \(|$)", funnel), kpi
    shared = mean["first_shares_positive"] + mean["first_shares_negative"]
    assert re.search(rf"(?m)^{shared:,.0f} \(", funnel)
    assert _count(funnel, r"−([\d,]+) still researching") == count("zmot_at_end")
    assert _count(funnel, r"−([\d,]+) rejected at FMOT") == count("fmot_rejections")
    assert _count(funnel, r"Seeded customers \(([\d,]+)\)") == count("adopters_seed")

    sources = _texts(monkeypatch, plots.plot_adoption_by_source, timeseries, tmp_path / "a.png")
    adopters = sum(mean[f"adopters_{s}"] for s in ("paid", "talk", "share", "seed"))
    for name, source in (("Paid media", "paid"), ("Talk", "talk"), ("Shares", "share"),
                         ("Seeding", "seed")):
        share = mean[f"adopters_{source}"] / adopters
        assert _count(sources, rf"{name} \((\d+%) of adopters\)") == f"{share:.0%}", name
    assert _count(sources, r"peak week ([\d.]+)") == f"{mean['peak_adoption_week']:.1f}"

    profit = _texts(monkeypatch, plots.plot_cumulative_profit, timeseries, tmp_path / "p.png")
    assert _count(profit, r"Cumulative profit: (\S+) after") == money(mean["profit"])

    ratio = _texts(monkeypatch, plots.plot_share_ratio, timeseries, tmp_path / "r.png")
    assert (_count(ratio, r"([\d.]+) positive shares per negative one")
            == f"{mean['positive_negative_ratio']:.1f}")
