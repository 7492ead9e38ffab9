"""The audio mixer and its loudness meter, on WAVs generated here: levels and sample positions are computed
from what the test wrote, and the mix is read back through the same frames the video engine encodes."""

import math
import tracemalloc
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from media.audio.loudness import RecursiveFilter, integrated_loudness, k_weighting
from media.audio.mix import AudioClip, Mix, MixSettings
from media.errors import MediaError

RATE = 48000
Samples = npt.NDArray[np.float64]


def write_wav(path: Path, samples: npt.ArrayLike, rate: int = RATE) -> Path:
    """32-bit PCM, so levels survive to ~1e-9; (n,) is mono, (n, channels) interleaved."""
    data = np.asarray(samples, dtype=np.float64)
    data = data.reshape(len(data), -1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(data.shape[1])
        out.setsampwidth(4)
        out.setframerate(rate)
        out.writeframes((np.clip(data, -1, 1) * (2**31 - 1)).astype("<i4").tobytes())
    return path


def sine(seconds: float, freq: float, amplitude: float, rate: int = RATE) -> Samples:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def stereo(mono: Samples) -> Samples:
    return np.stack([mono, mono], axis=1)


def mix(
    tmp_path: Path, clips: list[AudioClip], duration: float, **settings: float | None
) -> tuple[npt.NDArray[np.float32], Mix]:
    """The whole mix as (2, n), normalisation off unless asked for."""
    chosen = MixSettings.model_validate({"target_lufs": None, **settings})
    with Mix(clips, duration, chosen, tmp_path) as result:
        frames = list(result.frames_until(round(duration * chosen.sample_rate)))
    assert list(tmp_path.glob("mix-*")) == []  # the temporary mix is gone
    if not frames:
        return np.zeros((2, 0), np.float32), result
    return np.concatenate([frame.to_ndarray() for frame in frames], axis=1), result


def amplitude(x: npt.NDArray[np.float32], freq: float, start: float, end: float) -> float:
    """Amplitude of the `freq` component of the left channel over [start, end) s, by correlation: exact for a
    window holding whole periods of every tone in the mix, so the other tones do not leak in."""
    segment = x[0, round(start * RATE) : round(end * RATE)].astype(np.float64)
    t = np.arange(round(start * RATE), round(end * RATE)) / RATE
    return float(2 * abs(np.mean(segment * np.exp(-2j * np.pi * freq * t))))


def db(ratio: float) -> float:
    return 20 * math.log10(ratio)


# --- loudness (ITU-R BS.1770-4; EBU Tech 3341 test signals) ---


def test_k_weighting_reproduces_the_48k_coefficients_of_the_spec() -> None:
    shelf, highpass = k_weighting(48000)
    assert shelf[0] == pytest.approx((1.53512485958697, -2.69169618940638, 1.19839281085285), abs=1e-12)
    assert shelf[1] == pytest.approx((1.0, -1.69065929318241, 0.73248077421585), abs=1e-12)
    assert highpass[0] == (1.0, -2.0, 1.0)
    assert highpass[1] == pytest.approx((1.0, -1.99004745483398, 0.99007225036621), abs=1e-12)


def test_the_chunked_filter_equals_the_two_biquads_run_sample_by_sample() -> None:
    stages = k_weighting(44100)
    x = np.random.default_rng(3).standard_normal((2, 6000))
    expected = x.copy()
    for (b0, b1, b2), (_, a1, a2) in stages:
        for ch in range(2):
            x1 = x2 = y1 = y2 = 0.0
            for n, value in enumerate(expected[ch]):
                y = b0 * value + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
                expected[ch, n], x2, x1, y2, y1 = y, x1, value, y1, y
    (shelf_b, shelf_a), (highpass_b, highpass_a) = stages
    combined = RecursiveFilter(
        np.convolve(shelf_b, highpass_b).tolist(), np.convolve(shelf_a, highpass_a).tolist(), 2
    )
    parts, at = [], 0
    for size in (1, 2, 3, 4096, 1898):  # state carried across chunks shorter than the filter's order too
        parts.append(combined(x[:, at : at + size]))
        at += size
    assert np.abs(np.concatenate(parts, axis=1) - expected).max() < 1e-6 * np.abs(expected).max()


@pytest.mark.parametrize(("level", "rate"), [(-20.0, 48000), (-23.0, 48000), (-33.0, 48000), (-20.0, 44100)])
def test_a_997_hz_sine_on_both_channels_measures_its_level(level: float, rate: int) -> None:
    signal = stereo(sine(5, 997, 10 ** (level / 20), rate))
    assert integrated_loudness(signal, rate) == pytest.approx(level, abs=0.1)


def test_a_full_scale_sine_on_one_channel_is_minus_3_01() -> None:
    tone = sine(3, 997, 1.0)
    assert integrated_loudness(tone, RATE) == pytest.approx(-3.01, abs=0.1)
    assert integrated_loudness(np.stack([tone, 0 * tone], 1), RATE) == pytest.approx(-3.01, abs=0.1)


@pytest.mark.parametrize(
    "segments",
    [
        [(-36, 10), (-23, 60), (-36, 10)],  # EBU 3341 case 3: the relative gate drops the -36 parts
        [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)],  # case 4: the absolute gate too
        [(-26, 20), (-20, 20.1), (-26, 20)],  # case 5
    ],
)
def test_gating_follows_ebu_tech_3341(segments: list[tuple[float, float]]) -> None:
    tone = np.concatenate([sine(seconds, 1000, 10 ** (level / 20)) for level, seconds in segments])
    assert integrated_loudness(stereo(tone), RATE) == pytest.approx(-23.0, abs=0.1)


