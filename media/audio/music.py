"""An offline backing track by mood: chords on a pad, a bass line, an arpeggio and a simple drum rhythm,
synthesised with numpy. No network, no model files, no samples on disk.

A mood is a style (tempo range, keys, chord progressions, drum pattern, arpeggio); the seed picks the tempo,
key and progression within it and humanises the hits, so the same (mood, seed) always gives the same track.
One loop of four chords is synthesised into a circular buffer: a note that rings past the loop's end wraps
round to its start, as it would when the loop repeats, so the loop joins itself without a seam. A track of
any length is that loop repeated and cut, written to the WAV a loop at a time (memory stays flat however long
the track is).

    path = write_backing_track("upbeat", 30.0, Path("music.wav"), seed=7, fade_out=2.0)
"""

from __future__ import annotations

import math
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from media.audio.loudness import integrated_loudness
from media.errors import MediaError

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

MOODS: tuple[str, ...] = ("upbeat", "calm", "dramatic", "corporate")
SAMPLE_RATE = 44100
MAX_SECONDS = 3 * 3600.0
# A bed sits under a voice: quieter than a finished master, with room for the mix's own normalisation.
TARGET_LUFS = -16.0
PEAK_DB = -1.0

_ARP_ORDER = (0, 1, 2, 1, 0, 2, 1, 2)  # chord tones, up and down
_CHORDS = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "add9": (0, 4, 7, 14),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
}
Chord = tuple[int, str]  # semitones above the key's root, quality


@dataclass(frozen=True)
class Style:
    tempo: tuple[int, int]  # BPM, inclusive
    keys: tuple[int, ...]  # MIDI note of the key's root (around C3)
    progressions: tuple[tuple[Chord, ...], ...]  # four chords each
    beats_per_chord: int
    drums: str  # a pattern of _PATTERNS
    arp: str  # "eighths", "sixteenths", "ostinato" (low, staccato 16ths) or "none"
    pad_harmonics: int  # brightness of the pad
    pad_level: float
    arp_level: float
    bass_level: float
    drum_level: float


STYLES: dict[str, Style] = {
    "upbeat": Style(
        tempo=(116, 126),
        keys=(48, 50, 52, 53, 55),
        progressions=(
            ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),
            ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj")),
            ((0, "maj"), (5, "maj"), (9, "min"), (7, "maj")),
        ),
        beats_per_chord=4,
        drums="four",
        arp="sixteenths",
        pad_harmonics=7,
        pad_level=0.16,
        arp_level=0.10,
        bass_level=0.34,
        drum_level=0.55,
    ),
    "calm": Style(
        tempo=(70, 80),
        keys=(48, 50, 53, 55),
        progressions=(
            ((0, "maj7"), (5, "maj7"), (9, "min7"), (7, "sus2")),
            ((0, "add9"), (9, "min7"), (5, "maj7"), (5, "sus2")),
            ((5, "maj7"), (0, "maj7"), (2, "min7"), (7, "sus4")),
        ),
        beats_per_chord=8,
        drums="soft",
        arp="eighths",
        pad_harmonics=4,
        pad_level=0.22,
        arp_level=0.09,
        bass_level=0.22,
        drum_level=0.25,
    ),
    "dramatic": Style(
        tempo=(82, 92),
        keys=(45, 47, 48, 50),
        progressions=(
            ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),
            ((0, "min"), (5, "min"), (8, "maj"), (7, "maj")),
            ((0, "min"), (8, "maj"), (5, "min"), (7, "sus4")),
        ),
        beats_per_chord=4,
        drums="boom",
        arp="ostinato",
        pad_harmonics=9,
        pad_level=0.20,
        arp_level=0.12,
        bass_level=0.30,
        drum_level=0.70,
    ),
    "corporate": Style(
        tempo=(98, 108),
        keys=(48, 50, 52, 55),
        progressions=(
            ((0, "add9"), (7, "maj"), (9, "min7"), (5, "add9")),
            ((5, "add9"), (0, "maj"), (7, "sus4"), (9, "min7")),
            ((0, "maj"), (9, "min7"), (5, "maj7"), (7, "maj")),
        ),
        beats_per_chord=4,
        drums="backbeat",
        arp="eighths",
        pad_harmonics=6,
        pad_level=0.17,
        arp_level=0.11,
        bass_level=0.30,
        drum_level=0.42,
    ),
}

