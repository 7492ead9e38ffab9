"""A slide: the scene's title over its bullets (one per content line), in the theme's colours.

The text takes the largest size at which all of it fits the safe area, bullets wrapping at words; the title
is drawn a fixed ratio larger than the bullets so every slide of a video has the same hierarchy. A slide
with more text than fits at the smallest readable size shows what fits and ends with an ellipsis.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from media.providers.visual.base import Theme
from media.providers.visual.canvas import (
    Box,
    backdrop,
    check_frame,
    clamp_lines,
    face,
    largest,
    line_height,
    paint_off_loop,
    require_glyphs,
    rgb,
    safe_area,
    wrap_text,
)
from media.script import Scene

TITLE_RATIO = 1.45
_BULLET_MARK = re.compile(r"^\s*(?:[-*•‣▪–]\s+)")
_LINE_SPACING = 1.2
_BULLET_GAP = 0.5  # extra space between bullets, in body sizes
_INDENT = 1.3  # where bullet text starts, in body sizes


def bullets(content: str) -> list[str]:
    """One bullet per non-empty line; a leading "-", "*" or "•" marker is dropped (numbers are kept)."""
    return [_BULLET_MARK.sub("", line).strip() for line in content.splitlines() if line.strip()]


@dataclass(frozen=True)
class SlideLayout:
    body_size: int
    title_lines: list[str]
    bullet_lines: list[list[str]]  # wrapped lines of each bullet
    height: int  # of the whole block

    @property
    def title_size(self) -> int:
        return round(self.body_size * TITLE_RATIO)


def _measure(title: str, items: list[str], size: int, width: int) -> SlideLayout:
    title_font, body_font = face(round(size * TITLE_RATIO), bold=True), face(size)
    title_lines = wrap_text(title, title_font, width) if title else []
    bullet_lines = [wrap_text(item, body_font, width - size * _INDENT) for item in items]
    return SlideLayout(size, title_lines, bullet_lines, _height(title_lines, bullet_lines, size))


def _height(title_lines: list[str], bullet_lines: list[list[str]], size: int) -> int:
    title_step = line_height(face(round(size * TITLE_RATIO), bold=True))
    body_step = line_height(face(size))
    height = 0.0
    if title_lines:
        height += title_step * (_LINE_SPACING * (len(title_lines) - 1) + 1)
        if bullet_lines:
            height += size * 1.6  # the rule under the title and the space around it
    for lines in bullet_lines:
        height += body_step * (_LINE_SPACING * (len(lines) - 1) + 1)
    height += size * _BULLET_GAP * max(0, len(bullet_lines) - 1)
    return round(height)


def lay_out_slide(title: str, items: list[str], area: Box) -> SlideLayout:
    """The largest text that fits `area`; at the smallest size, the lines that fit, the last ending "…"."""
    short = min(area.width, area.height / 0.6)  # about the frame's short side
    low, high = max(12, round(short * 0.026)), max(12, round(short * (0.07 if items else 0.09)))
    size = largest(lambda s: _measure(title, items, s, area.width).height <= area.height, low, high)
    layout = _measure(title, items, size, area.width)
    title_lines, bullet_lines = layout.title_lines, layout.bullet_lines
    width = area.width - size * _INDENT
    # Each step drops one line, so this ends; the ellipsis marks that text was left out.
    while _height(title_lines, bullet_lines, size) > area.height:
        if bullet_lines and len(bullet_lines[-1]) > 1:
            last = bullet_lines[-1]
            bullet_lines = [*bullet_lines[:-1], clamp_lines(last, len(last) - 1, face(size), width)]
        elif len(bullet_lines) > 1:
            previous = bullet_lines[-2]
            bullet_lines = [
                *bullet_lines[:-2],
                clamp_lines([*previous, "…"], len(previous), face(size), width),
            ]
        elif bullet_lines:
            bullet_lines = []
        elif len(title_lines) > 1:
            title_font = face(round(size * TITLE_RATIO), bold=True)
            title_lines = clamp_lines(title_lines, len(title_lines) - 1, title_font, area.width)
        else:
            break
    return SlideLayout(size, title_lines, bullet_lines, _height(title_lines, bullet_lines, size))


def draw_slide(title: str, items: list[str], width: int, height: int, theme: Theme) -> Image.Image:
    background, foreground, accent = rgb(theme.background), rgb(theme.foreground), rgb(theme.accent)
    image = backdrop(width, height, background, accent)
    draw = ImageDraw.Draw(image)
    area = safe_area(width, height)
    layout = lay_out_slide(title, items, area)
    size = layout.body_size
    title_font, body_font = face(layout.title_size, bold=True), face(size)
    # Centred a little above the middle: the eye expects a slide's text to start high.
    y = area.top + max(0, area.height - layout.height) * 0.4
    if layout.title_lines:
        step = line_height(title_font) * _LINE_SPACING
        for k, line in enumerate(layout.title_lines):
            draw.text((area.left, y + k * step), line, font=title_font, fill=foreground, anchor="la")
        y += step * (len(layout.title_lines) - 1) + line_height(title_font)
        if layout.bullet_lines:
            rule_top = y + size * 0.5
            draw.rectangle(
                [area.left, rule_top, area.left + size * 3, rule_top + max(3, size // 8)], fill=accent
            )
            y += size * 1.6
    step = line_height(body_font) * _LINE_SPACING
    ascent = body_font.getmetrics()[0]
    dot = max(4, round(size * 0.32))
    for lines in layout.bullet_lines:
        # The marker sits on the first line's x-height middle, not its box's middle.
        centre = y + ascent - size * 0.36
        draw.ellipse(
            [area.left + dot * 0.2, centre - dot / 2, area.left + dot * 1.2, centre + dot / 2], fill=accent
        )
        for k, line in enumerate(lines):
            draw.text((area.left + size * _INDENT, y + k * step), line, font=body_font, fill=foreground)
        y += step * (len(lines) - 1) + line_height(body_font) + size * _BULLET_GAP
    return image


class SlidePainter:
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        require_glyphs(scene.title + scene.content)
        items = bullets(scene.content)
        return await paint_off_loop(
            lambda: draw_slide(scene.title.strip(), items, width, height, theme), dest
        )
