"""Draw docs/images/layers.png, the picture of the layers in docs/architecture.md, from the code.

The layers and their order are read from the import-linter contract in pyproject.toml, and the
imports from the code itself by grimp (the library import-linter checks the contracts with), so
the picture cannot drift from what `lint-imports` enforces. Each layer is a band, lowest at the
bottom; in it stand its modules, a package inside a layer (`sweep/`, `figures/` ...) drawn as one
box. An arrow is a module-level import from one layer into a lower one (imports inside functions
and those only for type checkers are left out; imports within a layer are not drawn). Its width
grows with the number of modules importing along it.

Run it from the repository root after moving modules: `python docs/make_layers_figure.py`.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import grimp
import matplotlib
import networkx as nx
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "layers.png"
PACKAGE = "sim"
BAND_COLOURS = ("#e8eef7", "#f4f4f4")
LAYER_COLOUR = "#1f3b5c"
BOX_COLOUR = "#ffffff"
ARROW_COLOURS = matplotlib.colormaps["tab10"].colors
LEFT, RIGHT, ROW_HEIGHT = 0.0, 16.0, 1.6  # where the boxes stand (the labels are left of LEFT)


def layer_rows() -> list[list[str]]:
    """The layers contract's rows, top first; a row of independent siblings ("a | b") is a list
    of several packages."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [[name.strip() for name in row.split("|")] for row in contract["layers"]]


def unit_of(module: str) -> tuple[str, str] | None:
    """(layer, box) of a module: its layer package and the box it is drawn in, a module of the
    layer, a package inside it (with a slash), or the layer's `__init__`."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    layer = ".".join(parts[:2])
    if len(parts) == 2:
        return layer, "__init__"
    box = parts[2] + ("/" if len(parts) > 3 or _is_package(parts[:3]) else "")
    return layer, box


def _is_package(parts: list[str]) -> bool:
    return (ROOT.joinpath(*parts) / "__init__.py").exists()


def cross_layer_imports(graph: grimp.ImportGraph) -> Counter:
    """(importer box, imported box) -> how many module-level imports go from one to the other,
    between different layers only."""
    counts: Counter = Counter()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            source, target = unit_of(importer), unit_of(imported)
            if source is None or target is None or source[0] == target[0]:
                continue
            details = graph.get_import_details(importer=importer, imported=imported)
            if any(not detail["is_lazy"] for detail in details):
                counts[(source, target)] += 1
    return counts


def boxes_by_layer(graph: grimp.ImportGraph, imports: Counter) -> dict[str, list[str]]:
    """Each layer's boxes in alphabetical order, `__init__` first and only if an import between
    layers goes through it."""
    linked = {unit for pair in imports for unit in pair}
    boxes: dict[str, set[str]] = {}
    for module in graph.modules:
        unit = unit_of(module)
        if unit is not None and (unit[1] != "__init__" or unit in linked):
            boxes.setdefault(unit[0], set()).add(unit[1])
    return {layer: sorted(names, key=lambda b: (b != "__init__", b))
            for layer, names in boxes.items()}


def sibling_spans(rows: list[list[str]], boxes: dict[str, list[str]]) -> dict[str, tuple]:
    """The horizontal span (x0, x1) of each layer in its row: siblings share the row in
    proportion to their boxes."""
    spans = {}
    for row in rows:
        sizes = [max(1, len(boxes.get(layer, []))) for layer in row]
        start = LEFT
        for layer, size in zip(row, sizes, strict=True):
            width = (RIGHT - LEFT) * size / sum(sizes)
            spans[layer] = (start, start + width)
            start += width
    return spans


def positions(rows: list[list[str]], boxes: dict[str, list[str]]) -> dict[tuple[str, str], tuple]:
    """Where each box stands: layers as rows (top first), siblings side by side in a row."""
    spans = sibling_spans(rows, boxes)
    pos = {}
    for level, row in enumerate(rows):
        y = (len(rows) - 1 - level) * ROW_HEIGHT
        for layer in row:
            names = boxes.get(layer, [])
            x0, x1 = spans[layer]
            for k, name in enumerate(names):
                pos[(layer, name)] = (x0 + (x1 - x0) * (k + 0.5) / len(names), y)
    return pos


def draw(rows: list[list[str]], boxes: dict[str, list[str]], imports: Counter) -> Figure:
    """The figure: bands, boxes and arrows."""
    pos = positions(rows, boxes)
    spans = sibling_spans(rows, boxes)
    fig = Figure(figsize=(17, 11))
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.95))
    ax.set_axis_off()
    ax.set_xlim(LEFT - 2.2, RIGHT + 0.2)
    ax.set_ylim(-0.8, ROW_HEIGHT * len(rows) - 0.6)
    for level, row in enumerate(rows):
        y = (len(rows) - 1 - level) * ROW_HEIGHT
        ax.add_patch(FancyBboxPatch((LEFT - 2.1, y - 0.62), RIGHT - LEFT + 2.2, 1.24,
                                    boxstyle="round,pad=0.02", fc=BAND_COLOURS[level % 2],
                                    ec="none", zorder=0))
        ax.text(LEFT - 2.0, y, "\n".join(row), ha="left", va="center", fontsize=13,
                fontweight="bold", color=LAYER_COLOUR)
        for layer in row[1:]:  # independent siblings: a dashed line between them
            x = spans[layer][0]
            ax.plot([x, x], [y - 0.6, y + 0.6], ls="--", lw=1.2, color=LAYER_COLOUR, zorder=1)
        if len(row) > 1:
            for layer in row:
                ax.text(spans[layer][0] + 0.1, y + 0.5, layer, ha="left", va="center",
                        fontsize=10, style="italic", color=LAYER_COLOUR)
    layer_level = {layer: level for level, row in enumerate(rows) for layer in row}
    digraph = nx.DiGraph()
    for (source, target), count in sorted(imports.items()):
        digraph.add_edge(source, target, count=count)
    for source, target, data in digraph.edges(data=True):
        colour = ARROW_COLOURS[layer_level[source[0]] % len(ARROW_COLOURS)]
        nx.draw_networkx_edges(
            digraph, pos, edgelist=[(source, target)], ax=ax, width=0.6 + 0.5 * data["count"],
            edge_color=[colour], alpha=0.55, arrows=True, arrowstyle="-|>", arrowsize=10,
            connectionstyle="arc3,rad=0.08", node_size=1600, min_target_margin=12)
    for (_, name), (x, y) in pos.items():
        ax.text(x, y, name, ha="center", va="center", fontsize=9.5, zorder=5,
                bbox={"boxstyle": "round,pad=0.3", "fc": BOX_COLOUR, "ec": LAYER_COLOUR,
                      "lw": 0.8})
    total = sum(imports.values())
    fig.suptitle(f"The layers of `{PACKAGE}` and the {total} module-level imports between them "
                 "(each layer imports only those below; a box ending in / is a package)",
                 fontsize=13, x=0.01, ha="left")
    return fig


def main() -> None:
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True)
    rows = layer_rows()
    imports = cross_layer_imports(graph)
    fig = draw(rows, boxes_by_layer(graph, imports), imports)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
