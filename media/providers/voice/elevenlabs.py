"""ElevenLabs text to speech with timestamps (`POST /v1/text-to-speech/{voice_id}/with-timestamps`).

The answer carries the audio (base64) and a per-character alignment of the text we sent; a word runs from
its first character's start to its last character's end (align.from_characters). Without an alignment the
words are spread by syllables, as for OpenAI.
"""

import asyncio
import base64
import binascii
import re
from pathlib import Path

import httpx
from pydantic import BaseModel, ValidationError

from media.providers.http import ProviderError, send
from media.providers.meter import record
from media.providers.voice.align import from_characters, narration_words, spread
from media.providers.voice.audio import store_audio
from media.providers.voice.base import Speech

BASE_URL = "https://api.elevenlabs.io"
DEFAULT_MODEL = "eleven_multilingual_v2"
DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"  # "George", a premade voice every account has
DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
PROVIDER = "ElevenLabs"
# Voice ids go into the URL path: letters and digits only, so a voice name cannot reach another endpoint.
_VOICE_ID = re.compile(r"[A-Za-z0-9]{1,64}")


class _Alignment(BaseModel):
    characters: list[str]
    character_start_times_seconds: list[float]
    character_end_times_seconds: list[float]


class _Answer(BaseModel):
    audio_base64: str
    alignment: _Alignment | None = None


class ElevenLabsVoice:
    """`voice` is an ElevenLabs voice id; None uses the default voice."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str,
        model: str = DEFAULT_MODEL,
        voice_id: str = DEFAULT_VOICE_ID,
        output_format: str = DEFAULT_OUTPUT_FORMAT,
        base_url: str = BASE_URL,
    ) -> None:
        if not output_format.startswith("mp3_"):
            raise ProviderError(
                "PROVIDER_NOT_CONFIGURED", f"{PROVIDER} output format must be mp3_*, not {output_format}"
            )
        self._http = http
        self._api_key = api_key
        self._model = model
        self._voice_id = voice_id
        self._format = output_format
        self._base_url = base_url.rstrip("/")

    async def speak(self, text: str, dest: Path, *, voice: str | None, language: str) -> Speech:
        words = narration_words(text)
        voice_id = voice or self._voice_id
        if not _VOICE_ID.fullmatch(voice_id):
            raise ProviderError("UNSUPPORTED_VOICE", f"{voice_id!r} is not an {PROVIDER} voice id")
        body: dict[str, object] = {"text": text, "model_id": self._model}
        # Only the v2.5 models enforce a language; the others answer an error when one is sent.
        if "_v2_5" in self._model:
            body["language_code"] = language.split("-")[0].lower()
        request = self._http.build_request(
            "POST",
            f"{self._base_url}/v1/text-to-speech/{voice_id}/with-timestamps",
            params={"output_format": self._format},
            headers={"xi-api-key": self._api_key},
            json=body,
        )
        response = await send(self._http, request, provider=PROVIDER)
        try:
            answer = _Answer.model_validate_json(response.content)
            audio = base64.b64decode(answer.audio_base64, validate=True)
        except (ValidationError, binascii.Error) as exc:
            raise ProviderError(
                "PROVIDER_BAD_RESPONSE", f"{PROVIDER} answered something unexpected: {exc}"
            ) from exc
        await record("elevenlabs", f"{self._model}:characters", len(text))
        path = dest.with_suffix(".mp3")
        clip = await asyncio.to_thread(store_audio, audio, path, provider=PROVIDER)
        alignment = answer.alignment
        if alignment is None or not alignment.characters:
            return Speech(
                audio=path, duration=clip.duration, words=spread(words, clip.voiced_start, clip.voiced_end)
            )
        if (
            not len(alignment.characters)
            == len(alignment.character_start_times_seconds)
            == len(alignment.character_end_times_seconds)
        ):
            raise ProviderError("PROVIDER_BAD_RESPONSE", f"{PROVIDER} sent an alignment with uneven lists")
        timings = from_characters(
            text,
            words,
            alignment.characters,
            alignment.character_start_times_seconds,
            alignment.character_end_times_seconds,
            clip.duration,
        )
        return Speech(audio=path, duration=clip.duration, words=timings)
