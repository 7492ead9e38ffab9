"""What each clip type draws: a Patch (yuv420p + optional alpha) of its box for a moment of the clip.

Static layers (solid, gradient, still image, text) are rasterised and converted once and cached as YUV +
alpha; Ken Burns images keep a canvas and resample only their visible region per frame; video decodes
forward, one frame at a time. Nothing per frame converts to RGB.
"""

from typing import Protocol

import cv2
import numpy as np

from media.render.compose import Patch
from media.render.fit import fitted
from media.render.frames import (
    RGB_TO_YUV,
    U8,
    CanvasLayout,
    KenBurnsCanvas,
    oversample_for,
    planes,
    rgb_to_yuv420,
)
from media.render.layout import Laid, lay_out, spoken
from media.render.subtitles import caption_area, caption_phrases
from media.render.text import parse_colour, render
from media.timeline.model import CaptionsClip, GradientClip, ImageClip, SolidClip, TextClip
from media.timeline.schedule import Placed, ken_burns, pixels, resting_box


class Layer(Protocol):
    box: tuple[int, int, int, int]  # resting x, y, w, h in frame pixels; the patch is w x h

    def patch(self, local: float, progress: float) -> Patch: ...

    def close(self) -> None: ...


def yuv_of(colour: str) -> tuple[int, int, int]:
    r, g, b, _ = parse_colour(colour)
    y, u, v = RGB_TO_YUV @ np.array([r, g, b, 1.0])
    return int(round(y)), int(round(u)), int(round(v))


def patch_from_rgb(rgb: U8, alpha: U8 | None = None) -> Patch:
    height, width = rgb.shape[:2]
    yuv = rgb_to_yuv420(np.ascontiguousarray(rgb))
    if alpha is not None:
        # Chroma averaged by coverage, so transparent pixels (often black) do not tint the edges.
        ycc = cv2.transform(rgb, RGB_TO_YUV)[:, :, 1:].astype(np.float32)
        a = alpha.astype(np.float32)
        size = (width // 2, height // 2)
        weight = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        summed = cv2.resize(ycc * a[..., None], size, interpolation=cv2.INTER_AREA)
        chroma = np.where(weight[..., None] > 0, summed / np.maximum(weight, 1e-6)[..., None], 128.0)
        _, u, v = planes(yuv, width, height)
        u[:] = np.clip(chroma[..., 0] + 0.5, 0, 255).astype(np.uint8)
        v[:] = np.clip(chroma[..., 1] + 0.5, 0, 255).astype(np.uint8)
    return Patch(yuv, width, height, alpha)


class StaticLayer:
    def __init__(self, box: tuple[int, int, int, int], patch: Patch) -> None:
        self.box = box
        self._patch = patch

    def patch(self, local: float, progress: float) -> Patch:
        return self._patch

    def close(self) -> None:
        pass


def solid(box: tuple[int, int, int, int], clip: SolidClip) -> StaticLayer:
    _, _, w, h = box
    r, g, b, a = parse_colour(clip.colour)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = (r, g, b)
    return StaticLayer(box, patch_from_rgb(rgb, None if a == 255 else np.full((h, w), a, np.uint8)))


def gradient(box: tuple[int, int, int, int], clip: GradientClip) -> StaticLayer:
    _, _, w, h = box
    angle = np.deg2rad(clip.angle)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle)
    reach = abs(w / 2 * np.cos(angle)) + abs(h / 2 * np.sin(angle))
    position = (along / max(reach, 1e-6) + 1.0) / 2.0  # 0 at the first colour, 1 at the last
    stops = np.array([parse_colour(c) for c in clip.colours], np.float32)
    where = np.linspace(0.0, 1.0, len(stops))
    rgba = np.stack([np.interp(position, where, stops[:, c]) for c in range(4)], -1)
    rgb = np.clip(rgba[..., :3] + 0.5, 0, 255).astype(np.uint8)
    alpha = np.clip(rgba[..., 3] + 0.5, 0, 255).astype(np.uint8)
    return StaticLayer(box, patch_from_rgb(rgb, None if alpha.min() == 255 else alpha))


def still_image(box: tuple[int, int, int, int], clip: ImageClip) -> StaticLayer:
    rgb, alpha = fitted(clip.source, box[2], box[3], clip.fit)
    return StaticLayer(box, patch_from_rgb(rgb, alpha))


