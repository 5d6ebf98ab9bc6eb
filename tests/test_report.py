"""The strategist's report: verdicts that claim no more than their interval, numbers written for
people, the report's figures on hand-worked tables, and the report itself for a run and for a
comparison: parsed back (every section, every headline KPI, embedded images, nothing external)
and opened in a real browser (Debian's chromium, driven by Playwright) without a console error."""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import __version__
from sim.analysis.compare import Comparison, compare
from sim.core.kernels import HISTORY_COLUMNS
from sim.core.kpis import CARD_KPIS, KPI, KPI_NAMES, KPIS
from sim.present import figures as plots
from sim.present.report import REPORT_NAME, RUN_SECTIONS, write_run_report
from sim.present.report_comparison import COMPARISON_SECTIONS, write_comparison_report
from sim.present.report_text import (
    describe_event,
    format_difference,
    format_interval,
    format_value,
    setting_changes,
    verdict,
    with_count,
)
from sim.scenario.load import Scenario
from sim.scenario.schema import Event

CHROMIUM = Path("/usr/bin/chromium")
PNG_URI = "data:image/png;base64,"
MINUS = "\u2212"

# --- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kpi", "p05", "p95"),
    [
        ("adopted_fraction", -0.012, 0.019),  # straddles 0
        ("adopted_fraction", 0.0, 0.03),  # touches 0: still not a detectable difference
        ("cost", -15_000.0, 9_000.0),  # a KPI where lower is better
        ("adopters_paid", -3.0, 0.0),  # a KPI with no better direction
    ],
)
def test_verdict_says_no_detectable_difference_when_the_interval_includes_zero(kpi, p05, p95):
    text = verdict(kpi, (p05 + p95) / 2, p05, p95, 0.8)
    assert text.startswith(f"No detectable difference in {KPI[kpi].label}")
    for claim in ("Better", "Worse", "higher", "lower", "more", "fewer", "better in"):
        assert claim not in text


def test_verdict_names_a_higher_kpi_that_is_better_with_its_interval():
    # The issue's own example: adoption up 4.1 points, 95% interval of the mean +2.0 to +6.3.
    text = verdict("adopted_fraction", 0.041, 0.020, 0.063, 0.97)
    assert text == ("Better: higher adoption: +4.1 points (95% interval of the mean +2.0 to "
                    "+6.3), better in 97% of paired runs.")


def test_verdict_names_a_lower_kpi_as_better_when_lower_is_better():
    assert KPI["cost"].direction == -1 and KPI["weeks_to_half"].direction == -1
    text = verdict("cost", -12_300.0, -15_000.0, -9_000.0, 1.0)
    assert text == (f"Better: lower cost: {MINUS}12,300 (95% interval of the mean "
                    f"{MINUS}15,000 to {MINUS}9,000), better in 100% of paired runs.")
    assert verdict("weeks_to_half", -4.6, -7.0, -1.7, 1.0).startswith(
        f"Better: shorter time to half of final adoption: {MINUS}4.6 weeks")


def test_verdict_says_worse_when_the_interval_lies_on_the_worse_side():
    assert verdict("cost", 5_000.0, 2_000.0, 8_000.0, 0.0).startswith("Worse: higher cost: +5,000")
    assert verdict("nps", -3.0, -5.5, -1.0, 0.0).startswith(
        f"Worse: lower net promoter score: {MINUS}3.0 points (95% interval of the mean "
        f"{MINUS}5.5 to {MINUS}1.0)")


def test_verdict_of_a_kpi_with_no_direction_names_the_change_without_judging_it():
    assert KPI["adopters_share"].direction == 0
    text = verdict("adopters_share", 674.0, 504.0, 874.0, math.nan)
    assert text == ("More adopters brought by shares: +674 (95% interval of the mean +504 to "
                    "+874).")


def test_verdict_of_an_undefined_difference_makes_no_claim():
    text = verdict("cac_seed", math.nan, math.nan, math.nan, math.nan)
    assert text.startswith("No comparison") and "difference" not in text


# --- numbers for people -------------------------------------------------------------------------


