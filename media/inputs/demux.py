"""Opening untrusted audio and video files with FFmpeg, restricted to the formats we expect and to sizes we
are willing to decode.

FFmpeg will happily read far more than media: a text file opens as "tty" video, and a playlist format (HLS,
concat) can make it open other files. Each input gets an explicit demuxer allow-list and may only use the
local file protocol.

What a file claims (duration, picture size, stream count) is checked right after opening, so an absurd file
fails before any decoding. Claims can be missing or false (a Matroska file need not state its duration, a
video can change size mid-stream), so the same caps are enforced again on what is actually decoded, and a
video packet the demuxer could only read in part (a truncated file) is an error, not a silent early end.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import overload

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.container.streams import StreamContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from media.errors import MediaError

AUDIO_FORMATS = ("wav", "mp3", "flac", "ogg", "aac", "aiff", "mov", "mp4", "m4a", "matroska", "webm")
VIDEO_FORMATS = ("mov", "mp4", "m4a", "matroska", "webm", "avi", "gif")


@dataclass(frozen=True)
class DemuxLimits:
    max_seconds: float = 2 * 3600
    max_side: int = 8192  # pixels, per side, of any video stream
    max_streams: int = 16


class Input:
    """An open input: `streams` as PyAV has them, and `decode(stream)` with the caps enforced."""

    def __init__(self, container: InputContainer, name: str, code: str, limits: DemuxLimits) -> None:
        self._container = container
        self._name = name
        self._code = code
        self._limits = limits

    @property
    def streams(self) -> StreamContainer:
        return self._container.streams

    def __enter__(self) -> "Input":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._container.close()

    @overload
    def decode(self, stream: VideoStream) -> Iterator[VideoFrame]: ...
    @overload
    def decode(self, stream: AudioStream) -> Iterator[AudioFrame]: ...
    def decode(self, stream: VideoStream | AudioStream) -> Iterator[VideoFrame | AudioFrame]:
        """The stream's frames, as `InputContainer.decode` gives them; MediaError once a cap is passed or a
        packet is cut short."""
        first: float | None = None
        audio_seconds = 0.0
        for packet in self._container.demux(stream):
            # Video only: FFmpeg flags a short read the same way, and a raw audio stream that states no
            # length (a WAV written to a pipe) always ends on one; audio cut short just plays shorter.
            if packet.is_corrupt and stream.type == "video":
                raise MediaError(self._code, f"{self._name} is truncated or damaged")
            for frame in packet.decode():
                if isinstance(frame, AudioFrame):
                    # Counted from the samples themselves: timestamps could lie, the samples we mix cannot.
                    audio_seconds += frame.samples / max(1, frame.sample_rate)
                    played = audio_seconds
                elif isinstance(frame, VideoFrame):
                    _check_size(frame.width, frame.height, self._name, self._limits)
                    now = frame.time or 0.0
                    first = now if first is None else first
                    played = now - first
                else:
                    continue  # subtitles: never asked for
                if played > self._limits.max_seconds:
                    limit = _hours(self._limits.max_seconds)
                    raise MediaError("MEDIA_TOO_LONG", f"{self._name} plays for more than {limit}, the limit")
                yield frame


def open_input(
    path: Path, formats: tuple[str, ...], code: str, kind: str, limits: DemuxLimits | None = None
) -> Input:
    """Open `path` for reading; anything FFmpeg cannot open as one of `formats` raises MediaError(code), a
    file beyond `limits` MEDIA_TOO_LONG, VIDEO_TOO_LARGE or TOO_MANY_STREAMS."""
    limits = limits or DemuxLimits()
    options = {"format_whitelist": ",".join(formats), "protocol_whitelist": "file"}
    try:
        container = av.open(str(path), mode="r", container_options=options)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(code, f"{path.name} is not a readable {kind} file") from exc
    try:
        _check_claims(container, path.name, limits)
    except BaseException:
        container.close()
        raise
    return Input(container, path.name, code, limits)


def _check_claims(container: InputContainer, name: str, limits: DemuxLimits) -> None:
    if len(container.streams) > limits.max_streams:
        raise MediaError(
            "TOO_MANY_STREAMS",
            f"{name} has {len(container.streams)} streams; the limit is {limits.max_streams}",
        )
    for video in container.streams.video:
        _check_size(video.codec_context.width, video.codec_context.height, name, limits)
        # The decoder then refuses, before allocating, any frame larger than this (a size change
        # mid-stream); the exact per-side check runs on each decoded frame.
        video.codec_context.options = {"max_pixels": str(limits.max_side * limits.max_side)}
    # The container's duration and the streams' are each optional and set by different demuxers (WAV
    # derives its duration from the header's data size): the longest one stated is the claim.
    claims = [container.duration / av.time_base] if container.duration else []
    claims += [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
    if claims and max(claims) > limits.max_seconds:
        raise MediaError(
            "MEDIA_TOO_LONG",
            f"{name} lasts {_hours(max(claims))}; the limit is {_hours(limits.max_seconds)}",
        )


def _check_size(width: int, height: int, name: str, limits: DemuxLimits) -> None:
    if width > limits.max_side or height > limits.max_side:
        raise MediaError(
            "VIDEO_TOO_LARGE",
            f"{name} is {width}x{height} pixels; the limit is {limits.max_side} pixels per side",
        )


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds:.0f} s"
