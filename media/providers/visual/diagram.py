"""A diagram: a flowchart (media.providers.visual.flowchart) drawn with boxes, diamonds and rounded boxes, and
arrows with heads and labels; top to bottom in portrait frames, left to right otherwise.

The text takes the largest size at which the whole chart fits the safe area; a chart too big even at the
smallest size is drawn at that size and scaled down to fit. Shapes are drawn at twice the size and scaled
down, because Pillow draws lines and polygons without antialiasing.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from media.providers.visual.base import Theme
from media.providers.visual.canvas import (
    RGB,
    Box,
    backdrop,
    check_frame,
    face,
    header,
    largest,
    line_height,
    mix,
    paint_off_loop,
    require_glyphs,
    rgb,
    safe_area,
    wrap_text,
)
from media.providers.visual.flowchart import (
    Flowchart,
    Ranking,
    is_dummy,
    parse_flowchart,
    place,
    rank_flowchart,
)
from media.script import Scene

_SUPERSAMPLE = 2
_MARGIN = 6  # pixels around the chart, so outlines at its edge are not cut
Point = tuple[float, float]


@dataclass(frozen=True)
class Geometry:
    size: int  # label font size
    vertical: bool
    centres: dict[str, Point]
    extents: dict[str, Point]  # node width, height
    labels: dict[str, list[str]]  # wrapped node labels
    width: float
    height: float


def _node_extent(lines: list[str], shape: str, size: int) -> Point:
    font = face(size)
    text_w = max(font.getlength(line) for line in lines)
    text_h = line_height(font) * (1.15 * (len(lines) - 1) + 1)
    if shape == "diamond":
        # A text rectangle (w, h) fits a diamond with half-diagonals (w, h): w/2/w + h/2/h = 1.
        return text_w * 2 + size, text_h * 2 + size * 0.6
    return text_w + size * 1.6, text_h + size * 1.1


def lay_out(chart: Flowchart, ranking: Ranking, size: int, vertical: bool) -> Geometry:
    font = face(size)
    labels = {n.id: wrap_text(n.label, font, size * 9) for n in chart.nodes.values()}
    extents = {n.id: _node_extent(labels[n.id], n.shape, size) for n in chart.nodes.values()}
    for layer in ranking.layers:
        for ident in layer:
            if is_dummy(ident):
                extents[ident] = (size * 0.5, size * 0.5)
    across = {n: e[0] if vertical else e[1] for n, e in extents.items()}
    along = {n: e[1] if vertical else e[0] for n, e in extents.items()}
    # Each gap between ranks holds its edge labels plus room for the arrows on either side.
    small = face(round(size * 0.8))
    gaps = [size * 2.4] * max(0, len(ranking.layers) - 1)
    for route in ranking.routes:
        if route.edge.label:
            extent = line_height(small) if vertical else small.getlength(route.edge.label)
            at = ranking.rank[route.chain[-1 if route.reversed else 0]] - (1 if route.reversed else 0)
            gaps[at] = max(gaps[at], extent + size * 2.6)
    cross = place(ranking, across, size * 1.4)
    centres: dict[str, Point] = {}
    flow = 0.0
    for r, layer in enumerate(ranking.layers):
        thickness = max(along[n] for n in layer)
        for n in layer:
            centres[n] = (cross[n], flow + thickness / 2) if vertical else (flow + thickness / 2, cross[n])
        flow += thickness + (gaps[r] if r < len(gaps) else 0.0)
    span = max(cross[n] + across[n] / 2 for n in cross)
    width, height = (span, flow) if vertical else (flow, span)
    return Geometry(size, vertical, centres, extents, labels, width, height)


def fit_diagram(chart: Flowchart, ranking: Ranking, area: Box, vertical: bool, short: int) -> Geometry:
    low, high = max(9, round(short * 0.018)), max(9, round(short * 0.048))

    def fits(size: int) -> bool:
        g = lay_out(chart, ranking, size, vertical)
        return g.width + 2 * _MARGIN <= area.width and g.height + 2 * _MARGIN <= area.height

    return lay_out(chart, ranking, largest(fits, low, high), vertical)


def _scaled(geometry: Geometry, k: float, margin: float) -> Geometry:
    """The geometry `k` times larger, moved by `margin` on both axes and that much larger on each side."""
    return Geometry(
        round(geometry.size * k),
        geometry.vertical,
        {n: (x * k + margin, y * k + margin) for n, (x, y) in geometry.centres.items()},
        {n: (w * k, h * k) for n, (w, h) in geometry.extents.items()},
        geometry.labels,
        geometry.width * k + 2 * margin,
        geometry.height * k + 2 * margin,
    )


def _port(g: Geometry, chart: Flowchart, node: str, downstream: bool, offset: float) -> Point:
    """Where an edge meets `node`'s side facing down the flow (or up it), `offset` along that side."""
    (cx, cy), (w, h) = g.centres[node], g.extents[node]
    half_along, half_across = (h / 2, w / 2) if g.vertical else (w / 2, h / 2)
    if not is_dummy(node) and chart.nodes[node].shape == "diamond":
        offset = max(-half_across * 0.45, min(half_across * 0.45, offset))
        half_along *= 1 - abs(offset) / half_across
    else:
        offset = max(-half_across * 0.7, min(half_across * 0.7, offset))
    along = half_along if downstream else -half_along
    if is_dummy(node):
        along, offset = 0.0, 0.0
    return (cx + offset, cy + along) if g.vertical else (cx + along, cy + offset)


