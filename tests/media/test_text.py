"""Text layers and captions: where they land, how they animate, and the spoken word's highlight."""

from pathlib import Path
from typing import Any

import numpy as np

from media.render.layers import CaptionsLayer
from media.render.layout import join_words, lay_out, wrap
from media.timeline.fonts import default_font, load, missing_glyphs
from media.timeline.model import CaptionsClip, TextStyle
from tests.media.timeline_factory import H, W, mean, render, solid, timeline


def _text(**changes: Any) -> dict[str, Any]:
    style = {"size": 20, "box": "#ffffff", "colour": "#000000", "box_padding": 10}
    return {
        "type": "text",
        "text": "Hello there",
        "duration": 2.0,
        "x": 20,
        "y": 100,
        "width": 120,
        "style": style,
        **changes,
    }


def _box_rows(frame: np.ndarray) -> np.ndarray:
    """Rows of the frame where the white box is."""
    return np.flatnonzero(frame[:, W // 2 - 30 : W // 2 + 30].mean(axis=(1, 2)) > 150)


def test_a_text_box_is_drawn_where_the_layer_is_placed(tmp_path: Path) -> None:
    frame = render(tmp_path, timeline([solid("#000000", 2.0)], [_text()])).frame(10)
    rows = _box_rows(frame)
    assert rows.size > 20
    # The text block's top is at y=100; the box reaches its padding above it.
    assert 86 <= rows.min() <= 100 and rows.max() < 180  # two lines: "Hello" / "there"
    cols = np.flatnonzero(frame[rows.min() + 2 : rows.max() - 2].mean(axis=(0, 2)) > 150)
    assert cols.min() >= 20 and cols.max() < 140
    assert mean(frame, 0, 0, None, 80).max() < 10  # nothing above


def test_fade_in_is_half_transparent_halfway(tmp_path: Path) -> None:
    tl = timeline([solid("#000000", 2.0)], [_text(enter={"kind": "fade", "duration": 1.0})])
    frames = render(tmp_path, tl).frames(5, 15)
    rows = _box_rows(frames[15])
    level = frames[5][rows.min() + 3 : rows.min() + 5, W // 2 - 30 : W // 2 + 30].mean()
    assert 100 < level < 160


def test_slide_from_the_left_starts_outside_the_frame(tmp_path: Path) -> None:
    tl = timeline([solid("#000000", 2.0)], [_text(enter={"kind": "slide", "side": "left", "duration": 1.0})])
    frames = render(tmp_path, tl).frames(0, 3, 15)
    assert frames[0].max() < 20  # not on screen yet
    rows = _box_rows(frames[15])
    moving = frames[3][rows.min() + 3 : rows.max() - 3]
    cols = np.flatnonzero(moving.mean(axis=(0, 2)) > 150)
    settled = np.flatnonzero(frames[15][rows.min() + 3 : rows.max() - 3].mean(axis=(0, 2)) > 150)
    assert cols.size and cols.max() < settled.max() - 10  # still left of where it rests


def test_pop_starts_small_and_overshoots_before_settling(tmp_path: Path) -> None:
    tl = timeline([solid("#000000", 2.0)], [_text(enter={"kind": "pop", "duration": 1.0})])
    frames = render(tmp_path, tl).frames(2, 6, 15)
    sizes = {k: _box_rows(f).size for k, f in frames.items()}
    assert sizes[2] < sizes[15] < sizes[6]


def test_wrapping_keeps_lines_within_the_max_width() -> None:
    font = load(default_font(), 20)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    lines = wrap(words, font, 100)
    assert len(lines) > 2 and sum(len(line) for line in lines) == len(words)
    laid = lay_out(" ".join(words), TextStyle(size=20), 20, 100)
    assert laid.width <= 100


def test_cjk_is_missing_from_the_default_font_but_latin_accents_are_not() -> None:
    assert missing_glyphs(default_font(), "Grüße, café") == ""
    assert missing_glyphs(default_font(), "日本語 ok") == "日本語"


def test_captions_highlight_the_word_being_spoken(tmp_path: Path) -> None:
    words = [
        {"text": w, "start": 0.5 * k, "end": 0.5 * k + 0.45} for k, w in enumerate(["one", "two", "three"])
    ]
    clip = {
        "type": "captions",
        "words": words,
        "duration": 2.0,
        "highlight": "#ffff00",
        "style": {"size": 24},
    }
    frames = render(tmp_path, timeline([solid("#000000", 2.0)], [clip])).frames(2, 7)
    layer = CaptionsLayer(CaptionsClip.model_validate(clip), W, H)
    x0, y0, x1, y1 = layer.word_boxes(0)[1]  # "two", spoken from 0.5 s (frame 5)
    assert H * 0.6 < y0 < H * 0.9  # in the lower safe area

    def ink(frame: np.ndarray) -> np.ndarray:
        region = frame[y0:y1, x0:x1].reshape(-1, 3).astype(float)
        return region[region.sum(axis=1) > 300].mean(axis=0)  # the glyph pixels, not the gaps

    before, during = ink(frames[2]), ink(frames[7])
    assert abs(before[2] - before[0]) < 40  # white
    assert during[2] < during[0] - 80  # yellow: blue drops out


def test_chinese_and_japanese_words_are_shown_without_spaces_and_latin_ones_with() -> None:
    assert join_words(["你", "好", "，", "世", "界"]) == "你好，世界"
    assert join_words(["こんにちは", "世界"]) == "こんにちは世界"
    assert join_words(["Hello", "world", "世界"]) == "Hello world 世界"
    assert join_words(["안녕하세요", "세계"]) == "안녕하세요 세계"  # Korean is written with spaces

    laid = lay_out("你 好 世 界 and more", TextStyle(), 40, 10_000)
    starts, ends = [b[0] for b in laid.boxes], [b[2] for b in laid.boxes]
    assert starts[1:4] == ends[0:3]  # the four characters touch
    assert starts[4] > ends[3] and starts[5] > ends[4]  # the English words keep their spaces
