"""Check that every tool produced a comparable video: the length, size and streams the workload asks for."""

from dataclasses import dataclass, field
from pathlib import Path

import av

DURATION_TOLERANCE_S = 0.1


@dataclass
class Probe:
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    pix_fmt: str | None = None
    video_frames: int | None = None
    has_audio: bool = False
    audio_duration_s: float | None = None
    size_mib: float | None = None
    problems: list[str] = field(default_factory=list)


def _seconds(stream: av.stream.Stream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def probe(path: Path, *, duration: float, width: int, height: int) -> Probe:
    result = Probe()
    if not path.exists():
        result.problems.append("no output file")
        return result
    result.size_mib = path.stat().st_size / (1024 * 1024)
    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                result.duration_s = container.duration / av.time_base
            if container.streams.video:
                video = container.streams.video[0]
                result.width, result.height = video.codec_context.width, video.codec_context.height
                result.pix_fmt = video.codec_context.pix_fmt
                result.video_frames = video.frames or None
                video_seconds = _seconds(video)
                if video_seconds is not None:
                    result.duration_s = video_seconds
            if container.streams.audio:
                result.has_audio = True
                result.audio_duration_s = _seconds(container.streams.audio[0])
    except av.FFmpegError as exc:
        result.problems.append(f"unreadable: {exc}")
        return result
    if result.duration_s is None or abs(result.duration_s - duration) > DURATION_TOLERANCE_S:
        result.problems.append(f"video lasts {result.duration_s} s, expected {duration:g} s")
    if (result.width, result.height) != (width, height):
        result.problems.append(f"video is {result.width}x{result.height}, expected {width}x{height}")
    if result.pix_fmt != "yuv420p":
        result.problems.append(f"pixel format {result.pix_fmt}, expected yuv420p")
    if not result.has_audio:
        result.problems.append("no audio stream")
    if result.audio_duration_s is not None and abs(result.audio_duration_s - duration) > DURATION_TOLERANCE_S:
        result.problems.append(f"audio lasts {result.audio_duration_s:.3f} s, expected {duration:g} s")
    return result