def _routes(chart: Flowchart, ranking: Ranking, g: Geometry) -> list[tuple[list[Point], str]]:
    """Each edge's polyline from its source to its target, and its label. Edges sharing a node side get
    their own ports along it, ordered by where they head, so parallel and opposite edges do not overlap."""
    across = 0 if g.vertical else 1
    sides: dict[tuple[str, bool], list[tuple[float, int]]] = {}
    for k, route in enumerate(ranking.routes):
        top, bottom = route.chain[0], route.chain[-1]
        sides.setdefault((top, True), []).append((g.centres[route.chain[1]][across], k))
        sides.setdefault((bottom, False), []).append((g.centres[route.chain[-2]][across], k))
    offsets: dict[tuple[str, bool, int], float] = {}
    for (node, downstream), users in sides.items():
        users.sort()
        spread = g.size * 1.2
        for i, (_, k) in enumerate(users):
            offsets[(node, downstream, k)] = (i - (len(users) - 1) / 2) * spread
    result = []
    for k, route in enumerate(ranking.routes):
        start = _port(g, chart, route.chain[0], True, offsets[(route.chain[0], True, k)])
        end = _port(g, chart, route.chain[-1], False, offsets[(route.chain[-1], False, k)])
        points = [start, *(g.centres[n] for n in route.chain[1:-1]), end]
        result.append((points[::-1] if route.reversed else points, route.edge.label))
    return result


def _arrow(draw: ImageDraw.ImageDraw, points: list[Point], colour: RGB, width: int, head: float) -> None:
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    base = (x1 - ux * head, y1 - uy * head)
    draw.line([*points[:-1], base], fill=colour, width=width, joint="curve")
    wing = head * 0.55
    draw.polygon(
        [(x1, y1), (base[0] - uy * wing, base[1] + ux * wing), (base[0] + uy * wing, base[1] - ux * wing)],
        fill=colour,
    )


def draw_chart(chart: Flowchart, ranking: Ranking, g: Geometry, theme: Theme) -> Image.Image:
    """The chart on a transparent layer of its own size (coordinates in `g` already supersampled)."""
    background, foreground, accent, muted = (
        rgb(c) for c in (theme.background, theme.foreground, theme.accent, theme.muted)
    )
    layer = Image.new("RGBA", (math.ceil(g.width), math.ceil(g.height)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    line = max(3, round(g.size * 0.1))  # at least 1.5 px once scaled down
    edge_colour = mix(foreground, muted, 0.45)
    small = face(round(g.size * 0.8))
    routes = _routes(chart, ranking, g)
    for points, _ in routes:
        _arrow(draw, points, edge_colour, line, g.size * 0.75)
    font = face(g.size)
    for node in chart.nodes.values():
        (cx, cy), (w, h) = g.centres[node.id], g.extents[node.id]
        box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
        if node.shape == "diamond":
            corners = [(cx, box[1]), (box[2], cy), (cx, box[3]), (box[0], cy)]
            draw.polygon(corners, fill=mix(background, accent, 0.18), outline=accent, width=line)
        else:
            radius = h / 2 if node.shape == "rounded" else g.size * 0.25
            draw.rounded_rectangle(
                box, radius=radius, fill=mix(background, foreground, 0.08), outline=accent, width=line
            )
        lines = g.labels[node.id]
        step = line_height(font) * 1.15
        top = cy - (step * (len(lines) - 1) + line_height(font)) / 2
        for i, text in enumerate(lines):
            draw.text((cx - font.getlength(text) / 2, top + i * step), text, font=font, fill=foreground)
    for points, label in routes:
        if not label:
            continue
        (x0, y0), (x1, y1) = points[0], points[1]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = small.getlength(label), line_height(small)
        pad = g.size * 0.3
        draw.rounded_rectangle(
            [mx - w / 2 - pad, my - h / 2 - pad / 2, mx + w / 2 + pad, my + h / 2 + pad / 2],
            radius=(h + pad) / 2,
            fill=background,
            outline=edge_colour,
            width=max(1, line // 2),
        )
        draw.text((mx - w / 2, my - h / 2), label, font=small, fill=foreground)
    return layer


def draw_diagram(title: str, chart: Flowchart, width: int, height: int, theme: Theme) -> Image.Image:
    background, accent, foreground = rgb(theme.background), rgb(theme.accent), rgb(theme.foreground)
    image = backdrop(width, height, background, accent)
    area = header(ImageDraw.Draw(image), title, safe_area(width, height), accent, foreground)
    vertical = height > width
    ranking = rank_flowchart(chart)
    geometry = fit_diagram(chart, ranking, area, vertical, min(width, height))
    big = draw_chart(chart, ranking, _scaled(geometry, _SUPERSAMPLE, _MARGIN * _SUPERSAMPLE), theme)
    # Scaled down to the fitted size, or further when even the smallest text does not fit.
    full_w, full_h = geometry.width + 2 * _MARGIN, geometry.height + 2 * _MARGIN
    k = min(1.0, area.width / full_w, area.height / full_h)
    w, h = max(1, round(full_w * k)), max(1, round(full_h * k))
    chart_image = big.resize((w, h), Image.Resampling.LANCZOS)
    image.paste(
        chart_image, (area.left + (area.width - w) // 2, area.top + (area.height - h) // 2), chart_image
    )
    return image


class DiagramPainter:
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        chart = parse_flowchart(scene.content)  # before the thread: a malformed chart fails fast
        require_glyphs(scene.title + "".join(node.label for node in chart.nodes.values()))
        title = scene.title.strip()
        return await paint_off_loop(lambda: draw_diagram(title, chart, width, height, theme), dest)
