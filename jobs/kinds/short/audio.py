"""audio: each scene's narration spoken (word timings kept), placed on the video's timeline as one
`voiceover`; the `music` bed (the user's track, else a generated one in the mood); the two mixed into the
`soundtrack`, the music ducked under the voice and the whole normalised (loudness and true peak from
settings); and the `subtitles`: SRT and WebVTT of the same phrases as the burned-in captions, and a
word-level WebVTT for karaoke players.

Spoken narrations are stored and checkpointed as they are made: a rerun (after a crash, or a retryJob when
mixing failed) does not ask a cloud voice for them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from pathlib import Path

from pydantic import BaseModel, Field

from jobs.inputs import Wanted, fetch_inputs
from jobs.kinds.short.assets import look_of
from jobs.kinds.short.drafting import DraftOutput
from jobs.kinds.short.params import ShortParams
from jobs.stage import StageCall
from jobs.tools import MusicBed
from media.errors import MediaError
from media.kinds.short import ShortScene, caption_clips, place_voices
from media.providers.voice.base import WordTiming
from media.render.subtitles import cues, to_srt, to_webvtt, to_word_webvtt, word_cues
from media.storage.placement import artifact_key
from media.storyboard import TONE_MOODS
from media.timeline.model import Output, Timeline, Track, Word

PARALLEL_VOICES = 3
SAMPLE_RATE = 48000


class Spoken(BaseModel):
    key: str
    duration: float
    words: list[WordTiming]


class SceneVoice(BaseModel):
    narration_key: str | None = None  # None: a silent scene
    start: float | None = None  # seconds in the video
    duration: float = 0.0
    words: list[WordTiming] = Field(default_factory=list)  # relative to `start`


class AudioOutput(BaseModel):
    voices: list[SceneVoice]
    voiceover_key: str
    music_key: str
    soundtrack_key: str
    subtitle_keys: list[str]
    loudness_lufs: float
    true_peak_db: float


async def make_audio(call: StageCall[ShortParams]) -> AudioOutput:
    draft = call.output("drafting", DraftOutput)
    board = draft.storyboard
    total = board.seconds
    folder = call.work_dir / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(PARALLEL_VOICES)

    async def voice(k: int, text: str) -> Spoken | None:
        if not text.strip():
            return None
        async with gate:
            return await call.once(f"voice-{k}", lambda: _speak(call, k, text, folder), Spoken)

    # The bed needs nothing from the voices: it is made (or fetched) while they speak, on the other core.
    bed = asyncio.ensure_future(_music(call, draft, total, folder))
    try:
        spoken = await asyncio.gather(*(voice(k, s.narration) for k, s in enumerate(board.scenes)))
        await call.report(0.3, "narration spoken")
        starts = place_voices(board.starts, [s.duration if s else None for s in spoken], total)
        voices = [
            SceneVoice(narration_key=s.key, start=at, duration=s.duration, words=s.words)
            if s is not None and at is not None
            else SceneVoice()
            for s, at in zip(spoken, starts, strict=True)
        ]
        said = [(s.key, at) for s, at in zip(spoken, starts, strict=True) if s and at is not None]
        placed = await _fetched(call, said, folder)
        voiceover = folder / "voiceover.wav"
        voice_lufs = await asyncio.to_thread(_voiceover, placed, total, voiceover)
        voiceover_key = await _store(call, "voiceover", voiceover, "audio/wav")
        music, music_key, loop = await bed
    except BaseException:
        bed.cancel()  # a failed voice fails the stage: the bed is not waited for, nor left running
        with contextlib.suppress(BaseException):
            await bed
        raise
    await call.report(0.6, "music ready")
    soundtrack = folder / "soundtrack.wav"
    report = await asyncio.to_thread(
        _mix, voiceover, voice_lufs, music, total, soundtrack, call.tools.music_bed, loop
    )
    soundtrack_key = await _store(call, "soundtrack", soundtrack, "audio/wav")
    subtitle_keys = await _subtitles(call, draft, voices)
    await call.report(1.0, f"mixed at {report[0]:.1f} LUFS")
    return AudioOutput(
        voices=voices,
        voiceover_key=voiceover_key,
        music_key=music_key,
        soundtrack_key=soundtrack_key,
        subtitle_keys=subtitle_keys,
        loudness_lufs=round(report[0], 2),
        true_peak_db=round(report[1], 2),
    )


async def _fetched(
    call: StageCall[ShortParams], said: list[tuple[str, float]], folder: Path
) -> list[tuple[Path, float]]:
    """Each stored narration as a local file, with where it starts (a rerun finds them only in storage)."""
    paths = await asyncio.gather(
        *(
            call.tools.storage.fetch_to(key, folder / f"said-{k:02d}{Path(key).suffix}")
            for k, (key, _) in enumerate(said)
        )
    )
    return [(path, start) for path, (_, start) in zip(paths, said, strict=True)]


async def _speak(call: StageCall[ShortParams], k: int, text: str, folder: Path) -> Spoken:
    p = call.params
    try:
        speech = await call.providers.voice.speak(
            text, folder / f"spoken-{k:02d}.wav", voice=p.voice, language=p.language
        )
    except MediaError as exc:
        raise MediaError(exc.code, f"scene {k + 1} narration: {exc.message}") from exc
    key = artifact_key(call.job_id, "narration", f"narration/scene-{k:02d}{speech.audio.suffix}")
    content_type = "audio/wav" if speech.audio.suffix == ".wav" else "audio/mpeg"
    await call.add_artifact(
        "narration", key, content_type, await call.tools.storage.put_file(key, speech.audio, content_type)
    )
    return Spoken(key=key, duration=speech.duration, words=speech.words)


async def _music(
    call: StageCall[ShortParams], draft: DraftOutput, total: float, folder: Path
) -> tuple[Path, str, bool]:
    """The bed as a local file, its storage key, and whether it loops (a user's track may be shorter
    than the video)."""
    storage = call.tools.storage
    ref = call.params.music
    if ref is not None:
        stored = (
            await fetch_inputs(
                call, [Wanted(name="music", ref=ref, accept=frozenset({"audio"}), label="music")]
            )
        )["music"]
        await call.add_artifact("music", stored.key, stored.content_type, stored.bytes)
        return (
            await storage.fetch_to(stored.key, folder / f"music{Path(stored.key).suffix}"),
            stored.key,
            True,
        )
    mood = call.params.music_mood or TONE_MOODS.get(draft.tone, "upbeat")
    # The same storyboard and mood always get the same track.
    seed = int(hashlib.sha256(f"{draft.storyboard.title}|{draft.tone}|{mood}".encode()).hexdigest()[:12], 16)
    path = await call.providers.music.backing_track(mood, total, folder / "music.wav", seed=seed)
    return path, await _store(call, "music", path, "audio/wav"), False


async def _subtitles(call: StageCall[ShortParams], draft: DraftOutput, voices: list[SceneVoice]) -> list[str]:
    """The subtitle files, cut from the same caption clips the video burns in."""
    look = look_of(call, draft.tone)
    board = draft.storyboard
    scenes = [
        ShortScene(start, scene.duration, Path("-"), "", v.start or start, tuple(_words(v.words)))
        for start, scene, v in zip(board.starts, board.scenes, voices, strict=True)
    ]
    captions = caption_clips(scenes, look)
    if not captions:
        return []
    timeline = Timeline(
        output=Output(width=look.width, height=look.height, duration=board.seconds),
        tracks=[Track(clips=list(captions))],
    )
    phrases, karaoke = cues(timeline), word_cues(timeline)
    keys = []
    for name, text, content_type in (
        ("captions.srt", to_srt(phrases), "application/x-subrip"),
        ("captions.vtt", to_webvtt(phrases), "text/vtt"),
        ("captions.words.vtt", to_word_webvtt(karaoke), "text/vtt"),
    ):
        key = artifact_key(call.job_id, "subtitles", name)
        size = await call.tools.storage.put_bytes(key, text.encode(), content_type)
        await call.add_artifact("subtitles", key, content_type, size)
        keys.append(key)
    return keys


def _words(timings: list[WordTiming]) -> list[Word]:
    return [
        Word(text=w.text, start=w.start, end=max(w.end, w.start + 0.01)) for w in timings if w.text.strip()
    ]


async def _store(call: StageCall[ShortParams], kind: str, path: Path, content_type: str) -> str:
    key = artifact_key(call.job_id, kind, f"{kind}{path.suffix}")
    await call.add_artifact(
        kind, key, content_type, await call.tools.storage.put_file(key, path, content_type)
    )
    return key


# Run in threads; imported there so that numpy and PyAV stay out of the API process, which imports every
# kind's declaration.


def _voiceover(placed: list[tuple[Path, float]], total: float, dest: Path) -> float:
    from media.audio.bed import write_voiceover

    return write_voiceover(placed, total, dest, SAMPLE_RATE)


def _mix(
    voiceover: Path, voice_lufs: float, music: Path, total: float, dest: Path, bed: MusicBed, loop: bool
) -> tuple[float, float]:
    from media.audio.bed import BedSettings, mix_bed

    settings = BedSettings(
        sample_rate=SAMPLE_RATE,
        duck_db=bed.duck_db,
        duck_attack=bed.duck_attack_seconds,
        duck_release=bed.duck_release_seconds,
        music_db=bed.music_db,
        loudness_lufs=bed.loudness_lufs,
        true_peak_db=bed.true_peak_db,
    )
    report = mix_bed(voiceover, music, total, dest, settings, loop=loop, voice_lufs=voice_lufs)
    return report.loudness_lufs, report.true_peak_db
