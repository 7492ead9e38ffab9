"""A music source: a backing track for a mood, as long as asked (a short's bed when the user brings none)."""

from pathlib import Path
from typing import Protocol


class MusicSource(Protocol):
    async def backing_track(self, mood: str, seconds: float, dest: Path, *, seed: int) -> Path:
        """A track of exactly `seconds` at or next to `dest`; MediaError UNKNOWN_MOOD for a mood it lacks."""
        ...
