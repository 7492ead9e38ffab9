"""What every LLM script writer shares: the JSON schema of a Script sent to the model, the prompt, and the
validation of the model's answer.

A model's JSON is never trusted: pydantic validates it against the same Script model the pipeline uses. A
malformed answer gets one more chance, with the validation error sent back in the same conversation (models
fix a named mistake far more reliably than they avoid it on a fresh try); a second malformed answer fails the
stage with SCRIPT_INVALID. Each vendor module only says how its API carries turns (a `Dialect`).
"""

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from pydantic import ValidationError

from media.providers.http import ProviderError
from media.script import VISUAL_TYPES, Script

# Writing a whole script takes a model tens of seconds; the caller's client default (often 5 s) would cut it.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
MAX_SCENES = 50  # Script's own limit
Turn = dict[str, Any]

_SCENE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "narration": {"type": "string", "description": "What the voice says: plain spoken sentences."},
        "visual": {"type": "string", "enum": list(VISUAL_TYPES)},
        "title": {"type": "string", "description": "A short on-screen heading (at most 8 words)."},
        "content": {"type": "string", "description": "What the visual shows; its format depends on visual."},
        "code_language": {"type": ["string", "null"], "description": "Pygments lexer name for code."},
        "duration_hint": {"type": ["number", "null"], "description": "Seconds the scene should last."},
    },
    # OpenAI's strict mode wants every property required; optional ones are nullable instead.
    "required": ["narration", "visual", "title", "content", "code_language", "duration_hint"],
    "additionalProperties": False,
}
SCRIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "The video's title."},
        "scenes": {"type": "array", "items": _SCENE_SCHEMA},
    },
    "required": ["title", "scenes"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """You turn a source text into the scene script of a short narrated explainer video.
Answer only with the script as JSON matching the given schema.
Each scene has narration (one to three spoken sentences, 25 to 50 words, no markdown, no symbols read out)
and one visual:
- "slide": title = a short heading; content = 2 to 4 key phrases, one per line.
- "code": content = the code exactly as in the source; code_language = its Pygments name (e.g. "python").
  The narration says what the code does; it never reads the code aloud.
- "formula": content = the LaTeX math without $ delimiters; the narration explains it in words.
- "diagram": content = a flowchart, one edge per line, like: A[Load data] --> B[Clean it]
- "image": content = a prompt for a picture; use only when a picture explains better than text.
- "title": only for an opening scene; title = the video's title, content = a subtitle.
Cover the whole source text in order. Keep code and formulas from the source unchanged."""


def build_prompt(text: str, *, title: str | None, max_scenes: int, language: str) -> str:
    """The user turn: the rules that vary per job, then the source text, fenced so it reads as data."""
    title_rule = f'Use exactly this title: "{title}".' if title else "Choose a short title."
    return (
        f"Write at most {max_scenes} scenes. {title_rule} Write the narration and all on-screen text "
        f"in the language with BCP 47 tag {language!r}.\n\nSource text:\n<<<\n{text}\n>>>"
    )


class ScriptInvalid(Exception):
    """The model's answer is not a valid Script; the message is what the model is told to fix."""


def validate_script(payload: object, *, title: str | None, max_scenes: int) -> Script:
    """The model's answer (JSON text or an already decoded object) as a Script, or ScriptInvalid."""
    data = payload
    if isinstance(payload, str):
        try:
            data = json.loads(_unfence(payload))
        except json.JSONDecodeError as exc:
            raise ScriptInvalid(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    if data is None:
        raise ScriptInvalid("the answer was empty")
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'script'}: {error['msg']}"
            for error in exc.errors()[:8]
        )
        raise ScriptInvalid(f"the JSON does not match the schema: {problems}") from exc
    if len(script.scenes) > max_scenes:
        raise ScriptInvalid(f"the script has {len(script.scenes)} scenes; at most {max_scenes} are allowed")
    # The caller's title wins: it is what the user typed, whatever the model made of it.
    return script.model_copy(update={"title": title[:200]}) if title else script


def _unfence(text: str) -> str:
    """Some models wrap JSON in a ```json fence even when asked not to."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped[3:-3]
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else stripped
    return stripped


@dataclass(frozen=True)
class Reply:
    turn: Turn  # the model's answer as the vendor wants it echoed back in the conversation
    payload: object  # the script: JSON text or an already decoded object
    call_id: str | None = None  # the tool call the answer came in, when the vendor uses tools


class Dialect(Protocol):
    """How one vendor's API carries a conversation."""

    provider: str

    def user_turn(self, text: str) -> Turn: ...

    async def complete(self, turns: list[Turn]) -> Reply: ...

    def correction(self, reply: Reply, error: str) -> Turn: ...


async def write_validated(
    dialect: Dialect, text: str, *, title: str | None, max_scenes: int, language: str
) -> Script:
    """Ask for the script; if the answer is invalid, ask once more with the error, then give up."""
    max_scenes = max(1, min(MAX_SCENES, max_scenes))
    turns = [dialect.user_turn(build_prompt(text, title=title, max_scenes=max_scenes, language=language))]
    reply = await dialect.complete(turns)
    try:
        return validate_script(reply.payload, title=title, max_scenes=max_scenes)
    except ScriptInvalid as first:
        error = f"Your script was rejected: {first}. Answer again with the whole corrected script."
        turns += [reply.turn, dialect.correction(reply, error)]
    reply = await dialect.complete(turns)
    try:
        return validate_script(reply.payload, title=title, max_scenes=max_scenes)
    except ScriptInvalid as second:
        raise ProviderError(
            "SCRIPT_INVALID", f"{dialect.provider} wrote an invalid script twice: {second}"
        ) from second


def bad_response(provider: str, exc: Exception) -> ProviderError:
    """A 2xx answer whose envelope is not what the vendor documents (not the model's fault, nor ours)."""
    return ProviderError("PROVIDER_BAD_RESPONSE", f"{provider} answered in an unexpected shape: {exc!r}")