# Sixteenth steps of one bar at which each drum hits, by pattern; (drum, step, velocity).
_PATTERNS: dict[str, tuple[tuple[str, int, float], ...]] = {
    "four": (
        *(("kick", s, 1.0) for s in (0, 4, 8, 12)),
        *(("clap", s, 0.8) for s in (4, 12)),
        *(("hat", s, 0.35) for s in range(0, 16, 2)),
        *(("open", s, 0.3) for s in (2, 6, 10, 14)),
    ),
    "backbeat": (
        *(("kick", s, 1.0) for s in (0, 7, 8)),
        *(("snare", s, 0.75) for s in (4, 12)),
        *(("hat", s, 0.3 if s % 4 else 0.4) for s in range(0, 16, 2)),
    ),
    "soft": (
        ("kick", 0, 0.6),
        ("kick", 10, 0.35),
        *(("shaker", s, 0.5 if s % 4 == 2 else 0.3) for s in range(0, 16, 2)),
    ),
    "boom": (
        ("boom", 0, 1.0),
        ("boom", 10, 0.8),
        ("snare", 8, 0.9),
        ("tom", 14, 0.55),
        ("tom", 15, 0.45),
    ),
}


@dataclass(frozen=True)
class Arrangement:
    """What one (mood, seed) plays: the loop's tempo, key and chords, on an exact grid of samples."""

    mood: str
    seed: int
    sample_rate: int
    beat_samples: int  # a multiple of 4, so every sixteenth falls on a whole sample
    root: int  # MIDI note of the key
    chords: tuple[tuple[int, ...], ...]  # MIDI notes of each chord as voiced on the pad
    bass: tuple[int, ...]  # MIDI note of the bass under each chord
    beats_per_chord: int

    @property
    def bpm(self) -> float:
        return 60.0 * self.sample_rate / self.beat_samples

    @property
    def chord_samples(self) -> int:
        return self.beats_per_chord * self.beat_samples

    @property
    def loop_samples(self) -> int:
        return len(self.chords) * self.chord_samples

    @property
    def loop_seconds(self) -> float:
        return self.loop_samples / self.sample_rate


def check_mood(mood: str) -> str:
    """The mood, normalised; MediaError UNKNOWN_MOOD when it is not one of MOODS."""
    name = mood.strip().lower()
    if name not in STYLES:
        raise MediaError("UNKNOWN_MOOD", f"mood {mood!r} is not one of {', '.join(MOODS)}")
    return name


