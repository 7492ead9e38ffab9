"""A short's expansion and storyboard from a language model (any vendor of media.providers.llm): the JSON
Schemas (OpenAI's strict subset), the prompts, and the checks of the answers against the same models the
pipeline uses. A storyboard whose durations miss the target by a little is scaled to it; by more, or with
text that breaks the storyboard's rules, it goes back to the model with the problems (then SCRIPT_INVALID)."""

from typing import Any

from pydantic import ValidationError

from media.providers.llm.base import Ask, Invalid
from media.storyboard import (
    FORMATS,
    MAX_ON_SCREEN_WORDS,
    TONES,
    Expansion,
    Storyboard,
    StoryboardInvalid,
    parse_storyboard,
)

_TEXT_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
EXPANSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "A punchy title, at most 8 words."},
        "logline": {"type": "string", "description": "One sentence: what the short says and to whom."},
        "tone": {"type": "string", "enum": list(TONES)},
        "format": {"type": "string", "enum": list(FORMATS)},
        "audience": {"type": "string", "description": "Who it is for, a few words."},
        "hooks": {**_TEXT_LIST, "description": "3 opening lines that stop the scroll, each under 15 words."},
        "outline": {**_TEXT_LIST, "description": "3 to 6 beats, in order, a few words each."},
    },
    "required": ["title", "logline", "tone", "format", "audience", "hooks", "outline"],
    "additionalProperties": False,
}
_SCENE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "visualPrompt": {"type": "string", "description": "What the picture shows, for an image model."},
        "narration": {"type": "string", "description": "What the voice says in this scene."},
        "onScreenText": {"type": "string", "description": f"At most {MAX_ON_SCREEN_WORDS} words."},
        "duration": {"type": "number", "description": "Seconds."},
    },
    "required": ["visualPrompt", "narration", "onScreenText", "duration"],
    "additionalProperties": False,
}
STORYBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "scenes": {"type": "array", "items": _SCENE_SCHEMA}},
    "required": ["title", "scenes"],
    "additionalProperties": False,
}

EXPAND_SYSTEM = """You plan short vertical videos (TikTok, Reels, Shorts) from a one-line idea.
Answer only with JSON matching the given schema. Keep the user's tone, format and audience when given.
Write every text in the language with the given BCP 47 tag."""

STORYBOARD_SYSTEM = f"""You write storyboards for short vertical videos (9:16) from a plan.
Answer only with JSON matching the given schema. The first scene is the hook (its narration is one of the
plan's hooks); then one scene per beat of the outline; the last scene is a closing line.
Each scene: narration that a voice can say in its duration (about 2.5 words per second, leave half a
second free), onScreenText of at most {MAX_ON_SCREEN_WORDS} words (big text on a phone), a visualPrompt
describing a picture without any text or letters in it, and a duration in seconds.
Write narration and onScreenText in the language with the given BCP 47 tag."""


def expansion_ask(
    idea: str, *, tone: str | None, format: str | None, audience: str | None, language: str
) -> Ask[Expansion]:
    wishes = [f"tone: {tone}" if tone else "", f"format: {format}" if format else ""]
    wishes.append(f"audience: {audience}" if audience else "")
    given = "; ".join(w for w in wishes if w) or "none: choose what fits the idea"
    prompt = f"Language: {language}. Given: {given}.\n\nIdea:\n<<<\n{idea}\n>>>"
    return Ask(
        name="video_plan",
        system=EXPAND_SYSTEM,
        prompt=prompt,
        schema=EXPANSION_SCHEMA,
        check=lambda data: check_expansion(data, tone=tone, format=format, audience=audience),
    )


def check_expansion(data: object, *, tone: str | None, format: str | None, audience: str | None) -> Expansion:
    try:
        plan = Expansion.model_validate(data)
    except ValidationError as exc:
        raise Invalid(f"the JSON does not match the schema: {_problems(exc)}") from exc
    if plan.tone not in TONES or plan.format not in FORMATS:
        raise Invalid(f"tone must be one of {', '.join(TONES)} and format one of {', '.join(FORMATS)}")
    # What the user chose wins over what the model made of it.
    chosen = {"tone": tone, "format": format, "audience": audience}
    return plan.model_copy(update={k: v for k, v in chosen.items() if v})


def storyboard_ask(
    idea: str, plan: Expansion | None, *, seconds: float, language: str, min_scenes: int = 0
) -> Ask[Storyboard]:
    """`plan` None: no expansion was asked for; the model plans from the idea alone."""
    scenes = max(3 + 2, min_scenes)
    planned = (
        f"Plan:\n{plan.model_dump_json(by_alias=True)}"
        if plan
        else "No plan: write a hook, 3 to 6 beats, a close."
    )
    prompt = (
        f"Language: {language}. The durations add up to exactly {seconds:g} seconds. Write at least "
        f"{scenes} and at most {max(8, min_scenes)} scenes.\n\n{planned}\n\nIdea:\n<<<\n{idea}\n>>>"
    )
    return Ask(
        name="storyboard",
        system=STORYBOARD_SYSTEM,
        prompt=prompt,
        schema=STORYBOARD_SCHEMA,
        check=lambda data: check_storyboard(data, seconds=seconds, min_scenes=min_scenes),
    )


def check_storyboard(data: object, *, seconds: float, min_scenes: int = 0) -> Storyboard:
    """The answer as a Storyboard of exactly `seconds`, or Invalid listing every problem."""
    try:
        board = parse_storyboard(data, min_seconds=0.8 * seconds, max_seconds=1.2 * seconds)
    except StoryboardInvalid as exc:
        raise Invalid("; ".join(f"{path}: {message}" for path, message in exc.problems[:8])) from exc
    if len(board.scenes) < max(3, min_scenes):
        raise Invalid(f"write at least {max(3, min_scenes)} scenes, not {len(board.scenes)}")
    # Models add durations up loosely; within a fifth of the target they are scaled to it exactly.
    scale = seconds / board.seconds
    scenes = [s.model_copy(update={"duration": round(s.duration * scale, 2)}) for s in board.scenes]
    rest = round(seconds - sum(s.duration for s in scenes[:-1]), 2)
    scenes[-1] = scenes[-1].model_copy(update={"duration": rest})
    return Storyboard(title=board.title, scenes=scenes)


def _problems(exc: ValidationError, limit: int = 8) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
        for error in exc.errors()[:limit]
    )
