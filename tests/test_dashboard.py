"""The dashboard: its scenario and sliders, its figures drawn from the model's arrays, the
`womsim dashboard` command, and the page itself in a real browser (Debian's chromium, driven by
Playwright), stepped a few weeks."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from sim.app import dashboard
from sim.app.dashboard import (
    DEFAULT_CUSTOMERS,
    FLOW_BARS,
    OVERRIDES_ENV,
    SCENARIO_ENV,
    dashboard_scenario,
    flows_figure,
    model_params,
    network_figure,
    register,
    solara_command,
)
from sim.core.kernels import HISTORY_COLUMNS
from sim.core.kpis import KPIS
from sim.core.stages import STATE_COLOURS, State
from sim.mesa.model import WomModel
from sim.scenario.load import Scenario, ScenarioError

CHROMIUM = Path("/usr/bin/chromium")


def slider_defaults(params: dict) -> dict:
    """What Mesa's SolaraViz passes to the model before any slider moves."""
    return {key: value["value"] if isinstance(value, dict) else value
            for key, value in params.items()}


def test_default_dashboard_is_the_default_market_on_a_thousand_customers(monkeypatch):
    monkeypatch.delenv(SCENARIO_ENV, raising=False)
    monkeypatch.delenv(OVERRIDES_ENV, raising=False)
    scenario, seeding_key = dashboard_scenario()
    assert scenario.network.n == DEFAULT_CUSTOMERS
    assert scenario.product == Scenario.default().product
    assert seeding_key == f"events[{len(scenario.events) - 1}].count"
    assert scenario.get(seeding_key) == 0 and scenario.events[-1].kind == "seed"


