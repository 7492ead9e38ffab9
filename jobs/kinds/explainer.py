"""The explainer (createExplainer): text → a scene script → each scene's narration ‖ its visual → a narrated,
captioned video. Stages: script, assets (a few scenes at a time), then compose and the shared tail (which
also writes the SRT and WebVTT of the captions).

A narration that fails fails the job (no silent video); a visual that fails becomes a clearly marked
placeholder and the failure is kept as a warning on the assets stage, so one bad scene never costs the video.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pydantic import BaseModel, Field

from jobs.errors import UserError
from jobs.kind import InputLimits, Kind, Values
from jobs.params import OutputParams
from jobs.stage import StageCall, StageSpec
from media.errors import MediaError
from media.kinds.explainer import THEMES, ExplainerLook, explainer_timeline
from media.providers.voice.base import Speech, WordTiming
from media.script import Scene, Script
from media.storage.placement import artifact_key
from media.timeline.fonts import missing_glyphs, resolve
from media.timeline.model import Timeline

PARALLEL_SCENES = 3  # scenes whose narration and visual are made at once
MAX_SCENES = 20
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


class ExplainerParams(OutputParams):
    source_text: str
    title: str | None = None
    voice: str | None = None
    language: str = "en"
    visual_style: str = "dark"
    max_scenes: int = 8


def intake(values: Values, limits: InputLimits) -> ExplainerParams:
    params = ExplainerParams.model_validate(values)
    text = params.source_text.strip()
    if not text:
        raise UserError("EMPTY_TEXT", "sourceText is empty", "sourceText")
    if len(text) > limits.max_source_chars:
        raise UserError(
            "TEXT_TOO_LONG",
            f"sourceText has {len(text)} characters; the limit is {limits.max_source_chars}",
            "sourceText",
        )
    if not 1 <= params.max_scenes <= MAX_SCENES:
        raise UserError("INVALID_SCENE_COUNT", f"maxScenes must be 1 to {MAX_SCENES}", "maxScenes")
    if params.visual_style not in THEMES:
        styles = ", ".join(THEMES)
        raise UserError(
            "UNKNOWN_STYLE", f"visualStyle {params.visual_style!r} is not one of {styles}", "visualStyle"
        )
    check_speech(params.voice, params.language, limits)
    return params.model_copy(update={"source_text": text, "title": (params.title or "").strip() or None})


def check_speech(voice: str | None, language: str, limits: InputLimits) -> None:
    """UNSUPPORTED_LANGUAGE or UNSUPPORTED_VOICE up front, when the configured voice can tell."""
    if not _LANGUAGE.match(language.strip().lower().replace("_", "-")):
        message = f"language {language!r} is not a language tag like en or pt-BR"
        raise UserError("UNSUPPORTED_LANGUAGE", message, "language")
    if limits.check_voice is None:
        return
    try:
        limits.check_voice(voice, language)
    except MediaError as exc:
        if voice is None:
            raise UserError("UNSUPPORTED_LANGUAGE", exc.message, "language") from exc
        raise UserError("UNSUPPORTED_VOICE", exc.message, "voice") from exc


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


async def write_script(call: StageCall[ExplainerParams]) -> ScriptOutput:
    params = call.params
    script = await call.providers.script.write_script(
        params.source_text, title=params.title, max_scenes=params.max_scenes, language=params.language
    )
    key = f"jobs/{call.job_id}/script.json"
    body = script.model_dump_json(indent=2).encode()
    size = await call.tools.storage.put_bytes(key, body, "application/json")
    await call.add_artifact("script", key, "application/json", size)
    await call.report(1.0, f"{len(script.scenes)} scenes")
    return ScriptOutput(script=script, key=key)


async def make_assets(call: StageCall[ExplainerParams]) -> AssetsOutput:
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
        visual_key = artifact_key(call.job_id, "visual", f"visuals/scene-{index:02d}{picture.suffix}")
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


async def _narrate(call: StageCall[ExplainerParams], index: int, scene: Scene, folder: Path) -> Speech:
    params = call.params
    try:
        return await call.providers.voice.speak(
            scene.narration,
            folder / f"narration-{index:02d}.wav",
            voice=params.voice,
            language=params.language,
        )
    except MediaError as exc:
        raise MediaError(exc.code, f"scene {index + 1} narration: {exc.message}") from exc


async def _paint(
    call: StageCall[ExplainerParams], index: int, scene: Scene, folder: Path
) -> tuple[Path, str | None]:
    params = call.params
    theme = THEMES[params.visual_style]
    dest = folder / f"visual-{index:02d}.png"
    try:
        painted = await call.providers.painter.paint(
            scene, dest, width=params.width, height=params.height, theme=theme
        )
        return painted, None
    except MediaError as exc:
        warning = f"scene {index + 1} {scene.visual}: {exc.code}: {exc.message}"
        failed = scene.model_copy(update={"content": f"{exc.code}: {exc.message}"})
        placeholder = await call.providers.placeholder.paint(
            failed, dest, width=params.width, height=params.height, theme=theme
        )
        return placeholder, warning


async def compose(call: StageCall[ExplainerParams]) -> Timeline:
    params, assets = call.params, call.output("assets", AssetsOutput)
    font = resolve(call.tools.caption_font, False)
    missing = missing_glyphs(font, " ".join(w.text for s in assets.scenes for w in s.words))
    if missing:
        raise MediaError(
            "MISSING_GLYPHS",
            f"the captions need characters the font {font.name} has no glyphs for: {missing!r}; set "
            "CLIPFORGE_CAPTION_FONT to a font that has them (e.g. Noto Sans CJK for Chinese or Japanese)",
        )
    speeches = [
        Speech(audio=Path(s.narration_key), duration=s.duration, words=s.words) for s in assets.scenes
    ]
    look = ExplainerLook(
        width=params.width,
        height=params.height,
        fps=params.fps,
        preset=params.preset,
        crf=params.crf,
        caption_font=call.tools.caption_font,
    )
    return explainer_timeline(speeches, [Path(s.visual_key) for s in assets.scenes], look)


EXPLAINER = Kind(
    name="EXPLAINER",
    params=ExplainerParams,
    intake=intake,
    stages=(
        StageSpec("script", write_script, ScriptOutput, weight=1.0),
        StageSpec("assets", make_assets, AssetsOutput, weight=4.0),
    ),
    compose=compose,
    render_weight=6.0,
)
