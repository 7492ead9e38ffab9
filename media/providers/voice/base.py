"""A voice: text → speech on disk with the time of every word (for captions)."""

from pathlib import Path
from typing import Protocol

from pydantic import Field

from media.script import Data


class WordTiming(Data):
    text: str
    start: float = Field(ge=0.0)  # seconds from the clip's start
    end: float = Field(ge=0.0)


class Speech(Data):
    audio: Path  # a WAV or MP3 file the voice wrote
    duration: float = Field(gt=0.0)  # seconds
    words: list[WordTiming]  # in order, one per spoken word of the text


class Voice(Protocol):
    async def speak(self, text: str, dest: Path, *, voice: str | None, language: str) -> Speech:
        """Speech for `text`, its audio written next to `dest` (the extension may change)."""
        ...
