"""The stages every job kind ends with. A kind's own `compose` makes its timeline, with storage keys as the
sources; then, the same for every kind:

- compose: the timeline (its preview when asked) stored as the job's `manifest`;
- render: the stored sources fetched to local files, the timeline rendered in a child process, the video
  and poster stored (a render is the dear part: once stored, a lost worker does not render it again);
- store: the video, the poster and the subtitles (SRT and WebVTT, cut from the timeline's captions)
  listed on the job;
- finalize: uploads the inputs were copied from are removed.

One renderer, many pipelines: a new kind is its inputs, the stages that make its media, and `compose`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from jobs.params import JobParams
from jobs.segmented import SegmentReport, render_in_segments, segment_ranges
from jobs.stage import JobResult, StageCall, StageSpec
from jobs.tools import RenderLimits, Tools
from media.render.child import render_in_child
from media.render.result import RenderResult
from media.render.subtitles import Cue, cues, to_srt, to_webvtt
from media.storage.placement import artifact_key
from media.timeline.checks import parse_timeline
from media.timeline.model import Timeline
from media.timeline.preview import preview_of
from media.timeline.sources import references, rewrite

K = TypeVar("K", bound=JobParams)


class ComposeOutput(BaseModel):
    manifest_key: str
    timeline: dict[str, object]  # sources are storage keys


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
    cues: list[Cue] = []  # the captions' phrases, for the subtitle files
    encoder: str = ""  # the H.264 encoder that ran ("" in outputs saved before it was recorded)
    # A long timeline rendered in segments (jobs.segmented): each one's frames and render time; the join's.
    segments: list[SegmentReport] = []
    soundtrack_seconds: float | None = None
    join_seconds: float | None = None


class StoreOutput(BaseModel):
    video_key: str
    thumbnail_key: str
    manifest_key: str
    subtitle_keys: list[str] = []


class FinalizeOutput(BaseModel):
    removed_uploads: int


def compose_stage(build: Callable[[StageCall[K]], Awaitable[Timeline]]) -> StageSpec[K]:
    async def compose(call: StageCall[K]) -> ComposeOutput:
        timeline = await build(call)
        if call.params.preview:
            timeline = preview_of(timeline)
        data = timeline.model_dump(mode="json")
        key = f"jobs/{call.job_id}/manifest.json"
        size = await call.tools.storage.put_bytes(
            key, json.dumps(data, indent=2).encode(), "application/json"
        )
        await call.add_artifact("manifest", key, "application/json", size)
        return ComposeOutput(manifest_key=key, timeline=data)

    return StageSpec("compose", compose, ComposeOutput, weight=0.2)


async def render(call: StageCall[JobParams]) -> RenderOutput:
    composed = call.output("compose", ComposeOutput)
    local = call.work_dir / "render"
    timeline = await local_timeline(call.tools, call.job_id, composed.timeline, local / "inputs")
    found = cues(timeline)
    limits = call.tools.render
    video, poster = local / "video.mp4", local / "poster.jpg"
    joined = None
    segmenting = call.tools.redis is not None and limits.segment_after_seconds > 0
    ranges = await asyncio.to_thread(segment_ranges, timeline, limits) if segmenting else []
    if len(ranges) > 1:
        result, joined = await render_in_segments(
            call, timeline, ranges, composed.manifest_key, video, poster
        )
    else:
        result = await _render_whole(call, timeline, video, poster)
    # Deterministic keys: a rerun overwrites rather than duplicates. The poster is a shared image (public).
    video_key = artifact_key(call.job_id, "video", "video.mp4")
    thumbnail_key = artifact_key(call.job_id, "thumbnail", "thumbnail.jpg")
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
        preview=call.params.preview,
        cues=found,
        encoder=result.encoder,
        segments=joined.segments if joined is not None else [],
        soundtrack_seconds=joined.soundtrack_seconds if joined is not None else None,
        join_seconds=joined.join_seconds if joined is not None else None,
    )


async def _render_whole(
    call: StageCall[JobParams], timeline: Timeline, video: Path, poster: Path
) -> RenderResult:
    async def on_progress(frames: int, total: int) -> None:
        await call.report(frames / max(total, 1), f"frame {frames}/{total}")

    return await render_limited(call.tools.render, timeline, video, poster, on_progress)


async def render_limited(
    limits: RenderLimits,
    timeline: Timeline,
    video: Path,
    poster: Path,
    on_progress: Callable[[int, int], Awaitable[None]],
    segment: tuple[int, int] | None = None,
) -> RenderResult:
    """The render child under this worker's limits and with its encoder."""
    return await render_in_child(
        timeline,
        video,
        poster,
        on_progress=on_progress,
        timeout_seconds=limits.timeout_seconds,
        limits=limits.timeline,
        memory_limit_mb=limits.memory_limit_mb,
        cpu_limit_seconds=limits.cpu_limit_seconds,
        nice=limits.nice,
        encoder=limits.encoder,
        segment=segment,
    )


