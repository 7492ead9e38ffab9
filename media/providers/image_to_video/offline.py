"""Image to video with no key and no network: a camera move over the still, drawn by our own renderer.

The move follows the camera words of the motion prompt when it has some ("zoom out", "pull back", "pan left",
"tilt up"); otherwise a slow push in. It is a Ken Burns move, not generated motion: an honest stand-in that
shows the scene's framing and timing, at the size and length the scene asks for.
"""

import re
from pathlib import Path
from typing import Literal

from media.errors import MediaError
from media.kinds.scene import MAX_SECONDS, MIN_SECONDS
from media.providers.image_to_video.base import Motion, VideoRequest
from media.providers.task import Progress
from media.timeline.model import ImageClip, KenBurns

TASK = "offline"  # nothing runs elsewhere: no task to keep
AMOUNT = 0.12  # how far the camera moves: the tightest view is 1/1.12 of the widest
Pan = Literal["none", "left", "right", "up", "down"]
_ZOOM_OUT = re.compile(r"\b(zoom(s|ing)? out|pull(s|ing)? (back|out)|dolly out|wide(ns|ning)?)\b", re.I)
_PANS: tuple[tuple[Pan, re.Pattern[str]], ...] = (
    ("left", re.compile(r"\b(pan(s|ning)?|track(s|ing)?|mov(e|es|ing)) left\b", re.I)),
    ("right", re.compile(r"\b(pan(s|ning)?|track(s|ing)?|mov(e|es|ing)) right\b", re.I)),
    ("up", re.compile(r"\b(tilt(s|ing)?|pan(s|ning)?|crane(s|ing)?) up\b", re.I)),
    ("down", re.compile(r"\b(tilt(s|ing)?|pan(s|ning)?|crane(s|ing)?) down\b", re.I)),
)


def camera(prompt: str) -> KenBurns:
    """The camera move a motion prompt's words ask for."""
    pan: Pan = next((side for side, words in _PANS if words.search(prompt)), "none")
    return KenBurns(zoom="out" if _ZOOM_OUT.search(prompt) else "in", pan=pan, amount=AMOUNT)


class OfflineMotion:
    name = "offline"

    async def submit(self, request: VideoRequest) -> str:
        if not MIN_SECONDS <= request.duration <= MAX_SECONDS:
            raise MediaError(
                "INVALID_DURATION",
                f"a scene lasts {MIN_SECONDS} to {MAX_SECONDS} seconds, not {request.duration}",
            )
        return TASK

    async def receive(self, task: str, request: VideoRequest, dest: Path, progress: Progress) -> Motion:
        await progress(0.0, "camera move planned")  # the work is the render, which the job reports
        return ImageClip(
            source=request.image, duration=request.duration, fit="cover", ken_burns=camera(request.prompt)
        )
