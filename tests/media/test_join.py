"""A timeline rendered as segments and joined without re-encoding against the same timeline rendered in one
piece: the same frames and duration, the audio in sync, the frames on both sides of every join alike
(SSIM >= 0.99), a keyframe at every join (copied, not re-encoded), and segments that do not fit refused."""

from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from media.errors import MediaError
from media.render.audio import render_audio
from media.render.engine import render_timeline
from media.render.join import join_segments
from media.timeline.checks import validate_timeline
from media.timeline.cuts import plan_segments
from media.timeline.model import Timeline
from media.timeline.schedule import duration_of, frame_count
from tests.media.media_factory import write_scene, write_wav
from tests.media.timeline_factory import timeline

pytestmark = pytest.mark.slow  # renders real video
FPS = 10


def ssim(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    """Mean SSIM of two luma planes (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5)."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(cv2.GaussianBlur(v, (11, 11), 1.5), np.float64)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    return float((((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean())


def _timeline(folder: Path) -> Timeline:
    pictures = [write_scene(folder / f"s{i}.jpg", (480, 270), i) for i in range(4)]
    fade = {"transition": {"kind": "crossfade", "duration": 0.5}}
    clips = [
        {
            "type": "image",
            "source": str(p),
            "duration": 2.5,
            "ken_burns": {"pan": "left"},
            **(fade if i else {}),
        }
        for i, p in enumerate(pictures)
    ]
    caption = {"type": "text", "text": "Across the cut", "start": 1.5, "duration": 4.0}
    tone = {"source": str(write_wav(folder / "tone.wav", 1.3)), "loop": True}
    return timeline(
        clips, [caption], audio=[{"clips": [tone]}], width=320, height=180, fps=FPS, preset="veryfast"
    )


def _luma(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [np.asarray(f.to_ndarray(format="gray"), np.uint8) for f in container.decode(video=0)]


def _streams(path: Path) -> dict[str, tuple[float, float]]:
    """(start, duration) in seconds of each stream."""
    with av.open(str(path)) as container:
        return {
            s.type: (float((s.start_time or 0) * s.time_base), float(s.duration * s.time_base))
            for s in container.streams
            if s.time_base is not None and s.duration is not None
        }


def _samples(path: Path) -> npt.NDArray[np.float32]:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).astype(np.float32)


def _keyframes(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        return sorted(round(p.pts * stream.time_base * FPS) for p in container.demux(stream) if p.is_keyframe)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[tuple[int, int]]]:
    folder = tmp_path_factory.mktemp("join")
    tl = _timeline(folder)
    placed = validate_timeline(tl)
    total = frame_count(duration_of(tl, placed), FPS)
    ranges = plan_segments(placed, FPS, total, 2 * FPS)
    whole = folder / "whole.mp4"
    render_timeline(tl, whole, folder / "whole.jpg")
    pieces = []
    for i, (first, end) in enumerate(ranges):
        result = render_timeline(tl, folder / f"{i}.mp4", folder / f"{i}.jpg", segment=(first, end))
        assert result.frames == end - first and not result.has_audio
        pieces.append((folder / f"{i}.mp4", end - first))
    audio = render_audio(tl, folder / "soundtrack.m4a")
    assert audio.has_audio and audio.duration_seconds == total / FPS
    joined = folder / "joined.mp4"
    result = join_segments(tl, pieces, folder / "soundtrack.m4a", joined)
    assert result.frames == total and result.has_audio
    return whole, joined, ranges


def test_segments_cut_the_crossfades_and_caption_timeline_into_several(
    rendered: tuple[Path, Path, list[tuple[int, int]]],
) -> None:
    assert len(rendered[2]) >= 3


def test_joined_video_has_the_one_piece_renders_frames_and_duration(
    rendered: tuple[Path, Path, list[tuple[int, int]]],
) -> None:
    whole, joined, _ = rendered
    assert len(_luma(joined)) == len(_luma(whole)) == 85
    assert _streams(joined)["video"] == pytest.approx(_streams(whole)["video"])


def test_joined_audio_starts_and_ends_with_the_video_within_a_frame(
    rendered: tuple[Path, Path, list[tuple[int, int]]],
) -> None:
    streams = _streams(rendered[1])
    (video_start, video_length), (audio_start, audio_length) = streams["video"], streams["audio"]
    assert abs(audio_start - video_start) < 1 / FPS
    assert abs((audio_start + audio_length) - (video_start + video_length)) < 1 / FPS
    assert streams["audio"] == pytest.approx(_streams(rendered[0])["audio"], abs=1e-3)


def test_joined_audio_is_the_one_piece_renders_soundtrack(
    rendered: tuple[Path, Path, list[tuple[int, int]]],
) -> None:
    whole, joined = (_samples(path) for path in rendered[:2])
    assert whole.shape == joined.shape
    assert np.abs(whole - joined).max() < 1e-3  # the same mix through the same AAC encoder


def test_frames_on_both_sides_of_every_join_match_the_one_piece_render(
    rendered: tuple[Path, Path, list[tuple[int, int]]],
) -> None:
    whole, joined, ranges = rendered
    a, b = _luma(whole), _luma(joined)
    for cut, _ in ranges[1:]:
        for index in (cut - 1, cut):
            assert ssim(a[index], b[index]) >= 0.99, (cut, index)


def test_every_segment_starts_on_a_keyframe_copied_as_it_was_encoded(
    rendered: tuple[Path, Path, list[tuple[int, int]]],
) -> None:
    _, joined, ranges = rendered
    assert {first for first, _ in ranges} <= set(_keyframes(joined))


def test_segments_that_do_not_add_up_are_refused_and_leave_nothing(
    rendered: tuple[Path, Path, list[tuple[int, int]]], tmp_path: Path
) -> None:
    whole, _, ranges = rendered
    folder = whole.parent
    tl = _timeline(tmp_path)
    short = [(folder / f"{i}.mp4", end - first) for i, (first, end) in enumerate(ranges)][:-1]
    with pytest.raises(MediaError) as caught:
        join_segments(tl, short, folder / "soundtrack.m4a", tmp_path / "bad.mp4")
    assert caught.value.code == "SEGMENTS_MISMATCH"
    other = tl.model_copy(update={"output": tl.output.model_copy(update={"preset": "ultrafast"})})
    first, end = ranges[1]
    render_timeline(other, tmp_path / "other.mp4", tmp_path / "other.jpg", segment=(first, end))
    mixed = [(folder / f"{i}.mp4", end - first) for i, (first, end) in enumerate(ranges)]
    mixed[1] = (tmp_path / "other.mp4", end - first)
    with pytest.raises(MediaError) as caught:
        join_segments(tl, mixed, folder / "soundtrack.m4a", tmp_path / "bad.mp4")
    assert caught.value.code == "SEGMENTS_MISMATCH"
    assert not (tmp_path / "bad.mp4").exists()
