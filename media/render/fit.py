"""An image fitted to a layer's box: cover (crop), contain (the whole image, transparent around it), blur
(contain on a blurred, darkened fill made from the image) or auto (cover unless the aspects differ a lot).

Decoding goes through media.render.images, asked for a size of the image's own aspect so that its fitting is a
plain scale and JPEGs still decode at a reduced size when that is enough.
"""

from pathlib import Path
from typing import cast

import cv2
import numpy as np

from media.render.frames import U8
from media.render.images import load_fitted, probe_image

_FILL_SHRINK = 8  # the blurred fill is made at 1/8 size: cheap, and the blur hides the lost detail
_FILL_BRIGHTNESS = 0.45


def fitted(source: Path, width: int, height: int, fit: str) -> tuple[U8, U8 | None]:
    """RGB pixels of width x height and, for contain, the alpha that marks where the image is."""
    if fit == "auto":
        return load_fitted(source, width, height), None
    image_w, image_h = probe_image(source)
    if fit == "cover":
        scale = max(width / image_w, height / image_h)
        rgb = _scaled(source, image_w, image_h, scale, min_w=width, min_h=height)
        y0, x0 = (rgb.shape[0] - height) // 2, (rgb.shape[1] - width) // 2
        return np.ascontiguousarray(rgb[y0 : y0 + height, x0 : x0 + width]), None
    scale = min(width / image_w, height / image_h)
    rgb = _scaled(source, image_w, image_h, scale, min_w=1, min_h=1)
    rgb = rgb[:height, :width]
    fg_h, fg_w = rgb.shape[:2]
    y0, x0 = (height - fg_h) // 2, (width - fg_w) // 2
    if fit == "contain":
        canvas = np.zeros((height, width, 3), np.uint8)
        alpha = np.zeros((height, width), np.uint8)
        canvas[y0 : y0 + fg_h, x0 : x0 + fg_w] = rgb
        alpha[y0 : y0 + fg_h, x0 : x0 + fg_w] = 255
        return canvas, alpha
    canvas = blurred_fill(rgb, width, height)
    canvas[y0 : y0 + fg_h, x0 : x0 + fg_w] = rgb
    return canvas, None


def _scaled(path: Path, image_w: int, image_h: int, scale: float, *, min_w: int, min_h: int) -> U8:
    w = max(min_w, round(image_w * scale))
    h = max(min_h, round(image_h * scale))
    return load_fitted(path, w, h)


def blurred_fill(rgb: U8, width: int, height: int) -> U8:
    small_w, small_h = max(2, width // _FILL_SHRINK), max(2, height // _FILL_SHRINK)
    scale = max(small_w / rgb.shape[1], small_h / rgb.shape[0])
    cw, ch = min(rgb.shape[1], round(small_w / scale)), min(rgb.shape[0], round(small_h / scale))
    y0, x0 = (rgb.shape[0] - ch) // 2, (rgb.shape[1] - cw) // 2
    small = cv2.resize(rgb[y0 : y0 + ch, x0 : x0 + cw], (small_w, small_h), interpolation=cv2.INTER_AREA)
    fill = cv2.GaussianBlur(small, (0, 0), sigmaX=max(small_w, small_h) / 40)
    fill = cv2.convertScaleAbs(fill, alpha=_FILL_BRIGHTNESS)
    return cast(U8, cv2.resize(fill, (width, height), interpolation=cv2.INTER_CUBIC))


def fit_frame(rgb: U8, width: int, height: int, fit: str) -> tuple[U8, U8 | None]:
    """Fit already decoded pixels (a video frame) the same way."""
    image_h, image_w = rgb.shape[:2]
    ratio = (image_w / image_h) / (width / height)
    if fit == "auto":
        fit = "blur" if max(ratio, 1 / ratio) > 1.6 else "cover"
    if fit == "cover":
        scale = max(width / image_w, height / image_h)
        cw, ch = min(image_w, max(1, round(width / scale))), min(image_h, max(1, round(height / scale)))
        y0, x0 = (image_h - ch) // 2, (image_w - cw) // 2
        region = rgb[y0 : y0 + ch, x0 : x0 + cw]
        return cast(U8, cv2.resize(region, (width, height), interpolation=cv2.INTER_LINEAR)), None
    scale = min(width / image_w, height / image_h)
    fg_w, fg_h = min(width, max(1, round(image_w * scale))), min(height, max(1, round(image_h * scale)))
    fg = cv2.resize(rgb, (fg_w, fg_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    y0, x0 = (height - fg_h) // 2, (width - fg_w) // 2
    alpha = None
    if fit == "contain":
        canvas = np.zeros((height, width, 3), np.uint8)
        alpha = np.zeros((height, width), np.uint8)
        alpha[y0 : y0 + fg_h, x0 : x0 + fg_w] = 255
    else:
        canvas = blurred_fill(rgb, width, height)
    canvas[y0 : y0 + fg_h, x0 : x0 + fg_w] = fg
    return canvas, alpha
