"""Hostile inputs, built by the tests themselves (nothing binary is committed): header-only image bombs, WAVs
that claim hours, videos cut short or without a stated duration."""

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A valid PNG signature and IHDR declaring width x height RGB, then a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def wav_claiming(seconds: float, *, rate: int, data_bytes: int | None = None) -> tuple[bytes, int]:
    """A PCM WAV (mono, 8-bit) header saying `seconds`, and the size the whole file must have for that to
    be true. `data_bytes` puts that much silence after the header (all of it by default)."""
    size = round(seconds * rate)
    header = b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8)
    header += b"data" + struct.pack("<I", size)
    return header + b"\x80" * (size if data_bytes is None else data_bytes), len(header) + size


def write_sparse_wav(path: Path, seconds: float, *, rate: int) -> Path:
    """A WAV whose header claims `seconds`, extended to the claimed size as a sparse file (no disk used):
    FFmpeg believes a WAV header only as far as the file reaches."""
    header, full_size = wav_claiming(seconds, rate=rate, data_bytes=0)
    with path.open("wb") as out:
        out.write(header)
        out.truncate(full_size)
    return path


class Unseekable:
    """A write-only sink: the Matroska muxer cannot go back to write the duration, as in a live recording."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def write_video(
    target: Path | Unseekable,
    *,
    fmt: str = "mp4",
    frames: int = 30,
    size: tuple[int, int] = (96, 64),
    times: list[int] | None = None,
    faststart: bool = False,
) -> None:
    """H.264 noise frames (so they do not compress to nothing) at 10 fps, or shown at `times` (seconds)."""
    width, height = size
    rng = np.random.default_rng(0)
    options = {"movflags": "faststart"} if faststart else {}
    where = target if isinstance(target, Unseekable) else str(target)
    with av.open(where, "w", format=fmt, options=options) as container:
        stream = container.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for when in times or range(frames):
            pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = when, Fraction(1, 1 if times else 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def mp4_cut_in_half(folder: Path, *, faststart: bool) -> bytes:
    """The first half of a real 3 s MP4: with `faststart` its index (moov) survives, else it is lost."""
    whole = folder / "whole.mp4"
    write_video(whole, frames=30, faststart=faststart)
    data = whole.read_bytes()
    whole.unlink()
    return data[: len(data) // 2]
