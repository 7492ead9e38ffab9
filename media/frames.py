"""Pixel work on yuv420p frames: colour conversion, the Ken Burns view, crossfades and the screen overlay.

A frame is one (h*3//2, w) uint8 array holding the Y, U and V planes back to back, the layout
`av.VideoFrame.from_ndarray(..., format="yuv420p")` takes. Everything per frame runs on those planes so the
video is never converted to RGB and back: blending in YUV equals blending in RGB because the colour transform
is affine.

Colours are BT.709 limited range (what players assume for HD video) and the encoder tags the stream so.
"""

import math
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]

MAX_ZOOM = 1.15  # the slideshow's tightest Ken Burns view: 1/1.15 of the widest


def oversample_for(max_zoom: float) -> float:
    """Canvas pixels per output pixel at zoom 1: slightly above the tightest zoom, so even that view still
    reads at least one source pixel per output pixel and never upsamples."""
    return max_zoom * 1.01


OVERSAMPLE = oversample_for(MAX_ZOOM)

_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_LUMA = np.array([_KR, _KG, _KB])
_RGB_TO_YCC = np.vstack(
    [
        _LUMA * 219 / 255,
        (np.array([0.0, 0.0, 1.0]) - _LUMA) / (2 * (1 - _KB)) * 224 / 255,
        (np.array([1.0, 0.0, 0.0]) - _LUMA) / (2 * (1 - _KR)) * 224 / 255,
    ]
)
_YCC_OFFSET = np.array([16.0, 128.0, 128.0])
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)
RGB_TO_YUV = np.hstack([_RGB_TO_YCC, _YCC_OFFSET[:, None]])
YUV_TO_RGB = np.hstack([_YCC_TO_RGB, (-_YCC_TO_RGB @ _YCC_OFFSET)[:, None]])


def planes(frame: U8, width: int, height: int) -> tuple[U8, U8, U8]:
    """Views of the Y, U and V planes of a yuv420p frame buffer."""
    # Flat offsets rather than row slices: when height % 4 == 2 a chroma plane ends mid-row.
    flat = frame.reshape(-1)
    luma, chroma = width * height, (width // 2) * (height // 2)
    u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
    v = flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2)
    return frame[:height], u, v


