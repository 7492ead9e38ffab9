"""Text measured and laid out with Pillow's FreeType metrics, no pixels: words wrapped on lines, and captions
grouped into phrases. Apart from the rasteriser (media.render.text) so that subtitle files, cut by the same
rules as the burned-in captions, can be written without importing numpy or OpenCV.

Wrapping is by words on measured advance widths, so any script Pillow's FreeType can shape left to right
works; glyph coverage is checked earlier (media.timeline.checks) so nothing here draws tofu. Chinese and
Japanese are written without spaces: between two such words (a voice times them a character at a time) no
space is drawn, and a line may break between any two of them.
"""

import math
from dataclasses import dataclass

from PIL import ImageFont

from media.timeline.fonts import load, resolve
from media.timeline.model import TextStyle, Word

# Han ideographs, kana, CJK punctuation and full-width forms: scripts written without spaces between words.
_UNSPACED = (
    (0x3000, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _UNSPACED)


def spaced(before: str, after: str) -> bool:
    """Whether a space separates two consecutive words when they are shown."""
    return not (before and after and _unspaced(before[-1]) and _unspaced(after[0]))


def join_words(words: list[str]) -> str:
    """Words as shown: spaces between them, except within Chinese or Japanese text."""
    shown = ""
    for word in words:
        shown += (" " if shown and spaced(shown, word) else "") + word
    return shown


@dataclass(frozen=True)
class Laid:
    """Words placed on lines: each word's box (x0, y0, x1, y1) inside the block, the block's size."""

    words: list[str]
    boxes: list[tuple[int, int, int, int]]
    width: int
    height: int


def wrap(words: list[str], font: ImageFont.FreeTypeFont, max_width: float) -> list[list[int]]:
    """Indices of the words on each line; a word longer than a line gets a line of its own."""
    space = font.getlength(" ")
    lines: list[list[int]] = []
    current: list[int] = []
    width = 0.0
    for index, word in enumerate(words):
        advance = font.getlength(word)
        gap = space if current and spaced(words[current[-1]], word) else 0.0
        if current and width + gap + advance > max_width:
            lines.append(current)
            current, width, gap = [], 0.0, 0.0
        width += gap + advance
        current.append(index)
    if current:
        lines.append(current)
    return lines


def lay_out(text: str, style: TextStyle, size: int, max_width: float) -> Laid:
    font = load(resolve(style.font, style.mono), size)
    words: list[str] = []
    lines: list[list[int]] = []
    for paragraph in text.split("\n"):
        first = len(words)
        chunk = paragraph.split()
        words.extend(chunk)
        lines.extend([[first + i for i in line] for line in wrap(chunk, font, max_width)] or [[]])
    ascent, descent = font.getmetrics()
    line_height = round((ascent + descent) * style.line_spacing)
    space = font.getlength(" ")

    def gap(line: list[int], k: int) -> float:
        return space if k > 0 and spaced(words[line[k - 1]], words[line[k]]) else 0.0

    widths = [sum(font.getlength(words[i]) + gap(line, k) for k, i in enumerate(line)) for line in lines]
    block_w = math.ceil(max(widths, default=0.0))
    boxes: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * len(words)
    for row, (line, line_w) in enumerate(zip(lines, widths, strict=True)):
        x = {"left": 0.0, "center": (block_w - line_w) / 2, "right": block_w - line_w}[style.align]
        for k, i in enumerate(line):
            x += gap(line, k)
            advance = font.getlength(words[i])
            boxes[i] = (round(x), row * line_height, round(x + advance), row * line_height + ascent + descent)
            x += advance
    height = line_height * (len(lines) - 1) + ascent + descent
    return Laid(words, boxes, block_w, height)


@dataclass(frozen=True)
class Phrase:
    first: int  # index of its first word
    last: int  # index of its last word (inclusive)
    start: float
    end: float  # when the next phrase takes over (or the last word ends)


def phrases(words: list[Word], style: TextStyle, size: int, max_width: float, max_words: int) -> list[Phrase]:
    """Consecutive words grouped so each phrase has at most `max_words` words and fits on two lines; a long
    pause (> 0.8 s) also starts a new phrase."""
    font = load(resolve(style.font, style.mono), size)
    groups: list[list[int]] = [[]]
    for index, word in enumerate(words):
        group = groups[-1]
        candidate = [words[i].text for i in group] + [word.text]
        paused = bool(group) and word.start - words[group[-1]].end > 0.8
        if group and (len(group) >= max_words or paused or len(wrap(candidate, font, max_width)) > 2):
            groups.append([index])
        else:
            group.append(index)
    result = []
    for k, group in enumerate(groups):
        following = groups[k + 1][0] if k + 1 < len(groups) else None
        end = words[following].start if following is not None else words[group[-1]].end + 0.5
        result.append(Phrase(group[0], group[-1], words[group[0]].start, end))
    return result


def spoken(words: list[Word], phrase: Phrase, t: float) -> int | None:
    """The word spoken at t: from its start until the next word starts (so pauses keep the highlight)."""
    current = None
    for index in range(phrase.first, phrase.last + 1):
        if words[index].start <= t + 1e-6:
            current = index
    return current