class KenBurnsLayer:
    def __init__(self, box: tuple[int, int, int, int], clip: ImageClip) -> None:
        assert clip.ken_burns is not None
        self.box = box
        self._kb = clip.ken_burns
        _, _, w, h = box
        motion = ken_burns(self._kb, 0.0)
        layout = CanvasLayout.around(
            w, h, motion.anchor_x, motion.anchor_y, oversample_for(1.0 + self._kb.amount)
        )
        canvas, _ = fitted(clip.source, layout.canvas_w, layout.canvas_h, clip.fit)
        self._view = KenBurnsCanvas.build(rgb_to_yuv420(canvas), layout)
        self._buffer: Patch | None = None  # only needed when not drawn straight into the frame

    def render_into(self, progress: float, out: U8) -> None:
        self._view.render(ken_burns(self._kb, progress).zoom, out)

    def patch(self, local: float, progress: float) -> Patch:
        if self._buffer is None:
            _, _, w, h = self.box
            self._buffer = Patch(np.empty((h * 3 // 2, w), np.uint8), w, h)
        self.render_into(progress, self._buffer.yuv)
        return self._buffer

    def close(self) -> None:
        pass


def text_layer(p: Placed, clip: TextClip, width: int, height: int) -> StaticLayer:
    x, y, box_w, box_h = resting_box(clip, width, height)
    if clip.width is None:
        box_w = max(2, width - x)
    size = round(clip.style.size)
    max_w = pixels(clip.max_width, width, box_w) - 2 * (clip.style.box_padding if clip.style.box else 0)
    laid = lay_out(clip.text, clip.style, size, max(1.0, max_w))
    rgba, (mx, my) = render(laid, clip.style, size)
    align = {"left": 0.0, "center": 0.5, "right": 1.0}[clip.style.align]
    left = x + (box_w - laid.width) * align - mx
    top = y + ((box_h - laid.height) / 2 if clip.height is not None else 0.0) - my
    return _rgba_layer(rgba, left, top)


def _rgba_layer(rgba: U8, left: float, top: float) -> StaticLayer:
    x0, y0 = 2 * int(np.floor(left / 2)), 2 * int(np.floor(top / 2))
    pad_x, pad_y = int(round(left)) - x0, int(round(top)) - y0
    h, w = rgba.shape[:2]
    out_w, out_h = (w + pad_x + 1) // 2 * 2, (h + pad_y + 1) // 2 * 2
    padded = np.zeros((out_h, out_w, 4), np.uint8)
    padded[pad_y : pad_y + h, pad_x : pad_x + w] = rgba
    return StaticLayer((x0, y0, out_w, out_h), patch_from_rgb(padded[..., :3], padded[..., 3]))


class CaptionsLayer:
    """The current phrase, the spoken word in the highlight colour; each (phrase, word) drawn once."""

    def __init__(self, clip: CaptionsClip, width: int, height: int) -> None:
        self._clip = clip
        self._left, self._width = caption_area(clip, width, height)
        self._y = None if clip.y == 0.0 else pixels(clip.y, height, 0.0)
        self._frame_h = height
        self._size = round(clip.style.size)
        self._phrases = caption_phrases(clip, width, height)  # the same phrases as the subtitle files
        self._cache: dict[tuple[int, int | None], StaticLayer] = {}
        self._empty = Patch(np.zeros((3, 2), np.uint8), 2, 2, np.zeros((2, 2), np.uint8))
        self.box = (0, 0, 2, 2)

    def patch(self, local: float, progress: float) -> Patch:
        phrase_index = next(
            (k for k, ph in enumerate(self._phrases) if ph.start <= local + 1e-6 < ph.end), None
        )
        if phrase_index is None:
            self.box = (0, 0, 2, 2)
            return self._empty
        phrase = self._phrases[phrase_index]
        word = spoken(list(self._clip.words), phrase, local)
        key = (phrase_index, word)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] == phrase_index}
            self._cache[key] = self._draw(phrase_index, word)
        layer = self._cache[key]
        self.box = layer.box
        return layer.patch(local, progress)

    def word_boxes(self, phrase_index: int) -> list[tuple[int, int, int, int]]:
        """Frame boxes of the phrase's words, for tests and debugging."""
        rgba, laid, left, top, margin = self._raster(phrase_index, None)
        return [
            (round(left) + b[0], round(top) + b[1], round(left) + b[2], round(top) + b[3]) for b in laid.boxes
        ]

    def _raster(self, phrase_index: int, word: int | None) -> tuple[U8, Laid, float, float, int]:
        phrase = self._phrases[phrase_index]
        style = self._clip.style
        text = " ".join(w.text for w in self._clip.words[phrase.first : phrase.last + 1])
        laid = lay_out(text, style, self._size, self._width)
        base, hi = parse_colour(style.colour), parse_colour(self._clip.highlight)
        colours = [hi if word == phrase.first + k else base for k in range(len(laid.words))]
        rgba, (mx, _) = render(laid, style, self._size, colours)
        left = self._left + (self._width - laid.width) / 2
        # The lower safe area: the block centred at 75 % of the height, clear of platform UI at the bottom.
        top = self._y if self._y is not None else self._frame_h * 0.75 - laid.height / 2
        return rgba, laid, left, top, mx

    def _draw(self, phrase_index: int, word: int | None) -> StaticLayer:
        rgba, _, left, top, margin = self._raster(phrase_index, word)
        return _rgba_layer(rgba, left - margin, top - margin)

    def close(self) -> None:
        self._cache.clear()
