"""The cloud voices against their documented HTTP APIs (through httpx.MockTransport): the exact request we
send, the answers we parse (audio, alignment, error bodies, rate limits), and choosing a voice through the
registry."""

import base64
import json
import os
from pathlib import Path

import httpx
import pytest

from media.providers.http import ProviderError
from media.providers.registry import ProviderConfig, make
from media.providers.voice.elevenlabs import ElevenLabsVoice
from media.providers.voice.espeak import EspeakVoice
from media.providers.voice.openai import OpenAIVoice
from tests.media.providers.speech_fakes import (
    LEAD_SECONDS,
    TAIL_SECONDS,
    elevenlabs_answer,
    mp3_bytes,
    speech_like,
    wav_bytes,
)

TEXT = "Captions follow the voice. Extraordinary words take longer!"
MP3 = mp3_bytes(speech_like(3.0))


class Vendor:
    """Answers each request with the next response and keeps what it was sent."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def audio(content: bytes = MP3) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "audio/mpeg"}, content=content)


# --- OpenAI: POST /v1/audio/speech ---


async def test_openai_sends_the_documented_speech_request(tmp_path: Path) -> None:
    vendor = Vendor(audio())
    async with vendor.client() as http:
        speech = await OpenAIVoice(http=http, api_key="sk-test").speak(
            TEXT, tmp_path / "a", voice=None, language="en"
        )

    (request,) = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/audio/speech"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "gpt-4o-mini-tts",
        "input": TEXT,
        "voice": "alloy",
        "response_format": "mp3",
    }
    assert speech.audio == tmp_path / "a.mp3" and speech.audio.read_bytes() == MP3


async def test_openai_sends_the_chosen_voice_format_speed_and_instructions(tmp_path: Path) -> None:
    vendor = Vendor(audio(wav_bytes(speech_like(3.0))))
    async with vendor.client() as http:
        voice = OpenAIVoice(
            http=http,
            api_key="sk-test",
            model="gpt-4o-mini-tts",
            response_format="wav",
            speed=1.25,
            instructions="Calm and clear, like a teacher.",
            base_url="https://gateway.example.test/v1/",
        )
        speech = await voice.speak(TEXT, tmp_path / "a", voice="coral", language="en")

    (request,) = vendor.requests
    assert str(request.url) == "https://gateway.example.test/v1/audio/speech"
    assert json.loads(request.content) == {
        "model": "gpt-4o-mini-tts",
        "input": TEXT,
        "voice": "coral",
        "response_format": "wav",
        "speed": 1.25,
        "instructions": "Calm and clear, like a teacher.",
    }
    assert speech.audio == tmp_path / "a.wav"


async def test_openai_never_sends_instructions_to_tts_1_which_rejects_them(tmp_path: Path) -> None:
    vendor = Vendor(audio())
    async with vendor.client() as http:
        voice = OpenAIVoice(http=http, api_key="sk-test", model="tts-1", instructions="Whisper.")
        await voice.speak(TEXT, tmp_path / "a", voice=None, language="en")
    assert "instructions" not in json.loads(vendor.requests[0].content)


async def test_openai_401_fails_at_once_with_the_vendors_message_and_no_file(tmp_path: Path) -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-test. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    vendor = Vendor(httpx.Response(401, json=body))
    async with vendor.client() as http:
        with pytest.raises(ProviderError) as caught:
            await OpenAIVoice(http=http, api_key="sk-test").speak(
                TEXT, tmp_path / "a", voice=None, language="en"
            )
    assert caught.value.code == "PROVIDER_AUTH_FAILED" and caught.value.status == 401
    assert "Incorrect API key provided" in caught.value.message
    assert len(vendor.requests) == 1 and not os.listdir(tmp_path)


async def test_openai_429_is_retried_after_retry_after_and_then_speaks(tmp_path: Path) -> None:
    limited = {
        "error": {
            "message": "Rate limit reached for gpt-4o-mini-tts on requests per min (RPM): Limit 3.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    vendor = Vendor(httpx.Response(429, headers={"retry-after": "0.01"}, json=limited), audio())
    async with vendor.client() as http:
        speech = await OpenAIVoice(http=http, api_key="sk-test").speak(
            TEXT, tmp_path / "a", voice=None, language="en"
        )
    assert len(vendor.requests) == 2
    assert vendor.requests[0].content == vendor.requests[1].content
    assert speech.duration == pytest.approx(3.0, abs=0.03)


async def test_openai_words_are_spread_by_syllables_over_the_voiced_part_with_sentence_pauses(
    tmp_path: Path,
) -> None:
    vendor = Vendor(audio())
    async with vendor.client() as http:
        speech = await OpenAIVoice(http=http, api_key="sk-test").speak(
            TEXT, tmp_path / "a", voice=None, language="en"
        )

    words = {w.text: w for w in speech.words}
    assert [w.text for w in speech.words] == TEXT.split()
    assert speech.words[0].start == pytest.approx(LEAD_SECONDS, abs=0.03)  # the silent lead-in is skipped
    assert speech.words[-1].end < 3.0 - TAIL_SECONDS + 0.05
    long, short = words["Extraordinary"], words["the"]
    assert long.end - long.start > 3 * (short.end - short.start)
    assert words["Extraordinary"].start - words["voice."].end > 0.1  # the pause between the sentences


async def test_openai_refuses_text_over_its_documented_limit_without_calling(tmp_path: Path) -> None:
    vendor = Vendor()
    async with vendor.client() as http:
        with pytest.raises(ProviderError) as caught:
            await OpenAIVoice(http=http, api_key="sk-test").speak(
                "word " * 1000, tmp_path / "a", voice=None, language="en"
            )
    assert caught.value.code == "NARRATION_TOO_LONG" and not vendor.requests


async def test_audio_that_does_not_decode_is_a_bad_response_and_leaves_no_file(tmp_path: Path) -> None:
    vendor = Vendor(audio(b"<html>Service temporarily unavailable</html>"))
    async with vendor.client() as http:
        with pytest.raises(ProviderError) as caught:
            await OpenAIVoice(http=http, api_key="sk-test").speak(
                TEXT, tmp_path / "a", voice=None, language="en"
            )
    assert caught.value.code == "PROVIDER_BAD_RESPONSE"
    assert not os.listdir(tmp_path)


# --- ElevenLabs: POST /v1/text-to-speech/{voice_id}/with-timestamps ---


def timestamps(text: str, seconds: float = 3.0) -> httpx.Response:
    return httpx.Response(200, json=elevenlabs_answer(text, MP3, seconds))


async def test_elevenlabs_sends_the_documented_request(tmp_path: Path) -> None:
    vendor = Vendor(timestamps(TEXT))
    async with vendor.client() as http:
        speech = await ElevenLabsVoice(http=http, api_key="xi-test").speak(
            TEXT, tmp_path / "a", voice=None, language="en"
        )

    (request,) = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == (
        "https://api.elevenlabs.io/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb/with-timestamps"
        "?output_format=mp3_44100_128"
    )
    assert request.headers["xi-api-key"] == "xi-test"
    assert "authorization" not in request.headers
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"text": TEXT, "model_id": "eleven_multilingual_v2"}
    assert speech.audio == tmp_path / "a.mp3" and speech.audio.read_bytes() == MP3


async def test_elevenlabs_sends_the_voice_and_a_language_code_to_models_that_take_one(tmp_path: Path) -> None:
    vendor = Vendor(timestamps(TEXT))
    async with vendor.client() as http:
        voice = ElevenLabsVoice(http=http, api_key="xi-test", model="eleven_turbo_v2_5")
        await voice.speak(TEXT, tmp_path / "a", voice="21m00Tcm4TlvDq8ikWAM", language="de-DE")

    (request,) = vendor.requests
    assert request.url.path == "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/with-timestamps"
    assert json.loads(request.content) == {
        "text": TEXT,
        "model_id": "eleven_turbo_v2_5",
        "language_code": "de",
    }


async def test_elevenlabs_401_fails_at_once_with_the_vendors_message(tmp_path: Path) -> None:
    body = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
    vendor = Vendor(httpx.Response(401, json=body))
    async with vendor.client() as http:
        with pytest.raises(ProviderError) as caught:
            await ElevenLabsVoice(http=http, api_key="xi-bad").speak(
                TEXT, tmp_path / "a", voice=None, language="en"
            )
    assert caught.value.code == "PROVIDER_AUTH_FAILED" and "Invalid API key" in caught.value.message
    assert len(vendor.requests) == 1


async def test_elevenlabs_429_is_retried_and_then_speaks(tmp_path: Path) -> None:
    busy = {"detail": {"status": "too_many_concurrent_requests", "message": "Too many concurrent requests."}}
    vendor = Vendor(httpx.Response(429, headers={"retry-after": "0.01"}, json=busy), timestamps(TEXT))
    async with vendor.client() as http:
        speech = await ElevenLabsVoice(http=http, api_key="xi-test").speak(
            TEXT, tmp_path / "a", voice=None, language="en"
        )
    assert len(vendor.requests) == 2 and len(speech.words) == len(TEXT.split())


async def test_elevenlabs_character_alignment_becomes_word_timings(tmp_path: Path) -> None:
    text = "The first move is what sets everything in motion."
    step = 0.05  # every character 50 ms, so a word's times follow from its characters' places
    answer = {
        "audio_base64": base64.b64encode(MP3).decode(),
        "alignment": {
            "characters": list(text),
            "character_start_times_seconds": [i * step for i in range(len(text))],
            "character_end_times_seconds": [(i + 1) * step for i in range(len(text))],
        },
    }
    vendor = Vendor(httpx.Response(200, json=answer))
    async with vendor.client() as http:
        speech = await ElevenLabsVoice(http=http, api_key="xi-test").speak(
            text, tmp_path / "a", voice=None, language="en"
        )

    places = [0]  # where each word begins in the text: after the previous word and its space
    for word in text.split()[:-1]:
        places.append(places[-1] + len(word) + 1)
    assert [w.text for w in speech.words] == text.split()
    assert [w.start for w in speech.words] == pytest.approx([at * step for at in places])
    ends = [(at + len(word)) * step for at, word in zip(places, text.split(), strict=True)]
    assert [w.end for w in speech.words] == pytest.approx(ends)


async def test_elevenlabs_alignment_of_normalised_text_still_times_every_word_in_order(
    tmp_path: Path,
) -> None:
    text = "It costs $5 today."
    spoken = "It costs five dollars today."  # the vendor read the number out
    answer = elevenlabs_answer(spoken, MP3, 3.0)
    vendor = Vendor(httpx.Response(200, json=answer))
    async with vendor.client() as http:
        speech = await ElevenLabsVoice(http=http, api_key="xi-test").speak(
            text, tmp_path / "a", voice=None, language="en"
        )
    assert [w.text for w in speech.words] == ["It", "costs", "$5", "today."]
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts) and speech.words[-1].end <= speech.duration
    assert (
        speech.words[3].start > speech.words[2].start > speech.words[1].start
    )  # "$5" sits between its neighbours


async def test_elevenlabs_answer_without_audio_is_a_bad_response(tmp_path: Path) -> None:
    vendor = Vendor(httpx.Response(200, json={"alignment": None}))
    async with vendor.client() as http:
        with pytest.raises(ProviderError) as caught:
            await ElevenLabsVoice(http=http, api_key="xi-test").speak(
                TEXT, tmp_path / "a", voice=None, language="en"
            )
    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


async def test_elevenlabs_refuses_a_voice_id_that_would_change_the_url(tmp_path: Path) -> None:
    vendor = Vendor()
    async with vendor.client() as http:
        with pytest.raises(ProviderError) as caught:
            await ElevenLabsVoice(http=http, api_key="xi-test").speak(
                TEXT, tmp_path / "a", voice="../../v1/user", language="en"
            )
    assert caught.value.code == "UNSUPPORTED_VOICE" and not vendor.requests


# --- choosing a voice from settings ---


async def test_the_registry_builds_each_voice_and_names_the_setting_that_is_missing() -> None:
    async with httpx.AsyncClient() as http:
        keys = ProviderConfig(http=http, openai_api_key="sk-x", elevenlabs_api_key="xi-x")
        assert isinstance(make("voice", "offline", ProviderConfig(http=http)), EspeakVoice)
        assert isinstance(make("voice", "openai", keys), OpenAIVoice)
        assert isinstance(make("voice", "ElevenLabs", keys), ElevenLabsVoice)
        for provider, setting in [
            ("openai", "CLIPFORGE_OPENAI_API_KEY"),
            ("elevenlabs", "CLIPFORGE_ELEVENLABS_API_KEY"),
            ("polly", "CLIPFORGE_TTS_PROVIDER"),
        ]:
            with pytest.raises(ProviderError) as caught:
                make("voice", provider, ProviderConfig(http=http))
            assert caught.value.code == "PROVIDER_NOT_CONFIGURED" and setting in caught.value.message
