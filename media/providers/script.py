"""The scene script an explainer is built from, and the Protocols of the three providers that make it.

A script writer (an LLM, or the offline rule-based writer) turns source text into scenes; for each scene a
voice speaks the narration with word timings and a painter draws the visual. Each Protocol has one method;
the offline implementation of each is the default, cloud ones sit behind the same Protocol.
"""

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

VisualType = Literal["slide", "code", "formula", "diagram", "image", "title"]
VISUAL_TYPES: tuple[VisualType, ...] = ("slide", "code", "formula", "diagram", "image", "title")


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Scene(_Data):
    narration: str = Field(min_length=1, max_length=2000)  # what the voice says
    visual: VisualType
    title: str = Field("", max_length=200)
    # What the visual shows, by type: slide: bullet lines ("\n"-separated); code: the source; formula: LaTeX
    # math (mathtext); diagram: edge list like "A[Load] --> B{Ok?}"; image: a picture prompt; title: subtitle.
    content: str = Field("", max_length=8000)
    code_language: str | None = Field(None, max_length=40)  # for code: a Pygments lexer name
    duration_hint: float | None = Field(None, gt=0.0, le=120.0)  # seconds; the narration decides in the end


class Script(_Data):
    title: str = Field(min_length=1, max_length=200)
    scenes: list[Scene] = Field(min_length=1, max_length=50)


class ScriptWriter(Protocol):
    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        """Scenes for `text` in `language` (BCP 47, e.g. "en"); raises ProviderError/MediaError."""
        ...


class WordTiming(_Data):
    text: str
    start: float = Field(ge=0.0)  # seconds from the clip's start
    end: float = Field(ge=0.0)


class Speech(_Data):
    audio: Path  # a WAV or MP3 file the voice wrote
    duration: float = Field(gt=0.0)  # seconds
    words: list[WordTiming]  # in order, one per spoken word of the text


class Voice(Protocol):
    async def speak(self, text: str, dest: Path, *, voice: str | None, language: str) -> Speech:
        """Speech for `text`, its audio written next to `dest` (the extension may change)."""
        ...


class Theme(_Data):
    background: str = "#0f172a"
    foreground: str = "#f8fafc"
    accent: str = "#38bdf8"
    muted: str = "#94a3b8"


class Painter(Protocol):
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        """A picture of the scene's visual (PNG or JPEG at about width x height) at or next to `dest`."""
        ...
