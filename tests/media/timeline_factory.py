"""Small timelines and inputs for the engine tests: render, then decode what was encoded."""

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from media.render.engine import render_timeline
from media.render.result import RenderResult
from media.timeline.model import Timeline
from tests.media.media_factory import rgb_frames

W, H, FPS = 160, 288, 10
U8 = npt.NDArray[np.uint8]


def output(**changes: Any) -> dict[str, Any]:
    return {"width": W, "height": H, "fps": FPS, "preset": "ultrafast", "crf": 12, **changes}


def timeline(*tracks: list[dict[str, Any]], audio: list[Any] | None = None, **out: Any) -> Timeline:
    return Timeline.model_validate(
        {"output": output(**out), "tracks": [{"clips": clips} for clips in tracks], "audio": audio or []}
    )


@dataclass(frozen=True)
class Rendered:
    video: Path
    poster: Path
    result: RenderResult

    def frames(self, *indices: int) -> dict[int, U8]:
        return rgb_frames(self.video, set(indices))

    def frame(self, index: int) -> U8:
        return self.frames(index)[index]


def render(folder: Path, tl: Timeline, name: str = "out") -> Rendered:
    video, poster = folder / f"{name}.mp4", folder / f"{name}.jpg"
    return Rendered(video, poster, render_timeline(tl, video, poster))


def solid(colour: str, duration: float = 2.0, **changes: Any) -> dict[str, Any]:
    return {"type": "solid", "colour": colour, "duration": duration, **changes}


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def mean(rgb: U8, x0: int = 0, y0: int = 0, x1: int | None = None, y1: int | None = None) -> U8:
    return np.asarray(rgb[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0))


def write_colour_video(
    path: Path,
    colour: tuple[int, int, int],
    *,
    seconds: float,
    size: tuple[int, int] = (96, 64),
    fps: int = 10,
    tone: float | None = None,
    second_colour: tuple[int, int, int] | None = None,
) -> Path:
    """A solid-colour clip (switching to `second_colour` halfway, when given), with a sine if `tone`."""
    width, height = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "10"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=44100) if tone else None
        count = round(seconds * fps)
        for index in range(count):
            shown = second_colour if second_colour and index >= count // 2 else colour
            pixels = np.empty((height, width, 3), np.uint8)
            pixels[:] = shown
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None and tone:
            samples = int(seconds * 44100)
            wave = (0.5 * np.sin(2 * math.pi * tone * np.arange(samples) / 44100)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = np.ascontiguousarray(np.tile(wave[start : start + 1024], (2, 1)))
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                aframe.sample_rate, aframe.pts = 44100, start
                aframe.time_base = Fraction(1, 44100)
                container.mux(audio.encode(aframe))
            container.mux(audio.encode(None))
    return path
