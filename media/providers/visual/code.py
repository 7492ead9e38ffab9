"""A code snippet: Pygments tokens in DejaVu Sans Mono on a panel, with line numbers and highlighted lines.

Highlighting: a first line `highlight: 2,4-6` (in any comment style: `# highlight: 2`, `// highlight: 3-5`,
`-- highlight: 1`) marks lines by the numbers shown; the hint line itself is not shown.
Fitting: the largest size at which every line fits unwrapped. When even the smallest readable size is too
wide, long lines wrap (after a space when there is one; continuation rows are indented like their line and
show "↪" in the gutter) at the largest size that wraps at most a quarter more rows. Code longer than the
frame holds even then shows its first lines and a "⋯ N more lines" row: nothing is silently cut.
"""

import colorsys
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name, guess_lexer
from pygments.lexers.special import TextLexer
from pygments.token import Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String, _TokenType
from pygments.util import ClassNotFound

from media.errors import MediaError
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
)
from media.script import Scene

_HINT = re.compile(
    r"^\s*(?:#|//|--|;|%|/\*|<!--)?\s*highlight:\s*([\d\s,-]+?)\s*(?:\*/|-->)?\s*$", re.IGNORECASE
)
_ROW_SPACING = 1.25
_CONTINUED = "↪"


@dataclass(frozen=True)
class Segment:
    text: str
    colour: RGB
    style: str  # "regular", "bold" or "oblique"


@dataclass(frozen=True)
class Row:
    line: int  # the source line (1-based) this row shows part of
    first: bool  # the line's first row (continuation rows show no number)
    segments: list[Segment]
    highlighted: bool
    indent: int = 0  # columns of blank before a continuation row's text


def split_hint(code: str) -> tuple[str, set[int]]:
    """The code without its highlight hint, and the line numbers the hint names."""
    first, _, rest = code.partition("\n")
    match = _HINT.match(first)
    if match is None:
        return code, set()
    marked: set[int] = set()
    for part in match.group(1).replace(" ", "").split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            marked.update(range(int(low), int(high) + 1) if high.isdigit() else [int(low)])
    return rest, marked


def tidy(code: str) -> list[str]:
    """Lines as shown: tabs expanded, common indentation and blank edges removed."""
    lines = textwrap.dedent(code.expandtabs(4)).splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.rstrip() for line in lines]


def _lexer(language: str | None, code: str) -> Lexer:
    options = {"stripnl": False, "ensurenl": False}
    try:
        return get_lexer_by_name(language, **options) if language else guess_lexer(code, **options)
    except ClassNotFound:
        return TextLexer(**options)


def palette(theme: Theme) -> dict[_TokenType, tuple[RGB, str]]:
    """Token colours from the theme: keywords in the accent, other kinds at hues turned from it, so every
    theme gets its own, consistent palette."""
    accent, foreground, muted = rgb(theme.accent), rgb(theme.foreground), rgb(theme.muted)
    light_panel = sum(rgb(theme.background)) > 3 * 128

    def turned(degrees: float) -> RGB:
        # Fixed lightness and saturation: every hue stays readable on the panel (a pure violet would not).
        h, _, _ = colorsys.rgb_to_hls(*(c / 255 for c in accent))
        r, g, b = colorsys.hls_to_rgb((h + degrees / 360) % 1.0, 0.36 if light_panel else 0.72, 0.8)
        return round(r * 255), round(g * 255), round(b * 255)

    return {
        Keyword: (accent, "bold"),
        Name.Function: (turned(-160), "regular"),
        Name.Class: (turned(-160), "bold"),
        Name.Decorator: (turned(-160), "regular"),
        Name.Builtin: (turned(60), "regular"),
        String: (turned(-115), "regular"),
        Number: (turned(150), "regular"),
        Literal: (turned(150), "regular"),
        Comment: (muted, "oblique"),
        Operator: (mix(foreground, accent, 0.45), "regular"),
        Punctuation: (mix(foreground, muted, 0.5), "regular"),
    }


