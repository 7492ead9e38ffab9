"""assets: one picture per scene and its frame. The picture is the user's image for that scene when given,
else a cloud image provider's from the scene's visual prompt (jobs.kinds.short.pictures: a paid action,
checkpointed so a rerun or retryJob never pays twice), else the offline designer's backdrop (all listed as
`image` artifacts). The `frame` artifact is the picture with the scene's headline where the video shows it
at rest.

A picture the provider fails to make is drawn offline instead and the failure kept as a warning: one bad
scene does not cost the video.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from jobs.inputs import Wanted, fetch_inputs
from jobs.kinds.short import pictures
from jobs.kinds.short.drafting import DraftOutput
from jobs.kinds.short.params import ShortParams
from jobs.stage import StageCall
from media.errors import MediaError
from media.kinds.short import ShortLook, ShortScene, headlines
from media.kinds.short_look import bold_font
from media.storage.placement import artifact_key
from media.storyboard import StoryScene
from media.timeline.fonts import missing_glyphs

PARALLEL = 2  # pictures drawn at once: drawing is CPU work in threads, and there are few cores
Source = Literal["upload", "generated", "designed"]


class ScenePicture(BaseModel):
    picture_key: str  # what the video shows
    frame_key: str  # the frame artifact
    source: Source
    clip_key: str | None = None  # the picture made into video (`motion`), shown instead of it


class AssetsOutput(BaseModel):
    scenes: list[ScenePicture]
    warnings: list[str] = Field(default_factory=list)


def look_of(call: StageCall[ShortParams], tone: str) -> ShortLook:
    p = call.params
    return ShortLook(
        width=p.width,
        height=p.height,
        tone=tone,
        fps=p.fps,
        preset=p.preset,
        crf=p.crf,
        captions=p.captions,
        caption_style=p.caption_style,
        font=call.tools.caption_font,
    )


async def make_assets(call: StageCall[ShortParams]) -> AssetsOutput:
    draft = call.output("drafting", DraftOutput)
    scenes = draft.storyboard.scenes
    look = look_of(call, draft.tone)
    # Before anything is drawn: a frame of empty boxes is worse than a clear error.
    said = " ".join(f"{s.on_screen_text} {s.narration}" for s in scenes)
    check_glyphs(look.font, said)
    images = call.params.images
    wanted = [
        Wanted(name=f"image-{k:02d}", ref=ref, accept=frozenset({"image"}), label=f"images[{k}]")
        for k, ref in enumerate(images)
    ]
    uploads = await fetch_inputs(call, wanted) if wanted else {}
    folder = call.work_dir / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(PARALLEL)
    warnings: list[str] = []
    done = 0

    async def one(k: int, scene: StoryScene) -> ScenePicture:
        nonlocal done
        source: Source = "upload"
        async with gate:
            if k < len(images):
                key = uploads[f"image-{k:02d}"].key
            else:
                key, source, warning = await _picture(call, k, scene, look, folder)
                if warning:
                    warnings.append(warning)
            local = await _local(call, k, key, folder)
            frame_key = await _frame(call, k, local, scene, look, folder)
            clip_key = None
            if pictures.moving(call):
                try:
                    clip_key = await call.once(
                        f"clip-{k}", lambda: pictures.animate(call, k, scene, local, folder), str
                    )
                except MediaError as exc:
                    motion = call.providers.image_to_video.name
                    warnings.append(
                        f"scene {k + 1} motion ({motion}): {exc.code}: {exc.message} (still shown)"
                    )
        done += 1
        await call.report(done / len(scenes), f"{done}/{len(scenes)} frames")
        return ScenePicture(picture_key=key, frame_key=frame_key, source=source, clip_key=clip_key)

    made = await asyncio.gather(*(one(k, scene) for k, scene in enumerate(scenes)))
    return AssetsOutput(scenes=list(made), warnings=sorted(warnings))


def check_glyphs(font: Path | None, text: str) -> None:
    """MISSING_GLYPHS naming the characters the headline and caption font cannot draw."""
    path = bold_font(font)
    missing = missing_glyphs(path, text)
    if missing:
        raise MediaError(
            "MISSING_GLYPHS",
            f"the headlines and captions need characters the font {path.name} has no glyphs for: "
            f"{missing!r}; set CLIPFORGE_CAPTION_FONT to a font that has them (e.g. Noto Sans CJK for "
            "Chinese or Japanese)",
        )


async def _picture(
    call: StageCall[ShortParams], k: int, scene: StoryScene, look: ShortLook, folder: Path
) -> tuple[str, Source, str | None]:
    warning = None
    provider = pictures.cloud(call)
    if provider is not None and scene.visual_prompt.strip():
        try:
            key = await call.once(f"picture-{k}", lambda: pictures.generate(call, k, scene, folder), str)
            return key, "generated", None
        except MediaError as exc:
            warning = f"scene {k + 1} picture ({provider}): {exc.code}: {exc.message} (drawn offline instead)"
    return await _design(call, k, look, folder), "designed", warning


async def _design(call: StageCall[ShortParams], k: int, look: ShortLook, folder: Path) -> str:
    # Imported here: numpy and OpenCV stay out of the API process, which imports every kind's declaration.
    from media.kinds.short_look import PALETTES
    from media.providers.visual.backdrop import paint_backdrop, seed_of

    path = folder / f"picture-{k:02d}.jpg"  # where _frame looks for it
    seed = seed_of(call.params.idea, look.tone, k)

    def draw() -> None:
        # JPEG: a soft, painted picture loses nothing visible, and it is written and read several times
        # faster than a PNG (and a tenth of the size).
        picture = paint_backdrop(look.width, look.height, PALETTES[look.tone], seed)
        picture.save(path, format="JPEG", quality=92)

    await asyncio.to_thread(draw)
    key = artifact_key(call.job_id, "image", f"images/scene-{k:02d}.jpg")
    size = await call.tools.storage.put_file(key, path, "image/jpeg")
    await call.add_artifact("image", key, "image/jpeg", size)
    return key


async def _local(call: StageCall[ShortParams], k: int, picture_key: str, folder: Path) -> Path:
    """The picture as a local file: where this run drew or generated it, else fetched from storage."""
    local = folder / f"picture-{k:02d}{Path(picture_key).suffix}"
    if not local.exists():
        await call.tools.storage.fetch_to(picture_key, local)
    return local


async def _frame(
    call: StageCall[ShortParams], k: int, local: Path, scene: StoryScene, look: ShortLook, folder: Path
) -> str:
    from media.providers.visual.backdrop import paint_frame

    shown = ShortScene(0.0, scene.duration, local, scene.on_screen_text, 0.0, ())
    headline = next(iter(headlines([shown], look)), None)
    path = folder / f"frame-{k:02d}.jpg"

    def draw() -> None:
        paint_frame(local, headline, look.width, look.height).save(path, format="JPEG", quality=88)

    await asyncio.to_thread(draw)
    key = artifact_key(call.job_id, "frame", f"frames/scene-{k:02d}.jpg")
    await call.add_artifact(
        "frame", key, "image/jpeg", await call.tools.storage.put_file(key, path, "image/jpeg")
    )
    return key
