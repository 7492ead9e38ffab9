"""Safe image decoding and fitting to a frame.

Inputs are untrusted uploads: only JPEG, PNG, WebP and GIF are parsed (fewer decoders, less attack surface),
and the pixel count is checked from the header before any pixel is decoded.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from media.errors import MediaError
from media.render.frames import U8

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_PIXELS = 50_000_000
# Beyond this aspect mismatch a cover crop would cut away most of the picture (a landscape photo in a 9:16
# frame keeps only a third of its width), so the whole image is shown on a blurred fill instead.
CONTAIN_RATIO = 1.6
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}
_FILL_SHRINK = 8  # the blurred fill is computed at 1/8 size: cheap, and blur hides the lost detail
_FILL_BRIGHTNESS = 0.45
_BAND_ROWS = 128


@contextmanager
def _open(path: Path) -> Iterator[Image.Image]:
    """Open an image and map every way it can fail, also while decoding in the body, to a MediaError."""
    name = path.name
    try:
        with Image.open(path, formats=ALLOWED_FORMATS) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise MediaError(
                    "IMAGE_TOO_LARGE",
                    f"{name} is {width}x{height} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels",
                )
            yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own, larger limit fires inside Image.open, before our check can run.
        raise MediaError(
            "IMAGE_TOO_LARGE", f"{name} is larger than {MAX_PIXELS // 1_000_000} megapixels"
        ) from exc
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise MediaError("IMAGE_DECODE_FAILED", f"cannot read {name}") from exc
    except UnidentifiedImageError as exc:
        raise MediaError("UNSUPPORTED_IMAGE", f"{name} is not a JPEG, PNG, WebP or GIF image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("IMAGE_DECODE_FAILED", f"{name} is damaged or truncated: {exc}") from exc


def probe_image(path: Path) -> tuple[int, int]:
    """Width and height as displayed, from the header alone; raises like `load_fitted` for bad files."""
    with _open(path) as image:
        width, height = image.size
        if _orientation(image) in _ROTATED_ORIENTATIONS:
            return height, width
        return width, height


def load_fitted(path: Path, width: int, height: int) -> U8:
    """Decode an image and fit it to width x height RGB (see `fit`)."""
    # Decoding in its own function frees Pillow's copy of the pixels before fitting allocates more.
    return fit(_decode(path, width, height), width, height)


def _decode(path: Path, width: int, height: int) -> U8:
    """Upright RGB pixels, decoded at a reduced size when the format allows and the fit does not need more."""
    with _open(path) as image:
        orientation = _orientation(image)
        stored_w, stored_h = image.size
        rotated = orientation in _ROTATED_ORIENTATIONS
        shown_w, shown_h = (stored_h, stored_w) if rotated else (stored_w, stored_h)
        if image.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still gives enough pixels: a 24 MP
            # photo for a 1080p frame decodes ~4x faster and in a quarter of the memory.
            pick = min if _needs_contain(shown_w, shown_h, width, height) else max
            scale = pick(width / shown_w, height / shown_h)
            need_w, need_h = math.ceil(shown_w * scale), math.ceil(shown_h * scale)
            image.draft("RGB", (need_h, need_w) if rotated else (need_w, need_h))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return _to_rgb(image)


def _orientation(image: Image.Image) -> int:
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) else 1


def _to_rgb(image: Image.Image) -> U8:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    # Copied a band of rows at a time: numpy's conversion goes through Pillow's tobytes, which holds the
    # pixels twice more (its chunks and their join) beside the image itself, 22 MiB extra for a 1440x2560
    # photo, at the moment a render's memory peaks.
    width, height = image.size
    pixels = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, _BAND_ROWS):
        bottom = min(height, top + _BAND_ROWS)
        pixels[top:bottom] = np.asarray(image.crop((0, top, width, bottom)), dtype=np.uint8)
    return pixels


def _needs_contain(image_w: int, image_h: int, width: int, height: int) -> bool:
    ratio = (image_w / image_h) / (width / height)
    return max(ratio, 1 / ratio) > CONTAIN_RATIO


def fit(rgb: U8, width: int, height: int) -> U8:
    """Cover the frame with the image, or, when their aspects differ too much, show all of it centred on a
    blurred, darkened fill made from the image itself."""
    image_h, image_w = rgb.shape[:2]
    if _needs_contain(image_w, image_h, width, height):
        return _contain_on_blur(rgb, width, height)
    return _cover(rgb, width, height)


def _cover(rgb: U8, width: int, height: int) -> U8:
    image_h, image_w = rgb.shape[:2]
    scale = max(width / image_w, height / image_h)
    crop_w = min(image_w, max(1, round(width / scale)))
    crop_h = min(image_h, max(1, round(height / scale)))
    x0, y0 = (image_w - crop_w) // 2, (image_h - crop_h) // 2
    return _resize(rgb[y0 : y0 + crop_h, x0 : x0 + crop_w], width, height)


def _contain_on_blur(rgb: U8, width: int, height: int) -> U8:
    image_h, image_w = rgb.shape[:2]
    small_w, small_h = max(2, width // _FILL_SHRINK), max(2, height // _FILL_SHRINK)
    fill = cv2.GaussianBlur(_cover(rgb, small_w, small_h), (0, 0), sigmaX=max(small_w, small_h) / 40)
    fill = cv2.convertScaleAbs(fill, alpha=_FILL_BRIGHTNESS)
    canvas = cast(U8, cv2.resize(fill, (width, height), interpolation=cv2.INTER_CUBIC))
    scale = min(width / image_w, height / image_h)
    fg_w = min(width, max(1, round(image_w * scale)))
    fg_h = min(height, max(1, round(image_h * scale)))
    x0, y0 = (width - fg_w) // 2, (height - fg_h) // 2
    canvas[y0 : y0 + fg_h, x0 : x0 + fg_w] = _resize(rgb, fg_w, fg_h)
    return canvas


def _resize(rgb: U8, width: int, height: int) -> U8:
    if rgb.shape[1] <= width and rgb.shape[0] <= height:
        interpolation = cv2.INTER_CUBIC
    elif rgb.shape[1] < 2 * width and rgb.shape[0] < 2 * height:
        # Shrinking by less than half (the usual case, as JPEGs decode at a reduced scale first): bilinear
        # taps still reach every source pixel, and cost a fifth of INTER_AREA's fractional-ratio path.
        interpolation = cv2.INTER_LINEAR
    else:
        interpolation = cv2.INTER_AREA
    return cast(U8, cv2.resize(rgb, (width, height), interpolation=interpolation))
