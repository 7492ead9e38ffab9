"""A voice over a music bed, mixed to a finished soundtrack: the narrations placed on the video's timeline
(the voiceover), the music set under them and ducked while they speak, the whole normalised to a loudness
target with its true peak under a ceiling. A short is at most 90 s, so the tracks are held whole in memory
(~35 MB) and mixed with numpy directly; the ducking curve, the loudness meter and the limiter are
media.audio.loudness's, the same the timeline mixer (media.audio.mix) uses.

The limiter holds sample peaks; between samples, and after AAC encoding, a waveform can swing higher
(BS.1770's true peak). So the result is measured 4x oversampled against the ceiling less `codec_headroom_db`
(what AAC adds, measured ~0.25 dB at 128 kb/s), and the limiter is run again lower when a true peak is over
it, or with more gain before it when it took loudness away (cheap: the mix itself is not redone).
"""

import math
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from media.audio.decode import decoded, ramp
from media.audio.loudness import LoudnessMeter, PeakLimiter, ducking_gain_db, integrated_loudness

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_TAPS = 16  # each side of the true-peak interpolator
_BLOCK = 1 << 15
_DUCK_WINDOW_SECONDS = 0.05  # as media.audio.mix judges narration


@dataclass(frozen=True)
class BedSettings:
    sample_rate: int = 48000
    duck_db: float = -12.0  # the music under speech, relative to the music in the gaps
    duck_attack: float = 0.05  # seconds to go down (it starts that long before the first word)
    duck_release: float = 0.35  # seconds to come back after the voice stops
    music_db: float = -8.0  # the music in the gaps, relative to the voice's loudness
    loudness_lufs: float = -14.0
    true_peak_db: float = -1.0
    codec_headroom_db: float = 0.5  # what AAC may add to true peaks, kept free below the ceiling


@dataclass(frozen=True)
class MixReport:
    loudness_lufs: float  # of the finished soundtrack
    true_peak_db: float
    voice_lufs: float | None  # of the voiceover alone (None: silent)
    music_gain_db: float  # applied to the music before ducking


def write_voiceover(
    voices: Sequence[tuple[Path, float]], seconds: float, dest: Path, sample_rate: int
) -> float:
    """Each (narration file, start in seconds) placed on one track `seconds` long and levelled, written as a
    16-bit WAV at `dest`; returns its loudness (LUFS, -inf when silent)."""
    total = round(seconds * sample_rate)
    track = np.zeros((2, total), np.float32)
    for path, start in voices:
        at = round(start * sample_rate)
        for chunk in decoded(path, sample_rate):
            take = min(chunk.shape[1], total - at)
            if take <= 0:
                break
            track[:, at : at + take] += chunk[:, :take]
            at += take
    levelled = level_voice(track, sample_rate)
    _write(dest, levelled, sample_rate)
    return integrated_loudness(levelled.T, sample_rate)


def level_voice(x: F32, rate: int, ratio: float = 3.0) -> F32:
    """A voice with its loud syllables brought down towards its median level (a 3:1 compressor on 10 ms
    windows, gain smoothed over 30 ms). Synthetic speech swings ~18 dB from its loudness to its peaks;
    without this the limiter would hold it down through every voiced sound, and the mix would reach its
    loudness target only by pumping."""
    window = max(1, round(0.01 * rate))
    mono = x.astype(np.float64).mean(axis=0)
    squares = np.pad(mono**2, (0, -len(mono) % window)).reshape(-1, window).mean(axis=1)
    level = 10 * np.log10(squares + 1e-12)
    active = level[level > level.max(initial=-120.0) - 40]
    if len(active) == 0:
        return x
    over = np.maximum(0.0, level - float(np.median(active)))
    gain_db = -over * (1 - 1 / ratio)
    # Down at once around a loud window (the minimum over its neighbours), then eased: no clicks.
    held = np.minimum(gain_db, np.minimum(np.roll(gain_db, 1), np.roll(gain_db, -1)))
    smooth = np.convolve(held, np.ones(3) / 3, mode="same")
    centres = (np.arange(len(smooth)) + 0.5) * window
    gain = 10 ** (np.interp(np.arange(len(mono)), centres, smooth) / 20)
    return np.asarray(x * gain, np.float32)


