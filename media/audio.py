"""The soundtrack, streamed: decoded, resampled to 44.1 kHz stereo, looped or trimmed to the video's length
and faded out, produced a frame at a time so a long video never holds its whole track in memory."""

from collections.abc import Generator, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
import numpy.typing as npt

from media.demux import AUDIO_FORMATS, open_input
from media.errors import MediaError

SAMPLE_RATE = 44100
AAC_FRAME_SIZE = 1024
# A loop seam joins the end of the track to its start; 10 ms fades on both sides avoid a click there.
_SEAM_SAMPLES = SAMPLE_RATE // 100
_REPLAY_LIMIT_SAMPLES = 60 * SAMPLE_RATE

F32 = npt.NDArray[np.float32]


class AudioTrack:
    """Exactly `total_samples` stereo samples from `path` (or silence), in AAC-sized frames."""

    def __init__(self, path: Path | None, total_samples: int, fade_samples: int) -> None:
        self._total = total_samples
        self._fade = max(1, fade_samples)
        self._produced = 0
        self._buffer: list[F32] = []
        self._buffered = 0
        self._chunks: Generator[F32, None, None] | None = None
        if path is not None:
            self._chunks = _looped(path)
            # Decode the first chunk now so a bad file fails before any video work is done.
            self._push(next(self._chunks))

    def __enter__(self) -> "AudioTrack":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._chunks is not None:
            self._chunks.close()

    def frames_until(self, sample: int) -> Iterator[av.AudioFrame]:
        """Frames until at least `sample` samples (capped at the total) have been produced."""
        target = min(sample, self._total)
        while self._produced < target:
            count = min(AAC_FRAME_SIZE, self._total - self._produced)
            data = self._take(count)
            first = self._produced
            gain = np.clip((self._total - np.arange(first, first + count)) / self._fade, 0.0, 1.0)
            data = np.ascontiguousarray(data * gain.astype(np.float32))
            frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = first
            frame.time_base = Fraction(1, SAMPLE_RATE)
            self._produced += count
            yield frame

    def _push(self, chunk: F32) -> None:
        self._buffer.append(chunk)
        self._buffered += chunk.shape[1]

    def _take(self, count: int) -> F32:
        if self._chunks is None:
            return np.zeros((2, count), np.float32)
        while self._buffered < count:
            self._push(next(self._chunks))
        joined = self._buffer[0] if len(self._buffer) == 1 else np.concatenate(self._buffer, axis=1)
        rest = joined[:, count:]
        self._buffer = [rest] if rest.shape[1] else []
        self._buffered = rest.shape[1]
        return joined[:, :count]


def _looped(path: Path) -> Generator[F32, None, None]:
    """Chunks of (2, n) float32 samples, the track repeated forever with short fades at each seam.

    A track of up to a minute is replayed from memory (at most ~21 MB) rather than decoded again for every
    loop, which matters for a short jingle under a long video; longer tracks are decoded again.
    """
    memory: list[F32] | None = []
    stored = 0
    passes = 0
    while True:
        source: Iterable[F32] = memory if passes > 0 and memory is not None else _decoded(path)
        held: F32 | None = None
        for chunk in source:
            if passes == 0 and memory is not None:
                memory.append(chunk)
                stored += chunk.shape[1]
                if stored > _REPLAY_LIMIT_SAMPLES:
                    memory = None
            if held is not None:
                yield held
            elif passes > 0:
                chunk = _ramp(chunk, rising=True)
            held = chunk
        if held is None:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} contains no audio samples")
        yield _ramp(held, rising=False)
        passes += 1


def _ramp(chunk: F32, *, rising: bool) -> F32:
    n = min(_SEAM_SAMPLES, chunk.shape[1])
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    chunk = chunk.copy()
    if rising:
        chunk[:, :n] *= ramp
    else:
        chunk[:, chunk.shape[1] - n :] *= ramp[::-1]
    return chunk


def _decoded(path: Path) -> Iterator[F32]:
    """One pass over the file's first audio stream, as 44.1 kHz stereo float chunks."""
    with open_input(path, AUDIO_FORMATS, "AUDIO_DECODE_FAILED", "audio") as container:
        if not container.streams.audio:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield _samples(out)
            for out in resampler.resample(None):
                yield _samples(out)
        except av.FFmpegError as exc:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} could not be decoded: {exc}") from exc


def _samples(frame: av.AudioFrame) -> F32:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(2, -1)
