"""A timeline's audio clips mixed into one stereo track: placed, trimmed, looped, faded, music ducked under
narration, loudness-normalised and peak-limited.

Entering a Mix decodes and mixes every clip a block at a time into a float32 file in `work_dir` while
measuring the mix's loudness; `frames_until` then reads that file back a block at a time with the gain and
the limiter applied. Nothing holds more than a block of the timeline, so a long video costs disk, not memory.
"""

import itertools
import math
import os
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import av
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from media.audio.decode import AAC_FRAME_SIZE, F32, decoded, ramp
from media.audio.loudness import F64, LoudnessMeter, PeakLimiter, ducking_gain_db
from media.errors import MediaError

_BLOCK = 16384
# Narration activity is judged on its RMS over 50 ms windows (loudness.ducking_gain_db).
_ACTIVITY_WINDOW_SECONDS = 0.05


class AudioClip(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    source: Path
    start: float = Field(0.0, ge=0.0)
    trim_start: float = Field(0.0, ge=0.0)
    duration: float | None = Field(None, gt=0.0)
    loop: bool = False
    volume: float = Field(1.0, ge=0.0, le=4.0)
    fade_in: float = Field(0.0, ge=0.0)
    fade_out: float = Field(0.0, ge=0.0)
    role: Literal["music", "narration", "effect"] = "effect"


class MixSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    sample_rate: int = Field(48000, ge=8000, le=192000)
    duck_db: float = Field(-12.0, ge=-60.0, le=0.0)
    duck_attack: float = Field(0.15, ge=0.0, le=10.0)
    duck_release: float = Field(0.4, ge=0.0, le=10.0)
    target_lufs: float | None = Field(-14.0, ge=-60.0, le=0.0)
    true_peak_db: float = Field(-1.0, ge=-20.0, le=0.0)


@dataclass(frozen=True)
class _Placed:
    """A clip in timeline samples: audible on [start, end)."""

    clip: AudioClip
    start: int
    end: int
    fade_in: int
    fade_out: int

    def gain(self, positions: F64) -> F64:
        gain = np.full(len(positions), self.clip.volume)
        # Linear ramps that reach exactly 0 at the clip's first and last sample.
        if self.fade_in:
            gain *= np.clip((positions - self.start) / self.fade_in, 0.0, 1.0)
        if self.fade_out:
            gain *= np.clip((self.end - 1 - positions) / self.fade_out, 0.0, 1.0)
        return gain


class Mix:
    """Exactly round(duration * sample_rate) stereo samples of the mixed clips, in AAC-sized frames."""

    def __init__(
        self, clips: Sequence[AudioClip], duration: float, settings: MixSettings, work_dir: Path
    ) -> None:
        if not math.isfinite(duration) or duration < 0:
            raise ValueError("duration must be a finite number of seconds >= 0")
        self._clips = list(clips)
        self._settings = settings
        self._rate = settings.sample_rate
        self._total = round(duration * self._rate)
        self._work_dir = work_dir
        self._path: Path | None = None
        self._file: BinaryIO | None = None
        self._measured: float | None = None
        self._gain_db = 0.0
        self._limiter = PeakLimiter(settings.true_peak_db, self._rate)
        self._produced = 0
        self._pending = np.zeros((2, 0), np.float32)

    def __enter__(self) -> "Mix":
        try:
            self._first_pass()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None

    @property
    def measured_lufs(self) -> float | None:
        """Integrated loudness of the mix before normalisation; None when it is silent (below -70 LUFS) or
        not normalised (no target, so not measured)."""
        return self._measured

    @property
    def gain_db(self) -> float:
        return self._gain_db

    @property
    def total_samples(self) -> int:
        return self._total

    def _first_pass(self) -> None:
        placed = [p for clip in self._clips if (p := _place(clip, self._total, self._rate)) is not None]
        narration = [p for p in placed if p.clip.role == "narration"]
        duck = None
        if narration and any(p.clip.role == "music" for p in placed):
            duck = self._ducking(narration)
        descriptor, name = tempfile.mkstemp(prefix="mix-", suffix=".f32", dir=self._work_dir)
        self._path = Path(name)
        target = self._settings.target_lufs
        meter = None if target is None else LoudnessMeter(self._rate, 2)  # nothing to measure for
        with os.fdopen(descriptor, "wb") as out:
            for block in _render(placed, self._total, self._rate, _BLOCK, duck):
                out.write(np.ascontiguousarray(block.T).tobytes())  # interleaved, to read back at any sample
                if meter is not None:
                    meter.add(block)
        self._file = self._path.open("rb")
        if meter is not None and target is not None and math.isfinite(loudness := meter.integrated()):
            self._measured = loudness
            self._gain_db = target - loudness

    def _ducking(self, narration: list[_Placed]) -> Callable[[F64], F64]:
        """Music gain over the timeline, from a first pass over the narration alone.

        Only one value per 50 ms window is kept; the gain between them is interpolated, linear in dB, so no
        step (and no click) ever reaches the music.
        """
        settings = self._settings
        window = max(1, round(_ACTIVITY_WINDOW_SECONDS * self._rate))
        levels: list[F64] = []
        for block in _render(narration, self._total, self._rate, 8 * window, None):
            squares = (block.astype(np.float64) ** 2).mean(axis=0)
            levels.append(np.pad(squares, (0, -len(squares) % window)).reshape(-1, window).mean(axis=1))
        mean_square = np.concatenate(levels) if levels else np.zeros(0)
        gain_db = ducking_gain_db(
            mean_square, window / self._rate, settings.duck_db, settings.duck_attack, settings.duck_release
        )
        # Each window's gain is pinned to its first sample, so the music is fully down by the start of the
        # window in which the narration starts.
        starts = np.arange(len(gain_db)) * window

        def duck(positions: F64) -> F64:
            return np.asarray(10 ** (np.interp(positions, starts, gain_db) / 20), dtype=np.float64)

        return duck

    def frames_until(self, sample: int) -> Iterator[av.AudioFrame]:
        """Frames until at least `sample` samples (capped at the total) have been produced."""
        if self._file is None:
            raise RuntimeError("enter the Mix before reading frames")
        target = min(sample, self._total)
        while self._produced < target:
            count = min(AAC_FRAME_SIZE, self._total - self._produced)
            if self._pending.shape[1] < count:
                self._pending = np.concatenate([self._pending, self._next_block()], axis=1)
            data = np.ascontiguousarray(self._pending[:, :count])
            self._pending = self._pending[:, count:]
            frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
            frame.sample_rate = self._rate
            frame.pts = self._produced
            frame.time_base = Fraction(1, self._rate)
            self._produced += count
            yield frame

    def _next_block(self) -> F32:
        start = self._produced + self._pending.shape[1]
        end = min(self._total, start + _BLOCK)
        ahead = min(self._total, end + self._limiter.lookahead - 1)
        gain = 10 ** (self._gain_db / 20)
        samples = self._read(start, ahead) * gain
        limited = self._limiter.process(samples[:, : end - start], samples[:, end - start :])
        return limited.astype(np.float32)

    def _read(self, start: int, end: int) -> F64:
        assert self._file is not None
        self._file.seek(start * 8)
        data = np.frombuffer(self._file.read((end - start) * 8), dtype=np.float32)
        return data.reshape(-1, 2).T.astype(np.float64)


def _place(clip: AudioClip, total: int, rate: int) -> _Placed | None:
    start = round(clip.start * rate)
    if start >= total:
        return None
    end = total if clip.duration is None else min(total, start + round(clip.duration * rate))
    if not clip.loop and clip.fade_out > 0:
        # The fade-out has to end where the sound does, which for a short source is before `end`.
        end = min(end, start + _source_length(clip, rate, end - start))
    if end <= start:
        return None
    return _Placed(clip, start, end, round(clip.fade_in * rate), round(clip.fade_out * rate))


def _render(
    placed: Sequence[_Placed], total: int, rate: int, block: int, duck: Callable[[F64], F64] | None
) -> Iterator[F32]:
    """The clips summed in (2, n) blocks from sample 0 to `total`; a source is open only while it plays."""
    readers: dict[int, _Reader] = {}
    try:
        for first in range(0, total, block):
            last = min(total, first + block)
            out = np.zeros((2, last - first), np.float32)
            for index, clip in enumerate(placed):
                lo, hi = max(first, clip.start), min(last, clip.end)
                if lo >= hi:
                    if clip.end <= first and index in readers:
                        readers.pop(index).close()
                    continue
                if index not in readers:
                    readers[index] = _Reader(_source_chunks(clip.clip, rate))
                positions = np.arange(lo, hi, dtype=np.float64)
                gain = clip.gain(positions)
                if duck is not None and clip.clip.role == "music":
                    gain *= duck(positions)
                out[:, lo - first : hi - first] += readers[index].take(hi - lo) * gain.astype(np.float32)
            yield out
    finally:
        for reader in readers.values():
            reader.close()


class _Reader:
    """Takes exact sample counts from a stream of decoded chunks; silence once the stream ends."""

    def __init__(self, chunks: Generator[F32, None, None]) -> None:
        self._chunks = chunks
        self._buffer: list[F32] = []
        self._buffered = 0

    def take(self, count: int) -> F32:
        while self._buffered < count:
            chunk = next(self._chunks, None)
            if chunk is None:  # the source has ended
                chunk = np.zeros((2, count - self._buffered), np.float32)
            self._buffer.append(chunk)
            self._buffered += chunk.shape[1]
        joined = np.concatenate(self._buffer, axis=1) if len(self._buffer) > 1 else self._buffer[0]
        rest = joined[:, count:]
        self._buffer = [rest] if rest.shape[1] else []
        self._buffered = rest.shape[1]
        return joined[:, :count]

    def close(self) -> None:
        self._chunks.close()


def _source_chunks(clip: AudioClip, rate: int) -> Generator[F32, None, None]:
    """The source from `trim_start` on, once or (loop) forever, with short ramps at each loop seam."""
    trim = round(clip.trim_start * rate)
    for repeat in itertools.count():
        skipped, held = 0, None
        for chunk in decoded(clip.source, rate):
            drop = min(trim - skipped, chunk.shape[1])
            skipped += drop
            if drop == chunk.shape[1]:
                continue
            chunk = chunk[:, drop:]
            if held is not None:
                yield held
            elif clip.loop and repeat:
                chunk = ramp(chunk, rising=True)
            held = chunk
        if held is None:
            name = clip.source.name
            raise MediaError(
                "AUDIO_TRIM_OUT_OF_RANGE", f"trim_start {clip.trim_start:g} s is past the end of {name}"
            )
        if not clip.loop:
            yield held
            return
        yield ramp(held, rising=False)


def _source_length(clip: AudioClip, rate: int, limit: int) -> int:
    """Samples of the trimmed source up to `limit`, counted by decoding: container durations are estimates."""
    count = 0
    with closing(_source_chunks(clip.model_copy(update={"loop": False}), rate)) as chunks:
        for chunk in chunks:
            count += chunk.shape[1]
            if count >= limit:
                break
    return count
