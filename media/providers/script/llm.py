"""The explainer's script from a language model (any vendor of media.providers.llm): the JSON schema of a
Script, the prompt, and the check of the answer against the same Script model the pipeline uses."""

from typing import Any

from pydantic import ValidationError

from media.providers.llm.base import LLM, Ask, Invalid, answer
from media.script import VISUAL_TYPES, Script

MAX_SCENES = 50  # Script's own limit

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


def validate_script(data: object, *, title: str | None, max_scenes: int) -> Script:
    """The model's decoded answer as a Script, or Invalid saying what to fix."""
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        raise Invalid(f"the JSON does not match the schema: {problems(exc)}") from exc
    if len(script.scenes) > max_scenes:
        raise Invalid(f"the script has {len(script.scenes)} scenes; at most {max_scenes} are allowed")
    # The caller's title wins: it is what the user typed, whatever the model made of it.
    return script.model_copy(update={"title": title[:200]}) if title else script


def problems(exc: ValidationError, limit: int = 8) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
        for error in exc.errors()[:limit]
    )


def script_ask(text: str, *, title: str | None, max_scenes: int, language: str) -> Ask[Script]:
    max_scenes = max(1, min(MAX_SCENES, max_scenes))
    return Ask(
        name="scene_script",
        system=SYSTEM_PROMPT,
        prompt=build_prompt(text, title=title, max_scenes=max_scenes, language=language),
        schema=SCRIPT_SCHEMA,
        check=lambda data: validate_script(data, title=title, max_scenes=max_scenes),
    )


class LLMScriptWriter:
    """A ScriptWriter on a language model."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm

    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        return await answer(self.llm, script_ask(text, title=title, max_scenes=max_scenes, language=language))
