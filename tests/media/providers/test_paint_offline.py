"""The offline painters' craft: slide text auto-fits inside the safe area, code highlights the hinted lines
and keeps long lines, formulas mathtext cannot parse fail with FORMULA_INVALID, the flowchart syntax parses
(and fails with the line and reason), and the layout flows down in portrait and across in landscape."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media.errors import MediaError
from media.providers.visual.base import Theme
from media.providers.visual.canvas import backdrop, rgb, safe_area
from media.providers.visual.code import draw_code, lay_out_code, split_hint, tidy, tokenize
from media.providers.visual.diagram import DiagramPainter, draw_diagram, fit_diagram
from media.providers.visual.flowchart import is_dummy, parse_flowchart, rank_flowchart
from media.providers.visual.formula import FormulaPainter
from media.providers.visual.placeholder import PlaceholderPainter
from media.providers.visual.slide import SlidePainter, draw_slide, lay_out_slide
from media.script import Scene

SIZES = [(1080, 1920), (1920, 1080)]
THEME = Theme()
BIG_CHART = """graph TD
U[User opens the page] --> CDN{Cached at the edge?}
CDN -->|hit| R[Render page]
CDN -->|miss| LB[Load balancer]
LB --> APP1[App server one] --> CACHE{In Redis?}
LB --> APP2[App server two] --> CACHE
CACHE -->|yes| R
CACHE -->|no| DB[Postgres] --> FILL[Fill the cache] --> R
R --> DONE(Page shown)
APP1 --> LOG[Write access log] --> METRICS[Metrics pipeline]
APP2 --> LOG"""


def blank(width: int, height: int) -> Image.Image:
    """The background alone, as slides, code, formulas and diagrams start from."""
    return backdrop(width, height, rgb(THEME.background), rgb(THEME.accent))


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def drawn_pixels(image: Image.Image, blank: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns where something was drawn over the bare background."""
    difference = np.abs(np.asarray(image, np.int16) - np.asarray(blank, np.int16)).max(axis=2)
    rows, columns = np.nonzero(difference > 12)
    return rows, columns


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["portrait", "landscape"])
def test_slide_text_takes_the_largest_size_that_keeps_every_pixel_inside_the_safe_area(
    width: int, height: int
) -> None:
    title = "Why caching matters for every web service"
    # Enough text that the height, not the largest size allowed, limits it in both orientations.
    items = [
        f"Point {k}: caching cuts response times and shields the database from bursts" for k in range(10)
    ]
    rows, columns = drawn_pixels(draw_slide(title, items, width, height, THEME), blank(width, height))
    area = safe_area(width, height)
    assert rows.min() >= area.top and rows.max() < area.bottom
    assert columns.min() >= area.left and columns.max() < area.right
    # The largest size that fits: the text block spans nearly all of the safe area's height.
    assert rows.max() - rows.min() > 0.85 * area.height


def test_a_short_slide_gets_larger_text_than_a_long_one() -> None:
    area = safe_area(1080, 1920)
    short = lay_out_slide("Caching", ["Faster pages", "Fewer reads"], area)
    long = lay_out_slide("Caching", [f"Bullet {k} with quite a lot of text to wrap" for k in range(8)], area)
    assert short.body_size > long.body_size


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["portrait", "landscape"])
def test_a_slide_with_more_text_than_fits_stays_inside_and_ends_with_an_ellipsis(
    width: int, height: int
) -> None:
    items = [f"Bullet number {k} with a fair amount of text to wrap several times over" for k in range(40)]
    area = safe_area(width, height)
    layout = lay_out_slide("Too much", items, area)
    assert layout.height <= area.height and layout.bullet_lines[-1][-1].endswith("…")
    rows, columns = drawn_pixels(draw_slide("Too much", items, width, height, THEME), blank(width, height))
    assert rows.max() < area.bottom and columns.max() < area.right


def test_the_highlight_hint_is_parsed_in_any_comment_style_and_not_shown() -> None:
    assert split_hint("# highlight: 2,4\na\nb") == ("a\nb", {2, 4})
    assert split_hint("// highlight: 1, 3-5\nx") == ("x", {1, 3, 4, 5})
    assert split_hint("-- Highlight: 7\nselect 1") == ("select 1", {7})
    assert split_hint("print('highlight: 2')\nx") == ("print('highlight: 2')\nx", set())


