"""createSceneVideo: a stored scene (by id, the caller's own) or an inline one with its resolution → the
scene video job, through the create path every kind shares (resolvers.create).

Everything that can be wrong with the input is answered before a job exists and before anything is paid for:
an unknown or another user's scene (NOT_FOUND), empty or overlong prompts, a duration the video model does not
make, and a product reference that is not an image or points at a private address. The reference is
downloaded here, through the safe fetcher, and handed on as the job's upload: the job never fetches that URL
again, so what was checked is what is used.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from jobs.kinds.scene_input import check_duration, check_prompt
from media.errors import MediaError
from media.inputs.fetch import fetch_to_file
from resolvers.context import Context
from resolvers.create import create_job
from resolvers.errors import UserError
from resolvers.scenes import check_reference_url, load_scene
from resolvers.views import JobView

IMAGE: frozenset[Any] = frozenset({"image"})


class Downloaded:
    """A downloaded file, read like an upload (resolvers.uploads.Upload), so the create path stores it with
    the job the same way."""

    def __init__(self, path: Path, filename: str) -> None:
        self.filename: str | None = filename
        self._file = path.open("rb")

    async def read(self, size: int = -1) -> bytes:
        return await asyncio.to_thread(self._file.read, size)

    def close(self) -> None:
        self._file.close()


async def create_scene_video(ctx: Context, fields: Mapping[str, Any]) -> JobView:
    scene_id, inline, resolution = fields.get("scene_id"), fields.get("scene"), fields.get("resolution")
    if (scene_id is None) == (inline is None):
        raise UserError("CONFLICTING_INPUTS", "give either sceneId or an inline scene, not both", "sceneId")
    if scene_id is not None:
        if resolution is not None:
            message = "resolution comes from the scene's scenario; give it only with an inline scene"
            raise UserError("CONFLICTING_INPUTS", message, "resolution")
        row, scenario = await load_scene(ctx, str(scene_id))
        scene: Mapping[str, Any] = {
            "image_prompt": row.image_prompt,
            "visual_prompt": row.visual_prompt,
            "duration": row.duration,
            "product_reference_image_url": row.product_reference_image_url,
        }
        prefix, resolution = "", scenario.resolution
    else:
        assert isinstance(inline, Mapping)
        scene, prefix = inline, "scene."
    values: dict[str, Any] = {
        "scene_id": str(scene_id) if scene_id is not None else None,
        "image_prompt": check_prompt(scene.get("image_prompt") or "", f"{prefix}imagePrompt"),
        "visual_prompt": check_prompt(scene.get("visual_prompt") or "", f"{prefix}visualPrompt"),
        "duration": check_duration(scene.get("duration") or 0, f"{prefix}duration"),
        "resolution": resolution,
        "preview": bool(fields.get("preview")),
        "idempotency_key": fields.get("idempotency_key"),
        "webhook_url": fields.get("webhook_url"),
        "fps": ctx.services.limits.render_fps,
        "preset": ctx.services.limits.render_preset,
        "crf": ctx.services.limits.render_crf,
    }
    url = (scene.get("product_reference_image_url") or "").strip()
    if not url:
        return await create_job(ctx, "SCENE_VIDEO", values)
    async with _reference(ctx, url, f"{prefix}productReferenceImageUrl") as reference:
        return await create_job(ctx, "SCENE_VIDEO", {**values, "product_reference": reference})


@asynccontextmanager
async def _reference(ctx: Context, url: str, field: str) -> AsyncIterator[Downloaded]:
    """The product reference downloaded (an image, from a public address, within the download limits), or a
    typed error naming the field."""
    url = await check_reference_url(ctx, url, field)
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="clipforge-reference-"))
    try:
        try:
            async with _client(ctx) as http:
                fetched = await fetch_to_file(
                    http, url, folder / "reference", IMAGE, ctx.services.fetch_limits
                )
        except MediaError as exc:
            raise UserError(exc.code, f"{field}: {exc.message}", field) from exc
        file = Downloaded(fetched.path, f"reference{fetched.extension}")
        try:
            yield file
        finally:
            file.close()
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


@asynccontextmanager
async def _client(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    if ctx.services.http is not None:
        yield ctx.services.http
        return
    async with httpx.AsyncClient() as http:  # services built without one (tests of the resolvers alone)
        yield http
