"""Words of a narration and their times, without any voice: splitting, syllables, proportional timing,
filling in unreported words, and character alignments."""

import pytest

from media.providers.http import ProviderError
from media.providers.voice.align import (
    TextWord,
    fill_starts,
    from_characters,
    narration_words,
    split_words,
    spread,
    syllables,
    word_of_offsets,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hello world, this is clipforge.", ["Hello", "world,", "this", "is", "clipforge."]),
        ("  spaced\n\tout  ", ["spaced", "out"]),
        ("pause — then (more) words", ["pause —", "then", "(more)", "words"]),
        ("vu « Les Misérables » hier", ["vu", "« Les", "Misérables »", "hier"]),
        ("— leading and trailing —", ["— leading", "and", "trailing —"]),
        ("你好，世界。", ["你", "好，", "世", "界。"]),
        ("Tokyo 東京 tower", ["Tokyo", "東", "京", "tower"]),
        ("Hello\x00world", ["Hello", "world"]),
    ],
)
def test_words_keep_the_texts_spelling_and_lone_punctuation_joins_a_neighbour(
    text: str, words: list[str]
) -> None:
    assert [w.text for w in split_words(text)] == words


def test_each_word_knows_its_place_in_the_text() -> None:
    text = "One, two  three."
    words = split_words(text)
    assert [(w.start, w.end) for w in words] == [(0, 4), (5, 8), (10, 16)]
    assert [text[w.start : w.end] for w in words] == ["One,", "two", "three."]
    # Offsets between words belong to the next word: espeak sometimes points at the space before one.
    assert word_of_offsets(words, len(text)) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]


def test_a_narration_with_nothing_to_say_is_an_error() -> None:
    with pytest.raises(ProviderError) as caught:
        narration_words(" ... — ")
    assert caught.value.code == "NARRATION_EMPTY"


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("a", 1),
        ("cat", 1),
        ("time", 1),  # silent e
        ("table", 2),
        ("water", 2),
        ("beautiful", 3),
        ("extraordinary", 5),
        ("Misérables", 4),
        ("naïve,", 2),
        ("1995", 4),
        ("好", 1),
        ("Привет", 2),
        ("مرحبا", 3),  # no vowel letters: about two letters a syllable
        ("...", 1),
    ],
)
def test_syllables_are_counted_roughly_but_never_zero(word: str, count: int) -> None:
    assert syllables(word) == count


def test_spread_gives_time_by_syllables_and_pauses_after_sentences() -> None:
    words = split_words("A beautiful day. Then rain")
    timed = spread(words, 1.0, 5.0)
    assert [t.text for t in timed] == ["A", "beautiful", "day.", "Then", "rain"]
    assert timed[0].start == 1.0 and timed[-1].end == pytest.approx(5.0)
    durations = [t.end - t.start for t in timed]
    assert durations[1] == pytest.approx(3 * durations[0])  # 3 syllables against 1
    assert timed[3].start - timed[2].end == pytest.approx(1.5 * durations[0])  # the sentence pause
    assert timed[1].start == pytest.approx(timed[0].end)  # no pause inside a sentence


def test_unreported_words_share_the_time_between_their_reported_neighbours() -> None:
    words = split_words("one extraordinary two three four")
    starts = fill_starts(words, [0.0, None, 1.2, None, None], 3.0)
    # "one" (1) and "extraordinary" (5) share 0.0-1.2; "two" onwards share 1.2-3.0 equally (1 syllable each).
    assert starts == pytest.approx([0.0, 0.2, 1.2, 1.8, 2.4])


def test_reported_starts_are_kept_in_order_and_inside_the_clip() -> None:
    words = split_words("a b c")
    assert fill_starts(words, [0.5, 0.3, 9.0], 2.0) == [0.5, 0.5, 2.0]
    assert fill_starts(words, [None, None, None], 3.0) == pytest.approx([0.0, 1.0, 2.0])
    assert fill_starts(words, [None, None, 1.0], 3.0) == pytest.approx([0.0, 0.5, 1.0])


def test_character_alignment_times_each_word_from_its_first_to_its_last_character() -> None:
    text = "Hi there."
    starts = [0.1 * i for i in range(len(text))]
    ends = [0.1 * (i + 1) for i in range(len(text))]
    timed = from_characters(text, split_words(text), list(text), starts, ends, duration=2.0)
    assert [t.text for t in timed] == ["Hi", "there."]
    assert [t.start for t in timed] == pytest.approx([0.0, 0.3])
    assert [t.end for t in timed] == pytest.approx([0.2, 0.9])


def test_character_alignment_times_are_clamped_to_the_decoded_clip() -> None:
    text = "Hi there"
    timed = from_characters(text, split_words(text), list(text), [0.0] * 8, [5.0] * 8, duration=1.0)
    assert all(t.end <= 1.0 for t in timed)


def test_words_are_frozen_spans() -> None:
    word = TextWord("Hi", 0, 2)
    with pytest.raises(AttributeError):
        word.text = "Ho"  # type: ignore[misc]
