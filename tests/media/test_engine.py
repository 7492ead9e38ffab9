"""The timeline engine end to end: every layer type, fit, position, opacity, z-order, blend modes, video and
audio, rendered small and decoded again."""

import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from media.errors import MediaError
from media.kinds.slideshow import SlideshowSpec
from media.render.child import render_in_child
from media.render.engine import Compositor, render_timeline
from media.render.frames import RGB_TO_YUV, CanvasLayout, oversample_for
from media.timeline.checks import InvalidTimeline, validate_timeline
from media.timeline.model import MAX_ZOOM, ImageClip
from media.timeline.schedule import ken_burns, place
from tests.media.media_factory import (
    probe_audio,
    probe_video,
    rgb_frames,
    rms,
    write_image,
    write_scene,
    write_wav,
)
from tests.media.timeline_factory import (
    FPS,
    H,
    W,
    hex_rgb,
    mean,
    render,
    solid,
    timeline,
    write_colour_video,
)

ONE_FRAME = 1 / FPS


def _close(actual: object, expected: object, atol: float = 8) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), atol=atol)


def test_solid_layers_cut_at_their_start_with_exact_length(tmp_path: Path) -> None:
    out = render(tmp_path, timeline([solid("#c82828", 1.0), solid("#2850c8", 1.0)]))
    probe = probe_video(out.video)
    assert (probe.frames, probe.width, probe.height) == (20, W, H)
    assert abs(probe.duration - 2.0) <= ONE_FRAME
    frames = out.frames(5, 9, 10, 19)
    _close(mean(frames[5]), (200, 40, 40))
    _close(mean(frames[9]), (200, 40, 40))
    _close(mean(frames[10]), (40, 80, 200))
    assert out.result.frames == 20 and out.result.has_audio is False
    assert out.poster.exists()


def test_background_shows_where_no_layer_is_and_boxes_sit_where_placed(tmp_path: Path) -> None:
    box = solid("#ffffff", 1.0, x="25%", y=100, width=40, height="25%")
    out = render(tmp_path, timeline([box], background="#103070", duration=1.0))
    frame = out.frame(5)
    _close(mean(frame, 44, 104, 76, 168), (255, 255, 255))  # inside 40..80 x 100..172
    _close(mean(frame, 0, 0, 30, 90), hex_rgb("#103070"))
    _close(mean(frame, 90, 200), hex_rgb("#103070"))


def test_opacity_mixes_with_what_is_below(tmp_path: Path) -> None:
    out = render(tmp_path, timeline([solid("#000000", 1.0)], [solid("#ffffff", 1.0, opacity=0.5)]))
    _close(mean(out.frame(5)), (128, 128, 128), atol=4)


def test_later_tracks_draw_on_top_and_overlaps_on_a_track_need_a_transition(tmp_path: Path) -> None:
    tl = timeline(
        [solid("#ff0000", 1.0, width=120, z=1), solid("#00ff00", 1.0, start=1.0, width=120)],
        [solid("#0000ff", 1.0, width=40)],
        duration=1.0,
    )
    frame = render(tmp_path, tl).frame(5)
    _close(mean(frame, 0, 0, 40), (0, 0, 255))
    _close(mean(frame, 40, 0, 120), (255, 0, 0), atol=10)
    # Clips of one track may only overlap where a transition joins them.
    with pytest.raises(InvalidTimeline):
        render(tmp_path, timeline([solid("#ff0000", 1.0), solid("#00ff00", 1.0, start=0.5)]))