async def local_timeline(tools: Tools, job_id: str, data: dict[str, object], folder: Path) -> Timeline:
    """The timeline with every stored source fetched to a local file (the render child reads files). A
    source that is an absolute path is a file of this machine's own (a configured caption font)."""
    keys = sorted({ref.value for ref in references(data) if not Path(ref.value).is_absolute()})
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    prefix = f"jobs/{job_id}/"
    # jobs/<id>/narration/scene-00.wav -> narration-scene-00.wav: one folder, no clashes.
    paths = await asyncio.gather(
        *(tools.storage.fetch_to(k, folder / k.removeprefix(prefix).replace("/", "-")) for k in keys)
    )
    local = {key: str(path) for key, path in zip(keys, paths, strict=True)}
    rewritten = rewrite(data, lambda value: local.get(value, value))
    return await asyncio.to_thread(parse_timeline, rewritten, tools.render.timeline)


async def store(call: StageCall[JobParams]) -> StoreOutput:
    rendered = call.output("render", RenderOutput)
    manifest_key = call.output("compose", ComposeOutput).manifest_key
    await call.add_artifact("video", rendered.video_key, "video/mp4", rendered.video_bytes)
    await call.add_artifact("thumbnail", rendered.thumbnail_key, "image/jpeg", rendered.thumbnail_bytes)
    subtitle_keys = []
    if rendered.cues:
        for name, text, content_type in (
            ("captions.srt", to_srt(rendered.cues), "application/x-subrip"),
            ("captions.vtt", to_webvtt(rendered.cues), "text/vtt"),
        ):
            key = f"jobs/{call.job_id}/{name}"
            size = await call.tools.storage.put_bytes(key, text.encode(), content_type)
            await call.add_artifact("subtitles", key, content_type, size)
            subtitle_keys.append(key)
    await call.report(1.0, "artifacts stored")
    return StoreOutput(
        video_key=rendered.video_key,
        thumbnail_key=rendered.thumbnail_key,
        manifest_key=manifest_key,
        subtitle_keys=subtitle_keys,
    )


async def finalize(call: StageCall[JobParams]) -> FinalizeOutput:
    # Uploads were copied into inputs/ by the fetch stage, and a long render's segments are joined: the
    # originals are no longer needed.
    removed = await call.tools.storage.delete_prefix(f"jobs/{call.job_id}/uploads/")
    await call.tools.storage.delete_prefix(f"jobs/{call.job_id}/segments/")
    return FinalizeOutput(removed_uploads=removed)


def tail(render_weight: float = 8.0) -> tuple[StageSpec[JobParams], ...]:
    return (
        StageSpec("render", render, RenderOutput, weight=render_weight),
        StageSpec("store", store, StoreOutput, weight=0.5),
        StageSpec("finalize", finalize, FinalizeOutput, weight=0.1),
    )


def result(outputs: Mapping[str, BaseModel]) -> JobResult:
    # The last StoreOutput: the `store` stage's, or what a kind's own finishing stage made with `store`.
    stored = next(o for o in reversed(list(outputs.values())) if isinstance(o, StoreOutput))
    return JobResult(
        video_key=stored.video_key, thumbnail_key=stored.thumbnail_key, manifest_key=stored.manifest_key
    )