def tokenize(lines: list[str], language: str | None, theme: Theme) -> list[list[Segment]]:
    """Coloured segments of each line."""
    colours = palette(theme)
    default = (rgb(theme.foreground), "regular")
    result: list[list[Segment]] = [[]]
    for kind, value in _lexer(language, "\n".join(lines)).get_tokens("\n".join(lines)):
        look = default
        walk: _TokenType | None = kind
        while walk is not None:
            if walk in colours:
                look = colours[walk]
                break
            walk = walk.parent
        for k, piece in enumerate(value.split("\n")):
            if k:
                result.append([])
            if piece:
                result[-1].append(Segment(piece, look[0], look[1]))
    return result[: len(lines)] + [[] for _ in range(len(lines) - len(result))]


def _row_starts(text: str, columns: int) -> tuple[list[int], int]:
    """Where each row of a line starts, and the indent of its continuation rows (the line's own indent, so
    a wrapped statement stays inside its block). Rows break after the last space that leaves the row at
    least 40 % full, else at the column."""
    indent = min(len(text) - len(text.lstrip(" ")), columns // 2)
    starts, start, width = [0], 0, columns
    while len(text) - start > width:
        end = start + width
        space = text.rfind(" ", start + int(width * 0.4), end)
        cut = space + 1 if space >= 0 else end
        while cut < len(text) - 1 and text[cut] == " ":
            cut += 1
        starts.append(cut)
        start, width = cut, columns - indent
    return starts, indent


def wrap_rows(lines: list[list[Segment]], columns: int, marked: set[int]) -> list[Row]:
    """Rows of at most `columns` characters; a longer line continues, indented, on the next rows."""
    rows: list[Row] = []
    for index, segments in enumerate(lines):
        text = "".join(s.text for s in segments)
        starts, indent = _row_starts(text, columns)
        bounds = list(zip(starts, [*starts[1:], len(text)], strict=True))
        for k, (begin, end) in enumerate(bounds):
            piece: list[Segment] = []
            offset = 0
            for segment in segments:
                low, high = max(begin, offset), min(end, offset + len(segment.text))
                if low < high:
                    piece.append(
                        Segment(segment.text[low - offset : high - offset], segment.colour, segment.style)
                    )
                offset += len(segment.text)
            rows.append(Row(index + 1, k == 0, piece, index + 1 in marked, indent if k else 0))
    return rows


@dataclass(frozen=True)
class Metrics:
    size: int
    char: float  # the advance of every character of the monospace font
    row: float  # row pitch
    pad: float  # inside the panel
    gutter: float  # line numbers and the space after them
    columns: int
    capacity: int  # rows the area holds


def metrics(size: int, area: Box, line_count: int) -> Metrics:
    font = face(size, mono=True)
    char, glyphs = font.getlength("M"), line_height(font)
    row, pad = glyphs * _ROW_SPACING, size * 0.9
    gutter = (len(str(line_count)) + 2) * char
    columns = max(8, int((area.width - 2 * pad - gutter) // char))
    capacity = max(1, int((area.height - 2 * pad - glyphs) // row) + 1)
    return Metrics(size, char, row, pad, gutter, columns, capacity)


@dataclass(frozen=True)
class CodeLayout:
    metrics: Metrics
    rows: list[Row]
    hidden: int  # source lines left out at the bottom


def lay_out_code(lines: list[list[Segment]], marked: set[int], area: Box, short: int) -> CodeLayout:
    count = max(1, len(lines))
    longest = max((sum(len(s.text) for s in line) for line in lines), default=1)
    low, high = max(10, round(short * 0.02)), max(10, round(short * 0.045))

    def unwrapped(size: int) -> bool:
        m = metrics(size, area, count)
        return longest <= m.columns and count <= m.capacity

    def wrapped(size: int) -> bool:
        # Wrapped code reads worse than smaller code: a size may wrap a quarter of the rows at most.
        m = metrics(size, area, count)
        rows = len(wrap_rows(lines, m.columns, marked))
        return rows <= m.capacity and rows <= count + max(1, count // 4)

    size = largest(unwrapped, low, high) if unwrapped(low) else largest(wrapped, low, high)
    m = metrics(size, area, count)
    rows = wrap_rows(lines, m.columns, marked)
    if len(rows) <= m.capacity:
        return CodeLayout(m, rows, 0)
    kept = rows[: m.capacity - 1]
    return CodeLayout(m, kept, count - kept[-1].line if kept else count)


def draw_code(
    title: str, code: str, language: str | None, width: int, height: int, theme: Theme
) -> Image.Image:
    code, marked = split_hint(code)
    shown = tidy(code)
    background, foreground, accent = rgb(theme.background), rgb(theme.foreground), rgb(theme.accent)
    muted = rgb(theme.muted)
    image = backdrop(width, height, background, accent)
    draw = ImageDraw.Draw(image)
    area = header(draw, title, safe_area(width, height), accent, foreground)
    layout = lay_out_code(tokenize(shown, language, theme), marked, area, min(width, height))
    m = layout.metrics
    row_count = len(layout.rows) + (1 if layout.hidden else 0)
    panel_h = min(
        area.height, round(2 * m.pad + m.row * (row_count - 1) + line_height(face(m.size, mono=True)))
    )
    top = area.top + round((area.height - panel_h) * 0.3)  # nearer its title than the middle
    panel = Box(area.left, top, area.right, top + panel_h)
    panel_fill = mix(background, foreground, 0.06)
    draw.rounded_rectangle(
        [panel.left, panel.top, panel.right, panel.bottom],
        radius=round(m.pad * 0.6),
        fill=panel_fill,
        outline=mix(background, foreground, 0.14),
        width=max(1, m.size // 16),
    )
    fonts = {
        style: face(m.size, mono=True, bold=style == "bold", oblique=style == "oblique")
        for style in ("regular", "bold", "oblique")
    }
    glyphs = line_height(fonts["regular"])
    text_left = panel.left + m.pad + m.gutter
    rule_x = text_left - m.char * 0.9
    draw.line(
        [(rule_x, panel.top + m.pad * 0.5), (rule_x, panel.bottom - m.pad * 0.5)],
        fill=mix(panel_fill, muted, 0.35),
        width=max(1, m.size // 16),
    )
    for k, row in enumerate(layout.rows):
        y = panel.top + m.pad + k * m.row
        if row.highlighted:
            # The band covers the row pitch, so consecutive highlighted rows join into one block.
            band_top, band_bottom = y - (m.row - glyphs) / 2, y + glyphs + (m.row - glyphs) / 2
            draw.rectangle(
                [panel.left + 1, band_top, panel.right - 1, band_bottom], fill=mix(panel_fill, accent, 0.22)
            )
            draw.rectangle(
                [panel.left + 1, band_top, panel.left + max(4, m.size // 5), band_bottom], fill=accent
            )
        if row.first:
            label = str(row.line)
            colour, font = (accent, fonts["bold"]) if row.highlighted else (muted, fonts["regular"])
        else:
            label, colour, font = _CONTINUED, muted, fonts["regular"]
        draw.text((rule_x - m.char * (len(label) + 0.9), y), label, font=font, fill=colour)
        x = text_left + row.indent * m.char
        for segment in row.segments:
            draw.text((x, y), segment.text, font=fonts[segment.style], fill=segment.colour)
            x += len(segment.text) * m.char
    if layout.hidden:
        y = panel.top + m.pad + len(layout.rows) * m.row
        more = f"⋯ {layout.hidden} more line{'s' if layout.hidden > 1 else ''}"
        draw.text((text_left, y), more, font=fonts["oblique"], fill=muted)
    return image


class CodePainter:
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        title, code, language = scene.title.strip(), scene.content, scene.code_language
        if not tidy(split_hint(code)[0]):
            raise MediaError("CODE_EMPTY", "a code scene needs code in its content")
        require_glyphs(title)
        require_glyphs(code, mono=True)
        return await paint_off_loop(lambda: draw_code(title, code, language, width, height, theme), dest)
