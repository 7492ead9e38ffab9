"""What an AI scene video job takes (createSceneVideo's input, resolved by the API: a stored scene's content
and its scenario's resolution, or an inline scene) and the checks that refuse bad input before a job exists.
The scenes API uses the same checks, so a stored scene is always one a job can be made from."""

from __future__ import annotations

from jobs.errors import UserError
from jobs.inputs import InputRef
from jobs.kind import InputLimits, PaidAction, Values
from jobs.params import JobParams
from media.kinds.scene import MAX_PROMPT_CHARS, MAX_SECONDS, MIN_SECONDS, parse_ratio


class SceneVideoParams(JobParams):
    scene_id: str | None = None  # the stored scene whose media this job makes (None: an inline scene)
    image_prompt: str
    visual_prompt: str  # how things move
    duration: int = 5
    resolution: str | None = None  # the video ratio asked for, "1280:720"; unknown or None: 720:1280
    product_reference: InputRef | None = None
    fps: int = 30
    preset: str = "veryfast"
    crf: int = 23


def check_prompt(value: str, field: str) -> str:
    prompt = value.strip()
    if not prompt:
        raise UserError("EMPTY_PROMPT", f"{field} is empty", field)
    if len(prompt) > MAX_PROMPT_CHARS:
        message = f"{field} has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}"
        raise UserError("PROMPT_TOO_LONG", message, field)
    return prompt


def check_duration(value: int, field: str = "duration") -> int:
    if not MIN_SECONDS <= value <= MAX_SECONDS:
        message = f"{field} must be {MIN_SECONDS} to {MAX_SECONDS} whole seconds (what the video model makes)"
        raise UserError("INVALID_DURATION", message, field)
    return value


def check_resolution(value: str | None, field: str = "resolution") -> str | None:
    """A ratio like 1280:720, or None. One outside the table is kept: the job falls back to 720:1280 and
    says so in a warning."""
    if value is None or not value.strip():
        return None
    try:
        parse_ratio(value)
    except ValueError as exc:
        raise UserError("INVALID_RESOLUTION", f"{field}: {exc}", field) from exc
    return value.strip()


def intake(values: Values, limits: InputLimits) -> SceneVideoParams:
    params = SceneVideoParams.model_validate(values)
    return params.model_copy(
        update={
            "image_prompt": check_prompt(params.image_prompt, "imagePrompt"),
            "visual_prompt": check_prompt(params.visual_prompt, "visualPrompt"),
            "duration": check_duration(params.duration),
            "resolution": check_resolution(params.resolution),
        }
    )


def paid(params: SceneVideoParams) -> tuple[PaidAction, ...]:
    return (PaidAction("generate_image", "image_gen"), PaidAction("generate_scene", "image_to_video"))