def arrangement(mood: str, *, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> Arrangement:
    name = check_mood(mood)
    style = STYLES[name]
    rng = _rng(name, seed, "plan")
    bpm = float(rng.integers(style.tempo[0], style.tempo[1] + 1))
    beat = 4 * round(60.0 * sample_rate / bpm / 4)
    root = int(rng.choice(style.keys))
    progression = style.progressions[int(rng.integers(len(style.progressions)))]
    chords = tuple(_voice(root + offset, quality) for offset, quality in progression)
    bass = tuple(36 + (root + offset - 36) % 12 for offset, _ in progression)  # C2 up to B2
    return Arrangement(name, seed, sample_rate, beat, root, chords, bass, style.beats_per_chord)


def backing_loop(mood: str, *, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> F32:
    """One loop of the track as (2, n) float32, joining itself seamlessly when repeated."""
    return _loop(check_mood(mood), seed, sample_rate).copy()


def write_backing_track(
    mood: str,
    seconds: float,
    dest: Path,
    *,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
) -> Path:
    """A 16-bit stereo WAV of exactly round(seconds * sample_rate) samples: the mood's loop repeated. Without
    fades, a track a whole number of loops long loops seamlessly itself. Returns `dest`."""
    name = check_mood(mood)
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise MediaError(
            "INVALID_DURATION", f"a backing track lasts more than 0 and at most {MAX_SECONDS:g} s"
        )
    if not (math.isfinite(fade_in) and math.isfinite(fade_out)) or fade_in < 0 or fade_out < 0:
        raise MediaError("INVALID_DURATION", "fades are finite and not negative")
    loop = _loop(name, seed, sample_rate)
    total = round(seconds * sample_rate)
    fade_in_n, fade_out_n = round(fade_in * sample_rate), round(fade_out * sample_rate)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(dest), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        for first in range(0, total, loop.shape[1]):
            chunk = loop[:, : min(loop.shape[1], total - first)].astype(np.float64)
            positions = np.arange(first, first + chunk.shape[1], dtype=np.float64)
            if fade_in_n:
                chunk *= np.clip(positions / fade_in_n, 0.0, 1.0)
            if fade_out_n:
                chunk *= np.clip((total - 1 - positions) / fade_out_n, 0.0, 1.0)
            pcm = np.round(np.clip(chunk, -1.0, 1.0) * 32767).astype("<i2")
            out.writeframes(np.ascontiguousarray(pcm.T).tobytes())
    return dest


# --- synthesis --------------------------------------------------------------------------------------------


def _rng(mood: str, seed: int, purpose: str) -> np.random.Generator:
    # Independent streams per purpose: changing how the drums draw noise never changes the chosen key.
    words = [MOODS.index(mood), seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, sum(map(ord, purpose))]
    return np.random.default_rng(words)


def _voice(root: int, quality: str) -> tuple[int, ...]:
    """The chord's notes moved by octaves into one octave around middle C, so chords change smoothly."""
    return tuple(sorted(55 + (root + interval - 55) % 12 for interval in _CHORDS[quality]))


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _loop(mood: str, seed: int, sample_rate: int) -> F32:
    plan = arrangement(mood, seed=seed, sample_rate=sample_rate)
    style = STYLES[mood]
    buf = np.zeros((2, plan.loop_samples))
    _pad(buf, plan, style)
    _bass(buf, plan, style)
    _arpeggio(buf, plan, style, _rng(mood, seed, "arp"))
    _drums(buf, plan, style, _rng(mood, seed, "drums"))
    _room(buf, plan)
    return _master(buf, sample_rate)


def _place(buf: F64, start: int, signal: F64, pan: float) -> None:
    """Add a mono `signal` at `start`, panned (-1 left … 1 right, constant power), wrapping round the loop."""
    angle = (pan + 1.0) * math.pi / 4
    gains = (math.cos(angle), math.sin(angle))
    n = buf.shape[1]
    at, rest = start % n, signal[:n]  # a sound longer than the loop would overlap itself
    while rest.size:
        take = min(rest.size, n - at)
        buf[0, at : at + take] += gains[0] * rest[:take]
        buf[1, at : at + take] += gains[1] * rest[:take]
        rest, at = rest[take:], 0


@lru_cache(maxsize=16)
def _wavetable(harmonics: int) -> F64:
    """One cycle of a soft sawtooth: `harmonics` partials at 1/k, rolled off further so the pad stays warm."""
    phase = np.arange(2048) / 2048
    k = np.arange(1, harmonics + 1)[:, None]
    return np.asarray((np.sin(2 * np.pi * k * phase) / (k * (1 + 0.15 * k))).sum(axis=0), dtype=np.float64)


def _oscillator(table: F64, hz: float, n: int, rate: int, phase: float = 0.0) -> F64:
    index = ((phase + hz * np.arange(n) / rate) % 1.0) * len(table)
    return np.asarray(np.take(table, index.astype(np.int64), mode="wrap"), dtype=np.float64)


def _envelope(n: int, rate: int, attack: float, release: float, hold: int) -> F64:
    """Linear attack, sustain to `hold` samples, then an exponential-looking release to silence at `n`."""
    t = np.arange(n)
    rise = np.clip(t / max(1.0, attack * rate), 0.0, 1.0)
    fall = np.clip((n - t) / max(1.0, n - hold), 0.0, 1.0) ** 2
    return np.asarray(rise * np.where(t < hold, 1.0, fall), dtype=np.float64)


def _pad(buf: F64, plan: Arrangement, style: Style) -> None:
    rate, length = plan.sample_rate, plan.chord_samples
    table = _wavetable(style.pad_harmonics)
    release = round(0.6 * rate)
    n = length + release
    envelope = _envelope(n, rate, attack=min(0.8, length / rate / 3), release=0.6, hold=length)
    for index, chord in enumerate(plan.chords):
        for note in chord:
            # Two voices a few cents apart, one each side: the slow beating between them is the pad's width.
            for cents, pan in ((-7.0, -0.6), (7.0, 0.6)):
                tone = _oscillator(table, _hz(note + cents / 100), n, rate, phase=(note * 0.137) % 1.0)
                _place(buf, index * length, style.pad_level / len(chord) * envelope * tone, pan)


def _bass(buf: F64, plan: Arrangement, style: Style) -> None:
    rate, beat = plan.sample_rate, plan.beat_samples
    step = beat if style.drums != "four" else beat // 2  # upbeat: eighth-note bass
    n = step - round(0.01 * rate)
    t = np.arange(n) / rate
    shape = np.exp(-t * (2.5 if step == beat else 5.0)) * np.clip((n - np.arange(n)) / (0.01 * rate), 0, 1)
    shape *= np.clip(np.arange(n) / (0.004 * rate), 0, 1)
    for index, note in enumerate(plan.bass):
        hz = _hz(note)
        # Sine plus a little of the second and third partials, so the line is heard on small speakers too.
        tone = (
            np.sin(2 * np.pi * hz * t) + 0.35 * np.sin(4 * np.pi * hz * t) + 0.12 * np.sin(6 * np.pi * hz * t)
        )
        note_signal = style.bass_level * shape * np.tanh(1.3 * tone)
        for k in range(plan.chord_samples // step):
            _place(buf, index * plan.chord_samples + k * step, note_signal, 0.0)


def _arpeggio(buf: F64, plan: Arrangement, style: Style, rng: np.random.Generator) -> None:
    if style.arp == "none":
        return
    rate = plan.sample_rate
    step = plan.beat_samples // (2 if style.arp == "eighths" else 4)
    n = min(step * 3, round(0.6 * rate))
    t = np.arange(n) / rate
    gate = np.clip((n - np.arange(n)) / (0.01 * rate), 0, 1) * np.clip(np.arange(n) / (0.002 * rate), 0, 1)
    for index, chord in enumerate(plan.chords):
        for k in range(plan.chord_samples // step):
            if style.arp == "ostinato":
                # Low strings played short under a film score: the root on every other note, chord tones
                # between.
                note = plan.bass[index] + 12 if k % 2 == 0 else chord[(k // 2) % len(chord)]
                tone = np.tanh(2.0 * np.sin(2 * np.pi * _hz(note) * t)) * np.exp(-t * 14)
            else:
                note = chord[_ARP_ORDER[k % len(_ARP_ORDER)] % len(chord)] + 12
                tone = _pluck(_hz(note), t)
            velocity = 0.8 + 0.2 * float(rng.random())
            pan = -0.35 if k % 2 else 0.35
            _place(buf, index * plan.chord_samples + k * step, style.arp_level * velocity * gate * tone, pan)


def _pluck(hz: float, t: F64) -> F64:
    """A plucked string, roughly: four partials, the upper ones dying first."""
    tone = np.zeros_like(t)
    for h in (1, 2, 3, 4):
        tone += np.sin(2 * np.pi * h * hz * t) * np.exp(-t * (4 + 5 * h)) / h
    return tone


def _drums(buf: F64, plan: Arrangement, style: Style, rng: np.random.Generator) -> None:
    rate = plan.sample_rate
    sixteenth = plan.beat_samples // 4
    sounds = {name: make(rate, rng) for name, make in _DRUM_SOUNDS.items()}
    pans = {"hat": 0.3, "open": 0.3, "shaker": -0.3, "tom": -0.25}
    bars = plan.loop_samples // (16 * sixteenth)
    for bar in range(bars):
        for drum, step, velocity in _PATTERNS[style.drums]:
            # A little velocity variation: a machine hitting every note the same sounds like a metronome.
            level = style.drum_level * velocity * (0.88 + 0.12 * float(rng.random()))
            _place(buf, (bar * 16 + step) * sixteenth, level * sounds[drum], pans.get(drum, 0.0))


def _kick(rate: int, rng: np.random.Generator) -> F64:
    t = np.arange(round(0.35 * rate)) / rate
    phase = 2 * np.pi * (48 * t + 110 / 28 * (1 - np.exp(-28 * t)))  # 158 Hz falling to 48 Hz
    click = rng.standard_normal(len(t)) * np.exp(-t * 900) * 0.3
    return np.asarray(np.sin(phase) * np.exp(-t * 9) + click, dtype=np.float64)


def _noise_hit(rate: int, rng: np.random.Generator, seconds: float, decay: float, bright: int) -> F64:
    t = np.arange(round(seconds * rate)) / rate
    noise = rng.standard_normal(len(t) + bright)
    for _ in range(bright):  # each difference is a gentle high-pass: hats are bright, shakers softer
        noise = np.diff(noise)
    return np.asarray(0.5 * noise[: len(t)] * np.exp(-t * decay), dtype=np.float64)


def _snare(rate: int, rng: np.random.Generator) -> F64:
    t = np.arange(round(0.25 * rate)) / rate
    body = np.sin(2 * np.pi * 185 * t) * np.exp(-t * 30)
    return np.asarray(0.6 * body + _noise_hit(rate, rng, 0.25, 16, 1) * 1.2, dtype=np.float64)


def _clap(rate: int, rng: np.random.Generator) -> F64:
    hit = _noise_hit(rate, rng, 0.2, 20, 1)
    for delay in (0.008, 0.017):  # a clap is a few hands a few milliseconds apart
        shift = round(delay * rate)
        hit[shift:] += 0.7 * hit[: len(hit) - shift]
    return hit


def _boom(rate: int, rng: np.random.Generator) -> F64:
    t = np.arange(round(1.2 * rate)) / rate
    phase = 2 * np.pi * (38 * t + 40 / 10 * (1 - np.exp(-10 * t)))
    return np.asarray(
        1.2 * np.sin(phase) * np.exp(-t * 3.2) + _noise_hit(rate, rng, 1.2, 12, 0) * 0.25, dtype=np.float64
    )


def _tom(rate: int, rng: np.random.Generator) -> F64:
    t = np.arange(round(0.4 * rate)) / rate
    phase = 2 * np.pi * (95 * t + 40 / 12 * (1 - np.exp(-12 * t)))
    return np.asarray(np.sin(phase) * np.exp(-t * 8), dtype=np.float64)


_DRUM_SOUNDS = {
    "kick": _kick,
    "snare": _snare,
    "clap": _clap,
    "hat": lambda rate, rng: _noise_hit(rate, rng, 0.06, 70, 2) * 0.8,
    "open": lambda rate, rng: _noise_hit(rate, rng, 0.22, 16, 2) * 0.5,
    "shaker": lambda rate, rng: _noise_hit(rate, rng, 0.09, 35, 1) * 0.5,
    "boom": _boom,
    "tom": _tom,
}


def _room(buf: F64, plan: Arrangement) -> None:
    """A little space: a few quiet echoes crossing sides (np.roll keeps them circular, so still seamless)."""
    rate = plan.sample_rate
    dry = buf.copy()
    for seconds, gain in ((0.037, 0.16), (0.071, 0.12), (0.113, 0.09), (0.173, 0.06)):
        shift = round(seconds * rate)
        buf[0] += gain * np.roll(dry[1], shift)
        buf[1] += gain * np.roll(dry[0], shift)


def _master(buf: F64, rate: int) -> F32:
    # tanh glues the parts together and rounds off the drum transients before the level is set.
    glued = np.tanh(1.2 * buf) / 1.2
    loudness = integrated_loudness(glued.T, rate)
    gain = 10 ** ((TARGET_LUFS - loudness) / 20) if math.isfinite(loudness) else 1.0
    peak = float(np.abs(glued).max()) * gain
    ceiling = 10 ** (PEAK_DB / 20)
    if peak > ceiling:
        gain *= ceiling / peak
    return np.asarray(glued * gain, dtype=np.float32)
