"""A product ad's script: a hook, four scenes (headline, feature line, one voiceover line each) and the call
to action, the fourth scene being the end card. Written by a language model through the shared seam
(media.providers.llm: an Ask with the product photo as an image, a JSON Schema and a check), or offline by
the style's own rules (media.kinds.ad.writer).

Whoever wrote it, the user's words win: the end card's headline is the product name and the call to action is
the user's, verbatim. A voiceover line has a word budget from its scene's planned length, so a model that
writes too much is told so and corrects itself before any voice is paid for.
"""

import math
from typing import Any

from pydantic import Field, ValidationError

from media.kinds.ad.styles import SCENES, AdStyle
from media.providers.llm.base import Ask, Image, Invalid
from media.script import Data

# A comfortable ad read is ~2.5 words a second; with the pauses around each line a scene's budget is a little
# under that. The voice stage still measures the real speech (a line too long is lengthened or refused).
WORDS_PER_SECOND = 2.3
PAUSE_SECONDS = 0.9
MAX_HEADLINE_WORDS = 7
MAX_FEATURE_WORDS = 12


class AdScene(Data):
    headline: str = Field(min_length=1, max_length=80)
    feature: str = Field("", max_length=120)
    voiceover: str = Field(min_length=1, max_length=400)


class AdScript(Data):
    product: str = Field(min_length=1, max_length=80)
    style: str
    hook: str = Field(min_length=1, max_length=80)
    cta: str = Field(min_length=1, max_length=120)
    scenes: list[AdScene] = Field(min_length=SCENES, max_length=SCENES)


def word_budget(seconds: float) -> int:
    return max(4, math.floor((seconds - PAUSE_SECONDS) * WORDS_PER_SECOND))


def words(text: str) -> int:
    return len(text.split())


_SCENE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "headline": {
            "type": "string",
            "description": f"On-screen headline, at most {MAX_HEADLINE_WORDS} words.",
        },
        "feature": {
            "type": "string",
            "description": f"A short supporting line, at most {MAX_FEATURE_WORDS} words.",
        },
        "voiceover": {"type": "string", "description": "What the voice says during the scene: plain speech."},
    },
    "required": ["headline", "feature", "voiceover"],
    "additionalProperties": False,
}
SCRIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "hook": {
            "type": "string",
            "description": "The opening line that stops the scroll; scene 1's headline.",
        },
        "scenes": {"type": "array", "items": _SCENE_SCHEMA, "description": "Exactly four scenes."},
        "cta": {"type": "string", "description": "The call to action, exactly as given."},
    },
    "required": ["hook", "scenes", "cta"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """You write the script of a 30-second product video ad in exactly four scenes.
Scene 1 opens with the hook, a line that stops the scroll. Scenes 2 and 3 show what the product does for
the viewer, one idea each. Scene 4 is the end card: the product's name, and the voiceover ends with the call
to action. Each scene has an on-screen headline, a short feature line and one voiceover line that fits the
scene's length. Write plain spoken sentences: no emoji, no hashtags, no stage directions, no symbols read out.
Never invent prices, awards or claims the brief does not make. If a product photo is attached, you may
describe what you see in it. Answer only with JSON matching the given schema."""


def build_prompt(
    style: AdStyle,
    *,
    product: str,
    cta: str,
    description: str | None,
    audience: str | None,
    seconds: tuple[float, ...],
    language: str,
) -> str:
    """The brief: the variable parts as data, fenced so that the user's text reads as a brief, not orders."""
    budgets = "; ".join(
        f"scene {k + 1}: {s:g} s, at most {word_budget(s)} words" for k, s in enumerate(seconds)
    )
    lines = [
        f"Style: {style.label}. {style.description} Words that suit it: {', '.join(style.vocabulary)}.",
        f"Voiceover lengths: {budgets}.",
        f'The call to action is exactly: "{cta}".',
        f"Write the headlines, features and voiceover in the language with BCP 47 tag {language!r}.",
        "",
        "Brief:",
        "<<<",
        f"Product: {product}",
    ]
    if description:
        lines.append(f"Description: {description}")
    if audience:
        lines.append(f"Audience: {audience}")
    lines.append(">>>")
    return "\n".join(lines)


def checked(data: object, style: AdStyle, *, product: str, cta: str, seconds: tuple[float, ...]) -> AdScript:
    """The model's decoded answer as an AdScript, or Invalid saying what to fix."""
    if not isinstance(data, dict):
        raise Invalid("the answer must be a JSON object with hook, scenes and cta")
    try:
        script = AdScript.model_validate({**data, "product": product, "style": style.name, "cta": cta})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:8]
        )
        raise Invalid(f"the JSON does not match the schema: {problems}") from exc
    found: list[str] = []
    if words(script.hook) > MAX_HEADLINE_WORDS + 2:
        found.append(f"the hook has {words(script.hook)} words; at most {MAX_HEADLINE_WORDS + 2}")
    for k, (scene, length) in enumerate(zip(script.scenes, seconds, strict=True)):
        if words(scene.headline) > MAX_HEADLINE_WORDS:
            found.append(
                f"scene {k + 1}'s headline has {words(scene.headline)} words; at most {MAX_HEADLINE_WORDS}"
            )
        if words(scene.feature) > MAX_FEATURE_WORDS:
            found.append(
                f"scene {k + 1}'s feature has {words(scene.feature)} words; at most {MAX_FEATURE_WORDS}"
            )
        if words(scene.voiceover) > word_budget(length):
            found.append(
                f"scene {k + 1}'s voiceover has {words(scene.voiceover)} words; its {length:g} s allow "
                f"{word_budget(length)}"
            )
    if found:
        raise Invalid("; ".join(found))
    return settled(script)


def settled(script: AdScript) -> AdScript:
    """The user's words in their places: the hook heads scene 1, the product name the end card."""
    scenes = list(script.scenes)
    scenes[0] = scenes[0].model_copy(update={"headline": script.hook})
    scenes[-1] = scenes[-1].model_copy(update={"headline": script.product})
    return script.model_copy(update={"scenes": scenes})


def script_ask(
    style: AdStyle,
    *,
    product: str,
    cta: str,
    description: str | None,
    audience: str | None,
    seconds: tuple[float, ...],
    language: str,
    photo: Image | None,
) -> Ask[AdScript]:
    return Ask(
        name="ad_script",
        system=SYSTEM_PROMPT,
        prompt=build_prompt(
            style,
            product=product,
            cta=cta,
            description=description,
            audience=audience,
            seconds=seconds,
            language=language,
        ),
        schema=SCRIPT_SCHEMA,
        check=lambda data: checked(data, style, product=product, cta=cta, seconds=seconds),
        images=(photo,) if photo is not None else (),
    )
