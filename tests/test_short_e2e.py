"""createShort from a one-line idea to a 30 s vertical video, offline (the rule-based writer, espeak-ng, the
designed frames, the generated music bed: all real, nothing mocked), checked by decoding what it made:
codecs and size, length, every scene's picture, captions against the voice, loudness, true peak, the music
ducked under the voice, and no drift between picture and sound. A contact sheet is written to look at."""

from __future__ import annotations

import asyncio
import json
import math
import re
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from clipforge.settings import Settings
from media.audio.loudness import integrated_loudness
from tests.service import Service
from tests.test_slideshow_e2e import PROGRESS

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

F64 = npt.NDArray[np.float64]
IDEA = "Why octopuses are smarter than you think"
FPS = 30
CREATE = """mutation($input: ShortInput!) { createShort(input: $input) { __typename
  ... on Job { id status stage stages { name } }
  ... on InvalidInput { code message field problems { path message } } } }"""
DONE = """query($id: ID!) { job(id: $id) {
  status stage videoUrl thumbnailUrl subtitlesUrl error { code message }
  stages { name status attempts warnings }
  artifacts { kind url contentType bytes stage } } }"""
STAGES = ["drafting", "assets", "audio", "rendering", "ready"]
ARTIFACTS = {"expansion", "storyboard", "image", "frame", "narration", "voiceover", "music", "soundtrack"}
ARTIFACTS |= {"subtitles", "manifest", "video", "thumbnail"}
SHEETS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The real frame rate (captions are checked to the frame); x264's fastest preset keeps the test short.
    return settings.model_copy(update={"render_fps": FPS, "render_preset": "ultrafast"})


async def watch(service: Service, job_id: str, limit_seconds: float = 500) -> list[dict[str, Any]]:
    """Subscribe first, then run the worker, collecting every event until the stream completes (a short
    renders for longer than the slideshow helper's minute on a busy machine)."""
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for message in service.subscribe(PROGRESS, {"id": job_id}, limit_seconds=limit_seconds):
            assert "errors" not in message, message
            events.append(message["data"]["jobProgress"])

    collector = asyncio.create_task(collect())
    for _ in range(100):  # the snapshot arrives once the subscription is live
        if events:
            break
        await asyncio.sleep(0.05)
    await service.drain_queue()
    await asyncio.wait_for(collector, 60)
    return events


async def create(service: Service, **fields: Any) -> dict[str, Any]:
    body = await service.gql(CREATE, {"input": fields})
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createShort"]
    return created


async def fetch(service: Service, url: str, dest: Path) -> Path:
    body = (await service.http.get(url)).content
    await asyncio.to_thread(dest.write_bytes, body)
    return dest


@dataclass
class Decoded:
    """What the checks need from the video, gathered in one decoding pass (1080x1920 frames are big)."""

    frames: int = 0
    width: int = 0
    height: int = 0
    codec: str = ""
    audio_codec: str = ""
    duration: float = 0.0
    audio: F64 = field(default_factory=lambda: np.zeros((2, 0)))
    audio_rate: int = 0
    stills: dict[int, Image.Image] = field(default_factory=dict)  # frame index -> picture
    highlight: dict[int, npt.NDArray[np.bool_]] = field(default_factory=dict)  # frame index -> mask


def highlighted(rgb: npt.NDArray[np.uint8], accent: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
    """Pixels of the caption band in the highlight colour."""
    band = rgb[int(0.55 * rgb.shape[0]) : int(0.8 * rgb.shape[0])].astype(np.int32)
    return np.asarray(np.abs(band - np.array(accent)).max(axis=2) < 28, np.bool_)


def decode(video: Path, stills: set[int], marks: set[int], accent: tuple[int, int, int]) -> Decoded:
    out = Decoded()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        out.codec, out.width, out.height = (
            stream.codec_context.name,
            stream.codec_context.width,
            stream.codec_context.height,
        )
        out.audio_codec = container.streams.audio[0].codec_context.name
        out.duration = float(container.duration or 0) / 1e6
        for index, frame in enumerate(container.decode(stream)):
            out.frames += 1
            if index in stills:
                out.stills[index] = frame.to_image()
            if index in marks:
                out.highlight[index] = highlighted(frame.to_ndarray(format="rgb24"), accent)
    with av.open(str(video)) as container:
        chunks = [f.to_ndarray().reshape(2, -1) for f in container.decode(audio=0)]
        out.audio_rate = container.streams.audio[0].codec_context.sample_rate
    out.audio = np.concatenate(chunks, axis=1).astype(np.float64)
    return out


def read_wav(path: Path) -> tuple[F64, int]:
    """A 16-bit stereo WAV as (2, n) floats, and its rate."""
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getsampwidth()) == (2, 2)
        data = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, 2).T
        return data / 32768.0, f.getframerate()


