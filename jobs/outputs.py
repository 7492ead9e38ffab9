"""The stages every job kind ends with: render its timeline in a child process, store the video, poster and
the timeline itself (the manifest), then clean up. One renderer, many pipelines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from pydantic import BaseModel

from jobs.stage import JobResult, StageCall, StageSpec
from media.render.child import render_in_child
from media.timeline.model import Timeline
from media.timeline.preview import preview_of
from media.timeline.sources import rewrite


class RenderOutput(BaseModel):
    video_key: str
    thumbnail_key: str
    video_bytes: int
    thumbnail_bytes: int
    duration_seconds: float
    frames: int
    width: int
    height: int
    preview: bool = False
    manifest: dict[str, object]


class StoreOutput(BaseModel):
    video_key: str
    thumbnail_key: str
    manifest_key: str


class FinalizeOutput(BaseModel):
    removed_uploads: int


async def render_timeline(
    call: StageCall, timeline: Timeline, keys: Mapping[str, str], *, preview: bool = False
) -> RenderOutput:
    """Render `timeline` (its sources local files) and store the video and poster. `keys` maps each local
    source path to its storage key: the manifest names stored inputs, not this worker's temporary files."""
    if preview:
        timeline = preview_of(timeline)
    local = call.work_dir / "render"
    local.mkdir(parents=True, exist_ok=True)

    async def on_progress(frames: int, total: int) -> None:
        await call.report(frames / max(total, 1), f"frame {frames}/{total}")

    video, poster = local / "video.mp4", local / "poster.jpg"
    result = await render_in_child(
        timeline,
        video,
        poster,
        on_progress=on_progress,
        timeout_seconds=call.tools.render_timeout_seconds,
        limits=call.tools.timeline_limits,
        memory_limit_mb=call.tools.render_memory_limit_mb,
        cpu_limit_seconds=call.tools.render_cpu_limit_seconds,
    )
    # Deterministic keys: a rerun overwrites rather than duplicates.
    video_key = f"jobs/{call.job_id}/video.mp4"
    thumbnail_key = f"jobs/{call.job_id}/thumbnail.jpg"
    storage = call.tools.storage
    return RenderOutput(
        video_key=video_key,
        thumbnail_key=thumbnail_key,
        video_bytes=await storage.put_file(video_key, video, "video/mp4"),
        thumbnail_bytes=await storage.put_file(thumbnail_key, poster, "image/jpeg"),
        duration_seconds=result.duration_seconds,
        frames=result.frames,
        width=result.width,
        height=result.height,
        preview=preview,
        manifest=rewrite(timeline.model_dump(mode="json"), lambda path: keys.get(path, path)),
    )


async def store(call: StageCall) -> StoreOutput:
    rendered = call.output("render", RenderOutput)
    manifest_key = f"jobs/{call.job_id}/manifest.json"
    body = json.dumps(rendered.manifest, indent=2).encode()
    manifest_bytes = await call.tools.storage.put_bytes(manifest_key, body, "application/json")
    await call.add_artifact("video", rendered.video_key, "video/mp4", rendered.video_bytes)
    await call.add_artifact("thumbnail", rendered.thumbnail_key, "image/jpeg", rendered.thumbnail_bytes)
    await call.add_artifact("manifest", manifest_key, "application/json", manifest_bytes)
    await call.report(1.0, "artifacts stored")
    return StoreOutput(
        video_key=rendered.video_key, thumbnail_key=rendered.thumbnail_key, manifest_key=manifest_key
    )


async def finalize(call: StageCall) -> FinalizeOutput:
    # Uploads were copied into inputs/ by the fetch stage; the originals are no longer needed.
    removed = await call.tools.storage.delete_prefix(f"jobs/{call.job_id}/uploads/")
    return FinalizeOutput(removed_uploads=removed)


# Every pipeline ends so, after its render stage.
FINISH = (
    StageSpec("store", store, StoreOutput, weight=0.5),
    StageSpec("finalize", finalize, FinalizeOutput, weight=0.1),
)


def result(outputs: Mapping[str, BaseModel]) -> JobResult:
    stored = cast(StoreOutput, outputs["store"])
    return JobResult(
        video_key=stored.video_key, thumbnail_key=stored.thumbnail_key, manifest_key=stored.manifest_key
    )
