"""A formula: LaTeX math drawn by matplotlib's mathtext (no TeX install), large and centred.

Each line of the content (or each part between LaTeX `\\` line breaks) is one formula; they are stacked
and share one size, the largest that fits the safe area. A line without `$` is all math; a line with `$`
mixes text and math the way matplotlib does. Whatever mathtext cannot parse (environments like
`\\begin{pmatrix}`, unbalanced braces) fails with FORMULA_INVALID and the parser's own message.
"""

import re
import threading
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from media.errors import MediaError
from media.providers.visual.base import Theme
from media.providers.visual.canvas import (
    Box,
    backdrop,
    check_frame,
    header,
    paint_off_loop,
    require_glyphs,
    rgb,
    safe_area,
)
from media.script import Scene

# matplotlib's font and mathtext caches are process-wide and not thread-safe; painters run in threads.
_MATPLOTLIB = threading.Lock()
_REFERENCE_SIZE = 100.0  # points; at dpi 72 a point is a pixel
_LINE_GAP = 0.45  # between stacked formulas, in font sizes
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def formula_lines(content: str) -> list[str]:
    """mathtext strings, one per formula line: display delimiters become `$`, bare math is wrapped in `$`."""
    text = content.replace("$$", "$").replace("\\[", "$").replace("\\]", "$")
    text = text.replace("\\(", "$").replace("\\)", "$")
    lines: list[str] = []
    for raw in re.split(r"\n|\\\\", text):
        line = raw.strip()
        if not line or line == "$":
            continue
        dollars = len(_UNESCAPED_DOLLAR.findall(line))
        if dollars % 2:
            raise MediaError("FORMULA_INVALID", f"unbalanced $ in {line!r}")
        lines.append(line if dollars else f"${line}$")
    if not lines:
        raise MediaError("FORMULA_INVALID", "the formula is empty")
    return lines


def _mathtext_error(line: str, exc: ValueError) -> MediaError:
    # matplotlib's message repeats the input with a caret, then the parser's reason and position last.
    reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
    return MediaError("FORMULA_INVALID", f"mathtext cannot parse {line!r}: {reason}")


def render_formulas(lines: list[str], box: Box, colour: str, max_size: float) -> Image.Image:
    """Transparent RGBA of box's size with the formulas centred in it at the largest size that fits."""
    with _MATPLOTLIB:
        figure = Figure(figsize=(box.width / 72, box.height / 72), dpi=72)
        figure.patch.set_alpha(0.0)
        canvas = FigureCanvasAgg(figure)
        renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
        texts = []
        for line in lines:
            text = figure.text(
                0.5, 0.5, line, fontsize=_REFERENCE_SIZE, color=colour, ha="center", va="center"
            )
            try:
                extent = text.get_window_extent(renderer)
            except ValueError as exc:
                raise _mathtext_error(line, exc) from exc
            texts.append((text, extent.width, extent.height))
        widest = max(w for _, w, _ in texts)
        tallest = sum(h for _, _, h in texts) + _LINE_GAP * _REFERENCE_SIZE * (len(texts) - 1)
        # Extents scale with the font size; 0.97 leaves room for antialiasing and rounding at the edges.
        scale = min(box.width * 0.97 / widest, box.height * 0.97 / tallest, max_size / _REFERENCE_SIZE)
        size = _REFERENCE_SIZE * scale
        y = (box.height - tallest * scale) / 2
        for text, _, h in texts:
            text.set_fontsize(size)
            text.set_y(1.0 - (y + h * scale / 2) / box.height)
            y += (h + _LINE_GAP * _REFERENCE_SIZE) * scale
        canvas.draw()  # type: ignore[no-untyped-call]
        rgba = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
        pixels = np.array(rgba, dtype=np.uint8)  # a copy: the buffer belongs to the canvas
        figure.clear()
    return Image.fromarray(pixels)


def draw_formula(title: str, lines: list[str], width: int, height: int, theme: Theme) -> Image.Image:
    background, accent, foreground = rgb(theme.background), rgb(theme.accent), rgb(theme.foreground)
    image = backdrop(width, height, background, accent)
    area = header(ImageDraw.Draw(image), title, safe_area(width, height), accent, foreground)
    formulas = render_formulas(lines, area, theme.foreground, max_size=min(width, height) * 0.12)
    image.paste(formulas, (area.left, area.top), formulas)
    return image


class FormulaPainter:
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        require_glyphs(scene.title + scene.content)
        lines = formula_lines(scene.content)
        title = scene.title.strip()
        return await paint_off_loop(lambda: draw_formula(title, lines, width, height, theme), dest)
