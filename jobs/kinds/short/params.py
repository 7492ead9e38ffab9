"""A short's params and its intake: every bad input refused with a typed error before anything is queued
(an empty or overlong idea, a storyboard with problems, each with its path, a length out of range, more
images than scenes, an unknown tone, format, mood, caption style, voice or language)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from jobs.errors import UserError
from jobs.inputs import InputRef
from jobs.kind import InputLimits, Values
from jobs.kinds.explainer import check_speech
from jobs.params import OutputParams
from media.kinds.short_look import CAPTION_STYLES
from media.storyboard import (
    FORMATS,
    MAX_SCENES,
    MAX_SECONDS,
    MIN_SECONDS,
    MUSIC_MOODS,
    TONES,
    Storyboard,
    StoryboardInvalid,
    parse_storyboard,
)

DEFAULT_SECONDS = 30.0
MAX_AUDIENCE_CHARS = 120


class ShortParams(OutputParams):
    idea: str | None = None
    tone: str | None = None  # None: the expansion (or the storyboard's words) decides
    format: str | None = None
    audience: str | None = None
    language: str = "en"
    voice: str | None = None
    duration_seconds: float = DEFAULT_SECONDS
    expand: bool = True
    storyboard: Storyboard | None = None  # given: drafting writes nothing and the video follows it
    images: list[InputRef] = Field(default_factory=list)  # image k is scene k's picture
    music: InputRef | None = None
    music_mood: str | None = None  # None: the tone's mood
    captions: bool = True
    caption_style: str = "highlight"
    motion: bool = False  # each picture made into video by the image-to-video provider, where one is set


def intake(values: Values, limits: InputLimits) -> ShortParams:
    raw: dict[str, Any] = dict(values)
    storyboard = _storyboard(raw.pop("storyboard", None), raw.get("duration_seconds"))
    duration = raw.pop("duration_seconds", None)
    if duration is None:
        duration = storyboard.seconds if storyboard else DEFAULT_SECONDS
    if not MIN_SECONDS <= duration <= MAX_SECONDS:
        raise UserError(
            "INVALID_DURATION",
            f"durationSeconds must be {MIN_SECONDS:g} to {MAX_SECONDS:g}, not {duration:g}",
            "durationSeconds",
        )
    idea = " ".join(str(raw.pop("idea", None) or "").split())
    if storyboard is None and not idea:
        raise UserError("EMPTY_IDEA", "give an idea (or a storyboard)", "idea")
    if len(idea) > limits.max_idea_chars:
        raise UserError(
            "IDEA_TOO_LONG", f"idea has {len(idea)} characters; the limit is {limits.max_idea_chars}", "idea"
        )
    _one_of(raw.get("tone"), TONES, "UNKNOWN_TONE", "tone")
    _one_of(raw.get("format"), FORMATS, "UNKNOWN_FORMAT", "format")
    _one_of(raw.get("music_mood"), MUSIC_MOODS, "UNKNOWN_MOOD", "musicMood")
    _one_of(raw.get("caption_style"), CAPTION_STYLES, "UNKNOWN_CAPTION_STYLE", "captionStyle")
    if raw.get("music") is not None and raw.get("music_mood"):
        raise UserError(
            "CONFLICTING_INPUTS", "give music (musicUrl or an upload) or musicMood, not both", "music"
        )
    audience = " ".join(str(raw.pop("audience", None) or "").split())
    if len(audience) > MAX_AUDIENCE_CHARS:
        raise UserError(
            "AUDIENCE_TOO_LONG", f"audience is longer than {MAX_AUDIENCE_CHARS} characters", "audience"
        )
    images = raw.get("images") or []
    scenes = len(storyboard.scenes) if storyboard else MAX_SCENES
    if len(images) > scenes:
        where = "the storyboard has" if storyboard else "a short has at most"
        raise UserError(
            "TOO_MANY_IMAGES", f"{len(images)} images for {scenes} scenes: {where} {scenes} scenes", "images"
        )
    params = ShortParams.model_validate(
        {**raw, "idea": idea or None, "audience": audience or None, "duration_seconds": duration}
    )
    check_speech(params.voice, params.language, limits)
    return params.model_copy(update={"storyboard": storyboard})


def _storyboard(data: object, duration: object) -> Storyboard | None:
    if data is None:
        return None
    try:
        board = parse_storyboard(data)
    except StoryboardInvalid as exc:
        problems = [(f"storyboard.{path}" if path != "storyboard" else path, m) for path, m in exc.problems]
        raise UserError(
            "INVALID_STORYBOARD",
            f"the storyboard has {len(problems)} problem{'s' if len(problems) != 1 else ''}: {exc}",
            "storyboard",
            problems,
        ) from exc
    if isinstance(duration, int | float) and abs(float(duration) - board.seconds) > 0.05:
        raise UserError(
            "CONFLICTING_INPUTS",
            f"durationSeconds is {duration:g} but the storyboard's scenes add up to {board.seconds:g} s",
            "durationSeconds",
        )
    return board


def _one_of(value: object, allowed: tuple[str, ...], code: str, field: str) -> None:
    if value is not None and value not in allowed:
        raise UserError(code, f"{field} {value!r} is not one of {', '.join(allowed)}", field)
