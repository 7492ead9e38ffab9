"""A small Mermaid-like flowchart syntax, and its layered layout (the drawing is in paint_diagram).

Syntax, one statement a line (an optional first line `graph TD` / `flowchart LR` is accepted; the frame's
orientation decides the direction): `A[Load] --> B{Ok?}`, `B -->|yes| C(Save)`, chains `A --> B --> C`,
bare ids `A --> B`, or a node on its own `A[Load]`. Shapes: `[box]`, `{diamond}`, `(rounded)`. `%%` starts a
comment, a trailing `;` is ignored. A node keeps the last label given to it.

Layout (Sugiyama-style, small graphs): back edges of cycles are reversed, nodes ranked by longest path,
edges longer than one rank pass through dummy nodes, and each rank is ordered by barycentre sweeps that keep
the order with the fewest crossings.
"""

import re
from dataclasses import dataclass, field
from typing import Literal

from media.errors import MediaError

Shape = Literal["box", "diamond", "rounded"]
MAX_NODES, MAX_EDGES = 30, 60
_HEADER = re.compile(r"^(?:graph|flowchart)(?:\s+(?:TD|TB|BT|LR|RL))?$", re.IGNORECASE)
_ID = re.compile(r"\w+")
_ARROW = re.compile(r"-->(?:\|([^|]*)\|)?")
_SHAPES: dict[str, tuple[str, Shape]] = {"[": ("]", "box"), "{": ("}", "diamond"), "(": (")", "rounded")}
_SWEEPS = 8


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    shape: Shape


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Flowchart:
    nodes: dict[str, Node]  # in order of first appearance
    edges: list[Edge]


def _invalid(number: int, reason: str) -> MediaError:
    return MediaError("DIAGRAM_INVALID", f"line {number}: {reason}")


def _parse_line(line: str, number: int) -> tuple[list[tuple[str, str | None, Shape | None]], list[str]]:
    """The nodes of a statement (id, label or None, shape or None) and the labels of the arrows between."""
    nodes: list[tuple[str, str | None, Shape | None]] = []
    labels: list[str] = []
    pos = 0
    while True:
        while pos < len(line) and line[pos].isspace():
            pos += 1
        found = _ID.match(line, pos)
        if found is None:
            what = repr(line[pos : pos + 12]) if pos < len(line) else "the end of the line"
            raise _invalid(number, f"expected a node id at column {pos + 1}, found {what}")
        ident, pos = found.group(0), found.end()
        label: str | None = None
        shape: Shape | None = None
        if pos < len(line) and line[pos] in _SHAPES:
            close, shape = _SHAPES[line[pos]]
            end = line.find(close, pos + 1)
            if end < 0:
                raise _invalid(number, f"'{line[pos]}' at column {pos + 1} is never closed with '{close}'")
            label = line[pos + 1 : end].strip().strip('"').strip()
            if not label:
                raise _invalid(number, f"node {ident} has an empty label")
            pos = end + 1
        nodes.append((ident, label, shape))
        while pos < len(line) and line[pos].isspace():
            pos += 1
        if pos == len(line):
            return nodes, labels
        arrow = _ARROW.match(line, pos)
        if arrow is None:
            raise _invalid(number, f"expected '-->' at column {pos + 1}, found {line[pos : pos + 12]!r}")
        if arrow.group(1) is None and line.startswith("|", arrow.end()):
            raise _invalid(number, f"the edge label at column {arrow.end() + 1} is never closed with '|'")
        labels.append((arrow.group(1) or "").strip())
        pos = arrow.end()
        if not line[pos:].strip():
            raise _invalid(number, f"'-->' at column {arrow.start() + 1} needs a node after it")