def test_every_kpi_has_words_and_the_fractions_read_in_percent():
    assert all(kpi.label and kpi.short and kpi.meaning for kpi in KPIS)
    assert {kpi.name for kpi in KPIS if kpi.unit == "percent"} == {
        "adopted_fraction", "wom_share", "annual_retention", "roi", "share_rate", "satisfaction",
        "credibility"}


def test_every_kpi_formula_reference_names_a_section_of_the_docs():
    root = Path(__file__).parent.parent
    for kpi in KPIS:
        for reference in kpi.formula.split("; "):
            path, _, section = reference.partition(" section ")
            path, _, heading = path.partition(", ")
            headings = [line for line in (root / path).read_text().splitlines()
                        if line.startswith("## ")]
            wanted = f"## {section}." if section else f"## {heading}"
            assert any(line.startswith(wanted) for line in headings), (kpi.name, reference)


def test_values_differences_and_intervals_read_as_people_write_them():
    assert format_value("adopted_fraction", 0.4871) == "48.7%"
    assert format_value("profit", -1_234_567.4) == f"{MINUS}1,234,567"
    assert format_value("cac", 12.5) == "12.50"
    assert format_value("peak_adoption_week", 94) == "week 94.0"
    assert format_value("nps", -20.34) == f"{MINUS}20.3"
    assert format_value("roi", math.nan) == "n/a"
    assert format_difference("wom_share", 0.008) == "+0.8 points"
    assert format_difference("nps", 0.04) == "0.0 points"  # shows as zero: no sign
    assert format_difference("nps", -0.04) == "0.0 points"
    assert format_difference("revenue", 153_818.75) == "+153,819"
    assert format_interval("adopted_fraction", 0.831, 0.88) == "83.1% to 88.0%"
    assert format_interval("peak_adoption_week", 86.3, 110.6) == "weeks 86.3 to 110.6"
    assert format_interval("adopted_fraction", -0.012, 0.019, difference=True) == \
        f"{MINUS}1.2 to +1.9"


def test_events_are_described_in_words_with_their_weeks():
    quality = Event(kind="quality", start=10, end=20, value=0.4)
    assert describe_event(quality) == "delivered quality 0.4 over weeks 10–19"
    seed = Event(kind="seed", week=0, count=100, strategy="degree")
    assert describe_event(seed) == "100 customers given the product at week 0, chosen by degree"
    referral = Event(kind="referral", start=26, end=52, boost=0.5, reward=10.0)
    assert describe_event(referral) == ("referral programme over weeks 26–51: share logit +0.5, "
                                        "reward 10 per referred purchase")


# --- the report's figures on hand-worked tables -------------------------------------------------


def hand_table() -> pd.DataFrame:
    """Two replicates of two weeks with chosen flows (the columns the report's figures read)."""
    rows = [
        # replicate, week, stimulus paid/talk/share/seed, buy, reject, experiences, +, -, money
        (0, 0, 2, 1, 0, 0, 1, 1, 0, 0, 0, 25.0, 100.0),
        (0, 1, 1, 1, 1, 0, 2, 1, 4, 1, 1, 50.0, 100.0),
        (1, 0, 4, 0, 0, 2, 2, 0, 2, 2, 0, 50.0, 150.0),
        (1, 1, 0, 2, 2, 0, 1, 3, 2, 0, 0, 300.0, 100.0),
    ]
    columns = ["replicate", "week", "stimulus_paid", "stimulus_talk", "stimulus_share",
               "stimulus_seed", "fmot_buy", "fmot_reject", "experiences", "umot_positive",
               "umot_negative", "revenue", "cost"]
    table = pd.DataFrame(rows, columns=columns)
    # of the shares, one in each replicate is of a first experience (positive); seeds adopt
    table["umot_first_positive"] = [0, 1, 1, 0]
    table["adopted_seed"] = table["stimulus_seed"]
    for column in HISTORY_COLUMNS:  # every other count: none
        if column not in table:
            table[column] = 0
    return table


