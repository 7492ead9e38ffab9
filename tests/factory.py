"""Media that tests make for themselves (nothing binary is committed)."""

from __future__ import annotations

import io
import math
import struct
import wave

from PIL import Image, ImageDraw

COLOURS = [(220, 40, 40), (40, 180, 60), (40, 80, 220), (230, 200, 40), (200, 60, 200)]


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> bytes:
    """A solid colour with a little texture, so it looks like one colour on average."""
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    for x in range(0, size[0], 40):
        shade = tuple(max(0, c - 25) for c in colour)
        draw.line([(x, 0), (x + size[1] // 3, size[1])], fill=shade, width=3)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def wav(seconds: float, freq: float = 440.0, rate: int = 22050) -> bytes:
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()
