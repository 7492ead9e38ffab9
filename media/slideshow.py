"""Images, optional audio and overlay -> an MP4 slideshow with Ken Burns motion and crossfades, and a poster.

x264 should be nearly the only cost: every image is decoded, fitted and converted to yuv420p once; each
frame is resampled plane by plane from that canvas, blended in YUV and handed to the encoder without a
copy. Only the images on screen (at most two) are held in memory and audio is encoded alongside the video,
so memory stays flat however long the video is.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from media.audio import SAMPLE_RATE, AudioTrack
from media.encode import Mp4Writer
from media.frames import (
    U8,
    CanvasLayout,
    KenBurnsCanvas,
    ScreenBlend,
    crossfade,
    rgb_to_yuv420,
    yuv420_to_rgb,
)
from media.images import load_fitted, probe_image
from media.overlay import OverlayLoop
from media.timeline import Timeline, motion

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


class SlideshowSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    images: list[Path] = Field(min_length=1, max_length=20)
    audio: Path | None = None
    overlay: Path | None = None
    overlay_opacity: float = Field(0.35, ge=0.0, le=1.0)
    width: int = Field(ge=16, le=4096)
    height: int = Field(ge=16, le=4096)
    fps: int = Field(30, ge=1, le=60)
    seconds_per_image: float = Field(4.0, gt=0.0, le=600.0)
    transition_seconds: float = Field(0.5, ge=0.0)
    preset: str = "veryfast"
    crf: int = Field(23, ge=0, le=51)
    audio_fade_seconds: float = Field(2.0, ge=0.0)
    poster_time: float | None = Field(None, ge=0.0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (yuv420p halves them for chroma)")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}")
        if self.transition_seconds > self.seconds_per_image:
            raise ValueError("transition_seconds cannot exceed seconds_per_image")
        if self.poster_time is not None and self.poster_time >= self.timeline.duration_seconds:
            raise ValueError("poster_time must fall inside the video")
        return self

    @property
    def timeline(self) -> Timeline:
        return Timeline(len(self.images), self.seconds_per_image, self.transition_seconds, self.fps)


@dataclass(frozen=True)
class RenderResult:
    duration_seconds: float
    frames: int
    width: int
    height: int
    has_audio: bool


def render_slideshow(
    spec: SlideshowSpec,
    video_out: Path,
    poster_out: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> RenderResult:
    """Render `spec` to an MP4 at `video_out` and a JPEG poster at `poster_out`.

    Raises MediaError for unusable inputs; no partial video is left behind on failure.
    """
    timeline = spec.timeline
    width, height = spec.width, spec.height
    for path in spec.images:
        probe_image(path)  # a bad upload late in the list should fail now, not minutes into the render
    total = timeline.frame_count
    poster_time = spec.seconds_per_image / 2 if spec.poster_time is None else spec.poster_time
    poster_frame = timeline.frame_at(poster_time)
    try:
        with ExitStack() as stack:
            stack.enter_context(_single_threaded_cv2())
            audio = stack.enter_context(
                AudioTrack(
                    spec.audio, _samples_at(total, spec.fps), round(spec.audio_fade_seconds * SAMPLE_RATE)
                )
            )
            overlay = stack.enter_context(OverlayLoop(spec.overlay, width, height)) if spec.overlay else None
            compose = _Compositor(spec, timeline, overlay)
            writer = stack.enter_context(
                Mp4Writer(
                    video_out, width=width, height=height, fps=spec.fps, preset=spec.preset, crf=spec.crf
                )
            )
            for index in range(total):
                frame = compose(index)
                writer.add_video(frame, index)
                # Audio follows the video frame by frame, so the muxer interleaves and nothing piles up.
                for audio_frame in audio.frames_until(_samples_at(index + 1, spec.fps)):
                    writer.add_audio(audio_frame)
                if index == poster_frame:
                    _write_poster(frame, width, height, poster_out)
                if on_progress is not None:
                    on_progress(index + 1, total)
            writer.finish()
    except BaseException:
        poster_out.unlink(missing_ok=True)
        raise
    return RenderResult(
        duration_seconds=timeline.duration_seconds,
        frames=total,
        width=width,
        height=height,
        has_audio=spec.audio is not None,
    )


@contextmanager
def _single_threaded_cv2() -> Iterator[None]:
    # x264's frame threads already keep every core busy; OpenCV's own thread pool on top only adds
    # hand-off overhead (measured: 6.7 -> 4.8 CPU-s for the non-encoder work of a 30 s 1080x1920 render).
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _samples_at(frame: int, fps: int) -> int:
    return frame * SAMPLE_RATE // fps


def _write_poster(frame: U8, width: int, height: int, path: Path) -> None:
    Image.fromarray(yuv420_to_rgb(frame, width, height)).save(path, format="JPEG", quality=90)


class _Compositor:
    """Builds frame `index` in a reused buffer: the Ken Burns view of the image on screen, crossfaded with
    the next one near a boundary, with the overlay screened on top."""

    def __init__(self, spec: SlideshowSpec, timeline: Timeline, overlay: OverlayLoop | None) -> None:
        self._timeline = timeline
        self._fps = spec.fps
        self._slides = _Slides(spec.images, spec.width, spec.height)
        self._overlay = overlay
        self._blend = ScreenBlend(spec.width, spec.height, spec.overlay_opacity) if overlay else None
        self._frame = np.empty((spec.height * 3 // 2, spec.width), np.uint8)
        self._incoming = np.empty_like(self._frame)

    def __call__(self, index: int) -> U8:
        layers = self._timeline.layers(index)
        self._slides.keep([layer.image for layer in layers])
        first = layers[0]
        self._slides.get(first.image).render(motion(first.image, first.progress).zoom, self._frame)
        if len(layers) == 2:
            second = layers[1]
            self._slides.get(second.image).render(motion(second.image, second.progress).zoom, self._incoming)
            crossfade(self._frame, self._incoming, second.weight, self._frame)
        if self._overlay is not None and self._blend is not None:
            self._blend.apply(self._frame, self._overlay.gray_at(index / self._fps))
        return self._frame


class _Slides:
    """Canvases of the images on screen; an image is prepared when it first appears and dropped after."""

    def __init__(self, paths: list[Path], width: int, height: int) -> None:
        self._paths = paths
        self._width = width
        self._height = height
        self._ready: dict[int, KenBurnsCanvas] = {}

    def keep(self, images: list[int]) -> None:
        for image in list(self._ready):
            if image not in images:
                del self._ready[image]

    def get(self, image: int) -> KenBurnsCanvas:
        if image not in self._ready:
            move = motion(image, 0.0)
            layout = CanvasLayout.around(self._width, self._height, move.anchor_x, move.anchor_y)
            canvas = rgb_to_yuv420(load_fitted(self._paths[image], layout.canvas_w, layout.canvas_h))
            self._ready[image] = KenBurnsCanvas.build(canvas, layout)
        return self._ready[image]
