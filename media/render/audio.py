"""A timeline's soundtrack alone, mixed and AAC-encoded into an M4A: the audio of a render done in segments,
made once for the whole timeline (as its own job, beside the video segments) and copied in at the join."""

from pathlib import Path

import av

from media.audio.mix import Mix, MixSettings
from media.render.encode import add_audio_stream
from media.render.engine import sound_clips
from media.render.result import RenderResult
from media.timeline.checks import Limits, validate_timeline
from media.timeline.model import Timeline
from media.timeline.schedule import duration_of, frame_count


def render_audio(
    timeline: Timeline, audio_out: Path, *, work_dir: Path | None = None, limits: Limits | None = None
) -> RenderResult:
    """Exactly the soundtrack a one-piece render of `timeline` muxes (silence when it has no sound)."""
    placed = validate_timeline(timeline, limits)
    out = timeline.output
    total = frame_count(duration_of(timeline, placed), out.fps)
    sounds = sound_clips(timeline, placed)
    settings = MixSettings(sample_rate=out.sample_rate, target_lufs=out.loudness_lufs)
    container = av.open(str(audio_out), mode="w", format="mp4")
    finished = False
    try:
        stream = add_audio_stream(container, out.sample_rate)
        with Mix(sounds, total / out.fps, settings, work_dir or audio_out.parent) as mix:
            for frame in mix.frames_until(mix.total_samples):
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        container.close()
        finished = True
    finally:
        if not finished:
            container.close()
            audio_out.unlink(missing_ok=True)
    return RenderResult(total / out.fps, 0, out.width, out.height, bool(sounds), "aac")
