"""The timeline model and its validation, the slideshow compiled to a timeline, and the time math, all
without rendering."""

import json
from pathlib import Path
from typing import Any

import pytest

from media.errors import MediaError
from media.kinds.slideshow import SlideshowSpec
from media.timeline.checks import InvalidTimeline, Limits, parse_timeline, validate_timeline
from media.timeline.fonts import default_font
from media.timeline.model import MAX_ZOOM, ImageClip, OverlayClip, Timeline
from media.timeline.schedule import frame_count, look, on_screen, place
from tests.media.media_factory import RED, write_image


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_image(tmp_path_factory.mktemp("spec") / "a.jpg", RED)


def _data(image: Path, **output: Any) -> dict[str, Any]:
    return {
        "output": {"width": 160, "height": 288, "fps": 10, **output},
        "tracks": [
            {"clips": [{"type": "solid", "colour": "#ff0000", "duration": 2}]},
            {
                "clips": [
                    {"type": "image", "source": str(image), "duration": 1},
                    {"type": "image", "source": str(image), "duration": 1},
                    {"type": "text", "text": "Hi", "duration": 1},
                    {"type": "solid", "duration": 1},
                ]
            },
        ],
    }


def _problems(data: dict[str, Any], limits: Limits | None = None) -> dict[str, str]:
    with pytest.raises(InvalidTimeline) as excinfo:
        parse_timeline(data, limits)
    assert excinfo.value.code == "INVALID_TIMELINE"
    return dict(excinfo.value.problems)


def test_a_valid_timeline_parses_from_json_and_places_clips_one_after_another(image: Path) -> None:
    timeline = parse_timeline(json.dumps(_data(image)))
    starts = [(p.path, p.start, p.end) for p in place(timeline) if p.track == 1]
    assert starts == [
        ("tracks[1].clips[0]", 0.0, 1.0),
        ("tracks[1].clips[1]", 1.0, 2.0),
        ("tracks[1].clips[2]", 2.0, 3.0),
        ("tracks[1].clips[3]", 3.0, 4.0),
    ]


def test_zero_duration_is_reported_with_the_clip_path(image: Path) -> None:
    data = _data(image)
    data["tracks"][1]["clips"][3]["duration"] = 0
    data["tracks"][1]["clips"][0]["duration"] = -1
    problems = _problems(data)
    assert problems["tracks[1].clips[3].duration"] == "must be > 0"
    assert problems["tracks[1].clips[0].duration"] == "must be > 0"
    with pytest.raises(InvalidTimeline) as excinfo:
        parse_timeline(data)
    assert "tracks[1].clips[3].duration must be > 0" in excinfo.value.message


def test_unknown_layer_type_and_bad_colour_and_length_are_named(image: Path) -> None:
    data = _data(image)
    data["tracks"][1]["clips"][1] = {"type": "hologram", "duration": 1}
    data["tracks"][0]["clips"][0]["colour"] = "red"
    data["tracks"][1]["clips"][0]["x"] = "ten"
    problems = _problems(data)
    assert "unknown layer type 'hologram'" in problems["tracks[1].clips[1].type"]
    assert "colour" in problems["tracks[0].clips[0].colour"]
    assert "share of the frame" in problems["tracks[1].clips[0].x"]


def test_overlapping_clips_need_a_transition_and_a_transition_needs_the_overlap(image: Path) -> None:
    data = _data(image)
    clips = data["tracks"][1]["clips"]
    clips[1]["start"] = 0.5  # overlaps clip 0 with nothing joining them
    clips[3]["transition"] = {"kind": "crossfade", "duration": 0.4}
    clips[3]["start"] = 3.0  # should start 0.4 s before clip 2 ends
    clips[0]["transition"] = {"kind": "wipe", "duration": 0.2}
    problems = _problems(data)
    assert "no transition joins them" in problems["tracks[1].clips[1].start"]
    assert "0.4 s before tracks[1].clips[2] ends" in problems["tracks[1].clips[3].start"]
    assert "no previous clip" in problems["tracks[1].clips[0].transition"]


def test_limits_refuse_huge_frames_high_fps_and_long_videos(image: Path) -> None:
    data = _data(image, width=5000, fps=120)
    data["tracks"][0]["clips"][0]["duration"] = 31 * 60
    problems = _problems(data)
    assert problems["output.width"] == "must be <= 4096"
    assert problems["output.fps"] == "must be <= 60"
    assert "must be <= 1800 s" in problems["output.duration"]
    # The service passes its own limits.
    assert parse_timeline(_data(image, width=640, height=640), Limits(max_side=640))
    assert "output.width" in _problems(_data(image, width=642), Limits(max_side=640))


