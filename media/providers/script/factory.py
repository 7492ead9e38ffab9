"""Choosing the script writer by name (the CLIPFORGE_LLM_PROVIDER setting): offline by default, or a cloud
model whose API key must then be set. A wrong name or a missing key fails when the writer is made (at
startup), naming the setting to fix, instead of in the middle of someone's job."""

import httpx

from media.providers.http import ProviderError
from media.providers.script.anthropic import AnthropicWriter
from media.providers.script.base import ScriptWriter
from media.providers.script.gemini import GeminiWriter
from media.providers.script.offline import OfflineWriter
from media.providers.script.openai import OpenAIWriter

LLM_PROVIDERS = ("offline", "openai", "anthropic", "gemini")


def make_writer(
    provider: str,
    *,
    http: httpx.AsyncClient,
    openai_api_key: str | None = None,
    anthropic_api_key: str | None = None,
    gemini_api_key: str | None = None,
    model: str | None = None,
    openai_base_url: str | None = None,
) -> ScriptWriter:
    """The writer called `provider`; `model` overrides the chosen vendor's default model."""
    name = provider.strip().lower()
    chosen = {"model": model} if model else {}
    if name == "offline":
        return OfflineWriter()
    if name == "openai":
        where = {"base_url": openai_base_url} if openai_base_url else {}
        return OpenAIWriter(http=http, api_key=openai_api_key, **chosen, **where)
    if name == "anthropic":
        return AnthropicWriter(http=http, api_key=anthropic_api_key, **chosen)
    if name == "gemini":
        return GeminiWriter(http=http, api_key=gemini_api_key, **chosen)
    choices = ", ".join(LLM_PROVIDERS)
    raise ProviderError(
        "PROVIDER_UNKNOWN",
        f"no LLM provider called {provider!r}: set CLIPFORGE_LLM_PROVIDER to one of {choices}",
    )
