"""Choosing the Voice from settings: offline (espeak-ng, the default), openai or elevenlabs.

Settings live above media/, so they arrive here as plain keyword arguments; the messages name the environment
variables that set them, because that is where someone fixing a misconfiguration will look.
"""

import httpx

from media.providers.http import ProviderError, require_key
from media.providers.voice import elevenlabs as voice_elevenlabs
from media.providers.voice import openai as voice_openai
from media.providers.voice.base import Voice
from media.providers.voice.elevenlabs import ElevenLabsVoice
from media.providers.voice.espeak import DEFAULT_RATE, EspeakVoice
from media.providers.voice.openai import OpenAIVoice

PROVIDERS = ("offline", "openai", "elevenlabs")


def make_voice(
    provider: str,
    *,
    http: httpx.AsyncClient,
    openai_api_key: str | None = None,
    elevenlabs_api_key: str | None = None,
    espeak_rate: int = DEFAULT_RATE,
    openai_model: str = voice_openai.DEFAULT_MODEL,
    elevenlabs_model: str = voice_elevenlabs.DEFAULT_MODEL,
    openai_base_url: str = voice_openai.BASE_URL,
) -> Voice:
    """The Voice named by CLIPFORGE_TTS_PROVIDER, or a ProviderError saying which setting to fix."""
    name = provider.strip().lower()
    if name == "offline":
        return EspeakVoice(rate=espeak_rate)
    if name == "openai":
        key = require_key(openai_api_key, "OpenAI TTS", "CLIPFORGE_OPENAI_API_KEY")
        return OpenAIVoice(http=http, api_key=key, model=openai_model, base_url=openai_base_url)
    if name == "elevenlabs":
        key = require_key(elevenlabs_api_key, "ElevenLabs", "CLIPFORGE_ELEVENLABS_API_KEY")
        return ElevenLabsVoice(http=http, api_key=key, model=elevenlabs_model)
    raise ProviderError(
        "PROVIDER_NOT_CONFIGURED",
        f"unknown TTS provider {provider!r}: set CLIPFORGE_TTS_PROVIDER to one of {', '.join(PROVIDERS)}",
    )
