"""What the params of every kind share: `preview`; and of every kind that chooses its output size, the size
and the render settings the API fills in from settings."""

from __future__ import annotations

from pydantic import BaseModel

# The `size` every create mutation takes, as width x height.
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "1080x1920": (1080, 1920),
    "1920x1080": (1920, 1080),
    "1080x1080": (1080, 1080),
}


class JobParams(BaseModel):
    preview: bool = False  # half the size, x264's fastest preset


class OutputParams(JobParams):
    width: int
    height: int
    fps: int = 30
    preset: str = "veryfast"
    crf: int = 23
