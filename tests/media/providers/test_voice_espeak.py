"""The offline voice for real: libespeak-ng from the wheel, its word events as caption timings."""

import asyncio
import os
import wave
from pathlib import Path

import pytest

from media.providers.http import ProviderError
from media.providers.voice.espeak import EspeakVoice, check_voice, list_voices, resolve_voice

TWO_SENTENCES = (
    "Clipforge turns text into narrated videos. "
    "Each scene gets a voice, a picture and captions that follow the words."
)


async def test_two_sentences_give_seconds_of_speech_with_word_gaps_that_look_like_speech(
    tmp_path: Path,
) -> None:
    speech = await EspeakVoice().speak(TWO_SENTENCES, tmp_path / "scene", voice="en-us", language="en")

    assert speech.audio == tmp_path / "scene.wav"
    with wave.open(str(speech.audio)) as clip:
        assert (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) == (1, 2, 22050)
        assert clip.getnframes() / clip.getframerate() == pytest.approx(speech.duration)
    assert 4.0 < speech.duration < 12.0
    words = speech.words
    assert len(words) == len(TWO_SENTENCES.split()) == 19
    assert 1.5 < len(words) / speech.duration < 4.5  # words per second of ordinary speech
    assert all(0.04 < w.end - w.start < 1.2 for w in words)
    # The pause after the first sentence is silence between words, not part of "videos.".
    first_end = next(i for i, w in enumerate(words) if w.text == "videos.")
    sentence_gap = words[first_end + 1].start - words[first_end].end
    assert sentence_gap > 0.15
    gaps_within = [b.start - a.end for a, b in zip(words[:first_end], words[1 : first_end + 1], strict=True)]
    assert max(gaps_within) < sentence_gap


@pytest.mark.parametrize(
    ("text", "voice", "language"),
    [
        ("Über den Wolken muss die Freiheit grenzenlos sein.", "de", "de"),
        ("Die Straße ist nass. Größe zählt!", None, "de-AT"),
        ("L'été dernier, j'ai vu Paris et la Seine.", "fr", "fr"),
        ("Le café est très bon, n'est-ce pas ?", None, "fr-FR"),
    ],
)
async def test_german_and_french_voices_speak_and_time_every_word(
    text: str, voice: str | None, language: str, tmp_path: Path
) -> None:
    speech = await EspeakVoice().speak(text, tmp_path / "scene", voice=voice, language=language)
    expected = text.replace(" ?", "?").split()  # a lone "?" joins the word before it
    assert [w.text for w in speech.words] == [w.replace("pas?", "pas ?") for w in expected]
    assert speech.duration > 1.0
    assert all(w.end > w.start for w in speech.words)


def test_languages_fall_back_to_the_voice_that_speaks_them() -> None:
    voices = list_voices()
    assert resolve_voice(voices, {}, None, "de-AT") == "gmw/de"  # no Austrian voice: German
    assert resolve_voice(voices, {}, None, "en-US") == "gmw/en-US"
    assert resolve_voice(voices, {}, None, "zh") == "sit/cmn"  # BCP 47 "zh" is espeak's Mandarin
    assert resolve_voice(voices, {}, None, "pt-BR") == "roa/pt-BR"
    assert resolve_voice(voices, {}, "EN-GB", "de") == "gmw/en"  # a voice beats the language
    assert resolve_voice(voices, {"f3": "f3"}, "en-us+F3", "en") == "gmw/en-US+f3"


@pytest.mark.parametrize(
    ("voice", "language", "named"),
    [
        ("xx-nowhere", "en", "xx-nowhere"),
        ("en-zz", "en", "en-zz"),  # an explicit voice does not fall back to "en"
        (None, "tlh", "tlh"),
        ("../../etc/passwd", "en", "../../etc/passwd"),
        ("en-us+nobody", "en", "nobody"),
    ],
)
async def test_an_unknown_voice_or_language_is_unsupported_voice_naming_it(
    voice: str | None, language: str, named: str, tmp_path: Path
) -> None:
    with pytest.raises(ProviderError) as caught:
        await EspeakVoice().speak("Hello there.", tmp_path / "scene", voice=voice, language=language)
    assert caught.value.code == "UNSUPPORTED_VOICE"
    assert named in caught.value.message
    assert not os.listdir(tmp_path)


def test_a_voice_can_be_checked_before_a_job_is_accepted() -> None:
    check_voice(None, "de-AT")
    check_voice("en-us+f3", "en")
    with pytest.raises(ProviderError) as caught:
        check_voice(None, "xx-nowhere")
    assert caught.value.code == "UNSUPPORTED_VOICE" and "xx-nowhere" in caught.value.message


async def test_concurrent_speak_calls_all_succeed_and_never_mix_their_audio(tmp_path: Path) -> None:
    texts = [
        (TWO_SENTENCES, "en-us", "en"),
        ("Guten Morgen, wie geht es dir heute?", "de", "de"),
        ("Bonjour à tous, et bienvenue.", "fr", "fr"),
    ]
    espeak = EspeakVoice()
    alone = [
        await espeak.speak(t, tmp_path / f"alone{i}", voice=v, language=lang)
        for i, (t, v, lang) in enumerate(texts)
    ]

    calls = [texts[i % len(texts)] for i in range(9)]
    together = await asyncio.gather(
        *(
            espeak.speak(t, tmp_path / f"together{i}", voice=v, language=lang)
            for i, (t, v, lang) in enumerate(calls)
        )
    )

    for i, speech in enumerate(together):
        solo = alone[i % len(texts)]
        assert [w.text for w in speech.words] == [w.text for w in solo.words]
        # espeak's output varies by a few samples between runs; another call's audio would add seconds.
        assert speech.duration == pytest.approx(solo.duration, abs=0.02)
        assert speech.audio.exists()


async def test_the_rate_setting_changes_how_fast_it_speaks(tmp_path: Path) -> None:
    slow = await EspeakVoice(rate=120).speak(TWO_SENTENCES, tmp_path / "slow", voice="en-us", language="en")
    fast = await EspeakVoice(rate=300).speak(TWO_SENTENCES, tmp_path / "fast", voice="en-us", language="en")
    assert fast.duration < 0.6 * slow.duration
    with pytest.raises(ProviderError) as caught:
        EspeakVoice(rate=1000)
    assert caught.value.code == "PROVIDER_NOT_CONFIGURED"


async def test_chinese_is_timed_a_character_at_a_time(tmp_path: Path) -> None:
    speech = await EspeakVoice().speak("你好，世界。", tmp_path / "scene", voice=None, language="zh")
    assert [w.text for w in speech.words] == ["你", "好，", "世", "界。"]
    assert [w.start for w in speech.words] == sorted({w.start for w in speech.words})


async def test_control_characters_in_the_text_neither_cut_it_short_nor_reach_the_captions(
    tmp_path: Path,
) -> None:
    speech = await EspeakVoice().speak(
        "Hello\x00 world\x07 again", tmp_path / "scene", voice="en", language="en"
    )
    assert [w.text for w in speech.words] == ["Hello", "world", "again"]
    assert speech.words[-1].start > 0.3


def test_the_voice_list_names_languages_for_the_voices_query() -> None:
    voices = {v.name.lower(): v for v in list_voices()}
    assert len(voices) > 100
    assert "en" in voices["en-us"].languages and voices["en-us"].label == "English (America)"
    assert voices["de"].languages == ("de",) and "fr" in voices["fr"].languages
