"""Title cards: the scene's title large and centred, its content as a subtitle, on a tinted gradient.

The same card, with a picture icon and an "offline stand-in" badge, stands in for an `image` scene when no
image provider is configured: it shows the prompt as text, so nobody mistakes it for a generated picture.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from media.providers.visual.base import Theme
from media.providers.visual.canvas import (
    RGB,
    Box,
    check_frame,
    clamp_lines,
    draw_lines,
    face,
    gradient,
    largest,
    line_height,
    mix,
    paint_off_loop,
    require_glyphs,
    rgb,
    safe_area,
    wrap_text,
)
from media.script import Scene

_MAX_TITLE_LINES = 4
_MAX_SUBTITLE_LINES = 5
STAND_IN_BADGE = "IMAGE PROMPT · OFFLINE STAND-IN"


def draw_card(
    title: str,
    subtitle: str,
    width: int,
    height: int,
    theme: Theme,
    *,
    badge: str | None = None,
    quote: bool = False,
) -> Image.Image:
    """`quote`: the subtitle is someone's words (an image prompt): oblique, in quotation marks. The badge,
    the title and the subtitle form one block, centred in the safe area."""
    background, foreground, accent = rgb(theme.background), rgb(theme.foreground), rgb(theme.accent)
    muted = rgb(theme.muted)
    image = gradient(width, height, mix(background, accent, 0.18), background)
    draw = ImageDraw.Draw(image)
    area = safe_area(width, height)
    short = min(width, height)
    _decorate(draw, width, height, mix(background, accent, 0.08))
    badge_size, icon = round(short * 0.028), round(short * 0.16) if badge else 0
    badge_block = line_height(face(badge_size, bold=True)) + badge_size * 2.2 + icon * 1.25 if badge else 0.0
    sub_size = max(14, round(short * 0.038))
    sub_font = face(sub_size, oblique=quote)
    subtitle = f"“{subtitle}”" if quote and subtitle else subtitle
    sub_lines = wrap_text(subtitle, sub_font, area.width) if subtitle else []
    sub_lines = clamp_lines(sub_lines, _MAX_SUBTITLE_LINES, sub_font, area.width)
    sub_block = (
        line_height(sub_font) * (1.15 * (len(sub_lines) - 1) + 1) + sub_size * 2.2 if sub_lines else 0.0
    )
    room = area.height - sub_block - badge_block

    def title_height(font: ImageFont.FreeTypeFont, lines: list[str]) -> float:
        return line_height(font) * (1.1 * (len(lines) - 1) + 1)

    def fits(size: int) -> bool:
        font = face(size, bold=True)
        lines = wrap_text(title, font, area.width)
        return len(lines) <= _MAX_TITLE_LINES and title_height(font, lines) <= room

    title_font = face(largest(fits, max(14, round(short * 0.04)), round(short * 0.11)), bold=True)
    title_lines = wrap_text(title, title_font, area.width) if title else []
    title_lines = clamp_lines(title_lines, _MAX_TITLE_LINES, title_font, area.width)
    title_h = title_height(title_font, title_lines) if title_lines else 0.0
    y = area.top + max(0.0, (area.height - badge_block - title_h - sub_block) / 2)
    if badge:
        _badge(draw, badge, width / 2, y, badge_size, accent)
        y += line_height(face(badge_size, bold=True)) + badge_size * 2.2
        _picture_icon(
            draw, Box((width - icon) // 2, round(y), (width + icon) // 2, round(y + icon * 0.8)), accent
        )
        y += icon * 1.25
    if title_lines:
        y = draw_lines(
            draw,
            title_lines,
            title_font,
            x=area.left,
            y=y,
            width=area.width,
            fill=foreground,
            spacing=1.1,
            align="centre",
        )
    if sub_lines:
        rule_w, rule_h = sub_size * 3, max(3, sub_size // 8)
        rule_y = y + sub_size * 0.9
        draw.rectangle([(width - rule_w) / 2, rule_y, (width + rule_w) / 2, rule_y + rule_h], fill=accent)
        y += sub_size * 2.2
        draw_lines(draw, sub_lines, sub_font, x=area.left, y=y, width=area.width, fill=muted, align="centre")
    return image


def _decorate(draw: ImageDraw.ImageDraw, width: int, height: int, colour: RGB) -> None:
    """Two faint rings around opposite corners: depth without competing with the text."""
    r = max(width, height) * 0.22
    ring = max(2, round(min(width, height) * 0.015))
    draw.ellipse([width - r, -r, width + r, r], outline=colour, width=ring)
    draw.ellipse([-r * 1.2, height - r * 1.2, r * 1.2, height + r * 1.2], outline=colour, width=ring)


def _badge(draw: ImageDraw.ImageDraw, text: str, centre: float, top: float, size: int, colour: RGB) -> None:
    """A pill-shaped label centred on `centre`, its top at `top`."""
    font = face(size, bold=True)
    w, h = font.getlength(text), line_height(font)
    pad = size * 0.7
    box = [centre - w / 2 - pad, top, centre + w / 2 + pad, top + h + pad]
    draw.rounded_rectangle(box, radius=(h + pad) / 2, outline=colour, width=max(2, size // 10))
    draw.text((centre - w / 2, top + pad / 2), text, font=font, fill=colour)


def _picture_icon(draw: ImageDraw.ImageDraw, box: Box, colour: RGB) -> None:
    """A drawn 'picture' pictogram (frame, sun, mountains): says "an image goes here" in any language."""
    line = max(2, box.width // 24)
    draw.rounded_rectangle(
        [box.left, box.top, box.right, box.bottom], radius=box.width // 10, outline=colour, width=line
    )
    r = box.width // 10
    cx, cy = box.left + box.width * 0.72, box.top + box.height * 0.32
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    base = box.bottom - line * 2
    draw.polygon(
        [
            (box.left + line * 2, base),
            (box.left + box.width * 0.38, box.top + box.height * 0.38),
            (box.left + box.width * 0.62, base),
        ],
        fill=colour,
    )
    draw.polygon(
        [
            (box.left + box.width * 0.45, base),
            (box.left + box.width * 0.68, box.top + box.height * 0.55),
            (box.right - line * 2, base),
        ],
        fill=colour,
    )


class TitlePainter:
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        title, subtitle = scene.title.strip(), scene.content.strip()
        require_glyphs(title + subtitle)
        return await paint_off_loop(lambda: draw_card(title, subtitle, width, height, theme), dest)


class StandInPainter:
    """For `image` scenes without an image provider: the prompt as a clearly labelled card."""

    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        check_frame(width, height)
        title, prompt = scene.title.strip(), scene.content.strip()
        require_glyphs(title + prompt)
        return await paint_off_loop(
            lambda: draw_card(title, prompt, width, height, theme, badge=STAND_IN_BADGE, quote=True), dest
        )