def test_gradient_runs_from_its_first_colour_to_its_last(tmp_path: Path) -> None:
    frame = render(
        tmp_path, timeline([{"type": "gradient", "colours": ["#ff0000", "#0000ff"], "duration": 1}])
    ).frame(3)
    _close(mean(frame, 0, 0, None, 8), (250, 0, 5), atol=12)
    _close(mean(frame, 0, H - 8), (5, 0, 250), atol=12)
    _close(mean(frame, 0, H // 2 - 4, None, H // 2 + 4), (128, 0, 128), atol=12)


@pytest.mark.parametrize("fit", ["cover", "contain", "blur"])
def test_image_fit_modes(tmp_path: Path, fit: str) -> None:
    wide = write_image(tmp_path / "wide.png", (200, 40, 40), size=(320, 160), fmt="PNG")
    out = render(
        tmp_path,
        timeline([{"type": "image", "source": str(wide), "duration": 1, "fit": fit}], background="#00ff00"),
    )
    frame = out.frame(5)
    centre, top = mean(frame, 0, H // 2 - 10, None, H // 2 + 10), mean(frame, 0, 0, None, 40)
    _close(centre, (200, 40, 40), atol=12)
    if fit == "cover":
        _close(top, (200, 40, 40), atol=12)
    elif fit == "contain":
        _close(top, (0, 255, 0), atol=6)  # the background shows above and below the picture
    else:
        _close(top, np.array((200, 40, 40)) * 0.45, atol=12)  # a darkened blur of the picture itself


def test_video_clip_trims_loops_and_keeps_its_audio(tmp_path: Path) -> None:
    clip = write_colour_video(
        tmp_path / "c.mp4", (200, 40, 40), seconds=1.0, second_colour=(40, 60, 200), tone=440
    )
    tl = timeline(
        [
            {
                "type": "video",
                "source": str(clip),
                "duration": 2.0,
                "trim_start": 0.5,
                "loop": True,
                "keep_audio": True,
            }
        ],
        loudness_lufs=None,
    )
    out = render(tmp_path, tl)
    frames = out.frames(0, 4, 6, 12)
    _close(mean(frames[0]), (40, 60, 200), atol=12)  # 0.5 s into the source: its second half
    _close(mean(frames[6]), (200, 40, 40), atol=12)  # looped back to the start
    _close(mean(frames[12]), (40, 60, 200), atol=12)
    audio = probe_audio(out.video)
    assert abs(audio.seconds - 2.0) <= ONE_FRAME and rms(audio.samples) > 0.1
    assert out.result.has_audio


@pytest.mark.parametrize("content", ["zeros", "audio only"])
def test_a_video_that_does_not_decode_names_its_layer_before_rendering(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.mp4"
    if content == "zeros":
        bad.write_bytes(b"\x00" * 4096)
    else:
        with av.open(str(bad), "w", format="mp4") as container:
            stream = container.add_stream("aac", rate=22050, layout="mono")
            silence = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            silence.sample_rate, silence.pts = 22050, 0
            container.mux(stream.encode(silence))
            container.mux(stream.encode(None))
    clip = {"type": "video", "source": str(bad), "start": 1.5, "duration": 0.5}  # comes on screen late
    progress: list[int] = []
    with pytest.raises(MediaError) as excinfo:
        render_timeline(
            timeline([solid("#000000", 2.0)], [clip]),
            tmp_path / "out.mp4",
            tmp_path / "out.jpg",
            on_progress=lambda done, total: progress.append(done),
        )
    assert excinfo.value.code == "VIDEO_DECODE_FAILED"
    assert excinfo.value.message.startswith("tracks[1].clips[0]:")
    assert progress == []  # not a single frame was rendered first
    assert not (tmp_path / "out.mp4").exists()


def test_a_broken_image_names_its_layer_before_rendering(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(MediaError) as excinfo:
        render(
            tmp_path, timeline([solid("#000000", 1.0), {"type": "image", "source": str(bad), "duration": 1}])
        )
    assert excinfo.value.code == "UNSUPPORTED_IMAGE"
    assert excinfo.value.message.startswith("tracks[0].clips[1]:")


# --- blend modes --------------------------------------------------------------------------------------

BASE, TOP = np.array((200, 100, 40)) / 255, np.array((80, 160, 220)) / 255
FORMULAS = {
    "normal": TOP,
    "screen": 1 - (1 - BASE) * (1 - TOP),
    "multiply": BASE * TOP,
    "overlay": np.where(BASE < 0.5, 2 * BASE * TOP, 1 - 2 * (1 - BASE) * (1 - TOP)),
}


@pytest.mark.parametrize("mode", list(FORMULAS))
def test_overlay_blend_modes_follow_their_formulas(tmp_path: Path, mode: str) -> None:
    top = write_colour_video(tmp_path / "top.mp4", (80, 160, 220), seconds=0.5)
    tl = timeline(
        [solid("#c86428", 1.0)],
        [{"type": "overlay", "source": str(top), "duration": 1.0, "blend": mode, "opacity": 0.8}],
    )
    expected = BASE + 0.8 * (FORMULAS[mode] - BASE)
    _close(mean(render(tmp_path, tl).frame(7)), expected * 255, atol=6)


@pytest.mark.parametrize("mode", ["screen", "multiply"])
def test_grey_overlays_blend_on_the_yuv_planes_like_rgb(tmp_path: Path, mode: str) -> None:
    grey = write_colour_video(tmp_path / "grey.mp4", (128, 128, 128), seconds=0.5)
    tl = timeline(
        [solid("#c86428", 1.0)],
        [{"type": "overlay", "source": str(grey), "duration": 1.0, "blend": mode, "grayscale": True}],
    )
    g = 128 / 255
    expected = 1 - (1 - BASE) * (1 - g) if mode == "screen" else BASE * g
    _close(mean(render(tmp_path, tl).frame(7)), expected * 255, atol=6)


# --- audio --------------------------------------------------------------------------------------------


def test_audio_tracks_are_mixed_under_the_video(tmp_path: Path) -> None:
    music = write_wav(tmp_path / "music.wav", 1.0, freq=220)
    voice = write_wav(tmp_path / "voice.wav", 1.0, freq=880)
    tl = timeline(
        [solid("#000000", 3.0)],
        audio=[
            {"clips": [{"source": str(music), "loop": True, "fade_out": 0.5, "role": "music"}]},
            {"clips": [{"source": str(voice), "start": 1.0, "role": "narration"}]},
        ],
    )
    out = render(tmp_path, tl)
    audio = probe_audio(out.video)
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 44100, 2)
    assert abs(audio.seconds - 3.0) <= ONE_FRAME
    assert rms(audio.samples[:, int(0.2 * 44100) : int(0.8 * 44100)]) > 0.05
    assert rms(audio.samples[:, -2000:]) < rms(audio.samples[:, 44100:88200]) * 0.3
    assert out.result.has_audio


@pytest.mark.slow
def test_audio_and_video_end_together_on_a_four_minute_timeline(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "loop.wav", 1.3)
    tl = timeline(
        [solid("#203040", 120.0), solid("#402030", 120.0)],
        audio=[{"clips": [{"source": str(wav), "loop": True, "fade_out": 1.0}]}],
        width=32,
        height=32,
        fps=5,
    )
    out = render(tmp_path, tl)
    video, audio = probe_video(out.video), probe_audio(out.video)
    assert video.frames == 1200
    assert abs(video.duration - 240.0) <= 1 / 5
    assert abs(audio.seconds - video.duration) <= 1 / 5


# --- Ken Burns accuracy against an independent render ------------------------------------------------


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two luma images (Wang et al. 2004: 11x11 gaussian window, sigma 1.5)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT))

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim.mean())


def _reference_luma(
    path: Path, zoom: float, anchor: tuple[float, float], width: int, height: int
) -> np.ndarray:
    """The same Ken Burns view in float math: output pixel -> canvas -> source image, one bicubic resample of
    the original with Pillow, then BT.709 limited-range luma."""
    layout = CanvasLayout.around(width, height, *anchor, oversample_for(MAX_ZOOM))
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    iw, ih = image.size
    cw, ch = layout.canvas_w, layout.canvas_h
    cover = max(cw / iw, ch / ih)
    crop_w, crop_h = min(iw, round(cw / cover)), min(ih, round(ch / cover))
    x0, y0 = (iw - crop_w) // 2, (ih - crop_h) // 2
    scale = layout.oversample / zoom
    # In index coordinates the view samples canvas u = scale * x + offset (as test_render's warp does), and
    # the cover crop maps canvas u to image (u + 0.5) * crop / canvas - 0.5; Pillow wants centre coordinates.
    ax, ay = scale * crop_w / cw, scale * crop_h / ch
    bx = x0 + (layout.src_x - 0.5 + (0.5 - layout.out_x) * scale + 0.5) * crop_w / cw - 0.5
    by = y0 + (layout.src_y - 0.5 + (0.5 - layout.out_y) * scale + 0.5) * crop_h / ch - 0.5
    data = (ax, 0.0, bx + 0.5 - 0.5 * ax, 0.0, ay, by + 0.5 - 0.5 * ay)
    view = image.transform((width, height), Image.Transform.AFFINE, data, resample=Image.Resampling.BICUBIC)
    rgb = np.asarray(view, np.float64)
    return rgb @ RGB_TO_YUV[0, :3] + RGB_TO_YUV[0, 3]


def test_ken_burns_frames_match_an_independent_float_render_at_ssim_098(tmp_path: Path) -> None:
    width, height = 1080, 1920
    images = [write_scene(tmp_path / f"s{k}.jpg", (1600, 2400), k) for k in range(2)]
    spec = SlideshowSpec(images=images, width=width, height=height, fps=30, seconds_per_image=2.0)
    tl = spec.to_timeline()
    compositor = Compositor(tl, validate_timeline(tl))
    try:
        for t, image in [(0.1, 0), (1.2, 0), (2.6, 1), (3.9, 1)]:
            clip = tl.tracks[0].clips[image]
            p = next(p for p in place(tl) if p.track == 0 and p.index == image)
            assert isinstance(clip, ImageClip) and clip.ken_burns is not None
            motion = ken_burns(clip.ken_burns, (t - p.start) / (p.end - p.start))
            frame = compositor(t)
            expected = _reference_luma(
                images[image], motion.zoom, clip.ken_burns.anchor or (0.5, 0.5), width, height
            )
            score = _ssim(frame[:height], expected)
            assert score >= 0.98
    finally:
        compositor.close()


# --- in a child process -------------------------------------------------------------------------------


async def test_a_timeline_renders_in_a_child_process(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        seen.append((done, total))

    tl = timeline([solid("#c82828", 1.0)])
    result = await render_in_child(
        tl, tmp_path / "c.mp4", tmp_path / "c.jpg", on_progress=on_progress, timeout_seconds=60
    )
    assert (result.frames, result.width, result.height) == (10, W, H)
    assert seen[-1] == (10, 10)
    _close(mean(rgb_frames(tmp_path / "c.mp4", {5})[5]), (200, 40, 40))


async def test_an_invalid_timeline_in_a_child_comes_back_with_its_problems(tmp_path: Path) -> None:
    async def ignore(done: int, total: int) -> None:
        pass

    tl = timeline([solid("#c82828", 1.0)], width=5000)
    with pytest.raises(InvalidTimeline) as excinfo:
        await render_in_child(
            tl, tmp_path / "c.mp4", tmp_path / "c.jpg", on_progress=ignore, timeout_seconds=60
        )
    assert ("output.width", "must be <= 4096") in excinfo.value.problems


@pytest.mark.parametrize(
    "payload",
    [{"slideshow": {"images": ["a.jpg"], "width": 16, "height": 16}}, {"images": ["a.jpg"]}, ["a.jpg"]],
    ids=["slideshow", "bare-slideshow", "not-an-object"],
)
def test_the_render_child_takes_only_a_timeline(tmp_path: Path, payload: object) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(payload))
    args = [str(spec), str(tmp_path / "c.mp4"), str(tmp_path / "c.jpg")]
    done = subprocess.run(
        [sys.executable, "-m", "media.render", *args],
        cwd=Path(__file__).resolve().parents[2],  # where `media` is, installed or not
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    event = json.loads(done.stdout.splitlines()[-1])
    assert (event["type"], event["code"]) == ("error", "RENDER_FAILED")
    assert "timeline" in event["message"]
    assert not (tmp_path / "c.mp4").exists()
