"""An overlay video (film dust, grain) looped for as long as needed, read as grey frames at output size."""

from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import cast

import av
import cv2

from media.demux import VIDEO_FORMATS, open_input
from media.errors import MediaError
from media.frames import U8

_TimedFrame = tuple[float, av.VideoFrame]


class OverlayLoop:
    """Decodes the overlay once per loop, a frame at a time, so its length never costs memory."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        self._path = path
        self._width = width
        self._height = height
        self._frames = self._looped()
        # Decode the first frame now so a bad file fails before any video work is done.
        self._current = next(self._frames)[1]
        self._next: _TimedFrame | None = next(self._frames)
        self._gray: U8 | None = None

    def __enter__(self) -> "OverlayLoop":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._frames.close()

    def gray_at(self, seconds: float) -> U8:
        """The overlay frame showing at `seconds`, full-range grey, covering width x height."""
        while self._next is not None and self._next[0] <= seconds + 1e-9:
            self._current = self._next[1]
            self._gray = None
            self._next = next(self._frames)
        if self._gray is None:
            self._gray = self._cover_gray(self._current)
        return self._gray

    def _cover_gray(self, frame: av.VideoFrame) -> U8:
        # Grey is full range: black dust must add nothing, so limited-range video is expanded first.
        gray = frame.reformat(format="gray", src_color_range="MPEG", dst_color_range="JPEG").to_ndarray()
        # Crop to the frame's aspect before scaling: a 16:9 overlay on a 9:16 frame uses a third of its width.
        scale = max(self._width / frame.width, self._height / frame.height)
        crop_w = min(frame.width, max(1, round(self._width / scale)))
        crop_h = min(frame.height, max(1, round(self._height / scale)))
        x0, y0 = (frame.width - crop_w) // 2, (frame.height - crop_h) // 2
        region = gray[y0 : y0 + crop_h, x0 : x0 + crop_w]
        return cast(U8, cv2.resize(region, (self._width, self._height), interpolation=cv2.INTER_LINEAR))

    def _looped(self) -> Generator[_TimedFrame, None, None]:
        offset = 0.0
        while True:
            count = 0
            end = offset
            for local, step, frame in self._decoded():
                yield offset + local, frame
                end = offset + local + step
                count += 1
            if count == 0:
                raise MediaError("VIDEO_DECODE_FAILED", f"{self._path.name} contains no video frames")
            offset = end

    def _decoded(self) -> Generator[tuple[float, float, av.VideoFrame], None, None]:
        name = self._path.name
        with open_input(self._path, VIDEO_FORMATS, "VIDEO_DECODE_FAILED", "video") as container:
            if not container.streams.video:
                raise MediaError("VIDEO_DECODE_FAILED", f"{name} has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            step = 1.0 / float(rate) if rate else 1.0 / 30
            start: float | None = None
            try:
                for index, frame in enumerate(container.decode(stream)):
                    when = frame.time if frame.time is not None else index * step
                    if start is None:
                        start = when
                    yield max(0.0, when - start), step, frame
            except av.FFmpegError as exc:
                raise MediaError("VIDEO_DECODE_FAILED", f"{name} could not be decoded: {exc}") from exc
