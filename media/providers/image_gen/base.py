"""Image generation: a text prompt (and optionally a reference picture) → a still image."""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from media.kinds.scene import parse_ratio
from media.providers.task import Progress


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    ratio: str  # "1920:1080": the picture's shape, and its size in pixels
    reference: Path | None = None  # a local picture (a product photo) to show in the image

    @property
    def size(self) -> tuple[int, int]:
        return parse_ratio(self.ratio)


class ImageGenerator(Protocol):
    @property
    def name(self) -> str:
        """The provider's name as prices name it ("runway", "offline")."""
        ...

    async def submit(self, request: ImageRequest) -> str:
        """Start making the image; the task id to wait for (keep it: a rerun waits for the same task)."""
        ...

    async def receive(self, task: str, request: ImageRequest, dest: Path, progress: Progress) -> Path:
        """The finished image as a local PNG or JPEG at `dest` (the extension may change)."""
        ...