def test_funnel_totals_worked_by_hand():
    funnel = plots.funnel_totals(hand_table())
    # Replicate 0: stimulated 2+1+0 + 1+1+1 = 6; decided (1+1) + (2+1) = 5; bought 3; of its 2
    # shares one is of a first experience, positive. Replicate 1: stimulated 4 + 4 = 8 (seeds are
    # not stimulated); decided 2 + 4 = 6; bought 3; one first experience shared; 2 seeded.
    expected = pd.DataFrame({"stimulated": [6.0, 8.0], "decided": [5.0, 6.0],
                             "bought": [3.0, 3.0], "shared": [1.0, 1.0],
                             "shared_positive": [1.0, 1.0], "seeded": [0.0, 2.0]})
    pd.testing.assert_frame_equal(funnel.reset_index(drop=True), expected)


def test_trailing_share_ratio_worked_by_hand():
    frame = pd.DataFrame({"replicate": [0] * 4, "week": [0, 1, 2, 3],
                          "umot_positive": [3, 0, 6, 2], "umot_negative": [0, 1, 2, 0]})
    table = plots.trailing_shares(frame, window=2, min_shares=4)
    # Two-week sums: positive 3, 3, 6, 8; negative 0, 1, 3, 2. Week 0 has no negative share;
    # the rest have at least 4 shares: ratios 3, 2 and 4.
    assert table["positive_window"].tolist() == [3, 3, 6, 8]
    assert table["negative_window"].tolist() == [0, 1, 3, 2]
    assert np.isnan(table["share_ratio"].iloc[0])
    assert table["share_ratio"].iloc[1:].tolist() == [3.0, 2.0, 4.0]
    # With at least 5 shares needed, week 1 (3 + 1 = 4 shares) has no ratio either.
    assert np.isnan(plots.trailing_shares(frame, 2, min_shares=5)["share_ratio"].iloc[1])


def test_band_by_week_leaves_out_undefined_replicates():
    frame = pd.DataFrame({"replicate": [0, 1, 2, 0, 1, 2], "week": [0, 0, 0, 1, 1, 1],
                          "x": [1.0, np.nan, 3.0, np.nan, np.nan, np.nan]})
    band = plots.band_by_week(frame, "x")
    assert band.loc[0, "mean"] == 2.0  # the mean of 1 and 3
    assert band.loc[1].isna().all()  # undefined in every replicate


def test_payback_week_is_when_profit_stays_positive():
    profit = pd.Series([-5.0, -1.0, 2.0, -0.5, 1.0, 3.0])
    assert plots.payback_week(profit) == 4  # it dipped again in week 3
    assert plots.payback_week(pd.Series([1.0, 2.0])) == 0
    assert plots.payback_week(pd.Series([-1.0, 2.0, -0.1])) is None


def test_lead_week_is_when_one_scenario_stays_ahead_of_another():
    # equal in weeks 0-1 (same seeds, before anything differs), ahead in 2, level in 3, then ahead
    assert plots.lead_week(pd.Series([0.0, 0.0, 5.0, 0.0, 2.0, 4.0])) == 4
    assert plots.lead_week(pd.Series([1.0, 2.0])) == 0
    assert plots.lead_week(pd.Series([3.0, 2.0, 0.0])) is None  # level at the end: not ahead


def test_the_profit_figure_names_the_week_each_scenario_overtakes_the_reference(
        tmp_path, monkeypatch):
    # the hand table's replicate 0 as "late" and replicate 1 as "early": profit to date
    # -75, -125 (late) and -100, +100 (early), so early is ahead from week 1
    table = hand_table()
    frames = {"late": table[table["replicate"] == 0],
              "early": table[table["replicate"] == 1].assign(replicate=0)}
    legend: list[str] = []

    def capture(fig: Figure, *_, **__) -> None:
        legend.extend(text.get_text() for ax in fig.axes if ax.get_legend()
                      for text in ax.get_legend().get_texts())

    monkeypatch.setattr(Figure, "savefig", capture)
    plots.plot_profit_by_scenario(frames, tmp_path / "p.png", ["#000000", "#111111"],
                                  reference="late")
    assert legend[1].endswith("breaks even in week 1; ahead of late from week 1"), legend
    assert "ahead of" not in legend[0]


