"""What the offline painters share: the frame's safe area, theme colours, fonts, wrapping text to a width,
searching for the largest size that fits, and writing the picture off the event loop.

Drawing is plain Pillow on the CPU; a painter builds its picture in a worker thread (asyncio.to_thread) so
the event loop keeps serving progress while scenes are painted in parallel.
"""

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from media.errors import MediaError
from media.render.text import parse_colour, wrap
from media.timeline.fonts import default_font, load, missing_glyphs

RGB = tuple[int, int, int]
MIN_SIDE, MAX_SIDE = 64, 4096
ELLIPSIS = "…"

# Burned-in captions are centred at 75 % of the height (media/render/layers.py); two lines of the default
# 56 px caption style reach up to ~68 % in 16:9, so the visual's content stays above 66 % in either
# orientation.
_SIDE_MARGIN, _TOP_MARGIN, _CONTENT_BOTTOM = 0.07, 0.06, 0.66


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def safe_area(width: int, height: int) -> Box:
    """Where a visual's text and shapes go: inside the margins and clear of the caption band."""
    side = round(width * _SIDE_MARGIN)
    return Box(side, round(height * _TOP_MARGIN), width - side, round(height * _CONTENT_BOTTOM))


def check_frame(width: int, height: int) -> None:
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise MediaError(
            "VISUAL_SIZE_INVALID",
            f"a visual must be {MIN_SIDE}..{MAX_SIDE} pixels a side, not {width}x{height}",
        )


def rgb(colour: str) -> RGB:
    r, g, b, _ = parse_colour(colour)
    return r, g, b


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """`a` moved a share `t` of the way towards `b`."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def font_file(*, mono: bool = False, bold: bool = False, oblique: bool = False) -> Path:
    """A DejaVu face from matplotlib's wheel (it ships regular, bold and oblique of Sans and Sans Mono)."""
    regular = default_font(mono)
    if not (bold or oblique):
        return regular
    style = ("Bold" if bold else "") + ("Oblique" if oblique else "")
    return regular.with_name(f"{regular.stem}-{style}.ttf")


def require_glyphs(text: str, *, mono: bool = False) -> None:
    """MISSING_GLYPHS naming the characters DejaVu cannot draw: an error (and a placeholder frame) says
    more than a visual full of empty boxes."""
    path = default_font(mono)
    missing = missing_glyphs(path, text)
    if missing:
        raise MediaError("MISSING_GLYPHS", f"the font {path.name} has no glyphs for {missing!r}")


def printable(text: str) -> str:
    """`text` with what DejaVu Sans cannot draw replaced by "?", for frames that must never fail."""
    missing = set(missing_glyphs(default_font(False), text))
    return "".join("?" if ch in missing else ch for ch in text)


def face(
    size: int, *, mono: bool = False, bold: bool = False, oblique: bool = False
) -> ImageFont.FreeTypeFont:
    return load(font_file(mono=mono, bold=bold, oblique=oblique), max(1, size))


def line_height(font: ImageFont.FreeTypeFont) -> int:
    """The height every glyph of the font stays inside when drawn with anchor "la" (ascender top)."""
    ascent, descent = font.getmetrics()
    return ascent + descent


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Lines of `text` (paragraphs kept) wrapped at words to `max_width`; a word wider than a line is cut with
    an ellipsis rather than left to run off the frame."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        for indices in wrap(words, font, max_width) or [[]]:
            lines.append(ellipsize(" ".join(words[i] for i in indices), font, max_width))
    return lines


def ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> str:
    if font.getlength(text) <= max_width:
        return text
    while text and font.getlength(text + ELLIPSIS) > max_width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def clamp_lines(lines: list[str], count: int, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """At most `count` lines; when some are dropped the last kept one ends with an ellipsis."""
    if len(lines) <= count:
        return lines
    kept = lines[:count]
    last = kept[-1].rstrip(ELLIPSIS).rstrip()
    while last and font.getlength(last + " " + ELLIPSIS) > max_width:
        last = last[:-1]
    kept[-1] = (last + " " + ELLIPSIS).lstrip()
    return kept


def largest(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The largest size in [low, high] that fits (fitting only gets easier as the size shrinks), else low."""
    if high <= low or fits(high):
        return max(low, high)
    best = low
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def gradient(width: int, height: int, top: RGB, bottom: RGB) -> Image.Image:
    """A vertical gradient: a flat backdrop looks like a rendering error on video, a faint one does not."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    column = np.asarray(top, np.float32) * (1.0 - t) + np.asarray(bottom, np.float32) * t
    pixels = np.broadcast_to(column[:, None, :], (height, width, 3))
    return Image.fromarray(np.ascontiguousarray(pixels.round().astype(np.uint8)))


def backdrop(width: int, height: int, background: RGB, accent: RGB) -> Image.Image:
    """The background of slides, code, formulas and diagrams: the theme's background warming towards
    the accent at the bottom."""
    return gradient(width, height, background, mix(background, accent, 0.10))


def draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    *,
    x: float,
    y: float,
    width: float,
    fill: RGB,
    spacing: float = 1.15,
    align: Literal["left", "centre"] = "left",
) -> float:
    """Draw lines top-down from y, left-aligned or centred in [x, x + width]; returns the y below them."""
    step = line_height(font) * spacing
    for k, line in enumerate(lines):
        left = x if align == "left" else x + (width - font.getlength(line)) / 2
        draw.text((left, y + k * step), line, font=font, fill=fill, anchor="la")
    return y + step * (len(lines) - 1) + line_height(font) if lines else y


def header(draw: ImageDraw.ImageDraw, title: str, area: Box, accent: RGB, colour: RGB) -> Box:
    """The scene's title over a code, formula or diagram visual (at most two lines, bold, with an accent
    rule under it); returns the area left for the visual itself."""
    if not title.strip():
        return area
    size = max(14, round(min(area.width, area.height) * 0.06))
    font = face(size, bold=True)
    lines = clamp_lines(wrap_text(title.strip(), font, area.width), 2, font, area.width)
    bottom = draw_lines(draw, lines, font, x=area.left, y=area.top, width=area.width, fill=colour)
    rule = max(3, size // 12)
    rule_top = round(bottom + size * 0.35)
    draw.rectangle([area.left, rule_top, area.left + size * 2, rule_top + rule], fill=accent)
    return Box(area.left, round(rule_top + rule + size * 0.8), area.right, area.bottom)


def save_png(image: Image.Image, path: Path) -> None:
    """Write through a temporary name so a rerun of the stage never leaves half a file under the real one."""
    partial = path.with_name(f".{path.name}.part")
    # Level 3 is ~3x faster than Pillow's default for these flat pictures and barely larger.
    image.save(partial, format="PNG", compress_level=3)
    os.replace(partial, path)


async def paint_off_loop(draw: Callable[[], Image.Image], dest: Path) -> Path:
    """Run `draw` in a worker thread and save its picture as a PNG at `dest` (suffix .png)."""
    path = dest.with_suffix(".png")

    def work() -> None:
        save_png(draw(), path)

    await asyncio.to_thread(work)
    return path
