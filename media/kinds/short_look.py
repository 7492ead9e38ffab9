"""How a short looks: a palette per tone, the headline's and the captions' styles, and where both sit in a
vertical frame. Shared by the offline frame designer (which draws the frame artifact with the same text
style) and the short's timeline, so the stored frame and the video agree.

The safe area: TikTok, Reels and Shorts draw the caption, the account name and the music line over the
bottom ~20 % of the frame and a column of buttons down the right edge, so the headline sits in the upper
third and the captions above the bottom fifth, both clear of the right ~18 %.
"""

from dataclasses import dataclass
from pathlib import Path

from media.timeline.fonts import default_font
from media.timeline.model import TextStyle


@dataclass(frozen=True)
class Palette:
    top: str  # the background's gradient, top to bottom
    bottom: str
    accent: str  # highlights: the spoken word, shapes
    glow: str  # the light in the background
    text: str
    stroke: str  # outline and shadow of text, for legibility on any picture


PALETTES: dict[str, Palette] = {
    "upbeat": Palette("#ff5f6d", "#ffb36b", "#fff275", "#ffe29a", "#ffffff", "#3b0a1e"),
    "playful": Palette("#6a00f4", "#db00b6", "#00f5d4", "#ffd6ff", "#ffffff", "#240046"),
    "inspiring": Palette("#0f2027", "#2c5364", "#f9d423", "#ffe8a3", "#ffffff", "#061018"),
    "informative": Palette("#1e3c72", "#2a5298", "#4fd1c5", "#a3f7ff", "#ffffff", "#0b1a33"),
    "corporate": Palette("#141e30", "#243b55", "#38bdf8", "#bae6fd", "#ffffff", "#050b16"),
    "calm": Palette("#2c3e50", "#4ca1af", "#c4f1be", "#e0f7fa", "#ffffff", "#10222b"),
    "dramatic": Palette("#0f0c29", "#302b63", "#ff416c", "#ff9a8b", "#ffffff", "#07051a"),
    "mysterious": Palette("#050505", "#3a3a4a", "#b57edc", "#d7bde2", "#f5f5f5", "#000000"),
}
CAPTION_STYLES = ("highlight", "boxed", "minimal")

# Shares of the frame: the headline's box (upper third) and the captions' (above the bottom fifth).
HEADLINE_X, HEADLINE_Y, HEADLINE_W = 0.06, 0.17, 0.76
CAPTIONS_X, CAPTIONS_Y, CAPTIONS_W = 0.06, 0.58, 0.74


def bold_font(font: Path | None) -> Path:
    """The headline's font: a configured one (for scripts DejaVu lacks), else DejaVu Sans Bold from
    matplotlib's wheel."""
    if font is not None:
        return font
    regular = default_font(False)
    return regular.with_name(f"{regular.stem}-Bold.ttf")


def headline_style(palette: Palette, width: int, font: Path | None = None) -> TextStyle:
    return TextStyle(
        font=bold_font(font),
        size=round(width * 0.092),
        colour=palette.text,
        stroke_width=max(2, round(width * 0.006)),
        stroke_colour=palette.stroke,
        shadow=True,
        shadow_colour=palette.stroke + "b0",
        shadow_offset=(0, max(2, round(width * 0.006))),
        align="center",
        line_spacing=1.05,
    )


def caption_style(palette: Palette, width: int, style: str, font: Path | None = None) -> TextStyle:
    size = round(width * (0.05 if style == "minimal" else 0.06))
    return TextStyle(
        font=bold_font(font) if style != "minimal" else font,
        size=size,
        colour="#ffffff",
        stroke_width=0 if style == "boxed" else max(2, round(width * 0.0045)),
        stroke_colour="#000000",
        box="#000000b0" if style == "boxed" else None,
        box_padding=round(size * 0.3),
        shadow=style == "highlight",
    )


def highlight_colour(palette: Palette, style: str) -> str:
    return "#ffffff" if style == "minimal" else palette.accent
