"""The words of a narration and when each is spoken.

Captions show the text's own spelling and punctuation, so a word here is a span of the source text, not
what a voice reports back: whitespace-separated tokens, with CJK ideographs and kana one word each (those
scripts put no spaces between words), and punctuation that stands alone ("—", "«") joined to its neighbour,
since nobody speaks it. Voices then give each word a time: espeak and ElevenLabs for most words, a
proportional share by syllables for the rest (OpenAI gives none at all).
"""

import difflib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from media.providers.http import ProviderError
from media.providers.voice.base import WordTiming

# Han, kana and CJK compatibility ideographs: spoken a syllable per character, written without spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s\x00-\x1f\x7f{_CJK}]+")  # control characters separate words too
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_VOWELS = frozenset("aeiouyæœøå" + "аеёиоуыэюяіїє" + "αεηιουω")
_SENTENCE_END = tuple(".!?。！？…")
_CLAUSE_END = tuple(",;:，、；：—–")
# Pauses a speaker makes after punctuation, in syllables of speaking time: proportional timing that ignores
# them drifts ahead of the voice by a word or two per sentence.
_SENTENCE_PAUSE = 1.5
_CLAUSE_PAUSE = 0.75


@dataclass(frozen=True)
class TextWord:
    text: str  # as written, punctuation included
    start: int  # character offsets into the source text, [start, end)
    end: int


def split_words(text: str) -> list[TextWord]:
    """The words of `text` in order, each with its place in the text."""
    words: list[TextWord] = []
    pending: tuple[int, int] | None = None  # opening punctuation ("«", "(") waiting for the word it opens
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        token = match.group()
        if not any(c.isalnum() for c in token):
            if unicodedata.category(token[0]) in ("Ps", "Pi") or not words:
                pending = (pending[0] if pending else start, end)
            else:
                words[-1] = _word(text, words[-1].start, end)
            continue
        if pending:
            start, pending = pending[0], None
        words.append(_word(text, start, end))
    if pending and words:
        words[-1] = _word(text, words[-1].start, pending[1])
    return words


def narration_words(text: str) -> list[TextWord]:
    """The words of a narration, or a clear error when there is nothing to say."""
    words = split_words(text)
    if not words:
        raise ProviderError("NARRATION_EMPTY", "the narration has no words to speak")
    return words


def _word(text: str, start: int, end: int) -> TextWord:
    return TextWord(" ".join(text[start:end].split()), start, end)


def word_of_offsets(words: Sequence[TextWord], length: int) -> list[int | None]:
    """For every character offset of a text of `length`, the index of the word there, or of the next word when
    the offset falls between words (None after the last one)."""
    owners: list[int | None] = [None] * length
    upto = 0
    for index, word in enumerate(words):
        owners[upto : word.end] = [index] * (word.end - upto)
        upto = word.end
    return owners


def syllables(word: str) -> int:
    """A rough syllable count, at least 1: good enough to share out time, not to hyphenate."""
    count = 0
    letters = 0
    in_vowel = False
    decomposed = unicodedata.normalize("NFD", word.lower())
    for i, char in enumerate(decomposed):
        if unicodedata.combining(char):
            continue
        if _CJK_CHAR.match(char) or char.isdigit():
            count += 1  # CJK: a syllable per character; digits: roughly one each when read out
            in_vowel = False
        elif char in _VOWELS:
            # A diaeresis marks a vowel spoken on its own ("naïve", "Noël"): it starts a syllable.
            count += not in_vowel or decomposed[i + 1 : i + 2] == "\u0308"
            in_vowel = True
        else:
            letters += char.isalpha()
            in_vowel = False
    if count == 0:
        # Scripts whose vowels we do not list (Arabic, Hebrew, Devanagari, Thai...): about two letters each.
        return max(1, math.ceil(letters / 2))
    core = re.sub(r"\W+$", "", word.lower())
    if count > 1 and re.search(r"[^aeiouy]e$", core) and not core.endswith("le"):
        count -= 1  # English silent final e ("time", "make"): the default language, and cheap to get right
    return count


