"""Real audio and the vendors' documented answers, made in the test: the cloud voices are exercised through
httpx.MockTransport with these, never against the network."""

import base64
import io
import json
import wave
from collections.abc import Callable

import av
import httpx
import numpy as np
import numpy.typing as npt

RATE = 24000
LEAD_SECONDS = 0.2  # silence before the "voice" starts
TAIL_SECONDS = 0.3  # and after it ends

F32 = npt.NDArray[np.float32]
Handler = Callable[[httpx.Request], httpx.Response]


def speech_like(seconds: float = 2.0, rate: int = RATE) -> F32:
    """Voiced bursts (a 150 Hz buzz with harmonics, 0.2 s) and short gaps between silent lead and tail."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6))
    bursts = ((t - LEAD_SECONDS) % 0.25) < 0.2
    voiced = (t >= LEAD_SECONDS) & (t < seconds - TAIL_SECONDS) & bursts
    return np.asarray(0.25 * buzz * voiced, dtype=np.float32)


def mp3_bytes(samples: F32, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def wav_bytes(samples: F32, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def decoded_seconds(path: str) -> float:
    """The file's length by decoding every frame, independently of the code under test."""
    with av.open(path) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / float(stream.rate)


def elevenlabs_answer(text: str, audio: bytes, seconds: float) -> dict[str, object]:
    """The documented with-timestamps answer: the audio in base64 and the text's characters spread evenly over
    the voiced part of the clip."""
    start, end = LEAD_SECONDS, seconds - TAIL_SECONDS
    step = (end - start) / len(text)
    return {
        "audio_base64": base64.b64encode(audio).decode(),
        "alignment": {
            "characters": list(text),
            "character_start_times_seconds": [round(start + i * step, 3) for i in range(len(text))],
            "character_end_times_seconds": [round(start + (i + 1) * step, 3) for i in range(len(text))],
        },
        "normalized_alignment": None,
    }


def openai_handler(audio: bytes, content_type: str = "audio/mpeg") -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=audio)

    return handle


def elevenlabs_handler(seconds: float = 2.0) -> Handler:
    audio = mp3_bytes(speech_like(seconds))

    def handle(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["text"]
        return httpx.Response(200, json=elevenlabs_answer(text, audio, seconds))

    return handle