def test_silence_and_audio_shorter_than_a_block_are_minus_infinity() -> None:
    assert integrated_loudness(np.zeros((RATE, 2)), RATE) == -math.inf
    assert integrated_loudness(stereo(sine(0.39, 997, 0.5)), RATE) == -math.inf


# --- placement: start, trim, loop, volume, fades ---


@pytest.fixture
def clicks(tmp_path: Path) -> Path:
    """2 s of stereo silence with a 0.5 click at 0.5 s and a 0.8 click at 1.5 s."""
    signal = np.zeros((2 * RATE, 2))
    signal[RATE // 2], signal[3 * RATE // 2] = 0.5, 0.8
    return write_wav(tmp_path / "clicks.wav", signal)


def nonzero(x: npt.NDArray[np.float32]) -> dict[int, float]:
    assert np.array_equal(x[0], x[1])
    return {int(i): round(float(x[0, i]), 6) for i in np.flatnonzero(np.abs(x[0]) > 1e-6)}


def test_trim_and_start_put_each_sample_where_the_timeline_says(tmp_path: Path, clicks: Path) -> None:
    x, _ = mix(tmp_path, [AudioClip(source=clicks, start=0.3, trim_start=0.7)], 3.0)
    # The 0.5 s click is trimmed away; the 1.5 s one plays 0.8 s after the clip starts at 0.3 s.
    assert nonzero(x) == {round(1.1 * RATE): 0.8}


def test_loop_repeats_the_trimmed_source_until_duration(tmp_path: Path, clicks: Path) -> None:
    clip = AudioClip(source=clicks, start=0.25, trim_start=1.2, duration=2.5, loop=True)
    x, _ = mix(tmp_path, [clip], 3.0)
    # Trimmed, the source is 0.8 s long with its click at 0.3 s: clicks at 0.55, 1.35, 2.15 s; the next one
    # (2.95 s) is past the clip's 2.5 s.
    assert nonzero(x) == {round(t * RATE): 0.8 for t in (0.55, 1.35, 2.15)}


def test_a_clip_is_cut_at_the_end_and_one_after_it_is_ignored(tmp_path: Path, clicks: Path) -> None:
    late = AudioClip(source=tmp_path / "never-opened.wav", start=2.0)
    x, _ = mix(tmp_path, [AudioClip(source=clicks, start=0.2), late], 1.5)
    assert x.shape == (2, round(1.5 * RATE))
    assert nonzero(x) == {round(0.7 * RATE): 0.5}


@pytest.mark.parametrize("volume", [0.25, 1.0, 3.0])
def test_volume_is_a_linear_gain(tmp_path: Path, volume: float) -> None:
    source = write_wav(tmp_path / "tone.wav", stereo(sine(2, 500, 0.2)))
    x, _ = mix(tmp_path, [AudioClip(source=source, volume=volume)], 2.0)
    assert amplitude(x, 500, 0.5, 1.5) == pytest.approx(0.2 * volume, rel=1e-4)


def test_fades_ramp_linearly_from_and_to_silence(tmp_path: Path) -> None:
    # A constant source makes every output sample the fade gain times 0.5.
    source = write_wav(tmp_path / "dc.wav", np.full((4 * RATE, 2), 0.5))
    clip = AudioClip(source=source, start=0.5, duration=2.0, fade_in=0.4, fade_out=0.8)
    x, _ = mix(tmp_path, [clip], 3.0)
    level = x[0].astype(np.float64) / 0.5
    start, end = round(0.5 * RATE), round(2.5 * RATE)
    assert not level[:start].any() and not level[end:].any()
    assert level[start] == 0.0 and level[end - 1] == 0.0
    assert level[start + round(0.2 * RATE)] == pytest.approx(0.5, abs=1e-4)  # half-way into the fade-in
    assert level[round(1.0 * RATE) : round(1.7 * RATE)] == pytest.approx(1.0, abs=1e-6)
    assert level[end - round(0.4 * RATE)] == pytest.approx(0.5, abs=1e-4)  # half-way through the fade-out
    assert np.all(np.diff(level[start : start + round(0.4 * RATE)]) > 0)


def test_a_fade_out_ends_with_the_source_or_the_timeline(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "dc.wav", np.full((2 * RATE, 2), 0.5))
    short, _ = mix(tmp_path, [AudioClip(source=source, start=0.5, fade_out=0.5)], 4.0)
    assert short[0, round(2.25 * RATE)] == pytest.approx(0.25, abs=1e-4)  # the source ends at 2.5 s
    assert not short[0, round(2.5 * RATE) - 1 :].any()
    cut, _ = mix(tmp_path, [AudioClip(source=source, fade_out=0.5, loop=True)], 3.0)
    assert cut[0, round(2.75 * RATE)] == pytest.approx(0.25, abs=1e-4)  # the timeline ends at 3 s


def test_a_mono_source_at_another_rate_is_resampled_in_place(tmp_path: Path) -> None:
    click = np.zeros(22050)
    click[11025] = 0.9
    x, _ = mix(tmp_path, [AudioClip(source=write_wav(tmp_path / "mono.wav", click, 22050))], 1.0)
    assert np.argmax(np.abs(x[0])) == RATE // 2
    assert np.array_equal(x[0], x[1])


def write_video(path: Path, tone: Samples | None) -> Path:
    """A tiny H.264 MP4, with `tone` as its AAC stereo track (or no audio stream)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        if tone is not None:
            audio = container.add_stream("aac", rate=RATE)
            audio.layout = "stereo"
            for start in range(0, len(tone), 1024):
                planar = np.ascontiguousarray(np.stack([tone[start : start + 1024]] * 2).astype(np.float32))
                frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = RATE, start
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
        for _ in range(10):
            container.mux(video.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8))))
        container.mux(video.encode(None))
    return path


def test_the_sound_of_a_video_file_is_mixed(tmp_path: Path) -> None:
    clip = AudioClip(source=write_video(tmp_path / "clip.mp4", sine(1, 440, 0.3)), start=0.5)
    x, _ = mix(tmp_path, [clip], 2.0)
    assert not x[:, : RATE // 2].any()
    assert amplitude(x, 440, 0.75, 1.25) == pytest.approx(0.3, rel=0.02)  # AAC is lossy


# --- ducking ---


@pytest.fixture
def voice_over(tmp_path: Path) -> list[AudioClip]:
    """Music at 220 Hz for 10 s; narration at 2 kHz from 3 to 5 s and from 7 to 8 s. Every 50 ms holds whole
    periods of both tones, so `amplitude` measures the music alone even while the narration plays."""
    music = write_wav(tmp_path / "music.wav", stereo(sine(10, 220, 0.2)))
    voice = write_wav(tmp_path / "voice.wav", stereo(sine(2, 2000, 0.2)))
    return [
        AudioClip(source=music, role="music"),
        AudioClip(source=voice, start=3.0, role="narration"),
        AudioClip(source=voice, start=7.0, duration=1.0, role="narration"),
    ]


def test_music_is_ducked_by_duck_db_while_the_narration_speaks(
    tmp_path: Path, voice_over: list[AudioClip]
) -> None:
    x, _ = mix(tmp_path, voice_over, 10.0, duck_db=-12.0, duck_attack=0.15, duck_release=0.4)
    music = amplitude(x, 220, 1.0, 2.5)
    assert music == pytest.approx(0.2, rel=1e-4)
    assert db(amplitude(x, 220, 3.0, 5.0) / music) == pytest.approx(-12.0, abs=0.05)
    assert db(amplitude(x, 220, 7.0, 8.0) / music) == pytest.approx(-12.0, abs=0.05)
    assert amplitude(x, 2000, 3.0, 5.0) == pytest.approx(0.2, rel=1e-4)  # narration itself untouched
    # The attack runs ahead of the narration: half-way down (-6 dB) 75 ms before it, over 50 ms steps
    # that each change the level by less than half the depth, i.e. a ramp rather than a switch.
    assert db(amplitude(x, 220, 2.9, 2.95) / music) == pytest.approx(-6.0, abs=1.0)
    ramp = [db(amplitude(x, 220, t, t + 0.05) / music) for t in np.arange(2.8, 3.05, 0.05)]
    assert all(0 >= b - a > -6 for a, b in zip(ramp, ramp[1:], strict=False))
    # Back up after the 0.3 s hold and the 0.4 s release, until the attack before the next narration.
    assert db(amplitude(x, 220, 5.7, 6.8) / music) == pytest.approx(0.0, abs=0.05)
    assert db(amplitude(x, 220, 9.0, 10.0) / music) == pytest.approx(0.0, abs=0.05)


def test_without_narration_nothing_is_ducked(tmp_path: Path, voice_over: list[AudioClip]) -> None:
    music, voice, _ = voice_over
    x, _ = mix(tmp_path, [music, voice.model_copy(update={"role": "effect"})], 10.0)
    assert amplitude(x, 220, 3.0, 5.0) == pytest.approx(0.2, rel=1e-4)


# --- normalisation ---


def clipped_square(seconds: float) -> Samples:
    return stereo(np.clip(4 * sine(seconds, 110, 1.0), -1, 1))


def quiet_with_transients(seconds: float) -> Samples:
    """A -30 dBFS tone with a 1 ms -14 dBFS burst every 0.5 s: normalising lifts the bursts ~3 dB over the
    default ceiling, while they add little loudness of their own."""
    tone = sine(seconds, 440, 10 ** (-30 / 20))
    for start in range(RATE // 4, len(tone), RATE // 2):
        tone[start : start + 48] += sine(0.001, 3000, 0.2)
    return stereo(tone)


@pytest.mark.parametrize(
    "signal",
    [clipped_square(6), stereo(sine(6, 1000, 0.01)), quiet_with_transients(6)],
    ids=["loud-clipped-square", "quiet-sine", "quiet-with-transients"],
)
def test_the_mix_is_normalised_to_the_target_under_the_ceiling(tmp_path: Path, signal: Samples) -> None:
    source = write_wav(tmp_path / "input.wav", signal)
    x, result = mix(tmp_path, [AudioClip(source=source)], 6.0, target_lufs=-14.0, true_peak_db=-1.0)
    assert result.measured_lufs == pytest.approx(integrated_loudness(signal, RATE), abs=0.01)
    assert result.gain_db == pytest.approx(-14.0 - integrated_loudness(signal, RATE), abs=0.01)
    assert integrated_loudness(x.T, RATE) == pytest.approx(-14.0, abs=1.0)
    assert np.abs(x).max() <= 10 ** (-1 / 20)


def test_the_limiter_only_touches_what_is_over_the_ceiling(tmp_path: Path) -> None:
    signal = quiet_with_transients(6)
    x, result = mix(
        tmp_path, [AudioClip(source=write_wav(tmp_path / "in.wav", signal))], 6.0, target_lufs=-14.0
    )
    gain = 10 ** (result.gain_db / 20)
    assert 0.2 * gain > 10 ** (-1 / 20)  # the bursts would go over
    bursts = [np.abs(x[:, s : s + 48]).max() for s in range(RATE // 4, 6 * RATE, RATE // 2)]
    assert min(bursts) > 10 ** (-1.2 / 20) and max(bursts) <= 10 ** (-1 / 20)  # held just under the ceiling
    # Away from the bursts the output is exactly the input times the gain.
    away = np.r_[round(0.4 * RATE) : round(0.7 * RATE)]
    assert np.abs(x[0, away] - gain * signal[away, 0]).max() < 1e-5


def test_a_sum_over_full_scale_is_limited_from_its_first_sample_even_unnormalised(tmp_path: Path) -> None:
    t = np.arange(2 * RATE) / RATE
    source = write_wav(tmp_path / "cos.wav", stereo(0.7 * np.cos(2 * np.pi * 440 * t)))  # peaks at sample 0
    x, result = mix(tmp_path, [AudioClip(source=source, volume=4.0)], 2.0, target_lufs=None)
    ceiling = 10 ** (-1 / 20)
    assert result.gain_db == 0.0 and np.abs(x).max() <= ceiling
    assert x[0, 0] > 0.99 * ceiling  # turned down ahead of time, not clipped and not faded in
    assert amplitude(x, 440, 0.5, 1.5) == pytest.approx(ceiling, rel=0.01)


def test_silence_is_left_alone(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "silence.wav", np.zeros((RATE, 2)))
    x, result = mix(tmp_path, [AudioClip(source=source)], 2.0, target_lufs=-14.0)
    assert result.measured_lufs is None and result.gain_db == 0.0
    assert x.shape == (2, 2 * RATE) and not x.any()
    empty, result = mix(tmp_path, [], 1.0, target_lufs=-14.0)
    assert result.measured_lufs is None and not empty.any()


# --- frames, errors, memory ---


def test_frames_cover_exactly_the_duration_when_pulled_per_video_frame(tmp_path: Path, clicks: Path) -> None:
    rate, duration, fps = 44100, 2.0123, 30
    settings = MixSettings(sample_rate=rate)
    with Mix([AudioClip(source=clicks, loop=True)], duration, settings, tmp_path) as result:
        frames = [f for i in range(61) for f in result.frames_until(round((i + 1) * rate / fps))]
    assert sum(frame.samples for frame in frames) == round(duration * rate)
    assert all(f.format.name == "fltp" and f.layout.name == "stereo" for f in frames)
    assert all(f.sample_rate == rate and f.time_base == Fraction(1, rate) for f in frames)
    assert [f.samples for f in frames[:-1]] == [1024] * (len(frames) - 1)
    assert [f.pts for f in frames] == [1024 * i for i in range(len(frames))]


@pytest.mark.parametrize(
    "fields",
    [
        {"volume": 4.5},
        {"start": -1.0},
        {"duration": 0.0},
        {"fade_in": math.nan},
        {"role": "voice"},
        {"gain": 1},
    ],
)
def test_clips_are_validated(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AudioClip.model_validate({"source": "a.wav", **fields})


@pytest.mark.parametrize("name", ["notes.wav", "missing.wav", "silent.mp4"])
def test_a_source_that_cannot_be_decoded_is_named(tmp_path: Path, name: str) -> None:
    if name == "notes.wav":
        (tmp_path / name).write_text("not audio\n" * 100)
    if name == "silent.mp4":
        write_video(tmp_path / name, None)
    with (
        pytest.raises(MediaError) as caught,
        Mix([AudioClip(source=tmp_path / name)], 1.0, MixSettings(), tmp_path),
    ):
        pass
    assert caught.value.code == "AUDIO_DECODE_FAILED" and name in caught.value.message
    assert list(tmp_path.glob("mix-*")) == []


def test_a_trim_past_the_end_of_the_source_is_an_error(tmp_path: Path, clicks: Path) -> None:
    with (
        pytest.raises(MediaError) as caught,
        Mix([AudioClip(source=clicks, trim_start=5)], 1, MixSettings(), tmp_path),
    ):
        pass
    assert caught.value.code == "AUDIO_TRIM_OUT_OF_RANGE" and "clicks.wav" in caught.value.message


def peak_traced_bytes(tmp_path: Path, clips: list[AudioClip], duration: float, rate: int) -> int:
    tracemalloc.start()
    try:
        with Mix(clips, duration, MixSettings(sample_rate=rate), tmp_path) as result:
            total = sum(frame.samples for frame in result.frames_until(round(duration * rate)))
        assert total == round(duration * rate)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_stays_flat_for_a_long_mix(tmp_path: Path) -> None:
    # A 4-minute music bed (written in pieces, so the test itself does not hold it) and narration every 20 s,
    # at 16 kHz to keep the test quick: what grows with the duration grows the same at any rate.
    rate = 16000
    music = tmp_path / "long.wav"
    with wave.open(str(music), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        for _ in range(240):
            out.writeframes((stereo(sine(1, 220, 0.3, rate)) * 32767).astype("<i2").tobytes())
    voice = write_wav(tmp_path / "voice.wav", stereo(sine(5, 2000, 0.3, rate)), rate)

    def timeline(seconds: int) -> list[AudioClip]:
        spoken = [AudioClip(source=voice, start=s, role="narration") for s in range(2, seconds, 20)]
        return [AudioClip(source=music, role="music"), *spoken]

    short = peak_traced_bytes(tmp_path, timeline(30), 30, rate)
    long = peak_traced_bytes(tmp_path, timeline(240), 240, rate)
    # Holding the mix would add 240 s * 16 kHz * 2 channels * 4 bytes = 31 MB; blocks are ~1 s.
    assert long - short < 2_000_000, (short, long)
    assert long < 20_000_000