def loudness_of(path: Path, sample_rate: int) -> float:
    """Integrated loudness of a whole file (LUFS; -inf when silent)."""
    meter = LoudnessMeter(sample_rate, 2)
    for chunk in decoded(path, sample_rate):
        meter.add(chunk)
    return meter.integrated()


def mix_bed(
    voiceover: Path,
    music: Path | None,
    seconds: float,
    dest: Path,
    settings: BedSettings,
    *,
    loop: bool,
    voice_lufs: float | None = None,
    music_lufs: float | None = None,
) -> MixReport:
    """The finished soundtrack at `dest` (16-bit WAV). `loop`: repeat a music track shorter than the video.
    The loudness of the voice and the music are measured unless given (a generated bed's is known)."""
    rate = settings.sample_rate
    total = round(seconds * rate)
    voice_track = _track(voiceover, total, rate, loop=False)
    voice = integrated_loudness(voice_track.T, rate) if voice_lufs is None else voice_lufs
    raw = voice_track.copy()
    music_gain = 0.0
    if music is not None:
        bed = _track(music, total, rate, loop=loop)
        own = integrated_loudness(bed.T, rate) if music_lufs is None else music_lufs
        if math.isfinite(own):
            # Set by measured loudness, not peaks: a track mastered loud and one mastered quiet sit the same.
            reference = voice if math.isfinite(voice) else settings.loudness_lufs
            music_gain = reference + settings.music_db - own
        fades = _fades(total, round(min(0.5, seconds / 4) * rate), round(min(2.0, seconds / 4) * rate))
        raw += bed * (10 ** (music_gain / 20) * fades * _ducking(voice_track, rate, settings)).astype(
            np.float32
        )
    before = integrated_loudness(raw.T, rate)
    target = settings.loudness_lufs
    gain_db = target - before if math.isfinite(before) else 0.0
    peak_limit = settings.true_peak_db - settings.codec_headroom_db
    ceiling = peak_limit - 0.8  # sample peaks; true peaks ran up to ~0.8 dB above them in speech here
    samples, measured, peak = raw, before, -math.inf
    for _ in range(4):
        samples = _limited(raw, gain_db, ceiling, rate)
        measured, peak = integrated_loudness(samples.T, rate), true_peak_db(samples)
        loud_ok = not math.isfinite(measured) or abs(measured - target) < 0.2
        if loud_ok and peak <= peak_limit:
            break
        if peak > peak_limit:  # an inter-sample peak over the limit: hold sample peaks that much lower
            ceiling -= peak - peak_limit + 0.05
        if not loud_ok:  # the limiter took loudness with the peaks it shaved: that much more gain
            gain_db += target - measured
    _write(dest, samples, rate)
    return MixReport(
        loudness_lufs=measured,
        true_peak_db=peak,
        voice_lufs=voice if math.isfinite(voice) else None,
        music_gain_db=music_gain,
    )


def _limited(raw: F32, gain_db: float, ceiling_db: float, rate: int) -> F32:
    """`raw` with the gain applied and its sample peaks held under the ceiling, a block at a time."""
    limiter = PeakLimiter(ceiling_db, rate)
    gain = 10 ** (gain_db / 20)
    out = np.empty_like(raw)
    n = raw.shape[1]
    for first in range(0, n, _BLOCK):
        end = min(n, first + _BLOCK)
        ahead = raw[:, end : min(n, end + limiter.lookahead - 1)].astype(np.float64) * gain
        out[:, first:end] = limiter.process(raw[:, first:end].astype(np.float64) * gain, ahead)
    return out


