"""The slideshow (createSlideshow): images, an optional audio track and overlay → a Ken Burns slideshow
with crossfades. Stages: fetch the inputs, then compose and the shared tail."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from jobs.errors import UserError
from jobs.inputs import InputRef, StoredInput, Wanted, fetch_inputs
from jobs.kind import InputLimits, Kind, Values
from jobs.params import OutputParams
from jobs.stage import StageCall, StageSpec
from media.inputs.fetch import MediaKind
from media.kinds.slideshow import SlideshowSpec
from media.timeline.model import Timeline


class SlideshowParams(OutputParams):
    images: list[InputRef]
    audio: InputRef | None = None
    overlay: InputRef | None = None
    seconds_per_image: float = 4.0
    transition_seconds: float = 0.5


def intake(values: Values, limits: InputLimits) -> SlideshowParams:
    params = SlideshowParams.model_validate(values)
    count = len(params.images)
    if not 1 <= count <= limits.max_images:
        raise UserError(
            "INVALID_IMAGE_COUNT",
            f"a slideshow needs 1 to {limits.max_images} images (imageUrls and images together); got {count}",
            "imageUrls",
        )
    spi, fade = params.seconds_per_image, params.transition_seconds
    if not 0.5 <= spi <= limits.max_seconds_per_image:
        raise UserError(
            "INVALID_DURATION",
            f"secondsPerImage must be between 0.5 and {limits.max_seconds_per_image}",
            "secondsPerImage",
        )
    if not 0 <= fade <= spi / 2:
        raise UserError(
            "INVALID_DURATION",
            "transitionSeconds must be between 0 and half of secondsPerImage",
            "transitionSeconds",
        )
    return params


class FetchOutput(BaseModel):
    images: list[StoredInput]
    audio: StoredInput | None
    overlay: StoredInput | None


IMAGE: frozenset[MediaKind] = frozenset({"image"})
AUDIO: frozenset[MediaKind] = frozenset({"audio", "video"})  # an audio track inside a video file is fine
VIDEO: frozenset[MediaKind] = frozenset({"video"})


async def fetch(call: StageCall[SlideshowParams]) -> FetchOutput:
    params = call.params
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


async def compose(call: StageCall[SlideshowParams]) -> Timeline:
    params, fetched = call.params, call.output("fetch", FetchOutput)
    spec = SlideshowSpec(
        images=[Path(i.key) for i in fetched.images],
        audio=Path(fetched.audio.key) if fetched.audio else None,
        overlay=Path(fetched.overlay.key) if fetched.overlay else None,
        width=params.width,
        height=params.height,
        fps=params.fps,
        seconds_per_image=params.seconds_per_image,
        transition_seconds=params.transition_seconds,
        preset=params.preset,
        crf=params.crf,
    )
    return spec.to_timeline()


SLIDESHOW = Kind(
    name="SLIDESHOW",
    params=SlideshowParams,
    intake=intake,
    stages=(StageSpec("fetch", fetch, FetchOutput, weight=1.0),),
    compose=compose,
)
