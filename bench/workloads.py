"""The reference workloads and their inputs: real photographs from scikit-image's bundled samples and a
generated stereo soundtrack.

Every tool gets the same files, and the references follow clipforge's slideshow choreography, restated here
so the benchmark does not depend on renderer internals: the video lasts images x seconds_per_image; image k
owns [k*spi, (k+1)*spi) plus half of each neighbouring crossfade (centred on the boundaries; none at the
very start or end); even images zoom 1.0 -> 1.15, odd ones 1.15 -> 1.0, around an anchor at 30 % of the
width and 40 % or 60 % of the height (alternating every second image), so the zoom also pans.
"""

import json
import math
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
from PIL import Image

U8 = npt.NDArray[np.uint8]

# Photos are stored larger than the frame, as uploads usually are, so every tool has to scale them down.
PHOTO_W, PHOTO_H = 1440, 2560
SOUNDTRACK_SECONDS = 30.0
SAMPLE_RATE = 44100


@dataclass(frozen=True)
class Workload:
    name: str
    images: int
    seconds_per_image: float
    width: int = 1080
    height: int = 1920
    fps: int = 30
    transition_seconds: float = 0.5
    max_zoom: float = 1.15
    preset: str = "veryfast"
    crf: int = 23
    audio_bit_rate: int = 128_000
    audio_fade_seconds: float = 2.0  # clipforge's default fade-out; the references do the same

    @property
    def frame_count(self) -> int:
        return round(self.images * self.seconds_per_image * self.fps)

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps

    def on_screen(self, image: int) -> tuple[float, float]:
        """Start and end time of an image, including the halves of its crossfades."""
        half = self.transition_seconds / 2
        start = image * self.seconds_per_image - (half if image > 0 else 0.0)
        end = (image + 1) * self.seconds_per_image + (half if image < self.images - 1 else 0.0)
        return start, end

    def zooms_in(self, image: int) -> bool:
        return image % 2 == 0

    def zoom(self, image: int, progress: float) -> float:
        """Zoom at `progress` (0..1) through the time the image is on screen."""
        amount = progress if self.zooms_in(image) else 1.0 - progress
        return 1.0 + (self.max_zoom - 1.0) * amount

    def anchor(self, image: int) -> tuple[float, float]:
        """The point of the frame (0..1) that stays put while the image zooms."""
        return 0.3, 0.4 if (image // 2) % 2 == 0 else 0.6


W1 = Workload("W1", images=8, seconds_per_image=3.75)  # 30 s
W2 = Workload("W2", images=60, seconds_per_image=4.0)  # 240 s


@dataclass(frozen=True)
class Inputs:
    photos: list[Path]
    soundtrack: Path

    def to_json(self, workload: Workload) -> str:
        return json.dumps(
            {
                "workload": asdict(workload),
                "photos": [str(p) for p in self.photos],
                "soundtrack": str(self.soundtrack),
            }
        )


def load_job(path: Path) -> tuple[Workload, Inputs]:
    data = json.loads(path.read_text(encoding="utf-8"))
    inputs = Inputs([Path(p) for p in data["photos"]], Path(data["soundtrack"]))
    return Workload(**data["workload"]), inputs


def _motorcycle(side: int) -> U8:
    from skimage import data

    return cast(U8, data.stereo_motorcycle()[side])  # type: ignore[no-untyped-call]


def _sources() -> list[Callable[[], U8]]:
    from skimage import data

    def gray(load: Callable[[], U8]) -> Callable[[], U8]:
        return lambda: np.repeat(load()[:, :, None], 3, axis=2)

    return [
        data.astronaut,
        data.coffee,
        data.chelsea,
        data.rocket,
        data.hubble_deep_field,
        lambda: _motorcycle(0),
        data.retina,
        data.immunohistochemistry,
        lambda: _motorcycle(1),
        gray(data.camera),
    ]


def make_photos(directory: Path, count: int, prefix: str) -> list[Path]:
    """`count` distinct 9:16 JPEGs: the first of each sample photo uncropped and centred, then crops of
    varying size and position, every other one mirrored."""
    directory.mkdir(parents=True, exist_ok=True)
    sources = [load() for load in _sources()]
    rng = np.random.default_rng(1234)
    paths = []
    for index in range(count):
        source = sources[index % len(sources)]
        variant = index // len(sources)
        height, width = source.shape[:2]
        full_w = min(width, round(height * 9 / 16))
        full_h = min(height, round(full_w * 16 / 9))
        share = 1.0 if variant == 0 else float(rng.uniform(0.6, 0.95))
        crop_w, crop_h = max(9, round(full_w * share)), max(16, round(full_h * share))
        x0 = (width - crop_w) // 2 if variant == 0 else int(rng.integers(0, width - crop_w + 1))
        y0 = (height - crop_h) // 2 if variant == 0 else int(rng.integers(0, height - crop_h + 1))
        crop = source[y0 : y0 + crop_h, x0 : x0 + crop_w]
        if variant % 2:
            crop = crop[:, ::-1]
        image = Image.fromarray(np.ascontiguousarray(crop)).resize(
            (PHOTO_W, PHOTO_H), Image.Resampling.LANCZOS
        )
        path = directory / f"{prefix}-{index:02d}.jpg"
        image.save(path, format="JPEG", quality=90)
        paths.append(path)
    return paths


def make_soundtrack(path: Path, seconds: float = SOUNDTRACK_SECONDS) -> Path:
    """A stereo 16-bit WAV: a slowly beating chord, different on each side, with a little noise."""
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rng = np.random.default_rng(7)
    channels = []
    for side, freqs in enumerate(((220.0, 277.18, 329.63), (164.81, 246.94, 392.0))):
        tone = sum(np.sin(2 * math.pi * f * t + side) for f in freqs) / len(freqs)
        tremolo = 0.75 + 0.25 * np.sin(2 * math.pi * (0.5 + side * 0.2) * t)
        channels.append(0.5 * tone * tremolo + 0.03 * rng.standard_normal(n))
    pcm = (np.clip(np.stack(channels, axis=1), -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path