def spread(words: Sequence[TextWord], start: float, end: float) -> list[WordTiming]:
    """Words timed across [start, end] in proportion to their syllables, with pauses after punctuation."""
    span = max(0.0, end - start)
    shares: list[tuple[float, float]] = []  # (speaking, pause after)
    for i, word in enumerate(words):
        last = i == len(words) - 1
        pause = 0.0 if last else _pause_after(word.text)
        shares.append((float(syllables(word.text)), pause))
    total = sum(speak + pause for speak, pause in shares) or 1.0
    timings: list[WordTiming] = []
    clock = start
    for word, (speak, pause) in zip(words, shares, strict=True):
        begin = clock
        clock += span * speak / total
        timings.append(WordTiming(text=word.text, start=begin, end=min(clock, end)))
        clock += span * pause / total
    return timings


def _pause_after(text: str) -> float:
    stripped = text.rstrip("\"')]}»”’")
    if stripped.endswith(_SENTENCE_END):
        return _SENTENCE_PAUSE
    if stripped.endswith(_CLAUSE_END):
        return _CLAUSE_PAUSE
    return 0.0


def fill_starts(words: Sequence[TextWord], known: Sequence[float | None], end: float) -> list[float]:
    """A start for every word: the known ones (kept in order, within [0, end]); the words between two known
    ones share the time between them by syllables, so a word the voice did not report still gets a place."""
    starts = [0.0] * len(words)
    anchors: list[int] = []
    latest = 0.0
    for i, time in enumerate(known):
        if time is not None:
            latest = max(latest, min(time, end))
            starts[i] = latest
            anchors.append(i)
    if not anchors:
        return [t.start for t in spread(words, 0.0, end)]
    bounds = [(0, 0.0)] if anchors[0] > 0 else []
    bounds += [(i, starts[i]) for i in anchors] + [(len(words), max(end, latest))]
    for (first, begin), (stop, finish) in zip(bounds, bounds[1:], strict=False):
        weights = [syllables(w.text) for w in words[first:stop]]
        total = sum(weights) or 1
        done = 0
        for offset, weight in enumerate(weights):
            starts[first + offset] = begin + (finish - begin) * done / total
            done += weight
    return starts


def from_characters(
    text: str,
    words: Sequence[TextWord],
    characters: Sequence[str],
    char_starts: Sequence[float],
    char_ends: Sequence[float],
    duration: float,
) -> list[WordTiming]:
    """Word timings from a voice's per-character alignment (ElevenLabs): a word runs from its first
    character's start to its last character's end. The characters usually spell `text` exactly; where the
    voice normalised something, the parts that still match carry the times and the rest is filled in by
    syllables."""
    spoken = "".join(characters)
    entry_of: list[int] = []  # for each character of `spoken`, the alignment entry it came from
    for entry, chars in enumerate(characters):
        entry_of.extend([entry] * len(chars))
    first: list[float | None] = [None] * len(words)
    last: list[float | None] = [None] * len(words)
    owners = word_of_offsets(words, len(text))
    matcher = difflib.SequenceMatcher(None, spoken, text, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            index = owners[block.b + k]
            if index is None or block.b + k < words[index].start:
                continue  # whitespace between words
            entry = entry_of[block.a + k]
            start, stop = min(char_starts[entry], duration), min(char_ends[entry], duration)
            first[index] = start if first[index] is None else first[index]
            last[index] = max(stop, last[index] or 0.0)
    starts = fill_starts(words, first, duration)
    timings: list[WordTiming] = []
    for i, word in enumerate(words):
        following = starts[i + 1] if i + 1 < len(words) else duration
        spoken_until = last[i]
        end = following if spoken_until is None else spoken_until
        timings.append(WordTiming(text=word.text, start=starts[i], end=max(starts[i], min(end, duration))))
    return timings
