"""Laid-out text rasterised with Pillow into RGBA, once per distinct look (a text layer once, captions once
per phrase and highlighted word), then turned into YUV + alpha patches by the layers. Measuring and wrapping
live in media.render.layout, which subtitle files share.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from media.render.frames import U8
from media.render.layout import Laid, wrap
from media.timeline.fonts import load, resolve
from media.timeline.model import TextStyle

# wrap is re-exported: the visual providers still import it from here.
__all__ = ["RGBA", "parse_colour", "render", "wrap"]

RGBA = tuple[int, int, int, int]


def parse_colour(value: str) -> RGBA:
    digits = value.lstrip("#")
    alpha = int(digits[6:8], 16) if len(digits) == 8 else 255
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha


def render(
    laid: Laid, style: TextStyle, size: int, colours: list[RGBA] | None = None
) -> tuple[U8, tuple[int, int]]:
    """RGBA pixels of the laid-out text with its stroke, shadow and box, and where the block's (0, 0) lands
    in them (the margin the stroke, shadow and box need)."""
    font = load(resolve(style.font, style.mono), size)
    pad = style.box_padding if style.box is not None else 0
    sx, sy = style.shadow_offset if style.shadow else (0, 0)
    margin = pad + style.stroke_width + (max(abs(sx), abs(sy)) + 4 if style.shadow else 0) + 2
    width, height = laid.width + 2 * margin, laid.height + 2 * margin
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if style.box is not None:
        ImageDraw.Draw(canvas).rounded_rectangle(
            [margin - pad, margin - pad, margin + laid.width + pad, margin + laid.height + pad],
            radius=max(2, pad // 2),
            fill=parse_colour(style.box),
        )
    fill = parse_colour(style.colour)
    colours = colours or [fill] * len(laid.words)
    if style.shadow:
        shadow = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        _draw_words(
            shadow, laid, font, style, margin + sx, margin + sy, [parse_colour(style.shadow_colour)] * 99
        )
        canvas = Image.alpha_composite(canvas, shadow.filter(ImageFilter.GaussianBlur(2)))
    _draw_words(canvas, laid, font, style, margin, margin, colours)
    return np.asarray(canvas, dtype=np.uint8), (margin, margin)


def _draw_words(
    canvas: Image.Image,
    laid: Laid,
    font: ImageFont.FreeTypeFont,
    style: TextStyle,
    ox: int,
    oy: int,
    colours: list[RGBA],
) -> None:
    draw = ImageDraw.Draw(canvas)
    stroke = parse_colour(style.stroke_colour)
    for k, (word, box) in enumerate(zip(laid.words, laid.boxes, strict=True)):
        colour = colours[k] if k < len(colours) else colours[-1]
        draw.text(
            (ox + box[0], oy + box[1]),
            word,
            font=font,
            fill=colour,
            stroke_width=style.stroke_width,
            stroke_fill=stroke if style.stroke_width else None,
        )