def test_difference_tone_follows_what_the_interval_supports():
    assert plots.difference_tone(-1.0, 2.0, 1) == "none"
    assert plots.difference_tone(0.0, 2.0, -1) == "none"  # touching 0 is including it
    assert plots.difference_tone(math.nan, math.nan, 1) == "none"
    assert plots.difference_tone(1.0, 2.0, 1) == "better"
    assert plots.difference_tone(1.0, 2.0, -1) == "worse"
    assert plots.difference_tone(-2.0, -1.0, -1) == "better"
    assert plots.difference_tone(-2.0, -1.0, 0) == "neutral"
    assert plots.TONE_COLOURS["better"] == plots.POSITIVE_COLOUR
    assert plots.TONE_COLOURS["worse"] == plots.NEGATIVE_COLOUR


def test_money_is_short_and_signed_for_axes():
    assert plots.money(-1_250_000) == f"{MINUS}1.25M"
    assert plots.money(150_000) == "150k"
    assert plots.money(950) == "950"
    assert plots.money(0) == "0"


def test_money_figures_are_drawn_from_cumulative_revenue_and_cost(tmp_path):
    table = plots.cumulative_money(hand_table())
    last = table[table["week"] == 1].set_index("replicate")
    assert last["profit"].tolist() == [25.0 + 50.0 - 200.0, 50.0 + 300.0 - 250.0]
    assert plots.plot_cumulative_profit(hand_table(), tmp_path / "p.png").is_file()


# --- the report, for a run and for a comparison -------------------------------------------------

BASE = """\
name = "base"
description = "A small market for the report tests."
weeks = 30
seed = 11
replications = 3
[network]
n = 500
[market]
innovation = 0.5
[media]
spend = 200
reference_spend = 200
"""
WHAT_IF = """\
extends = "base.toml"
name = "better"
description = "Better quality and a referral push."
[product]
quality = 0.95
[[events]]
kind = "referral"
start = 5
end = 20
boost = 0.5
reward = 2
"""


