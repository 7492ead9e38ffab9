"""A timeline -> an MP4 and a JPEG poster: frames composed on yuv420p planes, audio mixed alongside.

x264 should be nearly the only cost. Per frame, the topmost opaque full-frame layer at rest is drawn straight
into the frame buffer (nothing under it is touched), a crossfade's incoming layer is one addWeighted over the
whole buffer, and everything else is blended only over its own box. Layers exist only while on screen, so
memory stays flat however long the video is.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from PIL import Image

from media.audio.mix import AudioClip, Mix, MixSettings
from media.errors import MediaError
from media.render.compose import composite, fill, scaled
from media.render.encode import Mp4Writer
from media.render.encoders import choose
from media.render.frames import U8, yuv420_to_rgb
from media.render.images import probe_image
from media.render.layers import (
    CaptionsLayer,
    KenBurnsLayer,
    Layer,
    StaticLayer,
    gradient,
    solid,
    still_image,
    text_layer,
    yuv_of,
)
from media.render.memory import return_large_buffers
from media.render.playback import OverlayLayer, VideoLayer
from media.render.result import RenderResult
from media.render.soundtrack import Soundtrack
from media.render.video import probe_video
from media.timeline.checks import Limits, validate_timeline
from media.timeline.model import (
    CaptionsClip,
    GradientClip,
    ImageClip,
    OverlayClip,
    SolidClip,
    TextClip,
    Timeline,
    VideoClip,
)
from media.timeline.schedule import (
    Look,
    Placed,
    duration_of,
    even,
    frame_at,
    frame_count,
    look,
    on_screen,
    resting_box,
)


def render_timeline(
    timeline: Timeline,
    video_out: Path,
    poster_out: Path,
    on_progress: Callable[[int, int], None] | None = None,
    work_dir: Path | None = None,
    limits: Limits | None = None,
    encoder: str = "auto",
    segment: tuple[int, int] | None = None,
) -> RenderResult:
    """Render `timeline` to an MP4 at `video_out` and a JPEG poster at `poster_out`.

    `encoder` is this machine's choice (auto, or an encoder's name); a timeline that names its codec has it.
    `segment` (first frame, end frame) renders only those frames, video only, timestamps from 0: one piece of
    a long render (media.render.join puts them together with the audio). The poster is then written only by
    the segment that holds its frame.

    Raises InvalidTimeline / MediaError for unusable input (naming the clip's path); no partial video or
    poster is left behind on failure.
    """
    return_large_buffers()
    placed = validate_timeline(timeline, limits)
    out = timeline.output
    duration = duration_of(timeline, placed)
    total = frame_count(duration, out.fps)
    for p in placed:  # a bad image or video fails now, not minutes in when its clip comes on screen
        if isinstance(p.clip, ImageClip):
            _named(p, partial(probe_image, p.clip.source))
        elif isinstance(p.clip, VideoClip | OverlayClip):
            _named(p, partial(probe_video, p.clip.source))
    poster_time = duration / 3 if out.poster_time is None else out.poster_time
    poster_frame = frame_at(poster_time, out.fps, total)
    first, end = segment if segment is not None else (0, total)
    if not 0 <= first < end <= total:
        raise MediaError("INVALID_SEGMENT", f"frames {first}..{end} are not within the {total} of the video")
    codec = choose(out.codec if out.codec != "auto" else encoder)
    sounds = sound_clips(timeline, placed) if segment is None else []
    try:
        with ExitStack() as stack:
            stack.enter_context(_single_threaded_cv2())
            settings = MixSettings(sample_rate=out.sample_rate, target_lufs=out.loudness_lufs)
            mix = Mix(sounds, total / out.fps, settings, work_dir or video_out.parent)
            compose = stack.enter_context(_closing(Compositor(timeline, placed)))
            writer = stack.enter_context(
                Mp4Writer(
                    video_out,
                    width=out.width,
                    height=out.height,
                    fps=out.fps,
                    preset=out.preset,
                    crf=out.crf,
                    codec=codec,
                    sample_rate=out.sample_rate,
                    audio=segment is None,
                )
            )
            soundtrack = (
                stack.enter_context(Soundtrack(mix, writer.encode_audio)) if segment is None else None
            )
            for index in range(first, end):
                frame = compose(index / out.fps)
                writer.add_video(frame, index - first)
                if soundtrack is not None:
                    writer.mux(soundtrack.ready(until=(index + 1) / out.fps))
                if index == poster_frame:
                    Image.fromarray(yuv420_to_rgb(frame, out.width, out.height)).save(
                        poster_out, format="JPEG", quality=90
                    )
                if on_progress is not None:
                    on_progress(index + 1 - first, end - first)
            if soundtrack is not None:
                writer.mux(list(soundtrack.rest()))
            writer.finish()
    except BaseException:
        poster_out.unlink(missing_ok=True)
        raise
    frames = end - first
    return RenderResult(frames / out.fps, frames, out.width, out.height, bool(sounds), codec)


def sound_clips(timeline: Timeline, placed: list[Placed]) -> list[AudioClip]:
    clips = [AudioClip(**sound.model_dump()) for track in timeline.audio for sound in track.clips]
    for p in placed:
        if isinstance(p.clip, VideoClip) and p.clip.keep_audio:
            clips.append(
                AudioClip(
                    source=p.clip.source,
                    start=p.start,
                    trim_start=p.clip.trim_start,
                    duration=p.clip.duration,
                    loop=p.clip.loop,
                    volume=p.clip.volume,
                    role="effect",
                )
            )
    return clips


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


T = TypeVar("T")


@contextmanager
def _closing(compositor: "Compositor") -> Iterator["Compositor"]:
    try:
        yield compositor
    finally:
        compositor.close()


def _named(p: Placed, action: Callable[[], T]) -> T:
    try:
        return action()
    except MediaError as exc:
        raise MediaError(exc.code, f"{p.path}: {exc.message}") from exc


class Compositor:
    """Builds the frame at a time in a reused buffer."""

    def __init__(self, timeline: Timeline, placed: list[Placed]) -> None:
        out = timeline.output
        self._w, self._h = out.width, out.height
        self._placed = placed
        self._layers: dict[str, Layer | OverlayLayer] = {}
        self._frame = np.empty((self._h * 3 // 2, self._w), np.uint8)
        self._background = yuv_of(out.background)

    def __call__(self, t: float) -> U8:
        active = on_screen(self._placed, t)
        self._keep({p.path for p in active})
        drawn: list[tuple[Placed, Layer | OverlayLayer, Look]] = []
        for p in active:
            layer = self._layer(p)
            if isinstance(layer, CaptionsLayer):
                _named(p, partial(layer.patch, t - p.start, 0.0))  # places its box for `look`
            box = (0, 0, self._w, self._h) if isinstance(layer, OverlayLayer) else layer.box
            seen = look(p, t, self._w, self._h, box)
            if seen.opacity > 0.0:
                drawn.append((p, layer, seen))
        base = self._base(drawn)
        if base is None:
            fill(self._frame, self._w, self._h, self._background)
        for k in range(base or 0, len(drawn)):
            p, layer, seen = drawn[k]
            _named(p, partial(self._draw, p, layer, seen, t, k == base))
        return self._frame

    def _base(self, drawn: list[tuple[Placed, Layer | OverlayLayer, Look]]) -> int | None:
        """Index of the topmost layer that hides everything below it."""
        for k in range(len(drawn) - 1, -1, -1):
            p, layer, seen = drawn[k]
            if isinstance(layer, OverlayLayer) or seen.moved or seen.opacity < 1.0 or seen.darken > 0.0:
                continue
            if layer.box != (0, 0, self._w, self._h):
                continue
            if isinstance(layer, KenBurnsLayer) or (
                isinstance(layer, VideoLayer) and getattr(p.clip, "fit", "") != "contain"
            ):
                return k
            if isinstance(layer, StaticLayer) and layer.patch(0.0, 0.0).alpha is None:
                return k
        return None

    def _draw(self, p: Placed, layer: Layer | OverlayLayer, seen: Look, t: float, is_base: bool) -> None:
        local = t - p.start
        if isinstance(layer, OverlayLayer):
            layer.apply(self._frame, local, seen.opacity)
            return
        progress = min(1.0, max(0.0, local / (p.end - p.start)))
        if is_base and isinstance(layer, KenBurnsLayer):
            layer.render_into(progress, self._frame)  # the common slideshow frame: no copy at all
            return
        patch = layer.patch(local, progress)
        x, y = layer.box[0] + seen.dx, layer.box[1] + seen.dy
        if seen.scale != 1.0:
            placed = scaled(patch, seen.scale, x, y, self._w, self._h)
            if placed is None:
                return
            patch, ix, iy = placed
        else:
            ix, iy = even(x), even(y)
        composite(self._frame, self._w, self._h, patch, ix, iy, seen.opacity, seen.reveal, seen.darken)

    def _layer(self, p: Placed) -> Layer | OverlayLayer:
        if p.path not in self._layers:
            self._layers[p.path] = _named(p, lambda: self._make(p))
        return self._layers[p.path]

    def _make(self, p: Placed) -> Layer | OverlayLayer:
        clip, w, h = p.clip, self._w, self._h
        box = resting_box(clip, w, h)
        if isinstance(clip, ImageClip):
            return KenBurnsLayer(box, clip) if clip.ken_burns is not None else still_image(box, clip)
        if isinstance(clip, SolidClip):
            return solid(box, clip)
        if isinstance(clip, GradientClip):
            return gradient(box, clip)
        if isinstance(clip, TextClip):
            return text_layer(p, clip, w, h)
        if isinstance(clip, CaptionsClip):
            return CaptionsLayer(clip, w, h)
        if isinstance(clip, VideoClip):
            return VideoLayer(box, clip)
        assert isinstance(clip, OverlayClip)
        return OverlayLayer(clip, w, h)

    def _keep(self, paths: set[str]) -> None:
        for path in list(self._layers):
            if path not in paths:
                self._layers.pop(path).close()

    def close(self) -> None:
        self._keep(set())
