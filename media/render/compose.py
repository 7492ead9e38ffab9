"""Putting one layer's pixels onto a yuv420p frame: placed at even pixels, clipped to the frame (and a wipe's
reveal), mixed by opacity and an optional alpha plane, optionally scaled or darkened.

Blending on Y, U and V equals blending in RGB because the colour transform is affine, so no frame is ever
converted to RGB here. Positions are even so that a box's chroma starts on a whole chroma sample.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from media.render.frames import U8, planes

F32 = npt.NDArray[np.float32]
BLACK = (16, 128, 128)  # limited-range YUV black


@dataclass
class Patch:
    """A layer's pixels: a yuv420p buffer of width x height (both even) and its coverage, if not opaque."""

    yuv: U8
    width: int
    height: int
    alpha: U8 | None = None  # (height, width), 255 = opaque
    _alpha_half: U8 | None = field(default=None, repr=False)

    def planes(self) -> tuple[U8, U8, U8]:
        return planes(self.yuv, self.width, self.height)

    def alpha_half(self) -> U8 | None:
        if self.alpha is not None and self._alpha_half is None:
            size = (self.width // 2, self.height // 2)
            self._alpha_half = np.asarray(
                cv2.resize(self.alpha, size, interpolation=cv2.INTER_AREA), np.uint8
            )
        return self._alpha_half


def _even(value: float) -> int:
    return 2 * int(np.floor(value / 2 + 0.5))


def visible_rect(
    x: int, y: int, w: int, h: int, fw: int, fh: int, reveal: tuple[float, float, float, float] | None
) -> tuple[int, int, int, int]:
    """The part of the box at (x, y) inside the frame and the reveal, as frame x0, y0, x1, y1 (even)."""
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if reveal is not None:
        x0, y0 = max(x0, _even(reveal[0])), max(y0, _even(reveal[1]))
        x1, y1 = min(x1, _even(reveal[2])), min(y1, _even(reveal[3]))
    return x0, y0, x1, y1


def composite(
    frame: U8,
    fw: int,
    fh: int,
    patch: Patch,
    x: int,
    y: int,
    opacity: float,
    reveal: tuple[float, float, float, float] | None = None,
    darken: float = 0.0,
) -> None:
    """Draw `patch` with its top-left corner at even (x, y) of the frame."""
    if opacity <= 0.0:
        return
    x0, y0, x1, y1 = visible_rect(x, y, patch.width, patch.height, fw, fh, reveal)
    if x1 <= x0 or y1 <= y0:
        return
    whole = (x0, y0, x1, y1) == (0, 0, fw, fh) and (patch.width, patch.height) == (fw, fh)
    if whole and patch.alpha is None:
        # The common full-frame cases on the whole buffer at once: a cut, or a crossfade's incoming image.
        if opacity >= 1.0:
            np.copyto(frame, patch.yuv)
        else:
            cv2.addWeighted(frame, 1.0 - opacity, patch.yuv, opacity, 0.0, dst=frame)
        if darken > 0.0:
            _darken_all(frame, fw, fh, darken * opacity)
        return
    sx, sy = x0 - x, y0 - y
    for k, (dst_plane, src_plane) in enumerate(zip(planes(frame, fw, fh), patch.planes(), strict=True)):
        d = 1 if k == 0 else 2
        rows, cols = slice(y0 // d, y1 // d), slice(x0 // d, x1 // d)
        src_rows, src_cols = slice(sy // d, (sy + y1 - y0) // d), slice(sx // d, (sx + x1 - x0) // d)
        dst, src = dst_plane[rows, cols], src_plane[src_rows, src_cols]
        mask = patch.alpha if k == 0 else patch.alpha_half()
        weights = None if mask is None else _weights(mask[src_rows, src_cols], opacity)
        if weights is None:
            if opacity >= 1.0:
                np.copyto(dst, src)
            else:
                cv2.addWeighted(dst, 1.0 - opacity, src, opacity, 0.0, dst=dst)
        else:
            _mix(dst, src, weights)
        if darken > 0.0:
            black = np.full_like(dst, BLACK[k])
            _mix(dst, black, (weights if weights is not None else np.ones(dst.shape, np.float32)) * darken)


def _weights(mask: U8, opacity: float) -> F32:
    return np.multiply(mask, np.float32(opacity / 255.0), dtype=np.float32)


def _mix(dst: U8, src: U8, weights: F32) -> None:
    """dst = src * w + dst * (1 - w), per pixel."""
    np.copyto(dst, cv2.blendLinear(src, dst, weights, np.float32(1.0) - weights))


def _darken_all(frame: U8, fw: int, fh: int, amount: float) -> None:
    for k, plane in enumerate(planes(frame, fw, fh)):
        cv2.addWeighted(plane, 1.0 - amount, plane, 0.0, BLACK[k] * amount, dst=plane)


def fill(frame: U8, fw: int, fh: int, yuv: tuple[int, int, int]) -> None:
    for plane, value in zip(planes(frame, fw, fh), yuv, strict=True):
        plane[:] = value


def scaled(patch: Patch, scale: float, x: float, y: float, fw: int, fh: int) -> tuple[Patch, int, int] | None:
    """The patch drawn `scale` times its size around its centre, resampled only where it meets the frame,
    with soft edges in its alpha. Returns the new patch and its even frame position, or None if off frame."""
    cx, cy = x + patch.width / 2, y + patch.height / 2
    half_w, half_h = patch.width * scale / 2, patch.height * scale / 2
    x0, y0 = max(0, _even(cx - half_w) - 2), max(0, _even(cy - half_h) - 2)
    x1, y1 = min(fw, _even(cx + half_w) + 2), min(fh, _even(cy + half_h) + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    w, h = x1 - x0, y1 - y0
    out = np.empty((h * 3 // 2, w), np.uint8)
    alpha_src = (
        patch.alpha if patch.alpha is not None else np.full((patch.height, patch.width), 255, np.uint8)
    )
    result = Patch(out, w, h)
    for k, (dst, src) in enumerate(zip(result.planes(), patch.planes(), strict=True)):
        _warp(src, dst, scale, (cx - x0) / (1 if k == 0 else 2), (cy - y0) / (1 if k == 0 else 2))
    alpha = np.empty((h, w), np.uint8)
    _warp(alpha_src, alpha, scale, cx - x0, cy - y0, border=0)
    result.alpha = alpha
    return result, x0, y0


def _warp(src: U8, dst: U8, scale: float, cx: float, cy: float, border: int | None = None) -> None:
    """Map src's centre to (cx, cy) of dst, scaled; pixel centres at +0.5."""
    sh, sw = src.shape
    tx = cx - (sw / 2) * scale + 0.5 * scale - 0.5
    ty = cy - (sh / 2) * scale + 0.5 * scale - 0.5
    matrix = np.array([[scale, 0.0, tx], [0.0, scale, ty]])
    mode = cv2.BORDER_REPLICATE if border is None else cv2.BORDER_CONSTANT
    cv2.warpAffine(
        src,
        matrix,
        (dst.shape[1], dst.shape[0]),
        dst=dst,
        flags=cv2.INTER_LINEAR,
        borderMode=mode,
        borderValue=0,
    )
