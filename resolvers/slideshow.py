"""createSlideshow: validate, store uploads, commit the job row, then enqueue it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.ids import new_id
from jobs.inputs import InputRef
from jobs.slideshow import SLIDESHOW, SlideshowParams
from media.errors import MediaError
from media.inputs.fetch import check_url
from resolvers.context import Context
from resolvers.errors import UserError
from resolvers.idempotency import check_key
from resolvers.submit import submit
from resolvers.uploads import Upload, safe_name, store_upload
from resolvers.views import JobView

SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "1080x1920": (1080, 1920),
    "1920x1080": (1920, 1080),
    "1080x1080": (1080, 1080),
}


@dataclass
class SlideshowRequest:
    image_urls: Sequence[str] = ()
    images: Sequence[Upload] = ()
    audio_url: str | None = None
    audio: Upload | None = None
    overlay_url: str | None = None
    overlay: Upload | None = None
    size: str = "1080x1920"
    seconds_per_image: float = 4.0
    transition_seconds: float = 0.5
    preview: bool = False
    idempotency_key: str | None = None


def _url(value: str, field_name: str) -> InputRef:
    try:
        return InputRef(url=check_url(value.strip()))
    except MediaError as exc:
        raise UserError(exc.code, f"{field_name}: {exc.message}", field_name) from exc


def _one_source(url: str | None, upload: Upload | None, name: str) -> None:
    if url and upload:
        raise UserError("CONFLICTING_INPUTS", f"give either {name}Url or {name}, not both", name)


def validate(ctx: Context, req: SlideshowRequest) -> tuple[int, int]:
    limits = ctx.services.limits
    count = len(req.image_urls) + len(req.images)
    if not 1 <= count <= limits.max_images:
        raise UserError(
            "INVALID_IMAGE_COUNT",
            f"a slideshow needs 1 to {limits.max_images} images (imageUrls and images together); got {count}",
            "imageUrls",
        )
    if req.size not in SIZE_PRESETS:
        known = ", ".join(SIZE_PRESETS)
        raise UserError("UNKNOWN_SIZE", f"size {req.size!r} is not one of {known}", "size")
    spi, fade = req.seconds_per_image, req.transition_seconds
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
    _one_source(req.audio_url, req.audio, "audio")
    _one_source(req.overlay_url, req.overlay, "overlay")
    check_key(req.idempotency_key)
    return SIZE_PRESETS[req.size]


async def create_slideshow(ctx: Context, req: SlideshowRequest) -> JobView:
    width, height = validate(ctx, req)
    images = [_url(u, f"imageUrls[{i}]") for i, u in enumerate(req.image_urls)]
    audio = _url(req.audio_url, "audioUrl") if req.audio_url else None
    overlay = _url(req.overlay_url, "overlayUrl") if req.overlay_url else None

    job_id = new_id()
    storage, limits = ctx.services.storage, ctx.services.limits
    stored: dict[str, str] = {}  # storage key -> sha256 of the content

    async def keep(upload: Upload, name: str, field_name: str) -> InputRef:
        filename = safe_name(upload.filename, name)
        key = f"jobs/{job_id}/uploads/{name}-{filename}"
        stored[key] = await store_upload(
            storage, upload, key, max_bytes=limits.max_upload_bytes, field=field_name
        )
        return InputRef(upload_key=key, filename=upload.filename)

    try:
        for i, upload in enumerate(req.images):
            images.append(await keep(upload, f"image-{i:02d}", f"images[{i}]"))
        if req.audio is not None:
            audio = await keep(req.audio, "audio", "audio")
        if req.overlay is not None:
            overlay = await keep(req.overlay, "overlay", "overlay")
    except BaseException:
        await storage.delete_prefix(f"jobs/{job_id}/")  # nothing half-stored survives a refusal
        raise

    params = SlideshowParams(
        images=images,
        audio=audio,
        overlay=overlay,
        width=width,
        height=height,
        fps=limits.render_fps,
        seconds_per_image=req.seconds_per_image,
        transition_seconds=req.transition_seconds,
        preset=limits.render_preset,
        crf=limits.render_crf,
        preview=req.preview,
    )
    return await submit(ctx, job_id, SLIDESHOW, params, idempotency_key=req.idempotency_key, uploads=stored)
