"""The frame a scene gets when its visual failed for good: clearly marked, muted, with the reason.

The pipeline paints it instead of failing the job (a bad diagram should not cost the whole video) and
records the same reason as a warning on the stage; the viewer sees that something is missing rather than a
frame that pretends to be the visual.
"""

from pathlib import Path

from PIL import Image, ImageDraw

from media.providers.visual.base import Theme
from media.providers.visual.canvas import (
    Box,
    check_frame,
    clamp_lines,
    draw_lines,
    face,
    line_height,
    mix,
    paint_off_loop,
    printable,
    rgb,
    safe_area,
    wrap_text,
)
from media.script import Scene

LABEL = "VISUAL UNAVAILABLE"
_MAX_REASON_LINES = 6


def draw_placeholder(title: str, reason: str, width: int, height: int, theme: Theme) -> Image.Image:
    background, muted, foreground = rgb(theme.background), rgb(theme.muted), rgb(theme.foreground)
    base = mix(background, muted, 0.10)
    image = Image.new("RGB", (width, height), base)
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    # Diagonal hatching reads as "not content" on any theme, without any colour of alarm.
    stripe, gap = max(2, short // 90), max(12, short // 22)
    hatch = mix(base, muted, 0.12)
    for offset in range(-height, width, gap):
        draw.line([(offset, height), (offset + height, 0)], fill=hatch, width=stripe)
    area = safe_area(width, height)
    draw.rectangle([area.left, area.top, area.right, area.bottom], fill=base)  # no hatching behind the text
    _dashed_frame(draw, area, mix(base, muted, 0.6), max(2, short // 270), max(10, short // 40))
    inner = Box(
        area.left + short // 20, area.top + short // 20, area.right - short // 20, area.bottom - short // 20
    )
    sign_size = round(short * 0.12)
    label_font = face(max(14, round(short * 0.045)), bold=True)
    title_font = face(max(14, round(short * 0.035)), bold=True)
    reason_font = face(max(12, round(short * 0.028)))
    titles = (
        clamp_lines(wrap_text(title, title_font, inner.width), 2, title_font, inner.width) if title else []
    )
    reasons = clamp_lines(
        wrap_text(reason, reason_font, inner.width), _MAX_REASON_LINES, reason_font, inner.width
    )
    block = (
        sign_size * 1.3
        + line_height(label_font) * 1.6
        + (line_height(title_font) * (1.15 * len(titles) + 0.4) if titles else 0)
        + line_height(reason_font) * (1.15 * (len(reasons) - 1) + 1)
    )
    y = inner.top + max(0.0, (inner.height - block) / 2)
    _warning_sign(draw, width / 2, y, sign_size, mix(base, muted, 0.8), base)
    y += sign_size * 1.3
    y = draw_lines(
        draw, [LABEL], label_font, x=inner.left, y=y, width=inner.width, fill=muted, align="centre"
    )
    y += line_height(label_font) * 0.6
    if titles:
        colour = mix(muted, foreground, 0.4)
        y = draw_lines(
            draw, titles, title_font, x=inner.left, y=y, width=inner.width, fill=colour, align="centre"
        )
        y += line_height(title_font) * 0.4
    draw_lines(draw, reasons, reason_font, x=inner.left, y=y, width=inner.width, fill=muted, align="centre")
    return image


def _dashed_frame(
    draw: ImageDraw.ImageDraw, box: Box, colour: tuple[int, int, int], line: int, dash: int
) -> None:
    for x in range(box.left, box.right, dash * 2):
        end = min(x + dash, box.right)
        draw.line([(x, box.top), (end, box.top)], fill=colour, width=line)
        draw.line([(x, box.bottom), (end, box.bottom)], fill=colour, width=line)
    for y in range(box.top, box.bottom, dash * 2):
        end = min(y + dash, box.bottom)
        draw.line([(box.left, y), (box.left, end)], fill=colour, width=line)
        draw.line([(box.right, y), (box.right, end)], fill=colour, width=line)


def _warning_sign(
    draw: ImageDraw.ImageDraw,
    cx: float,
    top: float,
    size: int,
    colour: tuple[int, int, int],
    ink: tuple[int, int, int],
) -> None:
    """A drawn triangle with "!" (a glyph would depend on the font having U+26A0)."""
    h = size * 0.87
    draw.polygon([(cx, top), (cx + size / 2, top + h), (cx - size / 2, top + h)], fill=colour)
    bar = size * 0.07
    draw.rounded_rectangle([cx - bar, top + h * 0.33, cx + bar, top + h * 0.7], radius=bar, fill=ink)
    draw.ellipse([cx - bar * 1.1, top + h * 0.77, cx + bar * 1.1, top + h * 0.77 + bar * 2.2], fill=ink)


async def paint_placeholder(
    scene: Scene, reason: str, dest: Path, *, width: int, height: int, theme: Theme
) -> Path:
    """The placeholder for `scene`, saying why its visual is missing (e.g. the error's code and message)."""
    check_frame(width, height)
    title, reason = printable(scene.title.strip()), printable(reason)  # the placeholder must never fail
    return await paint_off_loop(lambda: draw_placeholder(title, reason, width, height, theme), dest)


class PlaceholderPainter:
    """The placeholder as a Painter: the reason given here, or else the scene's content (so a pipeline can
    pass the failed scene with its error as content, e.g. `scene.model_copy(update={"content": why})`)."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        reason = self.reason or scene.content.strip() or "no reason was given"
        return await paint_placeholder(scene, reason, dest, width=width, height=height, theme=theme)
