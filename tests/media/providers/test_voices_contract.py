"""One contract for every Voice: what a caption track and the renderer rely on, whoever speaks.

espeak-ng runs for real; the cloud voices answer through httpx.MockTransport with real audio made here.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from media.providers.http import ProviderError
from media.providers.voice.base import Voice
from media.providers.voice.elevenlabs import ElevenLabsVoice
from media.providers.voice.espeak import EspeakVoice
from media.providers.voice.openai import OpenAIVoice
from tests.media.providers.speech_fakes import (
    decoded_seconds,
    elevenlabs_handler,
    mp3_bytes,
    openai_handler,
    speech_like,
    wav_bytes,
)

TEXTS = {
    "en": (
        "Clipforge turns text into video. Every word gets its own time!",
        ["Clipforge", "turns", "text", "into", "video.", "Every", "word", "gets", "its", "own", "time!"],
    ),
    "fr": (
        "L'été dernier, j'ai vu « Les Misérables » à Paris.",
        ["L'été", "dernier,", "j'ai", "vu", "« Les", "Misérables »", "à", "Paris."],
    ),
}
IMPLEMENTATIONS = ["espeak", "openai-mp3", "openai-wav", "elevenlabs"]


@pytest.fixture(params=IMPLEMENTATIONS)
async def voice(request: pytest.FixtureRequest) -> AsyncIterator[Voice]:
    name: str = request.param
    if name == "espeak":
        yield EspeakVoice()
        return
    if name == "elevenlabs":
        handler = elevenlabs_handler()
    else:
        fmt = name.removeprefix("openai-")
        audio = mp3_bytes(speech_like()) if fmt == "mp3" else wav_bytes(speech_like())
        handler = openai_handler(audio)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        if name == "elevenlabs":
            yield ElevenLabsVoice(http=http, api_key="xi-test")
        else:
            yield OpenAIVoice(http=http, api_key="sk-test", response_format="mp3" if fmt == "mp3" else "wav")


@pytest.mark.parametrize("language", sorted(TEXTS))
async def test_speech_is_a_decodable_clip_with_one_timing_per_word_in_order(
    voice: Voice, language: str, tmp_path: Path
) -> None:
    text, words = TEXTS[language]
    speech = await voice.speak(text, tmp_path / "narration", voice=None, language=language)

    assert speech.audio.exists() and speech.audio.parent == tmp_path
    assert speech.duration > 0
    assert speech.duration == pytest.approx(decoded_seconds(str(speech.audio)), abs=0.03)
    assert [w.text for w in speech.words] == words  # the text's own spelling and punctuation
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= speech.duration for w in speech.words)
    # The words cover the speech rather than bunching up at one end.
    assert speech.words[0].start < 0.3 * speech.duration
    assert speech.words[-1].end > 0.6 * speech.duration


async def test_a_text_without_words_is_refused_before_anything_is_spoken(
    voice: Voice, tmp_path: Path
) -> None:
    with pytest.raises(ProviderError) as caught:
        await voice.speak(" … — ", tmp_path / "narration", voice=None, language="en")
    assert caught.value.code == "NARRATION_EMPTY"
    assert not os.listdir(tmp_path)
