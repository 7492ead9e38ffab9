"""A painter: a scene → a picture of its visual (slides, code, formulas, diagrams, title cards, images)."""

from pathlib import Path
from typing import Protocol

from media.script import Data, Scene


class Theme(Data):
    background: str = "#0f172a"
    foreground: str = "#f8fafc"
    accent: str = "#38bdf8"
    muted: str = "#94a3b8"


class Painter(Protocol):
    async def paint(self, scene: Scene, dest: Path, *, width: int, height: int, theme: Theme) -> Path:
        """A picture of the scene's visual (PNG or JPEG at about width x height) at or next to `dest`."""
        ...
