"""Runway's text to image (POST /v1/text_to_image, model gen4_image). A product reference goes inline as a
data URI, tagged so the prompt can name it as @product."""

import asyncio
from pathlib import Path
from typing import Any

from media.errors import MediaError
from media.providers.image_gen.base import ImageRequest
from media.providers.meter import record
from media.providers.runway import Runway, data_uri
from media.providers.task import Progress
from media.render.images import probe_image

MODEL = "gen4_image"
TAG = "product"
# gen4_image's ratios priced as 720p (5 Runway credits); the others are 1080p (8).
RATIOS_720P = frozenset({"1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720"})
IMAGE: frozenset[Any] = frozenset({"image"})


def prompt_text(request: ImageRequest) -> str:
    """The prompt, naming the reference when there is one (Runway uses a reference the prompt names)."""
    prompt = request.prompt.strip()
    if request.reference is not None and f"@{TAG}" not in prompt:
        prompt = f"{prompt} Featuring @{TAG}."
    return prompt


class RunwayImages:
    name = "runway"

    def __init__(self, runway: Runway, *, model: str = MODEL) -> None:
        self.runway, self.model = runway, model

    async def body(self, request: ImageRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "promptText": prompt_text(request),
            "ratio": request.ratio,
        }
        if request.reference is not None:
            uri = await asyncio.to_thread(data_uri, request.reference)
            body["referenceImages"] = [{"uri": uri, "tag": TAG}]
        return body

    async def submit(self, request: ImageRequest) -> str:
        return await self.runway.start("text_to_image", await self.body(request))

    async def receive(self, task: str, request: ImageRequest, dest: Path, progress: Progress) -> Path:
        outputs = await self.runway.wait(task, progress)
        tier = "720p" if request.ratio in RATIOS_720P else "1080p"
        # Keyed by the task: a rerun that finds the same finished task does not count it again.
        await record("runway", f"{self.model}:image:{tier}", 1, key=task)
        path = await self.runway.download(outputs[0], dest.with_suffix(".download"), IMAGE)
        try:
            await asyncio.to_thread(probe_image, path)
        except MediaError as exc:
            raise MediaError("PROVIDER_BAD_RESPONSE", f"Runway's image: {exc.message}") from exc
        return path