def true_peak_db(samples: npt.NDArray[np.floating]) -> float:
    """The highest absolute value of (channels, n) samples at and between the samples, in dB: each sample
    within 6 dB of the highest is interpolated at a quarter, a half and three quarters of the way to the
    next by a 32-tap Kaiser-windowed sinc (4x oversampling, as BS.1770-4's true-peak meter; only near the
    top, where an inter-sample peak can beat the sample peak, to keep it cheap)."""
    x = np.asarray(samples, np.float64)
    top = float(np.abs(x).max(initial=0.0))
    if top == 0.0:
        return -math.inf
    peak = top
    pad = np.pad(x, ((0, 0), (_TAPS - 1, _TAPS)))
    kernel = _interpolator()
    for channel, row in zip(x, pad, strict=True):
        candidates = np.flatnonzero(np.abs(row[_TAPS - 1 : _TAPS - 1 + len(channel)]) >= 0.5 * top)
        for first in range(0, len(candidates), _BLOCK):
            picked = candidates[first : first + _BLOCK]
            windows = np.lib.stride_tricks.sliding_window_view(row, 2 * _TAPS)[picked]
            peak = max(peak, float(np.abs(windows @ kernel).max(initial=0.0)))
    return 20 * math.log10(peak)


@lru_cache(maxsize=1)
def _interpolator() -> F64:
    """(2 * _TAPS, 3): the values a quarter, a half and three quarters past sample i, from samples
    i - _TAPS + 1 … i + _TAPS."""
    offsets = np.arange(-_TAPS + 1, _TAPS + 1)
    window = np.kaiser(2 * _TAPS, 8.0)
    columns = []
    for fraction in (0.25, 0.5, 0.75):
        taps = np.sinc(fraction - offsets) * window
        columns.append(taps / taps.sum())
    return np.stack(columns, axis=1)


def _track(path: Path, total: int, rate: int, *, loop: bool) -> F32:
    """The file's first `total` samples at `rate` (silence after its end; repeated, when `loop`, with short
    ramps at the seams like media.audio.mix's loops)."""
    out = np.zeros((2, total), np.float32)
    at = 0
    while at < total:
        start = at
        for chunk in decoded(path, rate):
            take = min(chunk.shape[1], total - at)
            out[:, at : at + take] = chunk[:, :take]
            at += take
            if at >= total:
                break
        if not loop or at == start:
            break
        if start:
            out[:, start:at] = ramp(out[:, start:at], rising=True)
        if at < total:
            out[:, start:at] = ramp(out[:, start:at], rising=False)
    return out


def _fades(total: int, fade_in: int, fade_out: int) -> F64:
    """Linear ramps from 0 at the first sample and to 0 at the last."""
    positions = np.arange(total, dtype=np.float64)
    gain = np.ones(total)
    if fade_in:
        gain *= np.clip(positions / fade_in, 0.0, 1.0)
    if fade_out:
        gain *= np.clip((total - 1 - positions) / fade_out, 0.0, 1.0)
    return gain


def _ducking(voice: F32, rate: int, settings: BedSettings) -> F64:
    """The music's gain under the voice, per sample: the voice's level per 50 ms window through
    media.audio.loudness.ducking_gain_db (the mixer's own curve), interpolated linear in dB."""
    window = max(1, round(_DUCK_WINDOW_SECONDS * rate))
    squares = (voice.astype(np.float64) ** 2).mean(axis=0)
    mean_square = np.pad(squares, (0, -len(squares) % window)).reshape(-1, window).mean(axis=1)
    gain_db = ducking_gain_db(
        mean_square, window / rate, settings.duck_db, settings.duck_attack, settings.duck_release
    )
    starts = np.arange(len(gain_db)) * window
    return np.asarray(10 ** (np.interp(np.arange(voice.shape[1]), starts, gain_db) / 20), np.float64)


def _write(path: Path, samples: F32, rate: int) -> None:
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(pcm.T).tobytes())