class Page(HTMLParser):
    """What the tests read back from a report: headings, images, links, cards, table rows."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.ids: list[str] = []
        self.urls: list[str] = []  # every src and href
        self.images: list[str] = []
        self.kpi_rows: dict[str, list[str]] = {}  # data-kpi -> the texts inside that element
        self.tags: set[str] = set()
        self._stack: list[tuple[str, str | None, str | None]] = []  # tag, data-kpi, class
        self._in_h2 = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for key in ("src", "href"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag == "img":
            self.images.append(attrs["src"])
            return  # a void element: nothing to close
        if tag in ("meta", "br"):
            return
        self._stack.append((tag, attrs.get("data-kpi"), attrs.get("class")))
        if attrs.get("data-kpi"):
            self.kpi_rows.setdefault(attrs["data-kpi"], [])
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break
        self._in_h2 = False

    def handle_data(self, data):
        text = data.strip()
        if not text:
            return
        if self._in_h2:
            self.h2.append(text)
        for _, kpi, _ in self._stack:
            if kpi:
                self.kpi_rows[kpi].append(text)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> Comparison:
    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "base.toml").write_text(BASE)
    (folder / "better.toml").write_text(WHAT_IF)
    return compare([folder / "base.toml", folder / "better.toml"])


@pytest.fixture(scope="module")
def run_report(comparison, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    return write_run_report(comparison.results["better"], folder, "womsim run better.toml")


@pytest.fixture(scope="module")
def comparison_report(comparison, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("comparison")
    return write_comparison_report(comparison, folder, "womsim compare base.toml better.toml")


def assert_self_contained(page: Page, html: str, images: int, folders: tuple[str, ...] = ()
                          ) -> None:
    """Every image an embedded PNG, nothing fetched from anywhere, no script; links only within
    the page or into the given `folders` beside it."""
    assert len(page.images) == images
    for uri in page.images:
        assert uri.startswith(PNG_URI)
        assert base64.b64decode(uri[len(PNG_URI):])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(url.startswith(("#", PNG_URI, *(f"{f}/" for f in folders))) for url in page.urls)
    assert "http://" not in html and "https://" not in html
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}


@pytest.mark.slow
def test_run_report_has_every_section_headline_kpi_and_embedded_figure(comparison, run_report):
    result = comparison.results["better"]
    html = run_report.read_text(encoding="utf-8")
    page = Page(html)
    assert run_report.name == REPORT_NAME
    assert sorted(p.name for p in run_report.parent.iterdir()) == [REPORT_NAME]  # no temp left
    assert page.h2 == list(RUN_SECTIONS.values())
    assert set(RUN_SECTIONS) <= set(page.ids)
    assert_self_contained(page, html, images=len(plots.RUN_FIGURES))
    # The headline: each KPI's mean and 5-95% interval over the runs, as written for people.
    cards = page.kpi_rows
    for kpi in CARD_KPIS:
        stats = result.summary[kpi]
        text = " ".join(cards[kpi])
        assert format_value(kpi, stats["mean"]) in text
        assert format_interval(kpi, stats["p05"], stats["p95"]) in text
    # Every KPI has its row; the economics name each cost kind.
    assert set(KPI_NAMES) <= set(cards)
    for item in ("Cost: paid media", "Cost: seeding", "Cost: referral rewards", "Cost: quality"):
        assert item in html
    # What the scenario changes from the file it extends: quality and the referral event.
    assert "base.toml" in html and "product.quality" in html and "0.95" in html
    assert "referral programme over weeks 5–19: share logit +0.5" in html
    # Provenance: version, seeds and the command.
    assert f"womsim {__version__}" in html and "womsim run better.toml" in html
    assert all(str(seed) in html for seed in result.seeds)


@pytest.mark.slow
def test_comparison_report_has_every_section_and_a_verdict_per_kpi(comparison,
                                                                   comparison_report):
    html = comparison_report.read_text(encoding="utf-8")
    page = Page(html)
    assert page.h2 == list(COMPARISON_SECTIONS.values())
    # Three comparison figures embedded; each scenario's run figures linked in its folder.
    assert_self_contained(page, html, images=3, folders=tuple(comparison.names))
    for name in comparison.names:
        assert f'href="{name}/report.html"' in html
    rows = page.kpi_rows
    for kpi in CARD_KPIS:  # a share of customers with its count beside it: "50.7% (254)"
        for result in comparison.results.values():
            mean = result.summary[kpi]["mean"]
            assert with_count(kpi, format_value(kpi, mean), mean * result.n) in rows[kpi]
    differences = comparison.differences.set_index("kpi")
    for kpi in KPI_NAMES:
        d = differences.loc[kpi]
        expected = verdict(kpi, *(d[c] for c in ("mean", "ci_low", "ci_high", "prob_better",
                                                 "runs_needed")))
        assert expected in rows[kpi]
    # The what-if's settings that differ from the reference (its parent here) are listed.
    assert "product.quality" in html and "events" in html
    assert "womsim compare base.toml better.toml" in html


def browser_problems(report: Path, screenshot: Path) -> list[str]:
    """Open `report` in headless chromium; write a full-page screenshot; return every console
    message and page error."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to open the report")
    playwright = pytest.importorskip("playwright.sync_api")
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(report.resolve().as_uri(), wait_until="load")
            assert page.locator("h2").count() >= 5
            # Every image decoded and laid out (a broken data URI has no natural width).
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert widths and min(widths) > 0
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return problems


@pytest.mark.slow
def test_run_report_opens_in_chromium_without_errors(run_report, tmp_path):
    screenshot = tmp_path / "run_report.png"
    assert browser_problems(run_report, screenshot) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_comparison_report_opens_in_chromium_without_errors(comparison_report, tmp_path):
    screenshot = tmp_path / "comparison_report.png"
    assert browser_problems(comparison_report, screenshot) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_setting_changes_name_each_changed_key_with_both_values(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "better.toml").write_text(WHAT_IF)
    base = Scenario.load(tmp_path / "base.toml")
    better = Scenario.load(tmp_path / "better.toml", ["replications=9"])
    changes = {row["key"]: row for row in setting_changes(better, base)}
    # name and description describe a file; replications change no result: all left out.
    assert set(changes) == {"product.quality", "events"}
    assert changes["product.quality"]["value"] == "0.95"
    assert changes["product.quality"]["other"] == "0.8"
    assert changes["events"]["other"] == "none"
    assert "delivered quality" in changes["product.quality"]["doc"]
