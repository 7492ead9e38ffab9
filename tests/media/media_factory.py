"""Tiny generators and probes for media tests: every input is made here, nothing binary is committed."""

import math
import os
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

RED = (200, 40, 40)
GREEN = (40, 180, 60)
BLUE = (40, 60, 200)


def write_image(
    path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (320, 480), fmt: str = "JPEG"
) -> Path:
    """A solid colour with a light zero-mean texture, so the mean colour stays `colour`."""
    width, height = size
    ripple = 8 * np.outer(np.cos(np.arange(height, dtype=np.float32) / 7), np.sin(np.arange(width) / 5))
    pixels = np.clip(np.array(colour, np.float32) + ripple[..., None], 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def write_scene(path: Path, size: tuple[int, int], seed: int) -> Path:
    """A textured picture (gradient, shapes, grid) that shows stretching, jitter and colour shifts."""
    width, height = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.integers(40, 215, 3)
    pixels = np.stack(
        [base[c] + 35 * np.sin(xx / (31 + 7 * seed) + c) + 25 * np.cos(yy / (47 + seed)) for c in range(3)],
        -1,
    )
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for k in range(10):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(width // 30, width // 8))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = [x - r, y - r, x + r, y + r]
        if k % 2:
            draw.ellipse(box, fill=fill, outline=(255, 255, 255), width=3)
        else:
            draw.rectangle(box, fill=fill, outline=(0, 0, 0), width=3)
    for gx in range(0, width, max(1, width // 12)):
        draw.line([gx, 0, gx, height], fill=(255, 255, 255), width=2)
    for gy in range(0, height, max(1, height // 12)):
        draw.line([0, gy, width, gy], fill=(255, 255, 255), width=2)
    image.save(path, format="JPEG", quality=92)
    return path


def write_wav(
    path: Path, seconds: float, *, rate: int = 22050, channels: int = 1, freq: float = 440.0
) -> Path:
    """A sine at half scale; mono 22.05 kHz by default so the renderer has to resample and upmix."""
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.5 * np.sin(2 * math.pi * freq * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(tone[:, None], channels, axis=1).tobytes())
    return path


def write_overlay(path: Path, *, seconds: float, size: tuple[int, int], fps: int, level: int) -> Path:
    """A grey 'dust' clip: uniform luma `level` (limited range) with a few bright specks."""
    width, height = size
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(round(seconds * fps)):
            buf = np.full((height * 3 // 2, width), 128, np.uint8)
            buf[:height] = level
            ys, xs = rng.integers(0, height, 20), rng.integers(0, width, 20)
            buf[ys, xs] = 235
            frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@dataclass
class VideoProbe:
    codec: str
    pix_fmt: str
    width: int
    height: int
    frames: int
    duration: float
    colorspace: int


def probe_video(path: Path) -> VideoProbe:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        frames = sum(1 for _ in container.decode(stream))
        context = stream.codec_context
        return VideoProbe(
            codec=context.name,
            pix_fmt=str(context.pix_fmt),
            width=context.width,
            height=context.height,
            frames=frames,
            duration=float(stream.duration * stream.time_base),
            colorspace=context.colorspace,
        )


def rgb_frames(path: Path, indices: set[int]) -> dict[int, npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return {
            index: np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            for index, frame in enumerate(container.decode(video=0))
            if index in indices
        }


def mean_colour(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    return np.asarray(rgb.reshape(-1, 3).mean(axis=0), dtype=np.float64)


@dataclass
class AudioProbe:
    codec: str
    sample_rate: int
    channels: int
    samples: npt.NDArray[np.float32]  # (channels, n)

    @property
    def seconds(self) -> float:
        return float(self.samples.shape[1]) / self.sample_rate


def probe_audio(path: Path) -> AudioProbe:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray() for frame in container.decode(stream)]
        return AudioProbe(
            codec=stream.codec_context.name,
            sample_rate=stream.codec_context.sample_rate,
            channels=stream.codec_context.channels,
            samples=np.concatenate(chunks, axis=1).astype(np.float32),
        )


def rms(samples: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def top_level_boxes(path: Path) -> list[str]:
    """Box types at the top level of an MP4 file, in file order."""
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind)
        offset += size
    return boxes


def child_pids() -> list[int]:
    """Processes (running or zombie) whose parent is this test process."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces; the fields after its closing parenthesis are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:
            found.append(int(entry.name))
    return found
