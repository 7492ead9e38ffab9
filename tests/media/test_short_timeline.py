"""A short's timeline as data and time math: voices placed after each cut, the video exactly the
storyboard's length, transitions centred on the cuts, headlines and captions inside the 9:16 safe area, the
headline drifting against the picture, and the karaoke WebVTT."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media.errors import MediaError
from media.kinds.short import (
    GAP_SECONDS,
    LEAD_SECONDS,
    TRANSITION_SECONDS,
    ShortLook,
    ShortScene,
    caption_clips,
    place_voices,
    short_timeline,
)
from media.render.layers import CaptionsLayer
from media.render.subtitles import cues, to_word_webvtt, word_cues
from media.timeline.checks import validate_timeline
from media.timeline.model import CaptionsClip, ImageClip, TextClip, Timeline, Track, Word
from media.timeline.schedule import look, place

WIDTH, HEIGHT = 1080, 1920
DURATIONS = [3.4, 7.9, 7.9, 7.8, 3.0]


def words(text: str, gap: float = 0.35) -> tuple[Word, ...]:
    return tuple(Word(text=w, start=gap * i, end=gap * i + 0.3) for i, w in enumerate(text.split()))


def scenes(tmp: Path) -> list[ShortScene]:
    out, at = [], 0.0
    for k, duration in enumerate(DURATIONS):
        picture = tmp / f"p{k}.jpg"
        out.append(
            ShortScene(
                at,
                duration,
                picture,
                f"Headline {k}",
                at + LEAD_SECONDS,
                words("one two three four five six"),
            )
        )
        at += duration
    return out


def test_voices_start_after_each_cut_and_one_that_runs_on_delays_the_next() -> None:
    assert place_voices([0.0, 5.0, 10.0], [3.0, None, 2.0], 15.0) == [LEAD_SECONDS, None, 10.0 + LEAD_SECONDS]
    placed = place_voices([0.0, 4.0, 8.0], [5.0, 2.0, 1.0], 15.0)
    assert placed[1] == pytest.approx(LEAD_SECONDS + 5.0 + GAP_SECONDS)  # waits for the first voice
    assert placed[2] == pytest.approx(8.0 + LEAD_SECONDS)
    with pytest.raises(MediaError) as caught:
        place_voices([0.0, 5.0], [6.0, 6.0], 10.0)
    assert caught.value.code == "NARRATION_TOO_LONG" and "2.6 s longer" in caught.value.message


def test_the_video_lasts_the_storyboard_and_pictures_overlap_by_a_transition_around_each_cut(
    tmp_path: Path,
) -> None:
    timeline = short_timeline(scenes(tmp_path), tmp_path / "mix.wav", ShortLook(WIDTH, HEIGHT, "calm"))
    assert timeline.output.duration == pytest.approx(sum(DURATIONS))
    assert (timeline.output.width, timeline.output.height, timeline.output.loudness_lufs) == (
        WIDTH,
        HEIGHT,
        None,
    )
    validate_timeline(timeline, files=False)
    placed = [p for p in place(timeline) if isinstance(p.clip, ImageClip)]
    cuts = [sum(DURATIONS[: k + 1]) for k in range(len(DURATIONS) - 1)]
    for before, after, cut in zip(placed, placed[1:], cuts, strict=False):
        assert before.end == pytest.approx(cut + TRANSITION_SECONDS / 2)
        assert after.start == pytest.approx(cut - TRANSITION_SECONDS / 2)
        assert after.clip.transition is not None
    assert placed[0].start == 0 and placed[-1].end == pytest.approx(sum(DURATIONS))
    # Every picture moves, and neighbours move differently.
    motions = [(p.clip.ken_burns.zoom, p.clip.ken_burns.pan) for p in placed if p.clip.ken_burns]
    assert len(motions) == len(placed) and all(a != b for a, b in zip(motions, motions[1:], strict=False))
    assert len({p.clip.transition.kind for p in placed[1:] if p.clip.transition}) >= 3


def test_headlines_and_captions_stay_in_the_safe_area(tmp_path: Path) -> None:
    shown = scenes(tmp_path)
    shown[1] = ShortScene(
        shown[1].start, shown[1].duration, shown[1].picture, "Seven words that wrap onto three lines",
        shown[1].voice_start, words("supercalifragilistic words and a rather long phrase to wrap"),
    )  # fmt: skip
    timeline = short_timeline(shown, tmp_path / "mix.wav", ShortLook(WIDTH, HEIGHT, "upbeat"))
    for p in place(timeline):
        if isinstance(p.clip, CaptionsClip):
            layer = CaptionsLayer(p.clip, WIDTH, HEIGHT)
            for index in range(len(layer._phrases)):
                for x0, y0, x1, y1 in layer.word_boxes(index):
                    assert x0 >= 0.05 * WIDTH and x1 <= 0.82 * WIDTH, (x0, x1)  # clear of the buttons
                    assert y1 <= 0.78 * HEIGHT and y0 >= 0.5 * HEIGHT  # above the bottom fifth
        if isinstance(p.clip, TextClip):
            from media.render.layers import text_layer

            x, y, w, h = text_layer(p, p.clip, WIDTH, HEIGHT).box
            assert (
                x >= 0.04 * WIDTH and x + w <= 0.84 * WIDTH and y >= 0.15 * HEIGHT and y + h <= 0.5 * HEIGHT
            )


def test_the_headline_floats_against_the_picture(tmp_path: Path) -> None:
    timeline = short_timeline(scenes(tmp_path), tmp_path / "mix.wav", ShortLook(WIDTH, HEIGHT, "dramatic"))
    text = next(p for p in place(timeline) if isinstance(p.clip, TextClip) and p.index == 1)
    box = (0, 0, 100, 100)
    settled = look(text, text.start + 1.0, WIDTH, HEIGHT, box)
    later = look(text, text.end - 0.5, WIDTH, HEIGHT, box)
    assert later.dy < settled.dy < 0 and 1.0 < settled.scale < later.scale <= 1.05
    entering = look(text, text.start + 0.1, WIDTH, HEIGHT, box)
    assert entering.dy > 0  # sliding up from below as it enters


def test_karaoke_webvtt_times_each_word_of_the_caption_phrases(tmp_path: Path) -> None:
    shown = scenes(tmp_path)[:2]
    look_ = ShortLook(WIDTH, HEIGHT, "upbeat")
    captions = caption_clips(shown, look_)
    timeline = Timeline(tracks=[Track(clips=list(captions))])
    phrases, karaoke = cues(timeline), word_cues(timeline)
    assert [(c.start, c.end) for c in phrases] == [(c.start, c.end) for c in karaoke]
    vtt = to_word_webvtt(karaoke)
    assert vtt.startswith("WEBVTT\n\n")
    first = vtt.split("\n\n")[1]
    assert first.startswith("00:00:00.300 --> ")
    # one, then <time>two ... with each word's spoken time
    stamps = re.findall(r"<(\d\d:\d\d:\d\d\.\d\d\d)>(\w+)", first)
    assert stamps[0] == ("00:00:00.650", "two") and stamps[1] == ("00:00:01.000", "three")
