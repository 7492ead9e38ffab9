"""The slideshow end to end, compiled to a timeline and rendered by the engine (in process and in a child):
render small clips from generated inputs, decode what was encoded."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from media.errors import MediaError
from media.kinds.slideshow import SlideshowSpec
from media.render.child import render_in_child
from media.render.engine import render_timeline
from media.render.frames import (
    OVERSAMPLE,
    CanvasLayout,
    KenBurnsCanvas,
    ScreenBlend,
    planes,
    rgb_to_yuv420,
)
from media.render.result import RenderResult
from media.timeline.model import MAX_ZOOM
from tests.media.media_factory import (
    BLUE,
    GREEN,
    RED,
    child_pids,
    mean_colour,
    probe_audio,
    probe_video,
    rgb_frames,
    rms,
    top_level_boxes,
    write_image,
    write_overlay,
    write_wav,
)

WIDTH, HEIGHT, FPS = 160, 288, 10
SPI, TRANSITION = 1.0, 0.4
COLOURS = [RED, GREEN, BLUE]
ONE_FRAME = 1 / FPS


@dataclass(frozen=True)
class Inputs:
    images: list[Path]
    short_wav: Path
    long_wav: Path
    overlay: Path
    text: Path


@dataclass(frozen=True)
class Rendered:
    video: Path
    poster: Path
    result: RenderResult
    progress: list[tuple[int, int]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("inputs")
    text = folder / "notes.txt"
    text.write_text("not media at all\n" * 50)
    return Inputs(
        images=[write_image(folder / f"image{k}.jpg", colour) for k, colour in enumerate(COLOURS)],
        short_wav=write_wav(folder / "short.wav", 1.2),
        long_wav=write_wav(folder / "long.wav", 6.0, rate=48000, channels=2),
        overlay=write_overlay(folder / "dust.mp4", seconds=0.7, size=(200, 120), fps=10, level=120),
        text=text,
    )


def _spec(inputs: Inputs, **changes: Any) -> SlideshowSpec:
    fields: dict[str, Any] = {
        "images": inputs.images,
        "audio": inputs.short_wav,
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "seconds_per_image": SPI,
        "transition_seconds": TRANSITION,
        "preset": "ultrafast",
        "crf": 18,
        "audio_fade_seconds": 0.5,
    }
    fields.update(changes)
    return SlideshowSpec(**fields)


def _render(folder: Path, spec: SlideshowSpec) -> Rendered:
    progress: list[tuple[int, int]] = []
    video, poster = folder / "out.mp4", folder / "poster.jpg"
    result = render_timeline(
        spec.to_timeline(), video, poster, lambda done, total: progress.append((done, total))
    )
    return Rendered(video, poster, result, progress)


@pytest.fixture(scope="module")
def rendered(inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render(tmp_path_factory.mktemp("main"), _spec(inputs))


def _close(actual: np.ndarray, expected: Any, atol: float) -> None:
    np.testing.assert_allclose(actual, np.asarray(expected, np.float64), atol=atol)


# --- the video stream ---------------------------------------------------------------------------------


def test_video_is_h264_yuv420p_bt709_of_the_requested_size_and_length(rendered: Rendered) -> None:
    probe = probe_video(rendered.video)
    assert (probe.codec, probe.pix_fmt) == ("h264", "yuv420p")
    assert (probe.width, probe.height) == (WIDTH, HEIGHT)
    assert probe.frames == 3 * SPI * FPS
    assert abs(probe.duration - 3 * SPI) <= ONE_FRAME
    assert probe.colorspace == 1  # AVCOL_SPC_BT709, what frames.py converts with
    assert rendered.result == RenderResult(
        duration_seconds=3.0, frames=30, width=WIDTH, height=HEIGHT, has_audio=True
    )


def test_frame_in_the_middle_of_each_image_shows_that_image(rendered: Rendered) -> None:
    frames = rgb_frames(rendered.video, {5, 15, 25})
    for k, colour in enumerate(COLOURS):
        _close(mean_colour(frames[round((k + 0.5) * SPI * FPS)]), colour, atol=8)


def test_mid_crossfade_frame_is_halfway_between_the_two_images(rendered: Rendered) -> None:
    frames = rgb_frames(rendered.video, {10, 20})
    _close(mean_colour(frames[10]), (np.array(RED) + GREEN) / 2, atol=8)
    _close(mean_colour(frames[20]), (np.array(GREEN) + BLUE) / 2, atol=8)


def test_nothing_fades_at_the_very_start_or_end_or_outside_the_crossfade(rendered: Rendered) -> None:
    # The crossfade into image 1 starts at 1.0 - 0.2 s = frame 8, so frame 7 is still pure image 0.
    frames = rgb_frames(rendered.video, {0, 7, 29})
    _close(mean_colour(frames[0]), RED, atol=8)
    _close(mean_colour(frames[7]), RED, atol=8)
    _close(mean_colour(frames[29]), BLUE, atol=8)


def test_progress_is_reported_for_every_frame(rendered: Rendered) -> None:
    assert rendered.progress == [(n, 30) for n in range(1, 31)]


def test_mp4_index_precedes_the_media_data_for_fast_start(rendered: Rendered) -> None:
    boxes = top_level_boxes(rendered.video)
    assert boxes.index("moov") < boxes.index("mdat")


def test_poster_is_a_jpeg_of_the_middle_of_the_first_image(rendered: Rendered) -> None:
    with Image.open(rendered.poster) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (WIDTH, HEIGHT)
        _close(mean_colour(np.asarray(poster.convert("RGB"))), RED, atol=8)


def test_poster_time_picks_the_poster_frame(inputs: Inputs, tmp_path: Path) -> None:
    out = _render(tmp_path, _spec(inputs, poster_time=2.5, audio=None))
    with Image.open(out.poster) as poster:
        _close(mean_colour(np.asarray(poster.convert("RGB"))), BLUE, atol=8)


def test_overlay_is_screened_over_every_frame_and_brightens_it(
    inputs: Inputs, rendered: Rendered, tmp_path: Path
) -> None:
    out = _render(tmp_path, _spec(inputs, overlay=inputs.overlay, overlay_opacity=0.5))
    assert probe_video(out.video).frames == 30
    indices = {0, 5, 12, 25, 29}  # the 0.7 s overlay has looped several times by frame 29
    plain, dusted = rgb_frames(rendered.video, indices), rgb_frames(out.video, indices)
    for index in indices:
        before, after = mean_colour(plain[index]), mean_colour(dusted[index])
        # Screen with grey g lifts every channel c by g * (255 - c): here g ~ 0.5 * 121 / 255.
        expected = before + (0.5 * 121 / 255) * (255 - before)
        _close(after, expected, atol=10)


# --- the audio stream ---------------------------------------------------------------------------------


def test_short_audio_is_looped_to_the_video_length(rendered: Rendered) -> None:
    audio = probe_audio(rendered.video)
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 44100, 2)
    assert abs(audio.seconds - 3.0) <= ONE_FRAME
    # The 1.2 s input has run out long before 2.0-2.4 s; sound there means it looped.
    window = audio.samples[:, int(2.0 * 44100) : int(2.4 * 44100)]
    assert rms(window) > 0.2


def test_long_audio_is_trimmed_to_the_video_length(inputs: Inputs, tmp_path: Path) -> None:
    out = _render(tmp_path, _spec(inputs, audio=inputs.long_wav))
    audio = probe_audio(out.video)
    assert abs(audio.seconds - 3.0) <= ONE_FRAME


def test_audio_fades_out_over_the_last_seconds(rendered: Rendered) -> None:
    samples = probe_audio(rendered.video).samples
    middle = samples[:, int(1.0 * 44100) : int(1.5 * 44100)]
    tail = samples[:, -int(0.1 * 44100) :]
    assert rms(tail) < 0.3 * rms(middle)


def test_silent_aac_track_is_written_when_there_is_no_audio(inputs: Inputs, tmp_path: Path) -> None:
    out = _render(tmp_path, _spec(inputs, audio=None))
    audio = probe_audio(out.video)
    assert (audio.codec, audio.channels) == ("aac", 2)
    assert abs(audio.seconds - 3.0) <= ONE_FRAME
    assert rms(audio.samples) < 1e-3
    assert out.result.has_audio is False


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("audio", "AUDIO_DECODE_FAILED"),
        ("overlay", "VIDEO_DECODE_FAILED"),
        ("image", "UNSUPPORTED_IMAGE"),
    ],
)
def test_unusable_input_raises_media_error_and_leaves_no_output(
    inputs: Inputs, tmp_path: Path, change: str, code: str
) -> None:
    if change == "image":
        spec = _spec(inputs, images=[*inputs.images, inputs.text])
    else:
        spec = _spec(inputs, **{change: inputs.text})
    video, poster = tmp_path / "out.mp4", tmp_path / "poster.jpg"
    with pytest.raises(MediaError) as excinfo:
        render_timeline(spec.to_timeline(), video, poster)
    assert excinfo.value.code == code
    assert not video.exists() and not poster.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"width": 161},
        {"height": 287},
        {"images": []},
        {"images": [Path("x.jpg")] * 21},
        {"transition_seconds": 1.5},
        {"poster_time": 3.0},
        {"preset": "warp-speed"},
        {"crf": 52},
    ],
)
def test_spec_rejects_impossible_settings(inputs: Inputs, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _spec(inputs, **changes)


# --- Ken Burns resampling, without encoding -----------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"), [pytest.param(1080, 1920, marks=pytest.mark.slow), (160, 288), (36, 20)]
)
@pytest.mark.parametrize(("anchor_x", "anchor_y"), [(0.3, 0.4), (0.3, 0.6), (0.0, 1.0)])
def test_ken_burns_view_matches_an_exact_sub_pixel_affine_warp(
    width: int, height: int, anchor_x: float, anchor_y: float
) -> None:
    # Every plane must sample the canvas where the exact sub-pixel zoom around the anchor says, at every
    # zoom: any rounding to whole pixels is what makes a Ken Burns jitter. The reference is bilinear
    # interpolation in float64, written out here.
    layout = CanvasLayout.around(width, height, anchor_x, anchor_y)
    canvas_w, canvas_h = layout.canvas_w, layout.canvas_h
    rng = np.random.default_rng(7)
    coarse = rng.integers(0, 256, (canvas_h // 8 + 1, canvas_w // 8 + 1, 3), dtype=np.uint8)
    rgb = np.asarray(cv2.resize(coarse, (canvas_w, canvas_h), interpolation=cv2.INTER_CUBIC), np.uint8)
    canvas = rgb_to_yuv420(rgb)
    view = KenBurnsCanvas.build(canvas, layout)
    out = np.empty((height * 3 // 2, width), np.uint8)
    src_x, src_y, out_x, out_y = layout.src_x, layout.src_y, layout.out_x, layout.out_y
    for zoom in np.linspace(1.0, MAX_ZOOM, 13):
        view.render(float(zoom), out)
        scale = OVERSAMPLE / zoom
        pairs = zip(planes(canvas, canvas_w, canvas_h), planes(out, width, height), strict=True)
        for div, (source, produced) in zip((1, 2, 2), pairs, strict=True):
            rows, cols = produced.shape
            xs = src_x / div + (np.arange(cols) - out_x / div + 0.5) * scale - 0.5
            ys = src_y / div + (np.arange(rows) - out_y / div + 0.5) * scale - 0.5
            assert xs.min() >= 0 and ys.min() >= 0  # the layout leaves room: no edge is ever read past
            assert xs.max() <= source.shape[1] - 1 and ys.max() <= source.shape[0] - 1
            expected = _bilinear(source.astype(np.float64), ys, xs)
            # The warp places its grid at 1/32 pixel and rounds to whole levels.
            assert np.abs(expected - produced).max() <= 2.0


def _bilinear(plane: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    y0 = np.minimum(np.floor(ys).astype(int), plane.shape[0] - 2)
    x0 = np.minimum(np.floor(xs).astype(int), plane.shape[1] - 2)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = plane[y0][:, x0] * (1 - fx) + plane[y0][:, x0 + 1] * fx
    bottom = plane[y0 + 1][:, x0] * (1 - fx) + plane[y0 + 1][:, x0 + 1] * fx
    result: np.ndarray = top * (1 - fy) + bottom * fy
    return result


def test_screen_blend_lifts_luma_and_neutralises_chroma_like_rgb_screen() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:] = (200, 40, 40)
    frame = rgb_to_yuv420(rgb)
    untouched = frame.copy()
    blend = ScreenBlend(4, 4, opacity=1.0)
    blend.apply(frame, np.zeros((4, 4), np.uint8))
    assert np.array_equal(frame, untouched)
    blend.apply(frame, np.full((4, 4), 128, np.uint8))
    expected = rgb_to_yuv420(np.clip(rgb + (128 / 255) * (255 - rgb.astype(float)), 0, 255).astype(np.uint8))
    assert np.abs(frame.astype(int) - expected.astype(int)).max() <= 2


# --- in a child process -------------------------------------------------------------------------------


async def test_child_render_reports_increasing_progress_and_returns_the_result(
    inputs: Inputs, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        seen.append((done, total))

    spec = _spec(inputs, fps=30, seconds_per_image=2.0)
    video, poster = tmp_path / "child.mp4", tmp_path / "child.jpg"
    result = await render_in_child(
        spec.to_timeline(), video, poster, on_progress=on_progress, timeout_seconds=60
    )
    assert result == RenderResult(
        duration_seconds=6.0, frames=180, width=WIDTH, height=HEIGHT, has_audio=True
    )
    assert len(seen) >= 2
    assert all(b[0] > a[0] for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] == (180, 180)
    assert probe_video(video).frames == 180
    assert poster.exists()
    assert not (tmp_path / "child.mp4.spec.json").exists()


def _long_spec(inputs: Inputs) -> SlideshowSpec:
    return _spec(inputs, width=320, height=576, fps=30, seconds_per_image=30.0)


async def test_child_exceeding_its_timeout_is_killed_and_reports_render_timeout(
    inputs: Inputs, tmp_path: Path
) -> None:
    before = set(child_pids())

    async def ignore(done: int, total: int) -> None:
        pass

    started = asyncio.get_running_loop().time()
    with pytest.raises(MediaError) as excinfo:
        await render_in_child(
            _long_spec(inputs).to_timeline(),
            tmp_path / "slow.mp4",
            tmp_path / "slow.jpg",
            on_progress=ignore,
            timeout_seconds=1.0,
        )
    assert excinfo.value.code == "RENDER_TIMEOUT"
    assert asyncio.get_running_loop().time() - started < 5
    assert set(child_pids()) - before == set()


async def test_cancelling_the_caller_kills_the_child(inputs: Inputs, tmp_path: Path) -> None:
    before = set(child_pids())
    started = asyncio.Event()

    async def on_progress(done: int, total: int) -> None:
        started.set()

    task = asyncio.create_task(
        render_in_child(
            _long_spec(inputs).to_timeline(),
            tmp_path / "c.mp4",
            tmp_path / "c.jpg",
            on_progress=on_progress,
            timeout_seconds=60,
        )
    )
    await asyncio.wait_for(started.wait(), timeout=20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert set(child_pids()) - before == set()


async def test_child_failure_carries_the_child_error_code(inputs: Inputs, tmp_path: Path) -> None:
    async def ignore(done: int, total: int) -> None:
        pass

    spec = _spec(inputs, images=[inputs.images[0], inputs.text])
    with pytest.raises(MediaError) as excinfo:
        await render_in_child(
            spec.to_timeline(),
            tmp_path / "bad.mp4",
            tmp_path / "bad.jpg",
            on_progress=ignore,
            timeout_seconds=60,
        )
    assert excinfo.value.code == "UNSUPPORTED_IMAGE"


def test_height_not_divisible_by_four_keeps_chroma_planes_aligned(inputs: Inputs, tmp_path: Path) -> None:
    # At 162x270 each chroma plane ends mid-row of the (h*3/2, w) buffer; a misplaced plane shows as a
    # colour shift or a torn band.
    out = _render(tmp_path, _spec(inputs, width=162, height=270, audio=None))
    probe = probe_video(out.video)
    assert (probe.width, probe.height, probe.frames) == (162, 270, 30)
    frames = rgb_frames(out.video, {5, 15, 25})
    for k, colour in enumerate(COLOURS):
        frame = frames[round((k + 0.5) * SPI * FPS)]
        _close(mean_colour(frame[:135]), colour, atol=8)
        _close(mean_colour(frame[135:]), colour, atol=8)


async def test_child_dying_without_a_result_reports_render_failed_with_its_stderr(
    inputs: Inputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing = tmp_path / "crashing-python"
    crashing.write_text("#!/bin/sh\necho 'segfault in libfoo' >&2\nexit 139\n")
    crashing.chmod(0o755)
    monkeypatch.setattr("media.render.child.sys.executable", str(crashing))

    async def ignore(done: int, total: int) -> None:
        pass

    with pytest.raises(MediaError) as excinfo:
        await render_in_child(
            _spec(inputs).to_timeline(),
            tmp_path / "x.mp4",
            tmp_path / "x.jpg",
            on_progress=ignore,
            timeout_seconds=30,
        )
    assert excinfo.value.code == "RENDER_FAILED"
    assert "exited with code 139" in excinfo.value.message
    assert "segfault in libfoo" in excinfo.value.message
