"""The soundtrack's own thread: every AAC packet reaches the render loop in order, a failure there is raised
in the render loop, and a render that ends early does not wait for the rest of the mix."""

import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import pytest

from media.audio.mix import AudioClip, Mix, MixSettings
from media.errors import MediaError
from media.render.encode import Packet
from media.render.soundtrack import Encode, Soundtrack
from tests.media.test_mix import sine, stereo, write_wav

RATE = 48000


def aac_encoder() -> av.AudioCodecContext:
    context = av.AudioCodecContext.create("aac", "w")
    context.sample_rate = RATE
    context.layout = "stereo"
    context.format = "fltp"
    context.time_base = Fraction(1, RATE)
    return context


def encode_with(context: av.AudioCodecContext) -> Encode:
    def encode(frame: av.AudioFrame | None) -> list[Packet]:
        return list(context.encode(frame))

    return encode


def tone_mix(tmp_path: Path, seconds: float, duration: float) -> Mix:
    source = write_wav(tmp_path / "tone.wav", stereo(sine(seconds, 440.0, 0.3)))
    return Mix([AudioClip(source=source, loop=True)], duration, MixSettings(sample_rate=RATE), tmp_path)


def test_every_packet_of_the_mix_reaches_the_render_loop_in_order(tmp_path: Path) -> None:
    context = aac_encoder()
    packets: list[Packet] = []
    with Soundtrack(tone_mix(tmp_path, 1.0, 3.0), encode_with(context)) as soundtrack:
        for frame in range(1, 31):  # as the render loop does after each video frame, at 10 fps
            due = soundtrack.ready(until=frame / 10)
            assert all(packet.pts * packet.time_base < frame / 10 for packet in due)
            packets += due
        packets += soundtrack.rest()
    assert soundtrack.ready(until=1e9) == []
    pts = [packet.pts for packet in packets]
    assert pts == sorted(pts) and len(set(pts)) == len(pts)
    decoder = av.AudioCodecContext.create("aac", "r")
    decoder.extradata = context.extradata
    samples = sum(frame.samples for packet in packets for frame in decoder.decode(packet))
    assert abs(samples - 3 * RATE) <= 2048  # AAC's priming and last-frame padding
    assert list(tmp_path.glob("mix-*")) == []


def test_a_mix_that_fails_on_the_thread_raises_in_the_render_loop(tmp_path: Path) -> None:
    (tmp_path / "notes.wav").write_text("not audio\n" * 100)
    mix = Mix([AudioClip(source=tmp_path / "notes.wav")], 1.0, MixSettings(sample_rate=RATE), tmp_path)
    with pytest.raises(MediaError) as caught, Soundtrack(mix, encode_with(aac_encoder())) as soundtrack:
        list(soundtrack.rest())
    assert caught.value.code == "AUDIO_DECODE_FAILED" and "notes.wav" in caught.value.message


def test_a_render_that_ends_early_stops_the_thread_and_removes_the_mix(tmp_path: Path) -> None:
    # Two minutes of soundtrack: far more packets than the queue holds, so the thread is left waiting on it.
    soundtrack = Soundtrack(tone_mix(tmp_path, 1.0, 120.0), encode_with(aac_encoder()))
    with soundtrack:
        deadline = time.monotonic() + 30
        while not soundtrack.ready(until=1e9) and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
    assert time.monotonic() - started < 5.0  # it polls its stop flag every 0.1 s
    assert not any(thread.name == "soundtrack" for thread in threading.enumerate())
    assert list(tmp_path.glob("mix-*")) == []
