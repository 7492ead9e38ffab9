"""The slideshow job: fetch inputs → render → store → finalize."""

from __future__ import annotations

from typing import cast

from pydantic import BaseModel, Field

from jobs.inputs import InputRef, StoredInput, Wanted, fetch_inputs, local_copies
from jobs.outputs import FINISH, RenderOutput, render_timeline, result
from jobs.stage import Pipeline, StageCall, StageSpec
from media.inputs.fetch import MediaKind
from media.kinds.slideshow import SlideshowSpec


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
    preview: bool = False  # half size, fastest encoder preset


class FetchOutput(BaseModel):
    images: list[StoredInput]
    audio: StoredInput | None
    overlay: StoredInput | None


IMAGE: frozenset[MediaKind] = frozenset({"image"})
AUDIO: frozenset[MediaKind] = frozenset({"audio", "video"})  # an audio track inside a video file is fine
VIDEO: frozenset[MediaKind] = frozenset({"video"})


def _params(call: StageCall) -> SlideshowParams:
    return cast(SlideshowParams, call.params)


async def fetch(call: StageCall) -> FetchOutput:
    params = _params(call)
    wanted = [
        Wanted(name=f"image-{i:02d}", ref=ref, accept=IMAGE, label=f"image {i:02d}")
        for i, ref in enumerate(params.images)
    ]
    if params.audio:
        wanted.append(Wanted(name="audio", ref=params.audio, accept=AUDIO, label="audio"))
    if params.overlay:
        wanted.append(Wanted(name="overlay", ref=params.overlay, accept=VIDEO, label="overlay"))
    stored = await fetch_inputs(call, wanted)
    return FetchOutput(
        images=[stored[f"image-{i:02d}"] for i in range(len(params.images))],
        audio=stored.get("audio"),
        overlay=stored.get("overlay"),
    )


async def render(call: StageCall) -> RenderOutput:
    params = _params(call)
    fetched = call.output("fetch", FetchOutput)
    stored = [i for i in (*fetched.images, fetched.audio, fetched.overlay) if i is not None]
    local = await local_copies(call, stored, call.work_dir / "render" / "inputs")
    spec = SlideshowSpec(
        images=[local[i.key] for i in fetched.images],
        audio=local[fetched.audio.key] if fetched.audio else None,
        overlay=local[fetched.overlay.key] if fetched.overlay else None,
        width=params.width,
        height=params.height,
        fps=params.fps,
        seconds_per_image=params.seconds_per_image,
        transition_seconds=params.transition_seconds,
        preset=params.preset,
        crf=params.crf,
    )
    keys = {str(path): key for key, path in local.items()}
    return await render_timeline(call, spec.to_timeline(), keys, preview=params.preview)


SLIDESHOW = Pipeline(
    kind="SLIDESHOW",
    params=SlideshowParams,
    stages=(
        StageSpec("fetch", fetch, FetchOutput, weight=1.0),
        StageSpec("render", render, RenderOutput, weight=8.0),
        *FINISH,
    ),
    result=result,
)
