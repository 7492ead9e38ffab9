"""Opening untrusted audio and video files with FFmpeg, restricted to the formats we expect.

FFmpeg will happily read far more than media: a text file opens as "tty" video, and a playlist format can
make it open other files. Each input gets an explicit demuxer allow-list and may only use the local file
protocol.
"""

from pathlib import Path

import av
from av.container import InputContainer

from media.errors import MediaError

AUDIO_FORMATS = ("wav", "mp3", "flac", "ogg", "aac", "aiff", "mov", "mp4", "m4a", "matroska", "webm")
VIDEO_FORMATS = ("mov", "mp4", "m4a", "matroska", "webm", "avi", "gif")


def open_input(path: Path, formats: tuple[str, ...], code: str, kind: str) -> InputContainer:
    """Open `path` for reading; anything FFmpeg cannot open as one of `formats` raises MediaError(code)."""
    options = {"format_whitelist": ",".join(formats), "protocol_whitelist": "file"}
    try:
        return av.open(str(path), mode="r", container_options=options)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(code, f"{path.name} is not a readable {kind} file") from exc
