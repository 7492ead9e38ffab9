"""The offline voice: espeak-ng (espeak_lib) with word timings from its word events.

A word event carries the word's character position and its first sample, so a word starts there and ends where
the voice last sounds before the next word. Measured here espeak makes ~1000 s of speech per CPU-second (~780
with the WAV and timings), so a scene's narration costs milliseconds: a thread (asyncio.to_thread) behind the
engine's lock is the right home; a spawned child process would spend ~0.4 s starting for ~0.05 s of work.
"""

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from media.providers.http import ProviderError
from media.providers.voice.align import TextWord, fill_starts, narration_words, word_of_offsets
from media.providers.voice.audio import WINDOW_SECONDS, Mask, voiced_windows, write_wav
from media.providers.voice.base import Speech, WordTiming
from media.providers.voice.catalog import check_voice, list_voices, resolve_voice
from media.providers.voice.espeak_lib import LOCK, engine

# The catalogue (check_voice, list_voices) lives in catalog.py, light enough for the API process; it is
# re-exported because callers still import it from here.
__all__ = ["EspeakVoice", "check_voice", "list_voices", "resolve_voice", "word_timings"]

DEFAULT_RATE = 175  # words per minute; espeak accepts 80-450
MIN_RATE, MAX_RATE = 80, 450
# espeak ends a clip on its last phoneme; a little room after it keeps the last word from sounding clipped
# when scenes are joined, and anything longer than that is dead air in the video.
_TAIL_SECONDS = 0.1
_WORD_TAIL_SECONDS = 0.02
# NUL would end the text early and other control characters are not speech; a space keeps positions aligned.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def word_timings(
    words: Sequence[TextWord], events: Sequence[tuple[int, int]], length: int, voiced: Mask, rate: int
) -> list[WordTiming]:
    """One timing per word from espeak's word events: a word starts at its first event's sample and ends where
    the voice last sounds before the next word starts (a sentence's pause is not part of its last word)."""
    spoken = np.flatnonzero(voiced)
    speech_end = float(spoken[-1] + 1 if len(spoken) else len(voiced)) * WINDOW_SECONDS
    owners = word_of_offsets(words, length)
    known: list[float | None] = [None] * len(words)
    for position, sample in events:
        index = owners[position - 1] if 0 < position <= length else None
        if index is not None and known[index] is None:
            known[index] = sample / rate
    starts = fill_starts(words, known, speech_end)
    timings: list[WordTiming] = []
    for i, word in enumerate(words):
        following = starts[i + 1] if i + 1 < len(words) else speech_end
        timings.append(
            WordTiming(text=word.text, start=starts[i], end=_sounding_until(voiced, starts[i], following))
        )
    return timings


def _sounding_until(voiced: Mask, start: float, stop: float) -> float:
    first, last = int(start / WINDOW_SECONDS), int(np.ceil(stop / WINDOW_SECONDS))
    sounding = np.flatnonzero(voiced[first:last])
    if not len(sounding):
        return stop
    return max(start, min(stop, (first + float(sounding[-1]) + 1) * WINDOW_SECONDS + _WORD_TAIL_SECONDS))


def _speak(text: str, dest: Path, voice: str | None, language: str, rate: int) -> Speech:
    words = narration_words(text)
    clean = _CONTROL.sub(" ", text)
    with LOCK:
        espeak = engine()
        take = espeak.synthesize(clean, resolve_voice(espeak.voices, espeak.variants, voice, language), rate)
        sample_rate = espeak.sample_rate
    pcm = np.frombuffer(bytes(take.pcm), dtype=np.int16)
    voiced = voiced_windows(pcm.astype(np.float32) / np.float32(32768), sample_rate)
    spoken = np.flatnonzero(voiced)
    if not len(spoken):
        raise ProviderError("TTS_FAILED", "espeak-ng produced no audible speech for the narration")
    keep = min(len(pcm), round((float(spoken[-1] + 1) * WINDOW_SECONDS + _TAIL_SECONDS) * sample_rate))
    timings = word_timings(words, take.words, len(clean), voiced, sample_rate)
    duration = keep / sample_rate
    path = dest.with_suffix(".wav")
    write_wav(path, pcm[:keep].tobytes(), sample_rate)
    return Speech(audio=path, duration=duration, words=[_within(t, duration) for t in timings])


def _within(timing: WordTiming, duration: float) -> WordTiming:
    start = min(timing.start, duration)
    return WordTiming(text=timing.text, start=start, end=min(max(timing.end, start), duration))


class EspeakVoice:
    """The default Voice, offline. `voice` is an espeak voice name ("en-us", "en-gb", "de", "fr", "cmn"), a
    language one speaks, optionally with a variant ("en-us+f3"); None picks the voice for `language`."""

    def __init__(self, *, rate: int = DEFAULT_RATE) -> None:
        if not MIN_RATE <= rate <= MAX_RATE:
            raise ProviderError(
                "PROVIDER_NOT_CONFIGURED",
                f"espeak-ng speaks {MIN_RATE}-{MAX_RATE} words per minute, not {rate}",
            )
        self.rate = rate

    async def speak(self, text: str, dest: Path, *, voice: str | None, language: str) -> Speech:
        return await asyncio.to_thread(_speak, text, dest, voice, language, self.rate)