def test_missing_files_and_fonts_are_reported_at_validation(image: Path, tmp_path: Path) -> None:
    data = _data(image)
    data["tracks"][1]["clips"][0]["source"] = str(tmp_path / "gone.jpg")
    data["tracks"][1]["clips"][2]["style"] = {"font": str(tmp_path / "nope.ttf")}
    problems = _problems(data)
    assert "does not exist" in problems["tracks[1].clips[0].source"]
    assert "nope.ttf" in problems["tracks[1].clips[2].style.font"]


def test_text_the_font_cannot_draw_fails_with_missing_glyphs(image: Path) -> None:
    data = _data(image)
    data["tracks"][1]["clips"][2]["text"] = "Hello 世界"
    with pytest.raises(MediaError) as excinfo:
        parse_timeline(data)
    assert excinfo.value.code == "MISSING_GLYPHS"
    assert "世" in excinfo.value.message and "界" in excinfo.value.message
    assert "tracks[1].clips[2]" in excinfo.value.message
    assert default_font().name == "DejaVuSans.ttf"


def test_every_problem_is_reported_at_once(image: Path) -> None:
    # Field rules are checked together first, then the whole-timeline rules together.
    data = _data(image)
    data["tracks"][1]["clips"][3]["duration"] = 0
    data["tracks"][1]["clips"][2]["opacity"] = 2
    assert {"tracks[1].clips[2].opacity", "tracks[1].clips[3].duration"} <= _problems(data).keys()
    data = _data(image, fps=90, height=5000)
    data["tracks"][1]["clips"][1]["start"] = 0.5
    assert {"output.fps", "output.height", "tracks[1].clips[1].start"} <= _problems(data).keys()


# --- the slideshow as a timeline ----------------------------------------------------------------------


def test_slideshow_compiles_to_crossfaded_ken_burns_images_overlay_and_music(image: Path) -> None:
    spec = SlideshowSpec(
        images=[image] * 3,
        audio=image,
        overlay=image,
        width=160,
        height=288,
        fps=10,
        seconds_per_image=1.0,
        transition_seconds=0.4,
        audio_fade_seconds=0.5,
    )
    timeline = spec.to_timeline()
    clips = timeline.tracks[0].clips
    assert all(isinstance(c, ImageClip) for c in clips)
    spans = [(p.start, p.end) for p in place(timeline) if p.track == 0]
    assert spans == [(0.0, 1.2), pytest.approx((0.8, 2.2)), pytest.approx((1.8, 3.0))]
    zooms = [c.ken_burns.zoom for c in clips if isinstance(c, ImageClip) and c.ken_burns]
    assert zooms == ["in", "out", "in"]
    assert all(
        c.ken_burns and c.ken_burns.amount == pytest.approx(MAX_ZOOM - 1)
        for c in clips
        if isinstance(c, ImageClip)
    )
    assert [c.transition.kind if c.transition else None for c in clips] == [None, "crossfade", "crossfade"]
    overlay = timeline.tracks[1].clips[0]
    assert isinstance(overlay, OverlayClip) and overlay.blend == "screen" and overlay.opacity == 0.35
    music = timeline.audio[0].clips[0]
    assert music.loop and music.fade_out == 0.5 and music.role == "music"
    assert frame_count(3.0, 10) == 30


def test_slideshow_timing_contract_holds_on_the_compiled_timeline(image: Path) -> None:
    # Image k owns [k, k+1); the 0.4 s crossfade is centred on the boundary; nothing fades at the ends.
    spec = SlideshowSpec(
        images=[image] * 3, width=160, height=288, fps=10, seconds_per_image=1.0, transition_seconds=0.4
    )
    timeline = spec.to_timeline()
    placed = validate_timeline(timeline)

    def shown(frame: int) -> list[tuple[int, float]]:
        t = frame / 10
        return [
            (p.index, round(look(p, t, 160, 288, (0, 0, 160, 288)).opacity, 6))
            for p in on_screen(placed, t)
            if p.track == 0
        ]

    assert shown(0) == [(0, 1.0)]
    assert shown(7) == [(0, 1.0)]
    assert shown(8) == [(0, 1.0), (1, 0.0)]
    assert shown(9)[1] == (1, 0.25)
    assert shown(10) == [(0, 1.0), (1, 0.5)]
    assert shown(11)[1] == (1, 0.75)
    assert shown(12) == [(1, 1.0)]
    assert shown(29) == [(2, 1.0)]


def test_timeline_json_shape_round_trips(image: Path) -> None:
    timeline = parse_timeline(_data(image))
    assert Timeline.model_validate_json(timeline.model_dump_json()) == timeline
