"""The offline designer of a short's pictures: a procedural background with depth, coloured by the tone's
palette (a gradient sky, a soft light, blurred far-off bokeh, layered ridges that darken as they come
nearer, a few sharp near particles, a vignette and grain), and the frame artifact: a picture with its
headline laid over it exactly where the video shows it at rest.

Each scene's backdrop differs by its seed (where the light is, the ridges' shapes), so cuts are visible
while the palette holds the short together. Drawn in numpy and OpenCV at a quarter of the size where the
layer is blurred anyway, at half the size for the same reason.
"""

import hashlib
import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from media.kinds.short_look import Palette
from media.render.images import load_fitted
from media.render.layout import lay_out
from media.render.text import parse_colour, render
from media.timeline.model import TextClip
from media.timeline.schedule import pixels, resting_box

F32 = npt.NDArray[np.float32]


def seed_of(*parts: object) -> int:
    """A stable seed from anything printable (Python's hash() changes between processes)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def paint_backdrop(width: int, height: int, palette: Palette, seed: int) -> Image.Image:
    # Painted at half size and scaled up: every layer but the specks is soft, and a Ken Burns view never
    # shows more than the frame's own pixels; a quarter of the work.
    small = _paint(max(8, width // 2), max(8, height // 2), palette, np.random.default_rng(seed))
    return Image.fromarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC))


def _paint(width: int, height: int, palette: Palette, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    top, bottom = _rgb(palette.top), _rgb(palette.bottom)
    glow, accent, shade = _rgb(palette.glow), _rgb(palette.accent), _rgb(palette.stroke)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    sky = top * (1 - y) + bottom * y + np.zeros_like(x)
    # The light: a wide soft glow, brightest at a point that moves from scene to scene.
    gx, gy = float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.12, 0.4))
    aspect = height / width
    distance = np.sqrt((x - gx) ** 2 + ((y - gy) * aspect) ** 2)
    light = np.exp(-((distance / 0.55) ** 2)).astype(np.float32)
    image = _screen(sky, glow, 0.75 * light)
    image = _screen(image, accent, 0.35 * _bokeh(width, height, rng, count=28))
    # Ridges from far (high, pale, hazy) to near (low, dark): atmospheric perspective.
    for layer in range(3):
        near = layer / 2
        colour = _mix(_mix(bottom, shade, 0.35 + 0.45 * near), glow, 0.25 * (1 - near))
        horizon = 0.55 + 0.14 * layer + float(rng.uniform(-0.03, 0.03))
        ridge = _ridge(width, height, rng, horizon, amplitude=0.05 + 0.03 * layer)
        edge = cv2.GaussianBlur(ridge, (0, 0), sigmaX=0.8 + 2.5 * (1 - near))[:, :, None]
        image = image * (1 - edge) + colour * edge
        rim = np.clip(edge - np.roll(edge, 3 + 2 * layer, axis=0), 0, 1)  # light catching each crest
        image = _screen(image, glow, 0.5 * rim[:, :, 0])
    image = _screen(image, glow, _particles(width, height, rng))
    vignette = 1.0 - 0.35 * np.clip(((x - 0.5) ** 2 + ((y - 0.45) * 0.8) ** 2) * 2.2, 0, 1)
    # A whisper of grain dithers the gradients against banding; more would be noise x264 must encode anew
    # in every frame of a moving picture (sigma 2 cost a render ~20 % more time than 0.7).
    grain = rng.normal(0.0, 0.7, (height, width, 1)).astype(np.float32)
    return np.asarray(np.clip(image * vignette + grain + 0.5, 0, 255), np.uint8)


def paint_frame(picture: Path, headline: TextClip | None, width: int, height: int) -> Image.Image:
    """The picture fitted to the frame, with the headline drawn where the video shows it at rest."""
    image = Image.fromarray(load_fitted(picture, width, height))
    if headline is None:
        return image
    x, y, box_w, _ = resting_box(headline, width, height)
    size = round(headline.style.size)
    laid = lay_out(headline.text, headline.style, size, max(1.0, pixels(headline.max_width, width, box_w)))
    rgba, (mx, my) = render(laid, headline.style, size)
    left = x + (box_w - laid.width) * {"left": 0.0, "center": 0.5, "right": 1.0}[headline.style.align] - mx
    layer = Image.fromarray(rgba, "RGBA")
    image.paste(layer, (round(left), round(y - my)), layer)
    return image


def _rgb(colour: str) -> F32:
    r, g, b, _ = parse_colour(colour)
    return np.array([r, g, b], np.float32)


def _mix(a: F32, b: F32, t: float) -> F32:
    return np.asarray(a + (b - a) * t, np.float32)


def _screen(image: F32, colour: F32, amount: F32 | npt.NDArray[np.floating]) -> F32:
    """Light added the way light adds: brightens towards `colour` without clipping to white."""
    weight = np.asarray(amount, np.float32)
    if weight.ndim == 2:
        weight = weight[:, :, None]
    lit = 255.0 - (255.0 - image) * (255.0 - colour) / 255.0
    return np.asarray(image + (lit - image) * np.clip(weight, 0, 1), np.float32)


def _bokeh(width: int, height: int, rng: np.random.Generator, count: int) -> F32:
    """Out-of-focus discs of light, drawn small and blurred: far away, so soft."""
    w, h = max(8, width // 4), max(8, height // 4)
    small = np.zeros((h, w), np.float32)
    for _ in range(count):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h * 0.75)))
        radius = max(2, int(rng.uniform(0.02, 0.09) * w))
        cv2.circle(small, centre, radius, float(rng.uniform(0.15, 0.6)), -1, lineType=cv2.LINE_AA)
    soft = cv2.GaussianBlur(small, (0, 0), sigmaX=max(1.0, w / 120))
    return np.asarray(cv2.resize(soft, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)


def _ridge(width: int, height: int, rng: np.random.Generator, horizon: float, amplitude: float) -> F32:
    """1 below a smooth random skyline (a sum of a few sines), 0 above it."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)
    line = np.full(width, horizon, np.float32)
    for octave in range(1, 5):
        phase, weight = float(rng.uniform(0, 2 * math.pi)), amplitude / octave
        line += weight * np.sin(2 * math.pi * (octave * 0.8 + float(rng.uniform(0, 0.6))) * x + phase)
    rows = np.arange(height, dtype=np.float32)[:, None] / height
    return (rows >= line[None, :]).astype(np.float32)


def _particles(width: int, height: int, rng: np.random.Generator) -> F32:
    """A few small sharp specks of light: the nearest layer."""
    layer = np.zeros((height, width), np.float32)
    for _ in range(40):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        radius = max(1, int(rng.uniform(0.003, 0.008) * width))
        cv2.circle(layer, centre, radius, float(rng.uniform(0.3, 0.9)), -1, lineType=cv2.LINE_AA)
    return np.asarray(cv2.GaussianBlur(layer, (0, 0), sigmaX=0.6), np.float32)
