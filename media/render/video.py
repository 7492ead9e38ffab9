"""A video file's frames over time: decoded forward one frame at a time, looped or held on the last frame,
so a long clip never costs memory. Video layers and overlays both read their sources through this."""

from collections.abc import Generator
from pathlib import Path

import av

from media.errors import MediaError
from media.inputs.demux import VIDEO_FORMATS, open_input


def probe_video(path: Path) -> None:
    """Open `path` and check what it claims (format, size, length, a video stream) without decoding; raises
    MediaError as `VideoFrames` would, so a bad file fails before a render starts rather than when its clip
    comes on screen."""
    with open_input(path, VIDEO_FORMATS, "VIDEO_DECODE_FAILED", "video") as container:
        if not container.streams.video:
            raise MediaError("VIDEO_DECODE_FAILED", f"{path.name} has no video stream")


class VideoFrames:
    """The source frame showing at increasing times (seconds into the file)."""

    def __init__(self, path: Path, loop: bool) -> None:
        self._path = path
        self._loop = loop
        self._frames = self._timed()
        self._current = next(self._frames)  # decode now so a bad file fails before any video work
        self._next: tuple[float, av.VideoFrame] | None = next(self._frames, None)
        self.changed = True

    def at(self, seconds: float) -> av.VideoFrame:
        while self._next is not None and self._next[0] <= seconds + 1e-6:
            self._current = self._next
            self._next = next(self._frames, None)
            self.changed = True
        return self._current[1]

    def close(self) -> None:
        self._frames.close()

    def _timed(self) -> Generator[tuple[float, av.VideoFrame], None, None]:
        offset = 0.0
        while True:
            count, end = 0, offset
            for local, step, frame in self._decoded():
                yield offset + local, frame
                end, count = offset + local + step, count + 1
            if count == 0:
                raise MediaError("VIDEO_DECODE_FAILED", f"{self._path.name} contains no video frames")
            if not self._loop:
                return
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
                    start = when if start is None else start
                    yield max(0.0, when - start), step, frame
            except av.FFmpegError as exc:
                raise MediaError("VIDEO_DECODE_FAILED", f"{name} could not be decoded: {exc}") from exc
