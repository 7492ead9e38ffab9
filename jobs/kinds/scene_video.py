"""The AI scene video (createSceneVideo): a scene's image prompt → a generated still → a video made from it
with the scene's motion prompt. Stages and the progress they reach, as the seed promises:

    initialize 5 % → scene 15 % (fetching the scene's reference image) → image 35 % generated, 40 % stored
    → video 70 % generated, 75 % stored → finalize 95 % → 100 % when the job completes.

It has no compose → render tail: the provider's clip (the vendor's video, or the offline camera move over the
still) is rendered once, inside the video stage, at exactly the size and length asked for. The still is stored
at a public URL, the video privately (signed URLs); both keys are derived from the job, so a rerun overwrites.
Each generation is a paid action: held before, charged once it succeeded, whatever reruns happen (jobs.money),
and its provider task id is kept the moment it exists (jobs.remote).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from jobs.inputs import StoredInput, Wanted, fetch_inputs
from jobs.kind import Kind
from jobs.kinds.scene_input import SceneVideoParams, intake, paid
from jobs.remote import run_task
from jobs.stage import JobResult, StageCall, StageSpec
from jobs.tail import render_limited
from media.inputs.fetch import MediaKind
from media.kinds.scene import plan_scene, scene_timeline
from media.providers.image_gen.base import ImageRequest
from media.providers.image_to_video.base import Motion, VideoRequest
from media.storage.base import PUBLIC_PREFIX
from media.timeline.model import Timeline, VideoClip

IMAGE: frozenset[MediaKind] = frozenset({"image"})
IMAGES = f"{PUBLIC_PREFIX}generated_images"  # served at a plain URL: images are meant to be shared
VIDEOS = "video-files"  # private: reached only through signed URLs
_KEYS = uuid.UUID("8d3a4b8e-5f0e-4c61-9a57-0c1f3e2b7d90")  # namespace of the media keys' uuids
# Shares of their stage at which the image and video stages reach the seed's 35/40 % and 70/75 %.
IMAGE_MADE = 0.8
VIDEO_MADE, VIDEO_STORED = 30 / 55, 35 / 55
VENDOR_SHARE = 0.9  # of making the video, waiting for the vendor (the rest: our render of its clip)


def media_key(folder: str, call: StageCall[SceneVideoParams], what: str, suffix: str) -> str:
    """`<folder>/<user>/<uuid><suffix>`, the uuid derived from the job: a rerun writes the same object."""
    owner = re.sub(r"[^A-Za-z0-9._-]", "-", call.user_id)
    return f"{folder}/{owner}/{uuid.uuid5(_KEYS, f'{call.job_id}/{what}')}{suffix}"


class PlanOutput(BaseModel):
    video_ratio: str
    image_ratio: str
    width: int  # of the video as rendered (half the ratio's for a preview)
    height: int
    warnings: list[str] = Field(default_factory=list)  # shown on the stage in the API


class SceneOutput(BaseModel):
    reference: StoredInput | None = None


class ImageOutput(BaseModel):
    key: str
    content_type: str
    bytes: int


class VideoOutput(BaseModel):
    key: str
    bytes: int
    manifest_key: str
    width: int
    height: int
    duration_seconds: float
    frames: int


class FinalizeOutput(BaseModel):
    removed_uploads: int


async def initialize(call: StageCall[SceneVideoParams]) -> PlanOutput:
    plan = plan_scene(call.params.resolution)
    width, height = plan.video_size
    if call.params.preview:
        width, height = width // 4 * 2, height // 4 * 2
    await call.report(1.0, f"a {plan.video_ratio} video from a {plan.image_ratio} image")
    return PlanOutput(
        video_ratio=plan.video_ratio,
        image_ratio=plan.image_ratio,
        width=width,
        height=height,
        warnings=list(plan.warnings),
    )


async def fetch_scene(call: StageCall[SceneVideoParams]) -> SceneOutput:
    """The product reference (checked and downloaded by the API) copied into the job's inputs and decoded
    once, so a picture that cannot be used fails here, before anything is paid for."""
    ref = call.params.product_reference
    if ref is None:
        await call.report(1.0, "no product reference")
        return SceneOutput()
    wanted = Wanted(name="reference", ref=ref, accept=IMAGE, label="productReferenceImageUrl")
    stored = (await fetch_inputs(call, [wanted]))["reference"]
    await _probe(
        await call.tools.storage.fetch_to(stored.key, call.work_dir / "probe" / Path(stored.key).name)
    )
    return SceneOutput(reference=stored)


async def _probe(path: Path) -> None:
    # Imported here: the API imports the job kinds, and this module (OpenCV, numpy) is the worker's.
    from media.render.images import probe_image

    await asyncio.to_thread(probe_image, path)


async def make_image(call: StageCall[SceneVideoParams]) -> ImageOutput:
    plan, scene = call.output("initialize", PlanOutput), call.output("scene", SceneOutput)
    folder = call.work_dir / "image"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    reference = None
    if scene.reference is not None:
        reference = await call.tools.storage.fetch_to(
            scene.reference.key, folder / f"reference{Path(scene.reference.key).suffix}"
        )
    request = ImageRequest(prompt=call.params.image_prompt, ratio=plan.image_ratio, reference=reference)
    images = call.providers.image_gen

    async def progress(share: float, message: str) -> None:
        await call.report(IMAGE_MADE * share, message)

    async with call.paid("generate_image", provider=images.name):
        path = await run_task(
            call,
            "image",
            lambda: images.submit(request),
            lambda task: images.receive(task, request, folder / "image", progress),
        )
    await call.report(IMAGE_MADE, "image generated")
    content_type = {".png": "image/png", ".webp": "image/webp"}.get(path.suffix, "image/jpeg")
    key = media_key(IMAGES, call, "image", path.suffix)
    size = await call.tools.storage.put_file(key, path, content_type)
    await call.add_artifact("image", key, content_type, size)
    await call.report(1.0, "image stored")
    return ImageOutput(key=key, content_type=content_type, bytes=size)


async def make_video(call: StageCall[SceneVideoParams]) -> VideoOutput:
    params, plan = call.params, call.output("initialize", PlanOutput)
    image = call.output("image", ImageOutput)
    folder = call.work_dir / "video"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    still = await call.tools.storage.fetch_to(image.key, folder / f"still{Path(image.key).suffix}")
    request = VideoRequest(
        image=still, prompt=params.visual_prompt, duration=params.duration, ratio=plan.video_ratio
    )
    motion = call.providers.image_to_video
    reached = [0.0]  # of the stage, by the provider's own progress: the render goes on from there

    async def progress(share: float, message: str) -> None:
        reached[0] = max(reached[0], VIDEO_MADE * VENDOR_SHARE * share)
        await call.report(reached[0], message)

    async with call.paid("generate_scene", provider=motion.name):
        clip = await run_task(
            call,
            "video",
            lambda: motion.submit(request),
            lambda task: motion.receive(task, request, folder / "clip", progress),
        )
        # Inside the paid block: the action is a finished video, so a render that fails is not charged.
        made = await _render(call, clip, image.key, plan, folder, reached[0])
    await call.report(VIDEO_MADE, "video generated")
    key = media_key(VIDEOS, call, "video", ".mp4")
    size = await call.tools.storage.put_file(key, made.path, "video/mp4")
    await call.add_artifact("video", key, "video/mp4", size)
    await call.report(VIDEO_STORED, "video stored")
    return made.output.model_copy(update={"key": key, "bytes": size})


class _Made(BaseModel):
    path: Path
    output: VideoOutput


async def _render(
    call: StageCall[SceneVideoParams],
    clip: Motion,
    image_key: str,
    plan: PlanOutput,
    folder: Path,
    start: float,
) -> _Made:
    """The provider's clip drawn by our renderer at the planned size and length; the timeline is kept as the
    job's manifest, its source named by storage key (the vendor's original file is kept for it)."""
    storage, params = call.tools.storage, call.params
    source_key = image_key
    if isinstance(clip, VideoClip):
        source_key = f"jobs/{call.job_id}/generated{clip.source.suffix}"
        size = await storage.put_file(source_key, clip.source, "video/mp4")
        await call.add_artifact("generated", source_key, "video/mp4", size)

    def timeline_of(shot: Motion) -> Timeline:
        return scene_timeline(
            shot,
            width=plan.width,
            height=plan.height,
            fps=params.fps,
            preset="ultrafast" if params.preview else params.preset,
            crf=params.crf,
            seconds=float(params.duration),
        )

    timeline = timeline_of(clip)
    manifest = timeline_of(clip.model_copy(update={"source": Path(source_key)})).model_dump(mode="json")
    manifest_key = f"jobs/{call.job_id}/manifest.json"
    size = await storage.put_bytes(manifest_key, json.dumps(manifest, indent=2).encode(), "application/json")
    await call.add_artifact("manifest", manifest_key, "application/json", size)

    async def on_progress(frames: int, total: int) -> None:
        await call.report(start + (VIDEO_MADE - start) * frames / max(total, 1), f"frame {frames}/{total}")

    video, poster = folder / "video.mp4", folder / "poster.jpg"
    result = await render_limited(call.tools.render, timeline, video, poster, on_progress)
    output = VideoOutput(
        key="",
        bytes=0,
        manifest_key=manifest_key,
        width=result.width,
        height=result.height,
        duration_seconds=result.duration_seconds,
        frames=result.frames,
    )
    return _Made(path=video, output=output)


async def finalize(call: StageCall[SceneVideoParams]) -> FinalizeOutput:
    # The reference was copied into inputs/ by the scene stage; the upload the API stored is done with.
    removed = await call.tools.storage.delete_prefix(f"jobs/{call.job_id}/uploads/")
    return FinalizeOutput(removed_uploads=removed)


def result(outputs: Mapping[str, BaseModel]) -> JobResult:
    image, video = outputs["image"], outputs["video"]
    assert isinstance(image, ImageOutput) and isinstance(video, VideoOutput)
    # The still is the video's thumbnail: public, and what the video starts from.
    return JobResult(video_key=video.key, thumbnail_key=image.key, manifest_key=video.manifest_key)


SCENE_VIDEO = Kind(
    name="SCENE_VIDEO",
    params=SceneVideoParams,
    intake=intake,
    stages=(
        StageSpec("initialize", initialize, PlanOutput, weight=5.0),
        StageSpec("scene", fetch_scene, SceneOutput, weight=10.0),
        StageSpec("image", make_image, ImageOutput, weight=25.0),
        StageSpec("video", make_video, VideoOutput, weight=55.0),
        StageSpec("finalize", finalize, FinalizeOutput, weight=5.0),
    ),
    compose=None,
    result=result,
    paid=paid,
)
