"""MP4 output: H.264 (libx264, or NVENC on a machine with a working NVIDIA encoder) yuv420p video and AAC
stereo audio, muxed as they are produced."""

from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import av
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from media.audio.decode import SAMPLE_RATE
from media.render.encoders import Encoder, options
from media.render.frames import U8

if TYPE_CHECKING:
    Packet = av.Packet[Any]  # generic in PyAV's stubs only
else:
    Packet = av.Packet

AUDIO_BIT_RATE = 128_000


class Mp4Writer:
    """Write with `add_video` and `mux(encode_audio(...))`, then `finish()`; leaving the block without
    finishing (an error) closes the file unfinished and deletes it."""

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: int,
        preset: str,
        crf: int,
        codec: Encoder = "libx264",
        sample_rate: int = SAMPLE_RATE,
        audio: bool = True,
    ) -> None:
        self._path = path
        self._fps = fps
        # PyAV 18's from_numpy_buffer derives the height as rows // 6 * 4, which misplaces the chroma planes
        # when height % 4 == 2; from_ndarray gets those right.
        self._wrap_buffers = height % 4 == 0
        self._finished = False
        # faststart moves the index ('moov') before the data so players can start before the download ends.
        self._container = av.open(str(path), mode="w", format="mp4", options={"movflags": "faststart"})
        try:
            video = self._container.add_stream(codec, rate=fps, options=options(codec, preset, crf))
            video.width = width
            video.height = height
            video.pix_fmt = "yuv420p"
            context = video.codec_context
            # PyAV defaults x264 to slice threads; frame threads are ~what the ffmpeg CLI gets (NOTES.md).
            if codec == "libx264":
                context.thread_type = "FRAME"
                context.thread_count = 0
            # Tag what frames.py produces, so players do not guess between BT.601 and BT.709.
            context.colorspace = Colorspace.ITU709
            context.color_primaries = ColorPrimaries.BT709
            context.color_trc = ColorTrc.BT709
            context.color_range = ColorRange.MPEG
            # A segment of a long render is video only: its audio is encoded once, at the join.
            self._audio = add_audio_stream(self._container, sample_rate) if audio else None
        except BaseException:
            self._container.close()
            path.unlink(missing_ok=True)
            raise
        self._video = video

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._finished:
            self._container.close()
            self._path.unlink(missing_ok=True)

    def add_video(self, frame: U8, index: int) -> None:
        """Encode one yuv420p frame buffer ((h*3//2, w) uint8) shown at `index / fps`."""
        if self._wrap_buffers:
            # Wrapping the buffer instead of from_ndarray's row-by-row copy saves ~1 ms per 1080x1920 frame.
            # libx264 copies the picture into its own frames before encode() returns, so the caller may
            # reuse the buffer right away.
            video_frame = av.VideoFrame.from_numpy_buffer(frame, format="yuv420p")
        else:
            video_frame = av.VideoFrame.from_ndarray(frame, format="yuv420p")
        video_frame.pts = index
        video_frame.time_base = Fraction(1, self._fps)
        self._container.mux(self._video.encode(video_frame))

    def encode_audio(self, frame: av.AudioFrame | None) -> list[Packet]:
        """AAC packets for a stereo fltp frame, or the encoder's last ones for None. Only touches the audio
        encoder, so it may run on another thread than `add_video`; muxing stays with the caller."""
        if self._audio is None:
            raise RuntimeError("this writer has no audio stream")
        return self._audio.encode(frame)

    def mux(self, packets: list[Packet]) -> None:
        self._container.mux(packets)

    def finish(self) -> None:
        """Flush the video and close the file; the audio must have been flushed with `encode_audio(None)`."""
        self._container.mux(self._video.encode(None))
        self._container.close()
        self._finished = True


def add_audio_stream(container: av.container.OutputContainer, sample_rate: int) -> av.AudioStream:
    audio = container.add_stream("aac", rate=sample_rate)
    audio.layout = "stereo"
    audio.format = "fltp"
    audio.bit_rate = AUDIO_BIT_RATE
    return audio