def parse_flowchart(text: str) -> Flowchart:
    """The flowchart `text` describes; malformed text raises DIAGRAM_INVALID with the line and reason."""
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    seen_statement = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("%%", 1)[0].strip().rstrip(";").strip()
        if not line:
            continue
        if not seen_statement and _HEADER.match(line):
            seen_statement = True
            continue
        seen_statement = True
        chain, labels = _parse_line(line, number)
        for ident, label, shape in chain:
            if ident not in nodes or label is not None:
                nodes[ident] = Node(ident, label if label is not None else ident, shape or "box")
        for (source, _, _), (target, _, _), label in zip(chain, chain[1:], labels, strict=False):
            if source == target:
                raise _invalid(
                    number, f"{source} --> {target}: an edge from a node to itself is not supported"
                )
            edge = Edge(source, target, label)
            if edge not in edges:
                edges.append(edge)
        if len(nodes) > MAX_NODES or len(edges) > MAX_EDGES:
            raise _invalid(
                number, f"too many nodes or edges (at most {MAX_NODES} nodes and {MAX_EDGES} edges)"
            )
    if not nodes:
        raise MediaError("DIAGRAM_INVALID", "the diagram has no nodes")
    return Flowchart(nodes, edges)


@dataclass(frozen=True)
class Route:
    """An edge through the ranks: `chain` runs down the ranks (node, dummies..., node); `reversed` when the
    edge points up (a back edge of a cycle), so its arrow ends at chain[0]."""

    edge: Edge
    chain: list[str]
    reversed: bool


@dataclass
class Ranking:
    layers: list[list[str]]  # ids per rank, in order; dummies are "~<n>"
    routes: list[Route]
    rank: dict[str, int] = field(default_factory=dict)


def is_dummy(ident: str) -> bool:
    return ident.startswith("~")  # \w ids never start with "~"


def _back_edges(chart: Flowchart) -> set[int]:
    """Edges that close a cycle, found by depth-first search in order of appearance."""
    out: dict[str, list[int]] = {n: [] for n in chart.nodes}
    for k, edge in enumerate(chart.edges):
        out[edge.source].append(k)
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    back: set[int] = set()

    def visit(node: str) -> None:
        state[node] = 1
        for k in out[node]:
            target = chart.edges[k].target
            if state.get(target) == 1:
                back.add(k)
            elif target not in state:
                visit(target)
        state[node] = 2

    for node in chart.nodes:
        if node not in state:
            visit(node)
    return back


def rank_flowchart(chart: Flowchart) -> Ranking:
    back = _back_edges(chart)
    pairs = [(e.target, e.source) if k in back else (e.source, e.target) for k, e in enumerate(chart.edges)]
    rank = dict.fromkeys(chart.nodes, 0)
    # Longest path: at most |V| relaxation rounds on a DAG.
    for _ in range(len(chart.nodes)):
        changed = False
        for upper, lower in pairs:
            if rank[lower] < rank[upper] + 1:
                rank[lower], changed = rank[upper] + 1, True
        if not changed:
            break
    layers: list[list[str]] = [[] for _ in range(max(rank.values()) + 1)]
    for node in chart.nodes:
        layers[rank[node]].append(node)
    routes: list[Route] = []
    for k, (edge, (upper, lower)) in enumerate(zip(chart.edges, pairs, strict=True)):
        chain = [upper]
        for r in range(rank[upper] + 1, rank[lower]):
            dummy = f"~{len(rank)}"
            rank[dummy] = r
            layers[r].append(dummy)
            chain.append(dummy)
        routes.append(Route(edge, [*chain, lower], k in back))
    ranking = Ranking(layers, routes, rank)
    _order(ranking)
    return ranking


def _neighbours(ranking: Ranking) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    up: dict[str, list[str]] = {n: [] for layer in ranking.layers for n in layer}
    down: dict[str, list[str]] = {n: [] for layer in ranking.layers for n in layer}
    for route in ranking.routes:
        for a, b in zip(route.chain, route.chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)
    return up, down


def crossings(ranking: Ranking) -> int:
    _, down = _neighbours(ranking)
    total = 0
    for upper, lower in zip(ranking.layers, ranking.layers[1:], strict=False):
        where = {n: i for i, n in enumerate(lower)}
        segments = [(i, where[b]) for i, a in enumerate(upper) for b in down[a]]
        total += sum(1 for a, b in segments for c, d in segments if a < c and b > d)
    return total


