"""Decoding audio for the mix: a file's first audio stream as stereo float chunks at a chosen rate, through
the demuxer allow-list, with every failure a MediaError."""

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media.errors import MediaError
from media.inputs.demux import AUDIO_FORMATS, open_input

SAMPLE_RATE = 44100
AAC_FRAME_SIZE = 1024
# A loop seam joins the end of a clip to its start; 10 ms fades on both sides avoid a click there.
_SEAM_SAMPLES = SAMPLE_RATE // 100

F32 = npt.NDArray[np.float32]


def decoded(path: Path, rate: int = SAMPLE_RATE) -> Iterator[F32]:
    """One pass over the file's first audio stream, as (2, n) float32 chunks at `rate`."""
    with open_input(path, AUDIO_FORMATS, "AUDIO_DECODE_FAILED", "audio") as container:
        if not container.streams.audio:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield samples(out)
            for out in resampler.resample(None):
                yield samples(out)
        except av.FFmpegError as exc:
            raise MediaError("AUDIO_DECODE_FAILED", f"{path.name} could not be decoded: {exc}") from exc


def samples(frame: av.AudioFrame) -> F32:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(2, -1)


def ramp(chunk: F32, *, rising: bool) -> F32:
    """The chunk with a short fade in (rising) or out at its edge."""
    n = min(_SEAM_SAMPLES, chunk.shape[1])
    gain = np.linspace(0.0, 1.0, n, dtype=np.float32)
    chunk = chunk.copy()
    if rising:
        chunk[:, :n] *= gain
    else:
        chunk[:, chunk.shape[1] - n :] *= gain[::-1]
    return chunk
