"""The explainer job: script → assets (narration ‖ visuals, per scene, a few at a time) → captions → render →
store → finalize.

A narration that fails fails the job (no silent video); a visual that fails becomes a clearly marked
placeholder and the failure is kept as a warning on the assets stage, so one bad scene never costs the video.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

from pydantic import BaseModel, Field

from jobs.outputs import FINISH, RenderOutput, render_timeline, result
from jobs.stage import Pipeline, StageCall, StageSpec
from media.errors import MediaError
from media.kinds.explainer import THEMES, ExplainerLook, explainer_timeline
from media.providers.voice.base import Speech, WordTiming
from media.render.subtitles import cues, to_srt, to_webvtt
from media.script import Scene, Script
from media.timeline.fonts import missing_glyphs, resolve
from media.timeline.model import Timeline

PARALLEL_SCENES = 3  # scenes whose narration and visual are made at once


class ExplainerParams(BaseModel):
    source_text: str = Field(min_length=1)
    title: str | None = None
    width: int
    height: int
    fps: int = 30
    voice: str | None = None
    language: str = "en"
    visual_style: str = "dark"
    max_scenes: int = 8
    preset: str = "veryfast"
    crf: int = 23
    preview: bool = False


class ScriptOutput(BaseModel):
    script: Script
    key: str


class SceneAssets(BaseModel):
    narration_key: str
    duration: float
    words: list[WordTiming]
    visual_key: str
    placeholder: bool = False


class AssetsOutput(BaseModel):
    scenes: list[SceneAssets]
    warnings: list[str] = Field(default_factory=list)  # shown on the stage in the API


class CaptionsOutput(BaseModel):
    srt_key: str
    vtt_key: str
    cues: int


def _params(call: StageCall) -> ExplainerParams:
    return cast(ExplainerParams, call.params)


async def write_script(call: StageCall) -> ScriptOutput:
    params = _params(call)
    script = await call.tools.writer.write_script(
        params.source_text, title=params.title, max_scenes=params.max_scenes, language=params.language
    )
    key = f"jobs/{call.job_id}/script.json"
    body = script.model_dump_json(indent=2).encode()
    size = await call.tools.storage.put_bytes(key, body, "application/json")
    await call.add_artifact("script", key, "application/json", size)
    await call.report(1.0, f"{len(script.scenes)} scenes")
    return ScriptOutput(script=script, key=key)


async def make_assets(call: StageCall) -> AssetsOutput:
    scenes = call.output("script", ScriptOutput).script.scenes
    folder = call.work_dir / "assets"
    folder.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(PARALLEL_SCENES)
    done = 0
    warnings: list[str] = []

    async def one(index: int, scene: Scene) -> SceneAssets:
        nonlocal done
        async with gate:
            speech, (picture, warning) = await asyncio.gather(
                _narrate(call, index, scene, folder), _paint(call, index, scene, folder)
            )
        if warning:
            warnings.append(warning)
        narration_key = f"jobs/{call.job_id}/narration/scene-{index:02d}{speech.audio.suffix}"
        visual_key = f"jobs/{call.job_id}/visuals/scene-{index:02d}{picture.suffix}"
        audio_type = "audio/wav" if speech.audio.suffix == ".wav" else "audio/mpeg"
        image_type = "image/png" if picture.suffix == ".png" else "image/jpeg"
        storage = call.tools.storage
        await call.add_artifact(
            "narration",
            narration_key,
            audio_type,
            await storage.put_file(narration_key, speech.audio, audio_type),
        )
        await call.add_artifact(
            "visual", visual_key, image_type, await storage.put_file(visual_key, picture, image_type)
        )
        done += 1
        await call.report(done / len(scenes), f"{done}/{len(scenes)} scenes voiced and drawn")
        return SceneAssets(
            narration_key=narration_key,
            duration=speech.duration,
            words=speech.words,
            visual_key=visual_key,
            placeholder=bool(warning),
        )

    made = await asyncio.gather(*(one(k, scene) for k, scene in enumerate(scenes)))
    return AssetsOutput(scenes=list(made), warnings=sorted(warnings))


async def _narrate(call: StageCall, index: int, scene: Scene, folder: Path) -> Speech:
    params = _params(call)
    try:
        return await call.tools.voice.speak(
            scene.narration,
            folder / f"narration-{index:02d}.wav",
            voice=params.voice,
            language=params.language,
        )
    except MediaError as exc:
        raise MediaError(exc.code, f"scene {index + 1} narration: {exc.message}") from exc


async def _paint(call: StageCall, index: int, scene: Scene, folder: Path) -> tuple[Path, str | None]:
    params = _params(call)
    theme = THEMES[params.visual_style]
    dest = folder / f"visual-{index:02d}.png"
    try:
        painted = await call.tools.painter.paint(
            scene, dest, width=params.width, height=params.height, theme=theme
        )
        return painted, None
    except MediaError as exc:
        warning = f"scene {index + 1} {scene.visual}: {exc.code}: {exc.message}"
        failed = scene.model_copy(update={"content": f"{exc.code}: {exc.message}"})
        placeholder = await call.tools.placeholder.paint(
            failed, dest, width=params.width, height=params.height, theme=theme
        )
        return placeholder, warning


def _timeline_for(
    params: ExplainerParams, assets: AssetsOutput, paths: dict[str, Path], font: Path | None
) -> Timeline:
    speeches = [
        Speech(audio=paths[s.narration_key], duration=s.duration, words=s.words) for s in assets.scenes
    ]
    pictures = [paths[s.visual_key] for s in assets.scenes]
    look = ExplainerLook(
        width=params.width,
        height=params.height,
        fps=params.fps,
        preset=params.preset,
        crf=params.crf,
        caption_font=font,
    )
    return explainer_timeline(speeches, pictures, look)


async def write_captions(call: StageCall) -> CaptionsOutput:
    params = _params(call)
    assets = call.output("assets", AssetsOutput)
    font = resolve(call.tools.caption_font, False)
    missing = missing_glyphs(font, " ".join(w.text for s in assets.scenes for w in s.words))
    if missing:
        raise MediaError(
            "MISSING_GLYPHS",
            f"the captions need characters the font {font.name} has no glyphs for: {missing!r}; set "
            "CLIPFORGE_CAPTION_FONT to a font that has them (e.g. Noto Sans CJK for Chinese or Japanese)",
        )
    keys = [k for s in assets.scenes for k in (s.narration_key, s.visual_key)]
    # The cues depend on words, times and caption geometry only, so stored keys stand in for the files.
    timeline = _timeline_for(params, assets, {k: Path(k) for k in keys}, call.tools.caption_font)
    found = cues(timeline)
    storage = call.tools.storage
    srt_key, vtt_key = f"jobs/{call.job_id}/captions.srt", f"jobs/{call.job_id}/captions.vtt"
    for key, text, content_type in (
        (srt_key, to_srt(found), "application/x-subrip"),
        (vtt_key, to_webvtt(found), "text/vtt"),
    ):
        size = await storage.put_bytes(key, text.encode(), content_type)
        await call.add_artifact("subtitles", key, content_type, size)
    return CaptionsOutput(srt_key=srt_key, vtt_key=vtt_key, cues=len(found))


async def render(call: StageCall) -> RenderOutput:
    params = _params(call)
    assets = call.output("assets", AssetsOutput)
    folder = call.work_dir / "render" / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    storage = call.tools.storage
    keys = [k for s in assets.scenes for k in (s.narration_key, s.visual_key)]
    # narration/scene-00.wav -> narration-scene-00.wav: one folder, no clashes.
    local = await asyncio.gather(
        *(storage.fetch_to(k, folder / f"{Path(k).parent.name}-{Path(k).name}") for k in keys)
    )
    paths = dict(zip(keys, local, strict=True))
    timeline = _timeline_for(params, assets, paths, call.tools.caption_font)
    return await render_timeline(
        call, timeline, {str(path): key for key, path in paths.items()}, preview=params.preview
    )


EXPLAINER = Pipeline(
    kind="EXPLAINER",
    params=ExplainerParams,
    stages=(
        StageSpec("script", write_script, ScriptOutput, weight=1.0),
        StageSpec("assets", make_assets, AssetsOutput, weight=4.0),
        StageSpec("captions", write_captions, CaptionsOutput, weight=0.2),
        StageSpec("render", render, RenderOutput, weight=6.0),
        *FINISH,
    ),
    result=result,
)
