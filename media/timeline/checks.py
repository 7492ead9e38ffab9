"""Whole-timeline validation, before anything renders: every problem is reported at once, each with the path
of what is wrong (`tracks[1].clips[3].duration must be > 0`), so a client can point at the field.

Field-level rules live on the model; here are the rules that need the whole picture (limits the service is
configured with, clips overlapping on a track, fonts and files that must exist, glyphs the font must have).
"""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from media.errors import MediaError
from media.timeline.fonts import check_font, missing_glyphs, resolve
from media.timeline.model import (
    LAYER_TYPES,
    CaptionsClip,
    ImageClip,
    OverlayClip,
    TextClip,
    Timeline,
    VideoClip,
)
from media.timeline.schedule import EPSILON, Placed, duration_of, place

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
_LENGTH_FIELDS = {"x", "y", "width", "height", "max_width"}

Problem = tuple[str, str]  # (path, message)


@dataclass(frozen=True)
class Limits:
    max_side: int = 4096
    max_seconds: float = 30 * 60
    max_fps: int = 60


class InvalidTimeline(MediaError):
    """INVALID_TIMELINE, with every problem as a (path, message) pair for the API to return."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("INVALID_TIMELINE", "; ".join(f"{path} {message}" for path, message in problems))


def parse_timeline(
    data: str | bytes | dict[str, Any], limits: Limits | None = None, *, files: bool = True
) -> Timeline:
    """Parse JSON (or already decoded JSON) into a checked Timeline; raises InvalidTimeline or MediaError.
    With files=False the media and font files are not looked at (they are still to be fetched)."""
    try:
        if isinstance(data, dict):
            timeline = Timeline.model_validate(data)
        else:
            timeline = Timeline.model_validate_json(data)
    except ValidationError as exc:
        raise InvalidTimeline(_from_pydantic(exc.errors())) from None
    validate_timeline(timeline, limits, files=files)
    return timeline


def validate_timeline(
    timeline: Timeline, limits: Limits | None = None, *, files: bool = True
) -> list[Placed]:
    """The clips placed in time, or InvalidTimeline listing every problem; MISSING_GLYPHS for text a font
    cannot draw."""
    limits = limits or Limits()
    placed = place(timeline)
    problems = _output(timeline, placed, limits)
    problems += _tracks(placed)
    for p in placed:
        problems += _clip(p, files)
    for t_index, track in enumerate(timeline.audio):
        for c_index, sound in enumerate(track.clips):
            path = f"audio[{t_index}].clips[{c_index}]"
            if files and not sound.source.is_file():
                problems.append((f"{path}.source", f"file {str(sound.source)!r} does not exist"))
            if sound.duration is not None and sound.fade_in + sound.fade_out > sound.duration + EPSILON:
                problems.append((f"{path}.fade_out", "fade_in + fade_out must not exceed duration"))
    if problems:
        raise InvalidTimeline(problems)
    _glyphs(placed, files)
    return placed


def _output(timeline: Timeline, placed: list[Placed], limits: Limits) -> list[Problem]:
    out = timeline.output
    problems: list[Problem] = []
    for name, value in (("width", out.width), ("height", out.height)):
        if value > limits.max_side:
            problems.append((f"output.{name}", f"must be <= {limits.max_side}"))
        if value % 2:
            problems.append((f"output.{name}", "must be even (yuv420p halves it for chroma)"))
    if out.fps > limits.max_fps:
        problems.append(("output.fps", f"must be <= {limits.max_fps}"))
    if out.preset not in X264_PRESETS:
        problems.append(("output.preset", f"must be one of {', '.join(X264_PRESETS)}"))
    duration = duration_of(timeline, placed)
    if duration <= 0:
        problems.append(("output.duration", "is zero: the timeline has no clips with a duration"))
    elif duration > limits.max_seconds + EPSILON:
        problems.append(("output.duration", f"{duration:g} s must be <= {limits.max_seconds:g} s"))
    elif round(duration * out.fps) < 1:
        problems.append(("output.duration", "is shorter than one frame"))
    if out.poster_time is not None and out.poster_time >= duration:
        problems.append(("output.poster_time", "must fall inside the video"))
    return problems


def _tracks(placed: list[Placed]) -> list[Problem]:
    problems: list[Problem] = []
    by_track: dict[int, list[Placed]] = {}
    for p in placed:
        by_track.setdefault(p.track, []).append(p)
    for clips in by_track.values():
        clips.sort(key=lambda p: p.index)
        if clips[0].clip.transition is not None:
            problems.append((f"{clips[0].path}.transition", "has no previous clip on its track to join"))
        for before, after in zip(clips, clips[1:], strict=False):
            tr = after.clip.transition
            if tr is None:
                if after.start < before.end - EPSILON:
                    problems.append(
                        (f"{after.path}.start", f"overlaps {before.path} but no transition joins them")
                    )
                continue
            if tr.duration > min(before.clip.duration, after.clip.duration) + EPSILON:
                problems.append(
                    (f"{after.path}.transition.duration", "must not exceed either clip's duration")
                )
            elif abs((before.end - after.start) - tr.duration) > 1e-3:
                problems.append(
                    (
                        f"{after.path}.start",
                        f"must be {tr.duration:g} s before {before.path} ends so its transition joins them",
                    )
                )
    return problems


def _clip(p: Placed, files: bool) -> list[Problem]:
    clip = p.clip
    problems: list[Problem] = []
    if p.start < 0:
        problems.append((f"{p.path}.start", "must be >= 0"))
    animated = (clip.enter.duration if clip.enter else 0.0) + (clip.exit.duration if clip.exit else 0.0)
    if animated > clip.duration + EPSILON:
        problems.append((f"{p.path}.exit", "enter and exit animations must fit in the clip's duration"))
    if files and isinstance(clip, ImageClip | VideoClip | OverlayClip) and not clip.source.is_file():
        problems.append((f"{p.path}.source", f"file {str(clip.source)!r} does not exist"))
    if isinstance(clip, ImageClip) and clip.ken_burns is not None and clip.fit == "contain":
        problems.append((f"{p.path}.fit", "must be cover, blur or auto with ken_burns (contain leaves gaps)"))
    if isinstance(clip, TextClip | CaptionsClip) and (files or clip.style.font is None):
        reason = check_font(resolve(clip.style.font, clip.style.mono))
        if reason is not None:
            problems.append((f"{p.path}.style.font", reason))
    if isinstance(clip, CaptionsClip):
        previous = 0.0
        for w_index, word in enumerate(clip.words):
            where = f"{p.path}.words[{w_index}]"
            if word.end <= word.start:
                problems.append((f"{where}.end", "must be after the word's start"))
            if word.start < previous - EPSILON:
                problems.append((f"{where}.start", "words must be in time order"))
            previous = word.start
    return problems


def _glyphs(placed: list[Placed], files: bool) -> None:
    for p in placed:
        clip = p.clip
        if isinstance(clip, TextClip | CaptionsClip) and (files or clip.style.font is None):
            text = clip.text if isinstance(clip, TextClip) else " ".join(w.text for w in clip.words)
            font = resolve(clip.style.font, clip.style.mono)
            missing = missing_glyphs(font, text)
            if missing:
                raise MediaError(
                    "MISSING_GLYPHS",
                    f"{p.path}: the font {font.name} has no glyphs for {missing!r}; pick a font with them",
                )


def _from_pydantic(errors: list[ErrorDetails]) -> list[Problem]:
    problems: dict[str, str] = {}
    for error in errors:
        parts: list[str] = []
        loc = error["loc"]
        for k, part in enumerate(loc):
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif part in LAYER_TYPES and k > 0 and isinstance(loc[k - 1], int):
                continue  # the union's tag, already implied by the clip
            elif not part.isidentifier():
                continue  # a union member's name such as "constrained-str"
            else:
                parts.append(f".{part}" if parts else part)
        path = "".join(parts) or "timeline"
        if error["type"].startswith("union_tag"):
            path += ".type"
        if path.rsplit(".", 1)[-1] in _LENGTH_FIELDS:
            problems[path] = 'must be pixels (a number) or a share of the frame like "25%"'
        elif path not in problems:
            problems[path] = _message(error)
    return list(problems.items())


def _message(error: ErrorDetails) -> str:
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    simple = {
        "greater_than": ("must be > {:g}", "gt"),
        "greater_than_equal": ("must be >= {:g}", "ge"),
        "less_than": ("must be < {:g}", "lt"),
        "less_than_equal": ("must be <= {:g}", "le"),
    }
    if kind in simple:
        template, key = simple[kind]
        return template.format(float(ctx.get(key, 0)))
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "union_tag_invalid":
        return f"has unknown layer type {ctx.get('tag')!r}; expected one of {', '.join(LAYER_TYPES)}"
    if kind == "union_tag_not_found":
        return f"needs a type, one of {', '.join(LAYER_TYPES)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch" and "#" in str(ctx.get("pattern", "")):
        return "must be a colour like #ff8800 or #ff880080"
    message = str(error["msg"])
    return message[0].lower() + message[1:] if message else "is invalid"
