"""An ad scene's picture: the style's backdrop with the product composited on it, under a soft shadow cast by
the product's own shape (its alpha channel: a cut-out casts a cut-out's shadow; a photo without transparency
becomes a card with rounded corners). The text goes on top as timeline layers, so it can animate.

Pillow only (no numpy), so the job kind that paints stays importable by the API process.
"""

import math
import os
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont

from media.kinds.ad.layout import Box, Layout
from media.kinds.ad.styles import AdStyle, Palette
from media.timeline.fonts import load

RGB = tuple[int, int, int]
PRODUCT_FILL = 0.92  # of its box: room for the shadow
SHADOW_DROP = 0.035  # the shadow's offset, as a share of the product's height


def rgb(colour: str) -> RGB:
    r, g, b = ImageColor.getrgb(colour)[:3]  # Pillow's parser: media.render.text's would load numpy
    return r, g, b


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def backdrop(style: AdStyle, layout: Layout, scene: int, width: int, height: int) -> Image.Image:
    """The style's backdrop for scene `scene` (0-3); each scene varies it a little, so a cut reads as a new
    shot. The end card (3) is calmer than the rest."""
    painter = {"vignette": _vignette, "burst": _burst, "plain": _plain, "blocks": _blocks}[style.backdrop]
    focus = layout.end_product if scene == 3 else layout.product
    return painter(style.palette, focus, scene, width, height)