def test_slider_defaults_rebuild_the_scenario_and_the_seeding_slider_seeds(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text('weeks = 20\n[network]\nn = 200\n[product]\nquality = 0.6\n')
    scenario, seeding_key = dashboard_scenario(path, ["media.spend=1000"])
    assert scenario.product.quality == 0.6 and scenario.media.spend == 1000
    params = slider_defaults(model_params(scenario, seeding_key))
    assert WomModel(**params).market == scenario.with_overrides({"seed": scenario.seed})
    seeded = WomModel(**{**params, seeding_key: 12})
    seeded.step()
    assert seeded.engine.history[0, HISTORY_COLUMNS.index("stimulus_seed")] == 12


def test_mesa_resetting_the_dashboard_keeps_the_market(tmp_path):
    """Mesa 3.5+ rebuilds the model on reset with a Mesa scenario of its own as `scenario`."""
    solara_viz = pytest.importorskip("mesa.visualization.solara_viz")
    if not hasattr(solara_viz, "_build_model_init_kwargs"):
        pytest.skip("this Mesa resets the model with the slider values alone")
    scenario, seeding_key = dashboard_scenario(Scenario.default(), ["network.n=150"])
    params = slider_defaults(model_params(scenario, seeding_key))
    model = WomModel(**params)
    again = WomModel(**solara_viz._build_model_init_kwargs(
        model, params, add_scenario_when_empty=True, require_model_accepts_scenario=True))
    assert again.market == model.market and again.run_seed == model.run_seed


def test_network_figure_colours_each_customer_by_its_state():
    scenario, _ = dashboard_scenario(Scenario.default(), ["network.n=150", "weeks=30",
                                                          "market.innovation=2.0"])
    model = WomModel(scenario, seed=1)
    for _ in range(20):
        model.step()
    dots = network_figure(model).axes[0].collections[-1]
    expected = [to_rgba(STATE_COLOURS[State(s)]) for s in model.engine.customers.state]
    assert np.allclose(dots.get_facecolors(), expected)
    assert len(set(model.engine.customers.state.tolist())) >= 3  # several colours were checked


def test_flows_figure_shows_the_last_weeks_moments():
    scenario, _ = dashboard_scenario(Scenario.default(), ["network.n=150", "weeks=30",
                                                          "market.innovation=2.0"])
    model = WomModel(scenario, seed=1)
    assert all(bar.get_width() == 0 for bar in flows_figure(model).axes[0].patches)
    for _ in range(12):
        model.step()
    widths = {key: bar.get_width()
              for (key, _, _), bar in zip(FLOW_BARS, flows_figure(model).axes[0].patches,
                                          strict=True)}
    row = dict(zip(HISTORY_COLUMNS, model.engine.history[11], strict=True))
    for key, column in (("fmot_purchases", "fmot_buy"), ("fmot_rejections", "fmot_reject"),
                        ("experiences", "experiences"), ("shares_positive", "umot_positive"),
                        ("repurchases", "repurchase")):
        assert widths[key] == row[column]
    assert sum(widths.values()) > 0


def test_headline_shows_the_week_and_the_kpis_the_report_leads_with():
    scenario, _ = dashboard_scenario(Scenario.default(), ["network.n=150", "weeks=30",
                                                          "market.innovation=2.0"])
    model = WomModel(scenario, seed=1)
    for _ in range(5):
        model.step()
    line = dashboard.headline(model)
    assert line.startswith("**Week 5 of 30** · ")
    labels = [part.rsplit(" ", 1)[0] for part in line.split(" · ")[1:]]
    assert labels == [kpi.short for kpi in KPIS if kpi.card]
    adopted = np.mean(model.engine.customers.adopted_week >= 0)
    assert adopted > 0 and f"Adoption {100 * adopted:.1f}%" in line


def test_large_graphs_get_fewer_layout_iterations(monkeypatch):
    assert dashboard.layout_iterations(150) == dashboard.LAYOUT_ITERATIONS
    assert dashboard.layout_iterations(DEFAULT_CUSTOMERS) < dashboard.LAYOUT_ITERATIONS
    assert dashboard.layout_iterations(10**6) == dashboard.LAYOUT_MIN_ITERATIONS
    asked = []
    spring_layout = dashboard.nx.spring_layout

    def spy(graph, **options):
        asked.append(options["iterations"])
        return spring_layout(graph, **options)

    monkeypatch.setattr(dashboard.nx, "spring_layout", spy)
    scenario, _ = dashboard_scenario(Scenario.default(), ["network.n=600"])
    dashboard.network_drawing(WomModel(scenario, seed=1).engine.graph)
    assert asked == [dashboard.layout_iterations(600)]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_dashboard_command_serves_the_module_with_the_scenario(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text("[network]\nn = 300\n")
    launched = {}

    class FakeServer:
        def __init__(self, command, env):
            launched.update(command=command, env=env)

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    args = parse(["dashboard", str(path), "--set", "weeks=30", "--port", "8123"])
    assert args.func(args) == 0
    assert launched["command"] == solara_command("127.0.0.1", 8123)
    assert launched["command"][2:4] == ["solara", "run"]
    assert Path(launched["command"][4]) == Path(dashboard.__file__).resolve()
    assert launched["env"][SCENARIO_ENV] == str(path.resolve())
    assert json.loads(launched["env"][OVERRIDES_ENV]) == ["weeks=30"]


def test_dashboard_command_rejects_a_bad_scenario_before_serving(tmp_path, monkeypatch):
    path = tmp_path / "bad.toml"
    path.write_text("[product]\nqualty = 0.5\n")
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("server started"))
    args = parse(["dashboard", str(path)])
    with pytest.raises(ScenarioError, match="did you mean 'quality'"):
        args.func(args)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the dashboard server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the dashboard did not answer at {url} within {timeout:.0f} s")


def shows_something_else(locator, before: bytes, timeout: float) -> bool:
    """Whether the element's picture differs from `before` within `timeout` seconds (a plot
    arrives just after the text that the same render changed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if locator.screenshot() != before:
            return True
        time.sleep(0.5)
    return False


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                    "(CI installs it: apt-get install chromium)")
def test_dashboard_in_a_real_browser_steps_the_model(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("solara")
    path = tmp_path / "dashboard.toml"
    path.write_text('name = "browser test"\nweeks = 52\n[network]\nn = 300\n'
                    "[market]\ninnovation = 1.0\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, SCENARIO_ENV: str(path), OVERRIDES_ENV: "[]"}
    log = (tmp_path / "server.log").open("w")
    # The command `womsim dashboard` runs (see test_dashboard_command_serves_the_module...).
    server = subprocess.Popen(solara_command("127.0.0.1", port), env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for_server(url, server, timeout=240)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url, timeout=120_000)
                page.get_by_text("Week 0 of 52").wait_for(timeout=120_000)
                # Components in the order make_page lists them: network, states, moments.
                images = page.locator("img")
                images.nth(2).wait_for(timeout=60_000)
                # Images are blob URLs, new at every render: compare what they show instead.
                states_before = images.nth(1).screenshot()
                step = page.get_by_role("button", name="Step")
                for week in range(1, 4):
                    step.click()
                    page.get_by_text(f"Week {week} of 52").wait_for(timeout=60_000)
                page.get_by_text("Step: 3").wait_for(timeout=60_000)  # Mesa's own counter
                assert shows_something_else(images.nth(1), states_before, timeout=60)
                page.screenshot(path=str(tmp_path / "dashboard.png"))
                # Reset rebuilds the model from the sliders' values (dotted-key parameters).
                page.get_by_role("button", name="Reset").click()
                page.get_by_text("Week 0 of 52").wait_for(timeout=60_000)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 0