def _text_rows(image: np.ndarray, left: int, right: int, background: np.ndarray) -> list[tuple[int, int]]:
    """Vertical runs of rows that have text in columns left..right (pixels far from the panel colour)."""
    ink = (np.abs(image[:, left:right].astype(np.int16) - background).max(axis=2) > 80).any(axis=1)
    runs, start = [], None
    for y, on in enumerate(ink):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y))
            start = None
    return runs


def test_code_draws_a_band_across_the_panel_behind_the_hinted_line_only() -> None:
    code = "first = 1\nsecond = 2\nthird = 3"
    plain = np.asarray(draw_code("", code, "python", 1920, 1080, THEME), np.int16)
    marked = np.asarray(draw_code("", "# highlight: 2\n" + code, "python", 1920, 1080, THEME), np.int16)
    area = safe_area(1920, 1080)
    panel_colour = plain[area.top + (area.bottom - area.top) // 2, area.right - 8]
    lines = _text_rows(plain, area.left + area.width // 8, area.left + area.width // 2, panel_colour)
    assert len(lines) == 3
    band = np.nonzero(np.abs(marked - plain).max(axis=2)[:, area.right - 8] > 8)[0]  # right edge: no text
    assert band.size > 0
    assert band.min() < lines[1][0] and band.max() >= lines[1][1] - 1  # covers line 2
    assert band.min() > lines[0][1] and band.max() < lines[2][0]  # and neither of its neighbours


def test_long_code_lines_wrap_without_losing_text_and_extra_lines_are_counted() -> None:
    long_line = "result = " + " + ".join(f"value_{k}" for k in range(40))
    shown = tidy(f"{long_line}\nprint(result)")
    area = safe_area(1080, 1920)
    layout = lay_out_code(tokenize(shown, "python", THEME), set(), area, 1080)
    first_line_rows = [row for row in layout.rows if row.line == 1]
    assert len(first_line_rows) > 1 and not first_line_rows[1].first
    rebuilt = "".join(seg.text for row in first_line_rows for seg in row.segments)
    assert rebuilt.replace(" ", "") == long_line.replace(" ", "")
    many = tidy("\n".join(f"x_{k} = {k}" for k in range(200)))
    clipped = lay_out_code(tokenize(many, "python", THEME), set(), area, 1080)
    assert clipped.hidden == 200 - clipped.rows[-1].line > 0


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        (r"\frac{a}{", "Expected"),
        (r"\begin{pmatrix} a \end{pmatrix}", "Unknown symbol"),
        (r"$x + 1", "unbalanced $"),
    ],
)
async def test_a_formula_mathtext_cannot_parse_fails_with_formula_invalid_and_the_reason(
    formula: str, reason: str, tmp_path: Path
) -> None:
    scene = Scene(narration="n", visual="formula", content=formula)
    with pytest.raises(MediaError) as caught:
        await FormulaPainter().paint(scene, tmp_path / "f.png", width=1080, height=1920, theme=THEME)
    assert caught.value.code == "FORMULA_INVALID" and reason in caught.value.message
    assert files(tmp_path) == []


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


async def test_formulas_painted_concurrently_come_out_as_one_painted_alone(tmp_path: Path) -> None:
    # matplotlib's caches are process-wide; painters run in threads, so formula drawing is serialised.
    same = Scene(narration="n", visual="formula", content=r"e^{i\pi} + 1 = 0")
    other = Scene(narration="n", visual="formula", content=r"\int_0^1 x^2\,dx = \frac{1}{3}")
    painter = FormulaPainter()
    alone = await painter.paint(same, tmp_path / "alone.png", width=540, height=960, theme=THEME)
    together = await asyncio.gather(
        *(
            painter.paint(scene, tmp_path / f"{k}.png", width=540, height=960, theme=THEME)
            for k, scene in enumerate([same, other, same, other, same])
        )
    )
    for path in together[::2]:
        assert np.array_equal(pixels(path), pixels(alone))


