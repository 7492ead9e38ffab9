"""createExplainer: check the text and options, then submit the job."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from db.ids import new_id
from jobs.explainer import EXPLAINER, ExplainerParams
from media.errors import MediaError
from media.kinds.explainer import THEMES
from resolvers.context import Context
from resolvers.errors import UserError
from resolvers.idempotency import check_key
from resolvers.slideshow import SIZE_PRESETS
from resolvers.submit import submit
from resolvers.views import JobView

MAX_SCENES = 20
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@dataclass
class ExplainerRequest:
    source_text: str
    title: str | None = None
    size: str = "1080x1920"
    voice: str | None = None
    language: str = "en"
    visual_style: str = "dark"
    max_scenes: int = 8
    preview: bool = False
    idempotency_key: str | None = None


async def create_explainer(ctx: Context, req: ExplainerRequest) -> JobView:
    limits = ctx.services.limits
    check_key(req.idempotency_key)
    text = req.source_text.strip()
    if not text:
        raise UserError("EMPTY_TEXT", "sourceText is empty", "sourceText")
    if len(text) > limits.max_source_chars:
        raise UserError(
            "TEXT_TOO_LONG",
            f"sourceText has {len(text)} characters; the limit is {limits.max_source_chars}",
            "sourceText",
        )
    if req.size not in SIZE_PRESETS:
        raise UserError("UNKNOWN_SIZE", f"size {req.size!r} is not one of {', '.join(SIZE_PRESETS)}", "size")
    if not 1 <= req.max_scenes <= MAX_SCENES:
        raise UserError("INVALID_SCENE_COUNT", f"maxScenes must be 1 to {MAX_SCENES}", "maxScenes")
    if req.visual_style not in THEMES:
        styles = ", ".join(THEMES)
        raise UserError(
            "UNKNOWN_STYLE", f"visualStyle {req.visual_style!r} is not one of {styles}", "visualStyle"
        )
    _check_speech(req.voice, req.language, limits.check_voice)
    width, height = SIZE_PRESETS[req.size]
    params = ExplainerParams(
        source_text=text,
        title=(req.title or "").strip() or None,
        width=width,
        height=height,
        fps=limits.render_fps,
        voice=req.voice,
        language=req.language,
        visual_style=req.visual_style,
        max_scenes=req.max_scenes,
        preset=limits.render_preset,
        crf=limits.render_crf,
        preview=req.preview,
    )
    return await submit(ctx, new_id(), EXPLAINER, params, idempotency_key=req.idempotency_key)


def _check_speech(voice: str | None, language: str, check: Callable[[str | None, str], None] | None) -> None:
    if not _LANGUAGE.match(language.strip().lower().replace("_", "-")):
        message = f"language {language!r} is not a language tag like en or pt-BR"
        raise UserError("UNSUPPORTED_LANGUAGE", message, "language")
    if check is None:
        return
    try:
        check(voice, language)
    except MediaError as exc:
        if voice is None:
            raise UserError("UNSUPPORTED_LANGUAGE", exc.message, "language") from exc
        raise UserError("UNSUPPORTED_VOICE", exc.message, "voice") from exc
