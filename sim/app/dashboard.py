"""A live dashboard in the browser: Mesa's SolaraViz over a `WomModel` (`womsim dashboard`).

It shows the network with customers coloured by state (graphs of at most `NETWORK_DRAW_LIMIT`
customers; larger ones get the plots only), the state counts week by week (Mesa's own plot
component over the model's DataCollector), the circle-of-life moments of the latest week, and
sliders for the main levers: quality, promise, paid spend, share base, reach and seeding (a
random seed event at week 0). Moving a slider takes effect at Reset, which rebuilds the model with
the same seed, so the new run is a paired comparison with the old one (common random numbers).

Run it with `womsim dashboard [SCENARIO] [--set KEY=VALUE ...] [--port P] [--host H]`, or
`solara run sim/app/dashboard.py`, which reads the scenario from $WOMSIM_DASHBOARD_SCENARIO and
overrides from $WOMSIM_DASHBOARD_SET (a JSON list of "key=value" strings). Without a scenario it
shows the default market (MODEL.md) on `DEFAULT_CUSTOMERS` customers, so it stays responsive. In a
notebook, `make_page(scenario)()` displays it.

Solara and Mesa's visualisation are imported only when a page is made, so `register` (the CLI)
works without the `app` extra installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from sim.app.commands import add_command
from sim.core.kpis import CARD_KPIS, KPI
from sim.core.stages import SOURCE_COLOURS, STATE_COLOURS, STATE_LABELS, Source, State
from sim.graph import Graph
from sim.mesa.model import WomModel
from sim.present.figures import NEGATIVE_COLOUR, POSITIVE_COLOUR, circle_flows
from sim.present.tables import format_value
from sim.scenario.load import Scenario

SCENARIO_ENV = "WOMSIM_DASHBOARD_SCENARIO"
OVERRIDES_ENV = "WOMSIM_DASHBOARD_SET"
NETWORK_DRAW_LIMIT = 2_000  # above this many customers the network is not drawn
DEFAULT_CUSTOMERS = 1_000
# The spring layout's iterations: LAYOUT_ITERATIONS for small graphs, fewer for large ones, whose
# every iteration costs more (about LAYOUT_NODE_ITERATIONS customers x iterations in all, at least
# LAYOUT_MIN_ITERATIONS): 10 at 1,000 customers, drawn in about a second instead of several.
LAYOUT_ITERATIONS = 50
LAYOUT_MIN_ITERATIONS = 5
LAYOUT_NODE_ITERATIONS = 10_000
LAYOUT_SEED = 1  # the spring layout's random start: the same graph is always drawn the same

# The moments of one week, in the order of the circle of life: (circle_flows key, label, colour).
FLOW_BARS: tuple[tuple[str, str, str], ...] = (
    ("stimulus", "Stimulus (to ZMOT)", STATE_COLOURS[State.ZMOT]),
    ("adopters_seed", "Seeded (to SMOT)", SOURCE_COLOURS[Source.SEED]),
    ("fmot_purchases", "FMOT: buy", STATE_COLOURS[State.SMOT]),
    ("fmot_rejections", "FMOT: reject", STATE_COLOURS[State.REJECTED]),
    ("won_back", "Won back", STATE_COLOURS[State.ZMOT]),
    ("experiences", "Experience (SMOT)", STATE_COLOURS[State.LOYAL]),
    ("shares_positive", "UMOT: positive share", POSITIVE_COLOUR),
    ("shares_negative", "UMOT: negative share", NEGATIVE_COLOUR),
    ("repurchases", "Repurchase", STATE_COLOURS[State.SMOT]),
    ("churns", "Churn", STATE_COLOURS[State.CHURNED]),
)

_STATE_RGB = np.array([[int(STATE_COLOURS[s][k: k + 2], 16) / 255 for k in (1, 3, 5)]
                       for s in State])
_NETWORK_INCHES = 6.0


# --- the scenario and the sliders ------------------------------------------------------------


def dashboard_scenario(scenario: Scenario | str | os.PathLike | None = None,
                       overrides: list[str] | None = None) -> tuple[Scenario, str]:
    """The scenario the dashboard shows, and the dotted key of its seeding lever.

    `scenario` is a file or a `Scenario`; None means $WOMSIM_DASHBOARD_SCENARIO, else the default
    market on DEFAULT_CUSTOMERS customers. `overrides` ("key=value"; None: $WOMSIM_DASHBOARD_SET)
    apply on top. A random seed event at week 0 with count 0 is appended: the seeding slider sets
    its count.
    """
    if overrides is None:
        overrides = json.loads(os.environ.get(OVERRIDES_ENV, "[]"))
    if scenario is None:
        scenario = os.environ.get(SCENARIO_ENV) or None
    if scenario is None:
        scenario = Scenario.default().with_overrides(
            {"network.n": DEFAULT_CUSTOMERS, "name": "default market"})
    elif not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    data = scenario.to_dict()
    events = data.get("events", [])
    events.append({"kind": "seed", "week": 0, "count": 0, "strategy": "random"})
    data["events"] = events
    with_lever = Scenario.from_dict(data, file=scenario.path)
    return with_lever, f"events[{len(events) - 1}].count"


def _slider(label: str, value: float, low: float, high: float, step: float) -> dict[str, Any]:
    return {"type": "SliderFloat", "label": label, "value": value, "min": low, "max": high,
            "step": step}


def model_params(scenario: Scenario, seeding_key: str) -> dict[str, Any]:
    """SolaraViz's model parameters: the scenario and its seed fixed, a slider per lever (named
    by dotted key, as `WomModel` takes them), each starting at the scenario's value."""
    media, customers = scenario.media, scenario.network.n
    top_spend = max(20_000.0, 4 * media.spend)
    return {
        "market": scenario,
        "seed": scenario.seed,
        "product.quality": _slider("Quality Q", scenario.product.quality, 0.0, 1.0, 0.01),
        "media.promise": _slider("Brand promise B", media.promise, 0.0, 1.0, 0.01),
        "media.spend": _slider("Paid spend per week", media.spend, 0.0, top_spend, 500.0),
        "sharing.base": _slider("Share base s0", scenario.sharing.base, 0.0, 1.0, 0.01),
        "sharing.reach": _slider("Reach r", scenario.sharing.reach, 0.0, 1.0, 0.05),
        seeding_key: {"type": "SliderInt", "label": "Seeded at week 0", "value": 0, "min": 0,
                      "max": max(1, min(customers, 500) // 5), "step": 1},
    }


# --- figures ---------------------------------------------------------------------------------


def _positions(layout: dict, n: int) -> np.ndarray:
    """A networkx layout (node -> position, nodes 0..n-1) as an n x 2 array in node order."""
    return np.array([layout[i] for i in range(n)], dtype=np.float64).reshape(n, 2)


class NetworkDrawing(NamedTuple):
    """What stays the same from week to week in a drawing of the network."""

    positions: np.ndarray  # n x 2, in data units
    extent: tuple[float, float, float, float]  # a square (x0, x1, y0, y1) around them
    edges: np.ndarray  # the edges already rendered, RGBA, one pixel per figure pixel


_drawings: dict[tuple, NetworkDrawing] = {}  # graph fingerprint -> its drawing


def layout_iterations(n: int) -> int:
    """How many spring-layout iterations a graph of `n` customers gets (see LAYOUT_ITERATIONS)."""
    return min(LAYOUT_ITERATIONS, max(LAYOUT_MIN_ITERATIONS, LAYOUT_NODE_ITERATIONS // max(n, 1)))


def network_drawing(graph: Graph) -> NetworkDrawing:
    """A force-directed layout of `graph` (networkx's spring layout, Fruchterman & Reingold,
    `layout_iterations` iterations from a fixed random start, so a graph is always drawn the
    same) and its edges rendered once, kept
    per graph: a step only redraws the customers, and a Reset with the same seed (hence the same
    graph) reuses it all. The complete graph is drawn as a circle without its edges."""
    key = (graph.n, graph.complete, hash(graph.indptr.tobytes()), hash(graph.indices.tobytes()))
    if key in _drawings:
        return _drawings[key]
    segments = np.empty((0, 2, 2))
    if graph.complete:
        pos = _positions(nx.circular_layout(range(graph.n)), graph.n)
    else:
        rows = np.repeat(np.arange(graph.n), graph.degree())
        keep = slice(None) if graph.directed else rows < graph.indices
        a, b = rows[keep], graph.indices[keep].astype(np.int64)
        shape = nx.Graph()
        shape.add_nodes_from(range(graph.n))
        shape.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
        layout = nx.spring_layout(shape, iterations=layout_iterations(graph.n), seed=LAYOUT_SEED)
        pos = _positions(layout, graph.n)
        segments = np.stack([pos[a], pos[b]], axis=1)
    low, high = pos.min(axis=0), pos.max(axis=0)
    centre, half = (low + high) / 2, 0.52 * max(float((high - low).max()), 1e-9)
    extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    fig = Figure(figsize=(_NETWORK_INCHES, _NETWORK_INCHES))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.add_collection(LineCollection(segments, linewidths=0.3, colors="#999999", alpha=0.25))
    fig.canvas.draw()
    edges = np.asarray(fig.canvas.buffer_rgba()).copy()
    _drawings[key] = NetworkDrawing(pos, extent, edges)
    return _drawings[key]


def network_figure(model: WomModel) -> Figure:
    """The network with each customer coloured by its state now (STATE_COLOURS)."""
    drawing = network_drawing(model.engine.graph)
    # A landscape figure with the square network in the middle fits the dashboard's grid cells.
    fig = Figure(figsize=(_NETWORK_INCHES * 1.2, _NETWORK_INCHES))
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.94))
    ax.set_axis_off()
    ax.imshow(drawing.edges, extent=drawing.extent, interpolation="nearest")
    size = float(np.clip(30_000.0 / max(model.n, 1), 8.0, 80.0))  # points^2: dots stay visible
    ax.scatter(drawing.positions[:, 0], drawing.positions[:, 1], s=size,
               c=_STATE_RGB[model.engine.customers.state], linewidths=0)
    ax.set_xlim(drawing.extent[:2])
    ax.set_ylim(drawing.extent[2:])
    when = f"after week {model.week}" if model.week else "before week 1"
    fig.text(0.02, 0.98, f"{model.n:,} customers by state {when}", va="top", fontsize=14)
    return fig


def latest_flows(model: WomModel) -> dict[str, float]:
    """The circle-of-life moments of the last simulated week (`circle_flows` keys); all 0
    before the first week."""
    frame = model.engine.history_frame().iloc[-1:]
    if frame.empty:
        return {key: 0.0 for key, _, _ in FLOW_BARS}
    return circle_flows(frame.assign(replicate=0))


def flows_figure(model: WomModel) -> Figure:
    """A bar per moment of the circle of life: how many customers it moved in the last week
    simulated (titled with weeks counted from 1, as the page's week counter counts them)."""
    flows = latest_flows(model)
    fig = Figure(figsize=(6.0, 4.5))
    fig.subplots_adjust(left=0.3, right=0.97, top=0.92, bottom=0.12)
    ax = fig.subplots()
    rows = np.arange(len(FLOW_BARS))
    values = [flows[key] for key, _, _ in FLOW_BARS]
    ax.barh(rows, values, color=[colour for _, _, colour in FLOW_BARS])
    ax.set_yticks(rows, [label for _, label, _ in FLOW_BARS])
    ax.invert_yaxis()  # the circle reads top to bottom
    ax.set_xlabel("customers this week")
    ax.set_title(f"The circle of life in week {model.week}" if model.week else
                 "The circle of life", loc="left")
    return fig


def _label_states(ax) -> None:
    """Mesa's state plot with the states' display names and axis labels."""
    for line in ax.get_lines():
        line.set_label(STATE_LABELS[State[line.get_label().upper()]])
    ax.legend(loc="center right", fontsize="small")
    ax.set_ylabel("customers")


def headline(model: WomModel) -> str:
    """One line for the page: the week counter (weeks simulated, of the horizon) and the KPIs
    the report leads with (`sim.core.kpis.CARD_KPIS`) so far, formatted as `womsim run` prints
    them."""
    kpis = model.kpis()
    shown = " · ".join(f"{KPI[name].short} {format_value(name, kpis[name])}"
                       for name in CARD_KPIS)
    return f"**Week {model.week} of {model.market.weeks}** · {shown}"


# --- the page --------------------------------------------------------------------------------


def network_view(model: WomModel) -> None:
    """SolaraViz component: the network by state, or a note above NETWORK_DRAW_LIMIT."""
    import solara

    if model.n > NETWORK_DRAW_LIMIT:
        solara.Markdown(f"The network is drawn up to {NETWORK_DRAW_LIMIT:,} customers; this one "
                        f"has {model.n:,}.")
        return
    solara.FigureMatplotlib(network_figure(model), format="png")


def moments_view(model: WomModel) -> None:
    """SolaraViz component: the week counter, headline KPIs and the latest week's moments."""
    import solara

    with solara.Column():
        solara.Markdown(headline(model))
        solara.FigureMatplotlib(flows_figure(model), format="png")


def make_page(scenario: Scenario | str | os.PathLike | None = None,
              overrides: list[str] | None = None):
    """The dashboard as a Solara component (see `dashboard_scenario` for the arguments); each
    browser session gets its own model."""
    import solara
    from mesa.visualization import SolaraViz, make_plot_component

    shown, seeding_key = dashboard_scenario(scenario, overrides)
    params = model_params(shown, seeding_key)
    state_plot = make_plot_component({state.column: STATE_COLOURS[state] for state in State},
                                     post_process=_label_states)
    # How customers feel, as the run goes (KPIs over the weeks so far: docs/model.md section 7).
    nps_plot = make_plot_component({"nps": "#3B4B5C"})
    feeling_plot = make_plot_component({"satisfaction": STATE_COLOURS[State.LOYAL],
                                        "credibility": "#7A5C99",
                                        "share_rate": STATE_COLOURS[State.REJECTED]})
    components = [network_view, state_plot, moments_view, nps_plot, feeling_plot]

    @solara.component
    def Page():
        model = solara.use_memo(lambda: WomModel(shown, seed=shown.seed), [])
        SolaraViz(model, components=components, model_params=params,
                  name=f"womsim: {shown.name}")

    return Page


# --- the command -----------------------------------------------------------------------------


def solara_command(host: str, port: int) -> list[str]:
    """The command that serves this module's page (production mode, no browser opened)."""
    return [sys.executable, "-m", "solara", "run", str(Path(__file__).resolve()),
            "--host", host, "--port", str(port), "--production", "--no-open"]


def cmd_dashboard(args: argparse.Namespace) -> int:
    """`womsim dashboard`: check the scenario, then serve the page until interrupted."""
    overrides = args.set or []
    path = str(Path(args.scenario).resolve()) if args.scenario else ""
    dashboard_scenario(path or None, overrides)  # a bad scenario fails here, as one line
    if importlib.util.find_spec("solara") is None:
        print("womsim: the dashboard needs Solara: pip install 'womsim[app]'", file=sys.stderr)
        return 1
    env = {**os.environ, SCENARIO_ENV: path, OVERRIDES_ENV: json.dumps(overrides)}
    print(f"womsim dashboard: http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    server = subprocess.Popen(solara_command(args.host, args.port), env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:
        # A terminal's Ctrl-C reached the server too; an interrupt sent to this process alone
        # did not: either way, ask it to shut down and wait until it has.
        server.terminate()
        server.wait()
        return 0


def register(commands) -> None:
    """Add `womsim dashboard [SCENARIO] [--set KEY=VALUE] [--port P] [--host H]`."""
    parser = add_command(commands, "dashboard", cmd_dashboard)
    parser.add_argument("scenario", nargs="?",
                        help=f"scenario file (default: the default market on "
                             f"{DEFAULT_CUSTOMERS:,} customers)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a scenario key, e.g. --set network.n=1000 (repeatable)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")


if __name__ == "__main__":
    # `solara run sim/app/dashboard.py` executes this file as a script; the page comes from the
    # installed module, so its caches (the network drawings) live in one place.
    from sim.app.dashboard import make_page as _make_page

    page = _make_page()