def _order(ranking: Ranking) -> None:
    """Barycentre sweeps down and up the ranks; keeps the best order seen."""
    up, down = _neighbours(ranking)
    best, best_crossings = [list(layer) for layer in ranking.layers], crossings(ranking)
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(ranking.layers)) if downward else range(len(ranking.layers) - 2, -1, -1)
        for r in indices:
            fixed = ranking.layers[r - 1] if downward else ranking.layers[r + 1]
            ranking.layers[r] = _by_barycentre(ranking.layers[r], fixed, up if downward else down)
        count = crossings(ranking)
        if count < best_crossings:
            best, best_crossings = [list(layer) for layer in ranking.layers], count
    ranking.layers = best


def _by_barycentre(layer: list[str], fixed: list[str], links: dict[str, list[str]]) -> list[str]:
    """`layer` sorted by the mean position of each node's neighbours in `fixed`; a node without any keeps
    its place (the sort is stable)."""
    where = {n: i for i, n in enumerate(fixed)}

    def barycentre(node: str) -> float:
        linked = [where[n] for n in links[node]]
        return sum(linked) / len(linked) if linked else float(layer.index(node))

    return sorted(layer, key=barycentre)


def place(ranking: Ranking, sizes: dict[str, float], gap: float) -> dict[str, float]:
    """Centre coordinates across the ranks (`sizes` are the nodes' extents across them): each rank in turn
    moves towards its placed neighbour rank, down, up and down again, so nodes end centred under their
    parents and parents over their children where there is room. Dummies yield to real nodes."""
    upper: dict[str, list[str]] = {n: [] for layer in ranking.layers for n in layer}
    lower: dict[str, list[str]] = {n: [] for layer in ranking.layers for n in layer}
    for route in ranking.routes:
        for a, b in zip(route.chain, route.chain[1:], strict=False):
            # A loop back pulls its own dummies only: it should not drag the main flow sideways.
            if not route.reversed or is_dummy(b):
                upper[b].append(a)
            if not route.reversed or is_dummy(a):
                lower[a].append(b)
    where: dict[str, float] = {}
    for layer in ranking.layers:
        x = 0.0
        for node in layer:
            where[node] = x + sizes[node] / 2
            x += sizes[node] + gap
        for node in layer:
            where[node] -= (x - gap) / 2
    count = len(ranking.layers)
    for ranks, links in (
        (range(1, count), upper),
        (range(count - 2, -1, -1), lower),
        (range(1, count), upper),
    ):
        for r in ranks:
            layer = ranking.layers[r]
            wanted = [
                sum(where[m] for m in links[n]) / len(links[n]) if links[n] else where[n] for n in layer
            ]
            # Nodes with nothing to follow in this direction, and dummies, give way to those that do.
            weights = [0.01 if is_dummy(n) else 1.0 if links[n] else 0.3 for n in layer]
            spread = _spread(wanted, [sizes[n] for n in layer], gap, weights)
            where.update(zip(layer, spread, strict=True))
    low = min(where[n] - sizes[n] / 2 for n in where)
    return {n: x - low for n, x in where.items()}


def _spread(wanted: list[float], sizes: list[float], gap: float, weights: list[float]) -> list[float]:
    """The positions nearest `wanted` (weighted least squares) that keep the rank's order with at least
    `gap` between nodes. With x_i = y_i + offset_i the spacing becomes y non-decreasing, an isotonic
    regression solved exactly by pooling adjacent violators; siblings end centred on their common target."""
    offsets = [0.0]
    for a, b in zip(sizes, sizes[1:], strict=False):
        offsets.append(offsets[-1] + (a + b) / 2 + gap)
    blocks: list[tuple[float, float, int]] = []  # pooled value, weight, members
    for target, weight in zip((w - o for w, o in zip(wanted, offsets, strict=True)), weights, strict=True):
        blocks.append((target, weight, 1))
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (v2, w2, c2), (v1, w1, c1) = blocks.pop(), blocks.pop()
            blocks.append(((v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2))
    values = [value for value, _, members in blocks for _ in range(members)]
    return [y + o for y, o in zip(values, offsets, strict=True)]
