"""Segments of a long render (media.render.engine with `segment`), joined into one MP4 without re-encoding:
their H.264 packets are copied in order with their timestamps moved to where each segment starts, and the
whole timeline's soundtrack (media.render.audio, made once beside the segments) is copied in, interleaved.

This is only valid for segments encoded with the same settings (identical SPS/PPS), each starting on an IDR
frame, which every segment's first frame is; a segment that differs, or has other than its frames, is an
error rather than a corrupt video.
"""

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av

from media.errors import MediaError
from media.render.encode import Packet
from media.render.engine import sound_clips
from media.render.result import RenderResult
from media.timeline.checks import Limits, validate_timeline
from media.timeline.model import Timeline
from media.timeline.schedule import duration_of, frame_count


def join_segments(
    timeline: Timeline,
    segments: list[tuple[Path, int]],
    audio: Path,
    video_out: Path,
    *,
    limits: Limits | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    encoder: str = "libx264",
) -> RenderResult:
    """`segments`: each file with the number of frames it must hold, in order; `audio` the soundtrack's M4A;
    `encoder` the one that made the segments (reported back). Raises MediaError SEGMENTS_MISMATCH when they
    do not fit together or do not add up to the timeline."""
    placed = validate_timeline(timeline, limits)
    out = timeline.output
    total = frame_count(duration_of(timeline, placed), out.fps)
    if sum(frames for _, frames in segments) != total or not segments:
        raise MediaError("SEGMENTS_MISMATCH", f"the segments' frames do not add up to the video's {total}")
    sounds = sound_clips(timeline, placed)
    container = av.open(str(video_out), mode="w", format="mp4", options={"movflags": "faststart"})
    finished = False
    try:
        with av.open(str(segments[0][0])) as first:
            template = first.streams.video[0]
            extradata = bytes(template.codec_context.extradata or b"")
            video = container.add_stream_from_template(template)
        with av.open(str(audio)) as sound:
            audio_in = sound.streams.audio[0]
            audio_out = container.add_stream_from_template(audio_in)
            soundtrack = _Interleaved(sound.demux(audio_in), audio_out)
            start = 0
            for index, (path, frames) in enumerate(segments):
                with av.open(str(path)) as piece:
                    stream = piece.streams.video[0]
                    if bytes(stream.codec_context.extradata or b"") != extradata:
                        raise MediaError(
                            "SEGMENTS_MISMATCH", f"segment {index} was encoded with other settings"
                        )
                    assert stream.time_base is not None
                    shift = round(Fraction(start, out.fps) / stream.time_base)
                    copied = 0
                    for packet in piece.demux(stream):
                        if packet.dts is None or packet.pts is None:
                            continue  # the demuxer's empty end-of-stream packet
                        packet.pts += shift
                        packet.dts += shift
                        packet.stream = video
                        container.mux(packet)
                        copied += 1
                        container.mux(soundtrack.until(float(packet.dts * stream.time_base)))
                if copied != frames:
                    raise MediaError(
                        "SEGMENTS_MISMATCH", f"segment {index} holds {copied} frames, not {frames}"
                    )
                start += frames
                if on_progress is not None:
                    on_progress(start, total)
            container.mux(soundtrack.until(float("inf")))
        container.close()
        finished = True
    finally:
        if not finished:
            container.close()
            video_out.unlink(missing_ok=True)
    return RenderResult(total / out.fps, total, out.width, out.height, bool(sounds), encoder)


class _Interleaved:
    """The soundtrack's packets, handed out up to a time so the file stays interleaved."""

    def __init__(self, packets: Iterator[Packet], stream: av.audio.stream.AudioStream) -> None:
        self._packets = (p for p in packets if p.dts is not None)
        self._stream = stream
        self._next: Packet | None = next(self._packets, None)

    def until(self, seconds: float) -> list[Packet]:
        ready = []
        while (packet := self._next) is not None:
            if (
                packet.dts is not None
                and packet.time_base is not None
                and packet.dts * packet.time_base > seconds
            ):
                break
            packet.stream = self._stream
            ready.append(packet)
            self._next = next(self._packets, None)
        return ready
