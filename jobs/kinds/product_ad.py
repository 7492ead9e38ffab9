"""The product ad (createProductAd): a product, a style and a call to action → a 30 s ad in four scenes, hook
to call to action. Stages:

- script: the product photo and music fetched (a photo that does not decode fails here, before any paid
  call), then the script from the language model, which sees the photo, or from the style's offline rules;
- voice: one line per scene; a scene whose line is too long takes time from the others within the 30 s, or
  the job fails with VOICE_TOO_LONG (a line is never cut);
- visuals: each scene's backdrop with the product under its soft shadow;
- then compose and the shared render → store → finalize.

Paid calls (the model's answer, each spoken line) are checkpointed the moment they exist, so a rerun after a
crash pays for none of them again; their cost lands on the stage that made them (`stages { costUsd }`).
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from pydantic import BaseModel

from jobs.inputs import Wanted, fetch_inputs
from jobs.kind import Kind
from jobs.kinds.ad_intake import ProductAdParams, intake
from jobs.stage import StageCall, StageSpec
from media.errors import MediaError
from media.kinds.ad.layout import layout_for
from media.kinds.ad.paint import paint_scene, save_png, stand_in
from media.kinds.ad.photo import for_model, load_product
from media.kinds.ad.script import AdScript, script_ask
from media.kinds.ad.styles import AD_SECONDS, SCENES, font_path
from media.kinds.ad.timeline import AdLook, Voiced, ad_timeline
from media.kinds.ad.timing import scene_lengths
from media.kinds.ad.writer import write_offline
from media.providers.llm.base import Image, answer
from media.providers.voice.base import WordTiming
from media.timeline.model import Timeline

Call = StageCall[ProductAdParams]


class ScriptOutput(BaseModel):
    script: AdScript
    key: str
    product_key: str | None = None
    music_key: str | None = None


class SpokenScene(BaseModel):
    key: str
    duration: float
    words: list[WordTiming]


class VoiceOutput(BaseModel):
    scenes: list[SpokenScene]
    lengths: list[float]  # each scene's length in seconds, adding up to 30
    lengthened: list[int] = []  # scenes (1-based) made longer than planned for their line


class VisualsOutput(BaseModel):
    keys: list[str]


async def write_script(call: Call) -> ScriptOutput:
    params = call.params
    wanted = []
    if params.product_image is not None:
        wanted.append(
            Wanted(
                name="product", ref=params.product_image, accept=frozenset({"image"}), label="productImage"
            )
        )
    if params.music is not None:
        wanted.append(
            Wanted(name="music", ref=params.music, accept=frozenset({"audio", "video"}), label="music")
        )
    stored = await fetch_inputs(call, wanted) if wanted else {}
    product_key = stored["product"].key if "product" in stored else None
    photo = None
    if product_key is not None:
        picture = await asyncio.to_thread(load_product, await _local(call, product_key))
        if call.providers.llm is not None:
            photo = Image(*await asyncio.to_thread(for_model, picture))

    async def make() -> AdScript:
        style = params.template
        llm = call.providers.llm
        if llm is None:
            return write_offline(
                style,
                product=params.product_name,
                cta=params.cta_text,
                description=params.description,
                audience=params.audience,
            )
        ask = script_ask(
            style,
            product=params.product_name,
            cta=params.cta_text,
            description=params.description,
            audience=params.audience,
            seconds=style.seconds,
            language=params.language,
            photo=photo,
        )
        return await answer(llm, ask)

    # Checkpointed the moment the model answers: a rerun does not pay for the script twice.
    script = await call.once("script", make, AdScript)
    key = f"jobs/{call.job_id}/script.json"
    size = await call.tools.storage.put_bytes(
        key, script.model_dump_json(indent=2).encode(), "application/json"
    )
    await call.add_artifact("script", key, "application/json", size)
    await call.report(1.0, f"hook: {script.hook}")
    return ScriptOutput(
        script=script,
        key=key,
        product_key=product_key,
        music_key=stored["music"].key if "music" in stored else None,
    )


async def _local(call: Call, key: str) -> Path:
    folder = call.work_dir / "stored"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    return await call.tools.storage.fetch_to(key, folder / key.rsplit("/", 1)[-1])


async def speak(call: Call) -> VoiceOutput:
    params = call.params
    script = call.output("script", ScriptOutput).script
    folder = call.work_dir / "voice"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    done = 0

    async def one(index: int, line: str) -> SpokenScene:
        nonlocal done

        async def make() -> SpokenScene:
            try:
                speech = await call.providers.voice.speak(
                    line, folder / f"scene-{index:02d}.wav", voice=params.voice, language=params.language
                )
            except MediaError as exc:
                raise MediaError(exc.code, f"scene {index + 1} voiceover: {exc.message}") from exc
            key = f"jobs/{call.job_id}/narration/scene-{index:02d}{speech.audio.suffix}"
            content_type = "audio/wav" if speech.audio.suffix == ".wav" else "audio/mpeg"
            size = await call.tools.storage.put_file(key, speech.audio, content_type)
            await call.add_artifact("narration", key, content_type, size)
            return SpokenScene(key=key, duration=speech.duration, words=speech.words)

        # Each line is checkpointed as it is spoken: a rerun pays only for the lines not yet spoken.
        spoken = await call.once(f"scene-{index}", make, SpokenScene)
        done += 1
        await call.report(done / SCENES, f"{done}/{SCENES} lines spoken")
        return spoken

    scenes = list(await asyncio.gather(*(one(k, s.voiceover) for k, s in enumerate(script.scenes))))
    planned = params.template.seconds
    lengths = scene_lengths(planned, [s.duration for s in scenes])
    longer = [k + 1 for k, (n, p) in enumerate(zip(lengths, planned, strict=True)) if n > p + 1e-3]
    if longer:
        await call.report(1.0, f"scenes {', '.join(map(str, longer))} lengthened to fit their lines")
    return VoiceOutput(scenes=scenes, lengths=lengths, lengthened=longer)


async def paint(call: Call) -> VisualsOutput:
    params = call.params
    style, (width, height) = params.template, (params.width, params.height)
    product_key = call.output("script", ScriptOutput).product_key
    if product_key is not None:
        product = await asyncio.to_thread(load_product, await _local(call, product_key))
    else:
        size = round(min(width, height) * 0.5)
        product = stand_in(params.product_name, font_path(style.type.headline), style.palette, size)
    layout = layout_for(width, height)
    folder = call.work_dir / "visuals"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    keys = []
    for scene in range(SCENES):  # one at a time: each is a full frame of pixels
        path = folder / f"scene-{scene:02d}.png"
        picture = await asyncio.to_thread(paint_scene, style, layout, scene, width, height, product)
        await asyncio.to_thread(save_png, picture, path)
        key = f"jobs/{call.job_id}/visuals/scene-{scene:02d}.png"
        size = await call.tools.storage.put_file(key, path, "image/png")
        await call.add_artifact("visual", key, "image/png", size)
        keys.append(key)
        await call.report((scene + 1) / SCENES, f"{scene + 1}/{SCENES} scenes painted")
    return VisualsOutput(keys=keys)


async def compose(call: Call) -> Timeline:
    params = call.params
    written = call.output("script", ScriptOutput)
    voice = call.output("voice", VoiceOutput)
    visuals = call.output("visuals", VisualsOutput)
    voices = [Voiced(audio=Path(s.key), duration=s.duration, words=s.words) for s in voice.scenes]
    look = AdLook(
        width=params.width, height=params.height, fps=params.fps, preset=params.preset, crf=params.crf
    )
    music = written.music_key or await _backing_track(call)
    return ad_timeline(
        params.template,
        written.script,
        voices,
        voice.lengths,
        [Path(k) for k in visuals.keys],
        look,
        Path(music),
    )


async def _backing_track(call: Call) -> str:
    """The style's mood as an offline backing track, 30 s long, stored with the job's artifacts."""
    # Imported here: the synthesiser needs numpy, which the API process (it imports this kind) must not load.
    from media.audio.music import write_backing_track

    params = call.params
    path = call.work_dir / "music.wav"
    seed = zlib.crc32(params.product_name.encode()) % 1000  # the same ad always gets the same track
    await asyncio.to_thread(write_backing_track, params.template.music_mood, AD_SECONDS, path, seed=seed)
    key = f"jobs/{call.job_id}/music.wav"
    size = await call.tools.storage.put_file(key, path, "audio/wav")
    await call.add_artifact("music", key, "audio/wav", size)
    return key


PRODUCT_AD = Kind(
    name="PRODUCT_AD",
    params=ProductAdParams,
    intake=intake,
    stages=(
        StageSpec("script", write_script, ScriptOutput, weight=1.0),
        StageSpec("voice", speak, VoiceOutput, weight=1.0),
        StageSpec("visuals", paint, VisualsOutput, weight=1.0),
    ),
    compose=compose,
    render_weight=6.0,
)
