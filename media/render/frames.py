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

from media.timeline.model import MAX_ZOOM

U8 = npt.NDArray[np.uint8]


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
    # (All three channels: OpenCV's 2x2 path is vectorised for a whole image, not for a channel slice.)
    chroma = cv2.resize(ycc, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    cv2.extractChannel(chroma, 1, dst=u)
    cv2.extractChannel(chroma, 2, dst=v)
    return frame


def yuv420_to_rgb(frame: U8, width: int, height: int) -> U8:
    y, u, v = planes(frame, width, height)
    chroma = cv2.resize(cv2.merge([u, v]), (width, height), interpolation=cv2.INTER_LINEAR)
    ycc = cv2.merge([y, chroma[:, :, 0], chroma[:, :, 1]])
    return cast(U8, cv2.transform(ycc, YUV_TO_RGB))


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

    Each plane is resampled straight into the frame with one bilinear affine warp that keeps the anchor
    put: frame pixel x samples the canvas at `anchor_src + (x - anchor_out + 0.5) * scale - 0.5`. The warp
    places its grid at 1/32 of a pixel, so a slow zoom moves smoothly instead of stepping whole pixels
    (measured here: ~0.6 ms for a 1080x1920 luma plane on one core, under half the cost of four
    mirrored-quadrant resizes, which can only place a grid at whole pixels). Since the anchor sits off
    centre, the zoom also pans.
    """

    layout: CanvasLayout
    canvas: U8  # yuv420p, canvas_w x canvas_h

    @classmethod
    def build(cls, canvas: U8, layout: CanvasLayout) -> "KenBurnsCanvas":
        """`canvas` is a yuv420p buffer of layout.canvas_w x layout.canvas_h."""
        return cls(layout, canvas)

    def render(self, zoom: float, out: U8) -> None:
        """Write the view at `zoom` (1 up to the layout's tightest zoom) into the yuv420p buffer `out`."""
        layout = self.layout
        scale = layout.oversample / zoom
        sources = planes(self.canvas, layout.canvas_w, layout.canvas_h)
        targets = planes(out, layout.width, layout.height)
        for div, source, target in zip((1, 2, 2), sources, targets, strict=True):
            offset_x = layout.src_x / div - 0.5 - (layout.out_x / div - 0.5) * scale
            offset_y = layout.src_y / div - 0.5 - (layout.out_y / div - 0.5) * scale
            matrix = np.array([[scale, 0.0, offset_x], [0.0, scale, offset_y]])
            cv2.warpAffine(
                source,
                matrix,
                (target.shape[1], target.shape[0]),
                dst=target,
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REPLICATE,
            )


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
