"""Narration audio on disk: written whole or not at all, measured by decoding it, and where its voice is.

A clip's duration is what its file decodes to (the Voice Protocol promises the two agree), so cloud audio is
decoded once through the demuxer allow-list rather than trusted from a header. The vendors' audio comes from
their API over TLS, so decoding it in a thread is enough; user uploads go through the child-process path.
"""

import os
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media.errors import MediaError
from media.inputs.demux import AUDIO_FORMATS, open_input
from media.providers.http import ProviderError

WINDOW_SECONDS = 0.01
# Speech sits 15-40 dB below full scale; 50 dB under the clip's loudest window is silence between words
# (espeak's pauses are digital zero, a cloud voice's are breath and noise well under that).
_SILENCE_BELOW_PEAK_DB = 50.0

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Clip:
    duration: float  # seconds, as decoded
    voiced_start: float  # where the voice begins and ends, within [0, duration]
    voiced_end: float


def voiced_windows(samples: F32, rate: int) -> Mask:
    """Per 10 ms window of mono `samples`, whether someone is speaking."""
    size = max(1, round(rate * WINDOW_SECONDS))
    count = -(-len(samples) // size)
    padded = np.zeros(count * size, dtype=np.float32)
    padded[: len(samples)] = samples
    rms = np.sqrt(np.mean(np.square(padded.reshape(count, size), dtype=np.float64), axis=1))
    peak = float(rms.max()) if count else 0.0
    if peak <= 0.0:
        return np.zeros(count, dtype=np.bool_)
    mask: Mask = rms > peak * 10 ** (-_SILENCE_BELOW_PEAK_DB / 20)
    return mask


def clip_of(samples: F32, rate: int) -> Clip:
    duration = len(samples) / rate
    voiced = np.flatnonzero(voiced_windows(samples, rate))
    if not len(voiced):
        return Clip(duration, 0.0, duration)
    start = float(voiced[0]) * WINDOW_SECONDS
    end = min(duration, float(voiced[-1] + 1) * WINDOW_SECONDS)
    return Clip(duration, min(start, end), end)


def write_atomically(path: Path, data: bytes) -> None:
    """A rerun or a crash never leaves half a file where a finished clip is expected."""
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_wav(path: Path, pcm: bytes, rate: int) -> None:
    """16-bit mono PCM as a WAV file, atomically."""
    temporary = path.with_name(f".{path.name}.part")
    with wave.open(str(temporary), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    os.replace(temporary, path)


def decode_mono(path: Path) -> tuple[F32, int]:
    """The first audio stream of `path` as mono float samples at its own rate."""
    with open_input(path, AUDIO_FORMATS, "AUDIO_DECODE_FAILED", "audio") as container:
        if not container.streams.audio:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} has no audio stream")
        stream = container.streams.audio[0]
        rate = stream.rate or stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[F32] = []
        try:
            for frame in container.decode(stream):
                chunks.extend(
                    np.asarray(out.to_ndarray(), np.float32).ravel() for out in resampler.resample(frame)
                )
            chunks.extend(
                np.asarray(out.to_ndarray(), np.float32).ravel() for out in resampler.resample(None)
            )
        except av.FFmpegError as exc:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} could not be decoded: {exc}") from exc
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), rate


def store_audio(data: bytes, path: Path, *, provider: str) -> Clip:
    """Write a vendor's audio to `path` and measure it; audio that does not decode is the vendor's fault."""
    write_atomically(path, data)
    try:
        samples, rate = decode_mono(path)
    except MediaError as exc:
        path.unlink(missing_ok=True)
        raise ProviderError("PROVIDER_BAD_RESPONSE", f"{provider} sent audio that does not decode") from exc
    if not len(samples):
        path.unlink(missing_ok=True)
        raise ProviderError("PROVIDER_BAD_RESPONSE", f"{provider} sent an empty audio clip")
    return clip_of(samples, rate)