def test_the_flowchart_syntax_gives_shapes_labels_and_edge_labels() -> None:
    chart = parse_flowchart(
        "flowchart LR\n%% a comment\nA[Load data] --> B{Ok?}\n"
        "B -->|yes| C(Save it);\nB -->|no| A\nC --> D --> E"
    )
    assert [(n.id, n.label, n.shape) for n in chart.nodes.values()] == [
        ("A", "Load data", "box"),
        ("B", "Ok?", "diamond"),
        ("C", "Save it", "rounded"),
        ("D", "D", "box"),
        ("E", "E", "box"),
    ]
    assert [(e.source, e.target, e.label) for e in chart.edges] == [
        ("A", "B", ""),
        ("B", "C", "yes"),
        ("B", "A", "no"),
        ("C", "D", ""),
        ("D", "E", ""),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A[Load] --> B\nB -> C", "line 2: expected '-->' at column 3"),
        ("A[Load --> B", "line 1: '[' at column 2 is never closed with ']'"),
        ("A --> B\n\nC -->", "line 3: '-->' at column 3 needs a node after it"),
        ("A -->|yes B", "line 1: the edge label at column 6 is never closed with '|'"),
        ("A --> A", "line 1: A --> A: an edge from a node to itself"),
        ("A --> []", "line 1: expected a node id at column 7"),
        ("%% only a comment", "the diagram has no nodes"),
    ],
)
def test_malformed_flowcharts_fail_with_diagram_invalid_naming_the_line_and_reason(
    text: str, expected: str
) -> None:
    with pytest.raises(MediaError) as caught:
        parse_flowchart(text)
    assert caught.value.code == "DIAGRAM_INVALID" and expected in caught.value.message


async def test_the_diagram_painter_reports_a_malformed_chart_before_drawing(tmp_path: Path) -> None:
    scene = Scene(narration="n", visual="diagram", content="A --> B\nB => C")
    with pytest.raises(MediaError, match="line 2"):
        await DiagramPainter().paint(scene, tmp_path / "d.png", width=1080, height=1920, theme=THEME)


@pytest.mark.parametrize(("width", "height", "vertical"), [(1080, 1920, True), (1920, 1080, False)])
def test_an_edge_flows_down_in_portrait_and_across_in_landscape(
    width: int, height: int, vertical: bool
) -> None:
    chart = parse_flowchart("A[Start] --> B[Finish]")
    ranking = rank_flowchart(chart)
    geometry = fit_diagram(chart, ranking, safe_area(width, height), vertical, min(width, height))
    (ax, ay), (bx, by) = geometry.centres["A"], geometry.centres["B"]
    a_h, b_h = geometry.extents["A"][1], geometry.extents["B"][1]
    if vertical:
        assert ay + a_h / 2 < by - b_h / 2 and abs(ax - bx) < 1.0  # A wholly above B, in line
    else:
        assert ax < bx and abs(ay - by) < 1.0


def test_a_cycle_is_laid_out_in_ranks_with_its_back_edge_reversed() -> None:
    chart = parse_flowchart("A --> B --> C --> A")
    ranking = rank_flowchart(chart)
    assert [[n for n in layer if not is_dummy(n)] for layer in ranking.layers] == [["A"], ["B"], ["C"]]
    assert [route.reversed for route in ranking.routes] == [False, False, True]


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["portrait", "landscape"])
def test_a_larger_chart_has_no_overlapping_nodes_and_stays_inside_the_safe_area(
    width: int, height: int
) -> None:
    chart = parse_flowchart(BIG_CHART)
    ranking = rank_flowchart(chart)
    area = safe_area(width, height)
    geometry = fit_diagram(chart, ranking, area, height > width, min(width, height))
    boxes = [
        (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        for node, ((x, y), (w, h)) in ((n, (geometry.centres[n], geometry.extents[n])) for n in chart.nodes)
    ]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    rows, columns = drawn_pixels(draw_diagram("", chart, width, height, THEME), blank(width, height))
    assert rows.min() >= area.top and rows.max() < area.bottom
    assert columns.min() >= area.left and columns.max() < area.right


async def test_text_the_font_cannot_draw_fails_naming_the_glyphs_but_the_placeholder_still_paints(
    tmp_path: Path,
) -> None:
    scene = Scene(narration="n", visual="slide", title="日本語", content="- 箇条書き")
    with pytest.raises(MediaError) as caught:
        await SlidePainter().paint(scene, tmp_path / "s.png", width=1080, height=1920, theme=THEME)
    assert caught.value.code == "MISSING_GLYPHS" and "日" in caught.value.message
    failed = scene.model_copy(update={"content": f"{caught.value.code}: {caught.value.message}"})
    path = await PlaceholderPainter().paint(failed, tmp_path / "s.png", width=1080, height=1920, theme=THEME)
    assert pixels(path).shape == (1920, 1080, 3)
