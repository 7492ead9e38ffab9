"""The offline backing track: read back from the WAV it writes, and checked for what a listener relies on:
the chords of its arrangement are the loudest pitch classes while they play, its hits land on the beat grid,
it repeats without a seam, it is as long as asked, and the same input gives the same bytes."""

import math
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from media.audio.loudness import integrated_loudness
from media.audio.music import (
    MOODS,
    PEAK_DB,
    TARGET_LUFS,
    arrangement,
    backing_loop,
    check_mood,
    write_backing_track,
)
from media.errors import MediaError

F64 = npt.NDArray[np.float64]


def read_wav(path: Path) -> tuple[F64, int]:
    """(n, 2) samples in [-1, 1] and the rate; asserts the format the module promises."""
    with wave.open(str(path), "rb") as f:
        assert (f.getnchannels(), f.getsampwidth()) == (2, 2)
        data = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, 2)
        return data / 32767.0, f.getframerate()


def pitch_class_energy(x: F64, rate: int) -> F64:
    """Spectral energy near each of the 12 pitch classes, from 90 Hz to 1 kHz."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    keep = (freqs > 90) & (freqs < 1000)
    midi = 69 + 12 * np.log2(freqs[keep] / 440)
    near = np.abs(midi - np.round(midi)) < 0.3
    classes = np.round(midi[near]).astype(int) % 12
    return np.bincount(classes, weights=spectrum[keep][near], minlength=12)


@pytest.mark.parametrize("mood", MOODS)
def test_track_is_exactly_as_long_as_asked_and_at_the_bed_level(mood: str, tmp_path: Path) -> None:
    plan = arrangement(mood, seed=3)
    seconds = 2 * plan.loop_seconds  # whole loops: the loop's level is the track's
    path = write_backing_track(mood, seconds, tmp_path / "bed.wav", seed=3)
    x, rate = read_wav(path)
    assert rate == 44100
    assert len(x) == round(seconds * rate)
    assert integrated_loudness(x, rate) == pytest.approx(TARGET_LUFS, abs=0.3)
    assert 20 * math.log10(np.abs(x).max()) <= PEAK_DB + 0.01
    odd = write_backing_track(mood, 7.3, tmp_path / "odd.wav", seed=3, sample_rate=48000)
    y, rate = read_wav(odd)
    assert (rate, len(y)) == (48000, round(7.3 * 48000))


@pytest.mark.parametrize("mood", MOODS)
def test_each_chord_of_the_arrangement_is_what_sounds(mood: str) -> None:
    for seed in (0, 1, 2):
        plan = arrangement(mood, seed=seed)
        mono = backing_loop(mood, seed=seed).mean(axis=0).astype(np.float64)
        for index, chord in enumerate(plan.chords):
            start = index * plan.chord_samples
            middle = mono[start + plan.chord_samples // 4 : start + 3 * plan.chord_samples // 4]
            energy = pitch_class_energy(middle, plan.sample_rate)
            wanted = {note % 12 for note in chord}
            loudest = {int(c) for c in np.argsort(energy)[::-1][: len(wanted)]}
            assert loudest == wanted, (seed, index, chord)


@pytest.mark.parametrize("mood", MOODS)
def test_hits_land_on_the_sixteenth_note_grid(mood: str) -> None:
    plan = arrangement(mood, seed=5)
    mono = backing_loop(mood, seed=5).mean(axis=0).astype(np.float64)
    window = plan.sample_rate // 200  # 5 ms
    bright = np.diff(mono, prepend=mono[-1])  # transients live in the highs
    energy = np.log(np.add.reduceat(bright**2, np.arange(0, len(bright), window)) + 1e-12)
    onset = np.maximum(0.0, np.diff(energy, prepend=energy[-1]))
    sixteenth = plan.beat_samples // 4

    def strength(points: npt.NDArray[np.int64]) -> float:
        return float(np.mean([onset[i : i + 3].max() for i in (points // window) % len(onset)]))

    grid = np.arange(0, len(mono), sixteenth)
    # A drum machine's onsets are on the grid: several times stronger there than halfway between.
    assert strength(grid) > 3 * strength(grid + sixteenth // 2)


def test_moods_differ_in_tempo_and_seeds_vary_within_a_mood() -> None:
    tempos = {mood: arrangement(mood, seed=0).bpm for mood in MOODS}
    assert tempos["calm"] < tempos["dramatic"] < tempos["corporate"] < tempos["upbeat"]
    plans = {(p.bpm, p.root, p.chords) for p in (arrangement("upbeat", seed=s) for s in range(6))}
    assert len(plans) > 1


def test_same_input_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = write_backing_track("corporate", 5.0, tmp_path / "a.wav", seed=11).read_bytes()
    b = write_backing_track("corporate", 5.0, tmp_path / "b.wav", seed=11).read_bytes()
    c = write_backing_track("corporate", 5.0, tmp_path / "c.wav", seed=12).read_bytes()
    d = write_backing_track("upbeat", 5.0, tmp_path / "d.wav", seed=11).read_bytes()
    assert a == b
    assert a != c
    assert a != d


@pytest.mark.parametrize("mood", MOODS)
def test_loops_without_a_seam(mood: str, tmp_path: Path) -> None:
    plan = arrangement(mood, seed=2)
    n = plan.loop_samples
    x, _ = read_wav(write_backing_track(mood, 2 * n / plan.sample_rate, tmp_path / "two.wav", seed=2))
    one, _ = read_wav(write_backing_track(mood, n / plan.sample_rate, tmp_path / "one.wav", seed=2))
    # The second loop is the first again, so a player repeating `one` plays `x`...
    assert np.array_equal(x[:n], x[n:])
    assert np.array_equal(one, x[:n])
    # ... and where the loop meets itself nothing jumps: no click, no gap, no sudden swell.
    jumps = np.abs(np.diff(x, axis=0)).max(axis=1)
    assert jumps[n - 1] <= np.percentile(jumps, 99.9)
    span = plan.sample_rate // 10
    before, after = x[n - span : n], x[n : n + span]
    assert np.sqrt((after**2).mean()) > 0.25 * np.sqrt((before**2).mean())


def test_fades_reach_silence_at_the_ends(tmp_path: Path) -> None:
    x, rate = read_wav(write_backing_track("calm", 6.0, tmp_path / "f.wav", fade_in=1.0, fade_out=2.0))
    assert np.abs(x[0]).max() == 0.0
    assert np.abs(x[-1]).max() == 0.0
    level = lambda a, b: float(np.sqrt((x[round(a * rate) : round(b * rate)] ** 2).mean()))  # noqa: E731
    assert level(5.5, 6.0) < 0.5 * level(2.0, 4.0)


def test_a_long_track_is_written_a_loop_at_a_time(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        write_backing_track("upbeat", 600.0, tmp_path / "long.wav", seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "long.wav").stat().st_size == 44 + 600 * 44100 * 4
    # 10 minutes of float32 stereo would be 212 MB; one loop and its working copies are a few tens.
    assert peak < 60 * 1024 * 1024


def test_bad_input_is_a_typed_error(tmp_path: Path) -> None:
    assert check_mood(" Upbeat ") == "upbeat"
    with pytest.raises(MediaError) as unknown:
        write_backing_track("jazzy", 5.0, tmp_path / "x.wav")
    assert unknown.value.code == "UNKNOWN_MOOD"
    assert "upbeat" in unknown.value.message
    for seconds in (0.0, -1.0, math.nan, math.inf, 4 * 3600.0):
        with pytest.raises(MediaError) as bad:
            write_backing_track("calm", seconds, tmp_path / "x.wav")
        assert bad.value.code == "INVALID_DURATION"
    with pytest.raises(MediaError):
        write_backing_track("calm", 5.0, tmp_path / "x.wav", fade_out=-1.0)
    assert not (tmp_path / "x.wav").exists()
