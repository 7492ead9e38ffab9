"""The explainer's scene script: what a script writer produces and the rest of the explainer is made from.

Plain data, shared by the writers that make it (media.providers.script), the painters that draw its scenes
(media.providers.visual) and the explainer's timeline (media.kinds.explainer).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VisualType = Literal["slide", "code", "formula", "diagram", "image", "title"]
VISUAL_TYPES: tuple[VisualType, ...] = ("slide", "code", "formula", "diagram", "image", "title")


class Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Scene(Data):
    narration: str = Field(min_length=1, max_length=2000)  # what the voice says
    visual: VisualType
    title: str = Field("", max_length=200)
    # What the visual shows, by type: slide: bullet lines ("\n"-separated); code: the source; formula: LaTeX
    # math (mathtext); diagram: edge list like "A[Load] --> B{Ok?}"; image: a picture prompt; title: subtitle.
    content: str = Field("", max_length=8000)
    code_language: str | None = Field(None, max_length=40)  # for code: a Pygments lexer name
    duration_hint: float | None = Field(None, gt=0.0, le=120.0)  # seconds; the narration decides in the end


class Script(Data):
    title: str = Field(min_length=1, max_length=200)
    scenes: list[Scene] = Field(min_length=1, max_length=50)