def _vignette(p: Palette, focus: Box, scene: int, width: int, height: int) -> Image.Image:
    """Luxury: a warm glow behind the product fading to near-black edges, framed by a hairline."""
    edge, glow = rgb(p.background), rgb(p.backdrop)
    # Pillow's radial gradient reaches 255 only in its corners (~180 at the edges' middles): stretched so the
    # glow ends at the inscribed ellipse and meets the edge colour without a seam.
    ring = Image.radial_gradient("L").point(lambda v: min(255, v * 255 // 180))
    mask = ring.resize((round(width * 1.5), round(height * 1.1)), Image.Resampling.BILINEAR)
    cx = (focus.x + focus.w / 2) * width
    cy = (focus.y + focus.h / 2) * height
    full = Image.new("L", (width, height), 255)
    full.paste(mask, (round(cx - mask.width / 2), round(cy - mask.height / 2)))
    image = Image.composite(
        Image.new("RGB", (width, height), edge), Image.new("RGB", (width, height), glow), full
    )
    draw = ImageDraw.Draw(image)
    inset, line = round(min(width, height) * 0.035), max(1, round(min(width, height) * 0.0018))
    draw.rectangle([inset, inset, width - inset, height - inset], outline=rgb(p.accent), width=line)
    return image


def _burst(p: Palette, focus: Box, scene: int, width: int, height: int) -> Image.Image:
    """Energetic: a saturated diagonal gradient, rays turning from the product and a scatter of dots."""
    start, end = rgb(p.background), rgb(p.backdrop)
    ramp = Image.linear_gradient("L").rotate(35 + 40 * scene, expand=True, fillcolor=128)
    ramp = ramp.resize((width, height), Image.Resampling.BILINEAR)
    image = Image.composite(
        Image.new("RGB", (width, height), end), Image.new("RGB", (width, height), start), ramp
    )
    rays = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(rays)
    cx, cy = (focus.x + focus.w / 2) * width, (focus.y + focus.h / 2) * height
    reach = math.hypot(width, height)
    for k in range(12):
        a0 = math.radians(k * 30 + scene * 11)
        a1 = a0 + math.radians(13)
        draw.polygon(
            [(cx, cy), (cx + reach * math.cos(a0), cy + reach * math.sin(a0)),
             (cx + reach * math.cos(a1), cy + reach * math.sin(a1))],
            fill=70,
        )  # fmt: skip
    image = Image.composite(Image.new("RGB", (width, height), rgb(p.muted)), image, rays)
    dots = ImageDraw.Draw(image)
    short = min(width, height)
    for k in range(14):  # a fixed scatter (no randomness: a rerun paints the same picture)
        x = ((k * 0.618 + scene * 0.27) % 1.0) * width
        y = ((k * 0.382 + scene * 0.13) % 1.0) * height
        r = short * (0.008 + 0.012 * ((k * 7) % 5) / 4)
        dots.ellipse([x - r, y - r, x + r, y + r], fill=rgb(p.accent if k % 2 else p.text))
    return image


def _plain(p: Palette, focus: Box, scene: int, width: int, height: int) -> Image.Image:
    """Minimal: a flat light field, a faint floor under the product and a single hairline."""
    image = Image.new("RGB", (width, height), rgb(p.background))
    floor_top = round((focus.y + focus.h * 0.9) * height)
    ramp = Image.linear_gradient("L").resize((width, max(1, height - floor_top)), Image.Resampling.BILINEAR)
    floor = Image.new("RGB", ramp.size, rgb(p.backdrop))
    image.paste(floor, (0, floor_top), ramp.point(lambda v: v // 2))
    draw = ImageDraw.Draw(image)
    line = max(1, round(min(width, height) * 0.0015))
    y = floor_top
    draw.line([(width * 0.2, y), (width * 0.8, y)], fill=_mix(rgb(p.backdrop), rgb(p.muted), 0.4), width=line)
    return image


def _blocks(p: Palette, focus: Box, scene: int, width: int, height: int) -> Image.Image:
    """Bold: black, and one huge slanted band of the loud colour behind the product, kept within the
    product's own height so no text ever sits on it."""
    image = Image.new("RGB", (width, height), rgb(p.background))
    draw = ImageDraw.Draw(image)
    top, bottom = focus.y * height, (focus.y + focus.h) * height
    slant = (bottom - top) * (0.22 if scene % 2 == 0 else -0.22)
    inset = (bottom - top) * 0.1
    draw.polygon(
        [(0, top + inset + max(0.0, slant)), (width, top + inset + max(0.0, -slant)),
         (width, bottom - inset - max(0.0, slant)), (0, bottom - inset - max(0.0, -slant))],
        fill=rgb(p.backdrop),
    )  # fmt: skip
    return image


def stand_in(name: str, font: Path, palette: Palette, size: int) -> Image.Image:
    """A product picture when none was given: a rounded tile with the name's initials (never passed off as a
    photo of the product)."""
    tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 6, fill=rgb(palette.accent))
    initials = "".join(word[0] for word in name.split()[:2]).upper() or "?"
    face: ImageFont.FreeTypeFont = load(font, max(8, round(size * 0.42)))
    draw.text((size / 2, size / 2), initials, font=face, fill=rgb(palette.on_accent), anchor="mm")
    return tile


def composite_product(
    canvas: Image.Image, product: Image.Image, box: tuple[int, int, int, int], style: AdStyle
) -> tuple[int, int, int, int]:
    """The product (RGBA) fitted into `box` (x, y, w, h) on `canvas` (RGB, changed in place) over its soft
    shadow; returns where the product landed (x, y, w, h)."""
    bx, by, bw, bh = box
    scale = min(bw * PRODUCT_FILL / product.width, bh * PRODUCT_FILL / product.height)
    pw, ph = max(1, round(product.width * scale)), max(1, round(product.height * scale))
    fitted = product.resize((pw, ph), Image.Resampling.LANCZOS)
    if fitted.getchannel("A").getextrema()[0] == 255:  # opaque: a photo becomes a card with rounded corners
        corners = Image.new("L", (pw, ph), 0)
        ImageDraw.Draw(corners).rounded_rectangle(
            [0, 0, pw - 1, ph - 1], radius=round(min(pw, ph) * 0.04), fill=255
        )
        fitted.putalpha(corners)
    x, y = bx + (bw - pw) // 2, by + (bh - ph) // 2
    blur = max(1.0, style.shadow_blur * max(pw, ph))
    margin = math.ceil(blur * 3)
    drop = round(SHADOW_DROP * ph)
    # The shadow: the product's alpha, dimmed, dropped and blurred, drawn only over the region it can reach.
    region = (x - margin, y - margin + drop, x + pw + margin, y + ph + margin + drop)
    alpha = fitted.getchannel("A").point(lambda v: round(v * style.shadow_opacity))
    mask = Image.new("L", (pw + 2 * margin, ph + 2 * margin), 0)
    mask.paste(alpha, (margin, margin))
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    shadow = Image.new("RGB", mask.size, rgb(style.palette.shadow))
    canvas.paste(shadow, region[:2], mask)
    canvas.paste(fitted.convert("RGB"), (x, y), fitted.getchannel("A"))
    return x, y, pw, ph


def paint_scene(
    style: AdStyle,
    layout: Layout,
    scene: int,
    width: int,
    height: int,
    product: Image.Image,
) -> Image.Image:
    """Scene `scene` (0-3): the backdrop and the product (RGBA) in the scene's product box."""
    canvas = backdrop(style, layout, scene, width, height)
    box = (layout.end_product if scene == 3 else layout.product).pixels(width, height)
    composite_product(canvas, product, box, style)
    return canvas


def save_png(image: Image.Image, path: Path) -> None:
    """Written under a temporary name first, so a rerun never leaves half a picture under the real one."""
    partial = path.with_name(f".{path.name}.part")
    image.save(partial, format="PNG", compress_level=3)  # ~3x faster than the default, barely larger
    os.replace(partial, path)
