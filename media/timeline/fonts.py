"""Fonts for text layers: DejaVu Sans / Sans Mono as shipped inside matplotlib's wheel (freely licensed, no
system fonts needed), or a font file the timeline names; and the check that a font can draw a text at all.

A font without a glyph draws an empty box (tofu) for it; for captions in another script that is worse than an
error, so text is checked against the font's character map before anything renders.
"""

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]
from PIL import ImageFont

from media.errors import MediaError


def default_font(mono: bool = False) -> Path:
    name = "DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf"
    return _matplotlib_data() / "fonts" / "ttf" / name


@lru_cache(maxsize=1)
def _matplotlib_data() -> Path:
    # Found without importing matplotlib: the import alone costs a render ~16 MiB of memory.
    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise MediaError("FONT_UNREADABLE", "matplotlib, which ships the default fonts, is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data"


def resolve(font: Path | None, mono: bool) -> Path:
    return font if font is not None else default_font(mono)


@lru_cache(maxsize=32)
def _codepoints(path: Path) -> frozenset[int]:
    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
            return frozenset(int(code) for code in cmap)
    except (OSError, TTLibError, AssertionError, KeyError) as exc:
        raise MediaError("FONT_UNREADABLE", f"{path.name} is not a readable TrueType/OpenType font") from exc


def missing_glyphs(path: Path, text: str) -> str:
    """The distinct characters of `text` (apart from whitespace and controls) that the font cannot draw."""
    have = _codepoints(path)
    missing = {ch for ch in text if not ch.isspace() and ch.isprintable() and ord(ch) not in have}
    return "".join(sorted(missing))


def check_font(path: Path) -> str | None:
    """Why the font cannot be used, or None."""
    if not path.is_file():
        return f"font file {str(path)!r} does not exist"
    try:
        _codepoints(path)
    except MediaError as exc:
        return exc.message
    return None


@lru_cache(maxsize=64)
def load(path: Path, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as exc:
        raise MediaError("FONT_UNREADABLE", f"{path.name} could not be loaded: {exc}") from exc
