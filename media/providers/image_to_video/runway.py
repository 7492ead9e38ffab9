"""Runway's image to video (POST /v1/image_to_video, model gen4_turbo): the still goes inline as a data URI,
the ratio is the nearest gen4_turbo accepts (the job fits the result to the ratio the scene asked for)."""

import asyncio
from pathlib import Path
from typing import Any

from media.errors import MediaError
from media.kinds.scene import MAX_PROMPT_CHARS, MAX_SECONDS, MIN_SECONDS, MOTION_RATIOS, nearest
from media.providers.image_to_video.base import Motion, VideoRequest
from media.providers.meter import record
from media.providers.runway import Runway, data_uri
from media.providers.task import Progress
from media.timeline.model import VideoClip

MODEL = "gen4_turbo"
VIDEO: frozenset[Any] = frozenset({"video"})


class RunwayMotion:
    name = "runway"

    def __init__(self, runway: Runway, *, model: str = MODEL) -> None:
        self.runway, self.model = runway, model

    async def body(self, request: VideoRequest) -> dict[str, Any]:
        if not MIN_SECONDS <= request.duration <= MAX_SECONDS:
            raise MediaError(
                "INVALID_DURATION",
                f"{self.model} makes {MIN_SECONDS} to {MAX_SECONDS} s, not {request.duration}",
            )
        prompt = request.prompt.strip()
        if len(prompt) > MAX_PROMPT_CHARS:
            raise MediaError(
                "PROMPT_TOO_LONG", f"Runway takes prompts of up to {MAX_PROMPT_CHARS} characters"
            )
        return {
            "model": self.model,
            "promptImage": await asyncio.to_thread(data_uri, request.image),
            "promptText": prompt,
            "ratio": nearest(request.ratio, MOTION_RATIOS),
            "duration": request.duration,
        }

    async def submit(self, request: VideoRequest) -> str:
        return await self.runway.start("image_to_video", await self.body(request))

    async def receive(self, task: str, request: VideoRequest, dest: Path, progress: Progress) -> Motion:
        outputs = await self.runway.wait(task, progress)
        # Keyed by the task: a rerun that finds the same finished task does not count it again.
        await record("runway", f"{self.model}:seconds", request.duration, key=task)
        path = await self.runway.download(outputs[0], dest.with_suffix(".download"), VIDEO)
        return VideoClip(source=path, duration=request.duration, fit="cover")
