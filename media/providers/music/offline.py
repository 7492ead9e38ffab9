"""The offline music source: media.audio.music's generated backing track, made in a worker thread."""

import asyncio
from pathlib import Path

from media.audio.music import write_backing_track

SAMPLE_RATE = 48000
# The bed fades in under the first words and out under the last frames instead of stopping dead.
FADE_IN_SECONDS, FADE_OUT_SECONDS = 0.3, 1.5


class GeneratedMusic:
    async def backing_track(self, mood: str, seconds: float, dest: Path, *, seed: int) -> Path:
        fade_out = min(FADE_OUT_SECONDS, seconds / 4)
        return await asyncio.to_thread(
            write_backing_track,
            mood,
            seconds,
            dest.with_suffix(".wav"),
            seed=seed,
            sample_rate=SAMPLE_RATE,
            fade_in=min(FADE_IN_SECONDS, seconds / 4),
            fade_out=fade_out,
        )