def clock(text: str) -> float:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def word_times(vtt: str) -> list[tuple[float, list[tuple[str, float]]]]:
    """(cue start, [(word, its time)]) from the karaoke WebVTT."""
    out = []
    for block in vtt.split("\n\n")[1:]:
        lines = block.strip().split("\n")
        start = clock(lines[0].split(" --> ")[0])
        text = " ".join(lines[1:])
        first = re.split(r"\s*<", text, maxsplit=1)[0]
        timed = [(w, clock(t)) for t, w in re.findall(r"<(\d\d:\d\d:\d\d\.\d\d\d)>([^<\s]+)", text)]
        out.append((start, [(first, start), *timed]))
    return out


def level(x: F64, rate: int, at: float, span: float = 0.05) -> float:
    a, b = max(0, round(at * rate)), max(0, round((at + span) * rate))
    return float(np.sqrt(np.mean(x[:, a:b] ** 2))) if b > a else 0.0


def offset_seconds(a: F64, b: F64, rate: int, at: float, span: float = 2.0) -> float:
    """How much later `a` plays a stretch of `b` than `b` does (cross-correlation around `at`)."""
    i, n = round(at * rate), round(span * rate)
    x, y = a[0, i : i + n], b[0, i : i + n]
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)
    lag = int(np.argmax(corr))
    return (lag if lag < size // 2 else lag - size) / rate


def true_peak_db(x: F64) -> float:
    up = np.fft.irfft(np.fft.rfft(x, axis=1), n=x.shape[1] * 4, axis=1) * 4
    return 20 * math.log10(float(np.abs(up).max()))


def tiny(image: Image.Image) -> F64:
    return np.asarray(image.convert("L").resize((27, 48), Image.Resampling.BOX), np.float64)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.timeout(600)
async def test_a_one_line_idea_becomes_a_30_second_vertical_voiced_captioned_short(
    service: Service, tmp_path: Path
) -> None:
    created = await create(service, idea=IDEA, durationSeconds=30)
    assert created["__typename"] == "Job", created
    assert [s["name"] for s in created["stages"]] == STAGES
    events = await watch(service, created["id"])
    assert events[-1]["status"] == "COMPLETED", events[-1]
    seen = [e["stage"] for e in events if e["stage"]]
    assert [s for k, s in enumerate(seen) if k == 0 or seen[k - 1] != s] == STAGES
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert (job["status"], job["stage"], job["error"]) == ("COMPLETED", "ready", None)
    assert all(s["attempts"] == 1 and s["warnings"] == [] for s in job["stages"])

    def artifacts(kind: str) -> list[dict[str, Any]]:
        return [a for a in job["artifacts"] if a["kind"] == kind]

    assert {a["kind"] for a in job["artifacts"]} == ARTIFACTS
    board = json.loads((await service.http.get(artifacts("storyboard")[0]["url"])).content)
    durations = [s["duration"] for s in board["scenes"]]
    total = sum(durations)
    assert total == pytest.approx(30.0, abs=1e-6)
    assert len(artifacts("frame")) == len(artifacts("image")) == len(board["scenes"])
    assert len(artifacts("subtitles")) == 3

    video = await fetch(service, job["videoUrl"], tmp_path / "short.mp4")
    voiceover, _ = read_wav(
        await fetch(service, artifacts("voiceover")[0]["url"], tmp_path / "voiceover.wav")
    )
    music, music_rate = read_wav(await fetch(service, artifacts("music")[0]["url"], tmp_path / "music.wav"))
    soundtrack, rate = read_wav(await fetch(service, artifacts("soundtrack")[0]["url"], tmp_path / "mix.wav"))
    karaoke = word_times((await service.http.get(
        next(a["url"] for a in artifacts("subtitles") if a["url"].split("?")[0].endswith(".words.vtt"))
    )).text)  # fmt: skip
    pictures = []
    for k, item in enumerate(sorted(artifacts("image"), key=lambda a: a["url"].split("?")[0])):
        pictures.append(tiny(Image.open(await fetch(service, item["url"], tmp_path / f"picture-{k}.jpg"))))

    starts = [sum(durations[:k]) for k in range(len(durations))]
    middles = {round((s + d / 2) * FPS) for s, d in zip(starts, durations, strict=True)}
    # Words to check the highlight of: two per phrase, each after a word of its phrase said long enough
    # before (0.15 s) that 0.1 s earlier that word is the one highlighted.
    checked = [
        (t, w)
        for _, said in karaoke
        for w, t in [(w, t) for (_, t0), (w, t) in zip(said, said[1:], strict=False) if t - t0 >= 0.15][:2]
    ]
    assert len(checked) >= 2 * len(durations)
    marks = {round((t - 0.1) * FPS) for t, _ in checked} | {round((t + 0.1) * FPS) for t, _ in checked}
    decoded = decode(video, middles, marks, accent=(0xFF, 0xF2, 0x75))  # the upbeat palette's accent

    # The container: 1080x1920 H.264 with AAC, exactly as long as the storyboard (to the frame).
    assert (decoded.codec, decoded.audio_codec, decoded.width, decoded.height) == ("h264", "aac", 1080, 1920)
    assert abs(decoded.frames - total * FPS) <= 1
    assert abs(decoded.duration - total) <= 1 / FPS + 0.025  # the container rounds to its AAC frames

    # Every scene's picture is on screen in its scene.
    for k, index in enumerate(sorted(middles)):
        seen_tiny = tiny(decoded.stills[index])
        nearest = min(range(len(pictures)), key=lambda j: float(np.abs(pictures[j] - seen_tiny).mean()))
        assert nearest == k, (k, nearest)

    # Captions against the voice: each phrase's voice is audible within 100 ms of its cue...
    for start, _ in karaoke:
        onset = next(
            t for t in np.arange(start - 0.1, start + 0.3, 0.01) if level(voiceover, rate, t, 0.02) > 0.02
        )
        assert onset <= start + 0.1, (start, onset)
    # ... and the burned-in highlight moves to each word within 100 ms of its time.
    for t, word in checked:
        before, after = decoded.highlight[round((t - 0.1) * FPS)], decoded.highlight[round((t + 0.1) * FPS)]
        assert before.sum() > 200 and after.sum() > 200, word
        assert (before != after).sum() > 200, (t, word)

    # The sound: the soundtrack as mixed, at -14 LUFS with true peaks under -1 dBTP after AAC.
    audio = decoded.audio
    assert decoded.audio_rate == rate == 48000
    assert integrated_loudness(audio.T, rate) == pytest.approx(-14.0, abs=1.0)
    assert true_peak_db(audio) <= -1.0
    # No drift: the video's sound is the soundtrack, at the same offset at the start and at the end.
    early, late = (
        offset_seconds(audio, soundtrack, rate, 2.0),
        offset_seconds(audio, soundtrack, rate, total - 4.0),
    )
    assert abs(early) <= 0.001 and abs(late - early) <= 0.001, (early, late)
    assert abs(audio.shape[1] / rate - decoded.frames / FPS) <= 0.05

    # The music, projected out of the mix, is at least 8 dB lower while the voice speaks than between lines.
    assert music_rate == rate
    speech, gaps = [], []
    for t in np.arange(1.0, total - 2.5, 0.1):
        m = music[0, round(t * rate) : round((t + 0.1) * rate)]
        gain = abs(float(np.dot(audio[0, round(t * rate) : round((t + 0.1) * rate)], m) / np.dot(m, m)))
        voiced = [level(voiceover, rate, t + d, 0.1) for d in (-0.6, -0.3, 0.0, 0.3, 0.6)]
        if voiced[2] > 0.03:
            speech.append(gain)
        elif max(voiced) < 0.003:
            gaps.append(gain)
    assert len(speech) > 50 and len(gaps) > 5, (len(speech), len(gaps))
    ducked = 20 * math.log10(float(np.median(gaps)) / float(np.median(speech)))
    assert ducked >= 8.0, ducked

    thumbnail = Image.open(await fetch(service, job["thumbnailUrl"], tmp_path / "thumb.jpg"))
    assert thumbnail.size == (1080, 1920)
    contact_sheet([decoded.stills[i] for i in sorted(middles)], SHEETS / "short_contact_sheet.png")


def contact_sheet(frames: list[Image.Image], out: Path) -> None:
    """One frame per scene, side by side, for people to look at."""
    w, h = 360, 640
    sheet = Image.new("RGB", (w * len(frames), h))
    for k, frame in enumerate(frames):
        sheet.paste(frame.resize((w, h)), (k * w, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