def rgb_to_yuv420(rgb: U8) -> U8:
    height, width = rgb.shape[:2]
    ycc = cv2.transform(rgb, RGB_TO_YUV)
    frame = np.empty((height * 3 // 2, width), np.uint8)
    y, u, v = planes(frame, width, height)
    cv2.extractChannel(ycc, 0, dst=y)
    # Averaging each 2x2 block keeps chroma centred between the luma samples, the same siting the
    # Ken Burns resampling assumes for both planes.
    chroma = cv2.resize(ycc[:, :, 1:], (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    cv2.extractChannel(chroma, 0, dst=u)
    cv2.extractChannel(chroma, 1, dst=v)
    return frame


def yuv420_to_rgb(frame: U8, width: int, height: int) -> U8:
    y, u, v = planes(frame, width, height)
    chroma = cv2.resize(cv2.merge([u, v]), (width, height), interpolation=cv2.INTER_LINEAR)
    ycc = cv2.merge([y, chroma[:, :, 0], chroma[:, :, 1]])
    return cast(U8, cv2.transform(ycc, YUV_TO_RGB))


@dataclass
class _Quadrant:
    source: U8  # the canvas on one side of the anchor, mirrored so the anchor sits at [0, 0]
    out_rows: slice
    out_cols: slice
    flip: int | None  # cv2.flip code that mirrors the result back, None for the bottom-right quadrant
    scratch: U8 | None  # where a mirrored quadrant is resampled before flipping, reused every frame


@dataclass(frozen=True)
class CanvasLayout:
    """Where an image's canvas sits relative to the frame: the anchor is a point on even pixel edges of
    both, and every side of the canvas has room for the widest view (zoom 1) plus a two-pixel margin, so
    interpolation never reads past an edge and the half-size chroma planes line up with luma."""

    width: int  # the output frame
    height: int
    canvas_w: int
    canvas_h: int
    src_x: int  # anchor in canvas pixels
    src_y: int
    out_x: int  # anchor in frame pixels
    out_y: int
    oversample: float = OVERSAMPLE

    @classmethod
    def around(
        cls, width: int, height: int, anchor_x: float, anchor_y: float, oversample: float = OVERSAMPLE
    ) -> "CanvasLayout":
        out_x, out_y = _even_near(anchor_x * width), _even_near(anchor_y * height)
        left, right = _room(out_x, oversample), _room(width - out_x, oversample)
        top, bottom = _room(out_y, oversample), _room(height - out_y, oversample)
        return cls(width, height, left + right, top + bottom, left, top, out_x, out_y, oversample)


def _even_near(value: float) -> int:
    return 2 * round(value / 2)


def _room(out_pixels: int, oversample: float) -> int:
    return 2 * math.ceil(out_pixels * oversample / 2) + 2


@dataclass
class KenBurnsCanvas:
    """One image, fitted and converted once, ready to be viewed at any zoom around a fixed anchor.

    Why quadrants: cv2.resize is separable and ~3x faster than cv2.warpAffine, but it can only place its
    source grid at whole pixels, which makes a moving view jitter. Zooming around a fixed anchor needs no
    moving offset at all: split the canvas at the anchor, mirror each part so the anchor is its top-left
    corner, and `resize(part, fx=1/scale)` then samples exactly `anchor + (x + 0.5) * scale - 0.5` for
    any real scale. Since the anchor sits off-centre, the zoom also pans.
    """

    layout: CanvasLayout
    quadrants: list[list[_Quadrant]] = field(default_factory=list)  # per plane: Y, U, V

    @classmethod
    def build(cls, canvas: U8, layout: CanvasLayout) -> "KenBurnsCanvas":
        """`canvas` is a yuv420p buffer of layout.canvas_w x layout.canvas_h."""
        result = cls(layout)
        for plane_index, plane in enumerate(planes(canvas, layout.canvas_w, layout.canvas_h)):
            div = 1 if plane_index == 0 else 2
            result.quadrants.append(
                _quadrants(
                    plane,
                    layout.src_x // div,
                    layout.src_y // div,
                    layout.out_x // div,
                    layout.out_y // div,
                    layout.width // div,
                    layout.height // div,
                )
            )
        return result

    def render(self, zoom: float, out: U8) -> None:
        """Write the view at `zoom` (1 up to the layout's tightest zoom) into the yuv420p buffer `out`."""
        scale = self.layout.oversample / zoom
        targets = planes(out, self.layout.width, self.layout.height)
        for plane_quadrants, target in zip(self.quadrants, targets, strict=True):
            for quad in plane_quadrants:
                _resample(quad, scale, target)


def _quadrants(plane: U8, sx: int, sy: int, ox: int, oy: int, width: int, height: int) -> list[_Quadrant]:
    parts = [
        (plane[sy:, sx:], slice(oy, height), slice(ox, width), None),
        (plane[sy:, :sx][:, ::-1], slice(oy, height), slice(0, ox), 1),
        (plane[:sy, sx:][::-1], slice(0, oy), slice(ox, width), 0),
        (plane[:sy, :sx][::-1, ::-1], slice(0, oy), slice(0, ox), -1),
    ]
    return [
        _Quadrant(
            np.ascontiguousarray(src),
            rows,
            cols,
            flip,
            None if flip is None else np.empty((rows.stop - rows.start, cols.stop - cols.start), np.uint8),
        )
        for src, rows, cols, flip in parts
        if rows.stop > rows.start and cols.stop > cols.start
    ]


def _source_extent(out_len: int, scale: float) -> int:
    """Smallest source length that cv2.resize(fx=1/scale) turns into exactly `out_len` pixels.

    Being the smallest, its last output pixel may sample just past the region and get clamped to the edge
    pixel; that pixel is on the frame's outer border, never on a seam between quadrants."""
    inv = 1.0 / scale
    # cv2 sizes its output as round(len * fx); Python's round() is the same round-half-even.
    n = max(1, math.ceil((out_len - 0.5) * scale))
    while round(n * inv) < out_len:
        n += 1
    while n > 1 and round((n - 1) * inv) >= out_len:
        n -= 1
    return n


def _resample(quad: _Quadrant, scale: float, target: U8) -> None:
    dest = target[quad.out_rows, quad.out_cols]
    out_h, out_w = dest.shape
    src_h, src_w = _source_extent(out_h, scale), _source_extent(out_w, scale)
    src = quad.source[:src_h, :src_w]
    if (src_h, src_w) == (out_h, out_w):
        # cv2.resize copies instead of resampling when the sizes match, dropping the sub-pixel part; this
        # only happens for tiny quadrants at scales within a fraction of a pixel of 1.
        offset = 0.5 * scale - 0.5
        matrix = np.array([[scale, 0.0, offset], [0.0, scale, offset]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        tmp = cv2.warpAffine(
            quad.source, matrix, (out_w, out_h), flags=flags, borderMode=cv2.BORDER_REPLICATE
        )
        if quad.flip is None:
            dest[:] = tmp
        else:
            cv2.flip(tmp, quad.flip, dst=dest)
        return
    if quad.flip is None or quad.scratch is None:
        cv2.resize(src, None, dst=dest, fx=1.0 / scale, fy=1.0 / scale, interpolation=cv2.INTER_LINEAR)
        return
    cv2.resize(src, None, dst=quad.scratch, fx=1.0 / scale, fy=1.0 / scale, interpolation=cv2.INTER_LINEAR)
    cv2.flip(quad.scratch, quad.flip, dst=dest)


@dataclass
class ScreenBlend:
    """Screen blend of a grey overlay onto yuv420p frames.

    Screening with a grey level g maps each RGB channel c to c + g(1 - c). For a grey overlay that is exactly
    Y -> Y + g(1 - Y) on normalised luma and chroma pulled towards neutral by (1 - g), so we blend luma and
    scale chroma and never touch RGB. The overlay's own chroma is ignored (dust, grain and scratches are
    grey; a coloured light leak would lose its tint).
    """

    width: int
    height: int
    opacity: float
    _white: U8 = field(init=False)

    def __post_init__(self) -> None:
        self._white = np.full((self.height, self.width), 235, np.uint8)

    def apply(self, frame: U8, overlay_gray: U8) -> None:
        """Blend a full-range grey overlay (height x width) into `frame` in place."""
        y = frame[: self.height]
        # U and V back to back, seen as one (height, width/2) plane: half-width, stacked half-heights.
        chroma = frame.reshape(-1)[self.width * self.height :].reshape(self.height, self.width // 2)
        g = cv2.convertScaleAbs(overlay_gray, alpha=self.opacity)
        headroom = cv2.subtract(self._white, y)
        cv2.add(y, cv2.multiply(headroom, g, scale=1 / 255), dst=y)
        g_half = cv2.resize(g, (self.width // 2, self.height // 2), interpolation=cv2.INTER_AREA)
        g_chroma = np.vstack([g_half, g_half])
        kept = cv2.multiply(chroma, cv2.bitwise_not(g_chroma), scale=1 / 255)
        cv2.add(kept, cv2.convertScaleAbs(g_chroma, alpha=128 / 255), dst=chroma)
