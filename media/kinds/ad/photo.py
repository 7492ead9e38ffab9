"""The product photo: opened safely (an untrusted upload), kept with its transparency, and made small enough
to show a language model.

Only JPEG, PNG, WebP and GIF are parsed and the pixel count is checked from the header before any pixel is
decoded, as for every image input (media.render.images); Pillow alone, so the job kind that uses it stays
light for the API process.
"""

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from media.errors import MediaError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_PIXELS = 50_000_000
# Anthropic's advice: images over 1568 px on the long edge are scaled down by the API anyway (costing time to
# first token), and a request's image must stay under 5 MB.
MODEL_EDGE = 1568


def load_product(path: Path) -> Image.Image:
    """The photo upright, as RGBA: its own alpha when it has one, else fully opaque."""
    name = path.name
    try:
        with Image.open(path, formats=ALLOWED_FORMATS) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise MediaError(
                    "IMAGE_TOO_LARGE",
                    f"{name} is {width}x{height} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels",
                )
            image.load()
            rgba = ImageOps.exif_transpose(image).convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            "IMAGE_TOO_LARGE", f"{name} is larger than {MAX_PIXELS // 1_000_000} megapixels"
        ) from exc
    except UnidentifiedImageError as exc:
        raise MediaError("UNSUPPORTED_IMAGE", f"{name} is not a JPEG, PNG, WebP or GIF image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("IMAGE_DECODE_FAILED", f"{name} is damaged or truncated: {exc}") from exc
    # A cut-out's empty margins would shrink the product in its box and push its shadow away from it.
    shape = rgba.getchannel("A").getbbox()
    if shape is None:
        raise MediaError("IMAGE_DECODE_FAILED", f"{name} is fully transparent: there is no product to show")
    return rgba.crop(shape)


def has_transparency(image: Image.Image) -> bool:
    low, _ = image.getchannel("A").getextrema()
    return isinstance(low, int) and low < 255


def for_model(image: Image.Image) -> tuple[str, bytes]:
    """(media type, bytes) of the photo for a model to look at: at most MODEL_EDGE px on its long edge, PNG
    when it has transparency (a cut-out reads as one), else JPEG."""
    copy = image.copy()
    copy.thumbnail((MODEL_EDGE, MODEL_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if has_transparency(copy):
        copy.save(out, format="PNG", optimize=False, compress_level=6)
        return "image/png", out.getvalue()
    copy.convert("RGB").save(out, format="JPEG", quality=88)
    return "image/jpeg", out.getvalue()
