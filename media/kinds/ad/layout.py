"""Where an ad's parts go in a frame of each shape, and the type size each text gets in its box.

Boxes are shares of the frame, one set per orientation (portrait, square, landscape): the product in the
middle with the headline above it in portrait and square, beside the text column in landscape; the captions
in the lower safe area. Text is fitted by measuring it (Pillow's FreeType metrics, no pixels), so the API can
refuse a call to action that cannot fit the end card at the minimum type size before anything is queued.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.render.layout import lay_out
from media.timeline.fonts import default_font, missing_glyphs
from media.timeline.model import TextStyle

# The smallest type an ad sets, as a share of the frame's shorter side: 32 px in a 1080-wide phone video,
# about the size of a platform's own caption text.
MIN_TYPE = 0.03
MAX_LINES = 2  # a headline, a feature line, a name or a call to action
LINE_SPACING = 1.1
CTA_PADDING = 0.45  # the button's padding around its text, in text sizes


@dataclass(frozen=True)
class Box:
    """Shares of the frame: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return round(self.x * width), round(self.y * height), round(self.w * width), round(self.h * height)


@dataclass(frozen=True)
class Layout:
    align: Literal["left", "center"]
    headline: Box
    feature: Box
    product: Box  # scenes 1-3
    end_product: Box
    end_name: Box
    end_tagline: Box
    cta: Box  # the button, padding included
    captions: Box | None  # None: the renderer's lower safe area across the frame


PORTRAIT = Layout(
    align="center",
    headline=Box(0.08, 0.07, 0.84, 0.15),
    feature=Box(0.1, 0.225, 0.8, 0.07),
    product=Box(0.1, 0.31, 0.8, 0.38),
    end_product=Box(0.15, 0.09, 0.7, 0.38),
    end_name=Box(0.08, 0.49, 0.84, 0.11),
    end_tagline=Box(0.1, 0.6, 0.8, 0.06),
    cta=Box(0.1, 0.69, 0.8, 0.12),
    captions=None,
)
SQUARE = Layout(
    align="center",
    headline=Box(0.08, 0.05, 0.84, 0.15),
    feature=Box(0.1, 0.2, 0.8, 0.07),
    product=Box(0.2, 0.28, 0.6, 0.41),
    end_product=Box(0.25, 0.06, 0.5, 0.38),
    end_name=Box(0.08, 0.46, 0.84, 0.12),
    end_tagline=Box(0.1, 0.58, 0.8, 0.07),
    cta=Box(0.15, 0.68, 0.7, 0.15),
    captions=None,
)
LANDSCAPE = Layout(
    align="left",
    headline=Box(0.06, 0.12, 0.44, 0.3),
    feature=Box(0.06, 0.44, 0.44, 0.12),
    product=Box(0.54, 0.08, 0.4, 0.7),
    end_product=Box(0.54, 0.1, 0.4, 0.8),
    end_name=Box(0.06, 0.16, 0.44, 0.2),
    end_tagline=Box(0.06, 0.38, 0.44, 0.1),
    cta=Box(0.06, 0.56, 0.44, 0.18),
    captions=Box(0.06, 0.64, 0.44, 0.2),
)


def layout_for(width: int, height: int) -> Layout:
    ratio = width / height
    if ratio >= 1.3:
        return LANDSCAPE
    if ratio <= 1 / 1.3:
        return PORTRAIT
    return SQUARE


def font_for(text: str, preferred: Path, *, heavy: bool = False) -> Path:
    """The style's font, or DejaVu Sans (matplotlib's, with far wider coverage) for a text it cannot draw:
    a product name in Greek or Cyrillic still gets set, in a plainer face."""
    if not missing_glyphs(preferred, text):
        return preferred
    plain = default_font(False)
    return plain.with_name("DejaVuSans-Bold.ttf") if heavy else plain


def text_style(font: Path) -> TextStyle:
    return TextStyle(font=font, line_spacing=LINE_SPACING)


def fits(text: str, font: Path, size: int, width: float, height: float, max_lines: int = MAX_LINES) -> bool:
    laid = lay_out(text, text_style(font), size, width)
    lines = len({box[1] for box in laid.boxes}) if laid.boxes else 1
    return lines <= max_lines and laid.width <= width and laid.height <= height


def fitted_size(
    text: str,
    font: Path,
    largest: int,
    smallest: int,
    width: float,
    height: float,
    max_lines: int = MAX_LINES,
) -> int | None:
    """The largest size from `largest` down to `smallest` at which the text fits the box, or None."""
    if fits(text, font, largest, width, height, max_lines):
        return largest
    low, high, best = smallest, largest - 1, None
    while low <= high:  # fitting only gets easier as the size shrinks
        middle = (low + high) // 2
        if fits(text, font, middle, width, height, max_lines):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def min_type(width: int, height: int) -> int:
    return max(8, round(MIN_TYPE * min(width, height)))


def cta_size(text: str, font: Path, share: float, width: int, height: int) -> int | None:
    """The call to action's type size on the end card's button, or None when it does not fit even at the
    minimum type size."""
    _, _, box_w, box_h = layout_for(width, height).cta.pixels(width, height)
    largest = max(min_type(width, height), round(share * min(width, height)))

    def inner(size: int) -> tuple[float, float]:
        pad = CTA_PADDING * size
        return box_w - 2 * pad, box_h - 2 * pad

    for size in range(largest, min_type(width, height) - 1, -1):
        room_w, room_h = inner(size)
        if room_w > 0 and room_h > 0 and fits(text, font, size, room_w, room_h):
            return size
    return None
