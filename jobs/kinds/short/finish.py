"""The short's last two stages, named as the seed names them, running the tail every kind shares
(jobs.tail) inside:

- rendering: compose the timeline (stored as the `manifest`), then the shared render in its child process;
  each checkpointed the moment it is done, so a rerun after a crash does not render a stored video again;
- ready: the shared store (the `video` and `thumbnail` listed) and finalize (uploads removed).

The subtitle files were written in the audio stage from the same caption clips, so store is not asked to
cut them again.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel

from jobs.kinds.short.assets import AssetsOutput, look_of
from jobs.kinds.short.audio import AudioOutput
from jobs.kinds.short.drafting import DraftOutput
from jobs.kinds.short.params import ShortParams
from jobs.stage import StageCall
from jobs.tail import ComposeOutput, RenderOutput, StoreOutput, compose_stage, finalize, render, store
from media.kinds.short import ShortScene, short_timeline
from media.timeline.model import Timeline, Word


class RenderingOutput(BaseModel):
    compose: ComposeOutput
    render: RenderOutput


class ReadyOutput(StoreOutput):
    removed_uploads: int = 0


async def compose(call: StageCall[ShortParams]) -> Timeline:
    draft = call.output("drafting", DraftOutput)
    pictures = call.output("assets", AssetsOutput).scenes
    audio = call.output("audio", AudioOutput)
    look = look_of(call, draft.tone)
    board = draft.storyboard
    scenes = []
    for start, scene, picture, voice in zip(board.starts, board.scenes, pictures, audio.voices, strict=True):
        words = tuple(
            Word(text=w.text, start=w.start, end=max(w.end, w.start + 0.01))
            for w in voice.words
            if w.text.strip()
        )
        shown = ShortScene(
            start,
            scene.duration,
            Path(picture.picture_key),
            scene.on_screen_text,
            voice.start or start,
            words,
            Path(picture.clip_key) if picture.clip_key else None,
        )
        scenes.append(shown)
    return short_timeline(scenes, Path(audio.soundtrack_key), look)


_COMPOSE = compose_stage(compose)


async def rendering(call: StageCall[ShortParams]) -> RenderingOutput:
    async def composed() -> ComposeOutput:
        made = await _COMPOSE.run(call)
        assert isinstance(made, ComposeOutput)
        return made

    manifest = await call.once("compose", composed, ComposeOutput)
    with_manifest = replace(call, outputs={**call.outputs, "compose": manifest})
    video = await call.once("render", lambda: render(with_manifest), RenderOutput)
    return RenderingOutput(compose=manifest, render=video)


async def ready(call: StageCall[ShortParams]) -> ReadyOutput:
    made = call.output("rendering", RenderingOutput)
    # The subtitles are the audio stage's; store lists the video and the thumbnail.
    rendered = made.render.model_copy(update={"cues": []})
    tail_call = replace(call, outputs={**call.outputs, "compose": made.compose, "render": rendered})
    stored = await store(tail_call)
    removed = await finalize(tail_call)
    subtitles = call.output("audio", AudioOutput).subtitle_keys
    return ReadyOutput(
        **{**stored.model_dump(), "subtitle_keys": subtitles}, removed_uploads=removed.removed_uploads
    )
