"""A product ad's params and intake: what createProductAd's input becomes, and every check that refuses bad
input before anything is queued (an unknown style, an empty or overlong name or call to action, a call to
action that cannot fit the end card at the minimum type size, an upload that is not an image or audio)."""

from __future__ import annotations

from jobs.errors import UserError
from jobs.inputs import InputRef
from jobs.kind import InputLimits, Values
from jobs.kinds.explainer import check_speech
from jobs.params import OutputParams
from media.kinds.ad.layout import cta_size, fitted_size, font_for, layout_for, min_type
from media.kinds.ad.styles import STYLES, AdStyle, font_path, style_named
from media.kinds.ad.timeline import shown
from media.timeline.fonts import missing_glyphs

MAX_NAME_CHARS = 80
MAX_CTA_CHARS = 120
MAX_DESCRIPTION_CHARS = 1000
MAX_AUDIENCE_CHARS = 200


class ProductAdParams(OutputParams):
    product_name: str
    style: str
    cta_text: str
    product_image: InputRef | None = None
    description: str | None = None
    audience: str | None = None
    voice: str | None = None
    language: str = "en"
    music: InputRef | None = None

    @property
    def template(self) -> AdStyle:
        return STYLES[self.style]


def intake(values: Values, limits: InputLimits) -> ProductAdParams:
    params = ProductAdParams.model_validate(values)
    style = style_named(params.style)
    if style is None:
        raise UserError("UNKNOWN_STYLE", f"style {params.style!r} is not one of {', '.join(STYLES)}", "style")
    name, cta = (
        _text(params.product_name, "productName", MAX_NAME_CHARS),
        _text(params.cta_text, "ctaText", MAX_CTA_CHARS),
    )
    description = _optional(params.description, "description", MAX_DESCRIPTION_CHARS)
    audience = _optional(params.audience, "audience", MAX_AUDIENCE_CHARS)
    _fits_end_card(style, name, cta, params.width, params.height)
    _is(params.product_image, {"image"}, "productImage", "a JPEG, PNG, WebP or GIF image")
    _is(params.music, {"audio", "video"}, "music", "an audio file")
    check_speech(params.voice, params.language, limits)
    return params.model_copy(
        update={
            "style": style.name,
            "product_name": name,
            "cta_text": cta,
            "description": description,
            "audience": audience,
        }
    )


def _text(value: str, field: str, limit: int) -> str:
    text = " ".join(value.split())
    if not text:
        raise UserError("EMPTY_TEXT", f"{field} is empty", field)
    if len(text) > limit:
        raise UserError("TEXT_TOO_LONG", f"{field} has {len(text)} characters; the limit is {limit}", field)
    return text


def _optional(value: str | None, field: str, limit: int) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise UserError("TEXT_TOO_LONG", f"{field} has {len(text)} characters; the limit is {limit}", field)
    return text or None


def _fits_end_card(style: AdStyle, name: str, cta: str, width: int, height: int) -> None:
    """The name and the call to action must be drawable and fit the end card at the minimum type size."""
    for text, field, font in (
        (shown(style, name), "productName", font_path(style.type.headline)),
        (shown(style, cta), "ctaText", font_path(style.type.cta)),
    ):
        face = font_for(text, font, heavy=True)
        missing = missing_glyphs(face, text)
        if missing:
            raise UserError(
                "MISSING_GLYPHS", f"{field} has characters no font here can draw: {missing!r}", field
            )
    smallest = min_type(width, height)
    cta_text = shown(style, cta)
    if cta_size(cta_text, font_for(cta_text, font_path(style.type.cta), heavy=True), style.type.cta_size,
                width, height) is None:  # fmt: skip
        raise UserError(
            "CTA_TOO_LONG",
            f"ctaText does not fit the end card's button on two lines even at the minimum type size "
            f"({smallest} px at {width}x{height}); shorten it",
            "ctaText",
        )
    x, y, w, h = layout_for(width, height).end_name.pixels(width, height)
    name_text = shown(style, name)
    face = font_for(name_text, font_path(style.type.headline), heavy=True)
    if fitted_size(name_text, face, max(smallest, round(style.type.headline_size * min(width, height))),
                   smallest, w, h) is None:  # fmt: skip
        raise UserError(
            "TEXT_TOO_LONG",
            f"productName does not fit the end card on two lines even at the minimum type size "
            f"({smallest} px)",
            "productName",
        )


def _is(ref: InputRef | None, kinds: set[str], field: str, wanted: str) -> None:
    """An upload whose first bytes say it is something else is refused now; a URL is checked when fetched."""
    if ref is not None and ref.sniffed is not None and ref.sniffed not in kinds:
        found = "unrecognised data" if ref.sniffed == "unknown" else f"a {ref.sniffed} file"
        raise UserError("UNSUPPORTED_MEDIA", f"{field} must be {wanted}; this is {found}", field)
