"""The slideshow job: fetch inputs → render → store → finalize."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from pydantic import BaseModel, Field

from jobs.stage import JobResult, Pipeline, StageCall, StageSpec
from media.child import render_in_child
from media.errors import MediaError
from media.fetch import MediaKind, fetch_to_file, sniff
from media.slideshow import SlideshowSpec


class InputRef(BaseModel):
    """Where an input comes from: a URL to fetch, or an upload the API already stored."""

    url: str | None = None
    upload_key: str | None = None
    filename: str | None = None

    @property
    def label(self) -> str:
        return self.url or self.filename or "upload"


class SlideshowParams(BaseModel):
    images: list[InputRef] = Field(min_length=1)
    audio: InputRef | None = None
    overlay: InputRef | None = None
    width: int
    height: int
    fps: int = 30
    seconds_per_image: float = 4.0
    transition_seconds: float = 0.5
    preset: str = "veryfast"
    crf: int = 23


class StoredInput(BaseModel):
    key: str
    content_type: str
    bytes: int


class FetchOutput(BaseModel):
    images: list[StoredInput]
    audio: StoredInput | None
    overlay: StoredInput | None


class RenderOutput(BaseModel):
    video_key: str
    thumbnail_key: str
    video_bytes: int
    thumbnail_bytes: int
    duration_seconds: float
    frames: int
    width: int
    height: int
    manifest: dict[str, object]


class StoreOutput(BaseModel):
    video_key: str
    thumbnail_key: str
    manifest_key: str


class FinalizeOutput(BaseModel):
    removed_uploads: int


IMAGE: frozenset[MediaKind] = frozenset({"image"})
AUDIO: frozenset[MediaKind] = frozenset({"audio", "video"})  # an audio track inside a video file is fine
VIDEO: frozenset[MediaKind] = frozenset({"video"})
PARALLEL_FETCHES = 4


def _params(call: StageCall) -> SlideshowParams:
    return cast(SlideshowParams, call.params)


async def fetch_inputs(call: StageCall) -> FetchOutput:
    params = _params(call)
    wanted: list[tuple[str, InputRef, frozenset[MediaKind]]] = [
        (f"image-{i:02d}", ref, IMAGE) for i, ref in enumerate(params.images)
    ]
    if params.audio:
        wanted.append(("audio", params.audio, AUDIO))
    if params.overlay:
        wanted.append(("overlay", params.overlay, VIDEO))
    inbox = call.work_dir / "inputs"
    inbox.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(PARALLEL_FETCHES)
    finished = 0

    async def one(name: str, ref: InputRef, accept: frozenset[MediaKind]) -> StoredInput:
        nonlocal finished
        async with gate:
            try:
                path, content_type, ext = await _materialise(call, ref, inbox / name, accept)
            except MediaError as exc:
                raise MediaError(exc.code, f"{name.replace('-', ' ')} ({ref.label}): {exc.message}") from exc
            key = f"jobs/{call.job_id}/inputs/{name}{ext}"
            size = await call.tools.storage.put_file(key, path, content_type)
        await call.add_artifact("input", key, content_type, size)
        finished += 1
        await call.report(finished / len(wanted), f"{finished}/{len(wanted)} inputs ready")
        return StoredInput(key=key, content_type=content_type, bytes=size)

    stored = await asyncio.gather(*(one(*item) for item in wanted))
    by_name = {name: item for (name, _, _), item in zip(wanted, stored, strict=True)}
    return FetchOutput(
        images=[by_name[f"image-{i:02d}"] for i in range(len(params.images))],
        audio=by_name.get("audio"),
        overlay=by_name.get("overlay"),
    )


async def _materialise(
    call: StageCall, ref: InputRef, dest: Path, accept: frozenset[MediaKind]
) -> tuple[Path, str, str]:
    if ref.url:
        fetched = await fetch_to_file(call.tools.http, ref.url, dest, accept, call.tools.fetch_limits)
        return fetched.path, fetched.content_type, fetched.extension
    if not ref.upload_key:
        raise MediaError("INVALID_INPUT", "an input has neither a URL nor an upload")
    path = await call.tools.storage.fetch_to(ref.upload_key, dest)
    head = await asyncio.to_thread(_head, path)
    found = sniff(head)
    if found is None or found[0] not in accept:
        seen = found[0] if found else "unrecognised data"
        expected = " or ".join(sorted(accept))
        raise MediaError("UNSUPPORTED_MEDIA", f"expected {expected}, got {seen}")
    return path, found[1], found[2]


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(64)


async def render(call: StageCall) -> RenderOutput:
    params = _params(call)
    fetched = call.output("fetch", FetchOutput)
    local = call.work_dir / "render"
    local.mkdir(parents=True, exist_ok=True)
    storage = call.tools.storage

    async def here(item: StoredInput | None) -> Path | None:
        if item is None:
            return None
        return await storage.fetch_to(item.key, local / Path(item.key).name)

    images = [p for p in await asyncio.gather(*(here(i) for i in fetched.images)) if p is not None]
    spec = SlideshowSpec(
        images=images,
        audio=await here(fetched.audio),
        overlay=await here(fetched.overlay),
        width=params.width,
        height=params.height,
        fps=params.fps,
        seconds_per_image=params.seconds_per_image,
        transition_seconds=params.transition_seconds,
        preset=params.preset,
        crf=params.crf,
    )

    async def on_progress(frames: int, total: int) -> None:
        await call.report(frames / max(total, 1), f"frame {frames}/{total}")

    video, poster = local / "video.mp4", local / "poster.jpg"
    result = await render_in_child(
        spec, video, poster, on_progress=on_progress, timeout_seconds=call.tools.render_timeout_seconds
    )
    # Deterministic keys: a rerun overwrites rather than duplicates.
    video_key = f"jobs/{call.job_id}/video.mp4"
    thumbnail_key = f"jobs/{call.job_id}/thumbnail.jpg"
    video_bytes = await storage.put_file(video_key, video, "video/mp4")
    thumbnail_bytes = await storage.put_file(thumbnail_key, poster, "image/jpeg")
    manifest = spec.model_dump(mode="json")
    manifest.update(
        images=[i.key for i in fetched.images],
        audio=fetched.audio.key if fetched.audio else None,
        overlay=fetched.overlay.key if fetched.overlay else None,
    )
    return RenderOutput(
        video_key=video_key,
        thumbnail_key=thumbnail_key,
        video_bytes=video_bytes,
        thumbnail_bytes=thumbnail_bytes,
        duration_seconds=result.duration_seconds,
        frames=result.frames,
        width=result.width,
        height=result.height,
        manifest=manifest,
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


def result(outputs: Mapping[str, BaseModel]) -> JobResult:
    stored = cast(StoreOutput, outputs["store"])
    return JobResult(
        video_key=stored.video_key, thumbnail_key=stored.thumbnail_key, manifest_key=stored.manifest_key
    )


SLIDESHOW = Pipeline(
    kind="SLIDESHOW",
    params=SlideshowParams,
    stages=(
        StageSpec("fetch", fetch_inputs, FetchOutput, weight=1.0),
        StageSpec("render", render, RenderOutput, weight=8.0),
        StageSpec("store", store, StoreOutput, weight=0.5),
        StageSpec("finalize", finalize, FinalizeOutput, weight=0.1),
    ),
    result=result,
)
