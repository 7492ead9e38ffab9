"""OpenAI text to speech (`POST /v1/audio/speech`).

The API returns audio only, no timings: words are spread over the voiced part of the clip by syllables
(align.spread), which keeps captions within a word or so of the voice. The model reads the language from the
text itself, so `language` is not sent.
"""

import asyncio
from pathlib import Path
from typing import Literal

import httpx

from media.providers.http import ProviderError, send
from media.providers.meter import record
from media.providers.voice.align import narration_words, spread
from media.providers.voice.audio import store_audio
from media.providers.voice.base import Speech

BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini-tts"
DEFAULT_VOICE = "alloy"
MAX_INPUT_CHARACTERS = 4096  # the API's documented limit for `input`
PROVIDER = "OpenAI TTS"


class OpenAIVoice:
    """`voice` is an OpenAI voice ("alloy", "coral", "nova", ...); None uses the default voice."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str,
        model: str = DEFAULT_MODEL,
        voice: str = DEFAULT_VOICE,
        response_format: Literal["mp3", "wav"] = "mp3",
        speed: float = 1.0,
        instructions: str | None = None,
        base_url: str = BASE_URL,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._model = model
        self._voice = voice
        self._format = response_format
        self._speed = speed
        # tts-1 and tts-1-hd reject instructions; only the gpt-4o TTS models take them.
        self._instructions = instructions if instructions and not model.startswith("tts-1") else None
        self._base_url = base_url.rstrip("/")

    async def speak(self, text: str, dest: Path, *, voice: str | None, language: str) -> Speech:
        words = narration_words(text)
        if len(text) > MAX_INPUT_CHARACTERS:
            raise ProviderError(
                "NARRATION_TOO_LONG", f"{PROVIDER} speaks at most {MAX_INPUT_CHARACTERS} characters at a time"
            )
        body: dict[str, object] = {
            "model": self._model,
            "input": text,
            "voice": voice or self._voice,
            "response_format": self._format,
        }
        if self._speed != 1.0:
            body["speed"] = self._speed
        if self._instructions:
            body["instructions"] = self._instructions
        request = self._http.build_request(
            "POST",
            f"{self._base_url}/audio/speech",
            headers={"Authorization": f"Bearer {self._api_key}"},
            json=body,
        )
        response = await send(self._http, request, provider=PROVIDER)
        await record("openai", f"{self._model}:characters", len(text))
        path = dest.with_suffix(f".{self._format}")
        clip = await asyncio.to_thread(store_audio, response.content, path, provider=PROVIDER)
        return Speech(
            audio=path, duration=clip.duration, words=spread(words, clip.voiced_start, clip.voiced_end)
        )
