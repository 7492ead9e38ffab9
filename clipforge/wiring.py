"""Builds the API's long-lived pieces from Settings (and what the API and workers share: storage, limits,
migrations). The worker's are built in clipforge.worker."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import replace

import httpx

from clipforge.settings import Settings
from db import repo
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from jobs import queue
from jobs.bus import ProgressHub
from jobs.kind import InputLimits
from jobs.money import DEFAULT_CREDIT_PRICES, Pricing
from media.inputs.fetch import FetchLimits
from media.providers.http import ProviderError
from media.providers.llm.anthropic import AnthropicLLM
from media.providers.llm.base import LLM
from media.providers.llm.gemini import GeminiLLM
from media.providers.llm.openai import OpenAILLM
from media.providers.prices import DEFAULT_PRICES_USD
from media.providers.voice.catalog import check_voice, list_voices
from media.storage.local import LocalStorage
from media.timeline.checks import Limits as TimelineLimits
from resolvers.context import Expander, Services

log = logging.getLogger(__name__)

LOCAL_USER = "local"


def require_redis_url(settings: Settings) -> str:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (clipforge up starts an embedded Redis for you)")
    return settings.redis_url


def storage_for(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.storage_root, settings.base_url, settings.secret_bytes())


def fetch_limits(settings: Settings) -> FetchLimits:
    if settings.allow_private_urls:
        log.warning(
            "CLIPFORGE_ALLOW_PRIVATE_URLS is ON: user URLs may reach loopback and private networks. "
            "Never run like this on a server that others can reach."
        )
    return FetchLimits(
        max_bytes=settings.max_download_bytes,
        timeout_seconds=settings.download_timeout_seconds,
        allow_private=settings.allow_private_urls,
    )


async def migrate(settings: Settings) -> None:
    """Apply migrations and make sure the local (auth-disabled) user exists."""
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            await repo.ensure_user(session, LOCAL_USER, "Local user", settings.default_credits)
    finally:
        await engine.dispose()


def timeline_limits(settings: Settings) -> TimelineLimits:
    return TimelineLimits(
        max_side=settings.max_video_side,
        max_seconds=settings.max_video_seconds,
        max_fps=settings.max_video_fps,
    )


def pricing(settings: Settings) -> Pricing:
    return Pricing(
        credits={**DEFAULT_CREDIT_PRICES, **settings.credit_prices},
        usd={**DEFAULT_PRICES_USD, **settings.prices_usd},
    )


def input_limits(settings: Settings) -> InputLimits:
    offline_voice = settings.tts_provider.strip().lower() == "offline"
    return InputLimits(
        max_images=settings.max_images,
        max_upload_bytes=settings.max_upload_bytes,
        max_seconds_per_image=settings.max_seconds_per_image,
        render_fps=settings.render_fps,
        render_preset=settings.render_preset,
        render_crf=settings.render_crf,
        timeline=timeline_limits(settings),
        max_source_chars=settings.max_source_chars,
        max_idea_chars=settings.max_idea_chars,
        check_voice=check_voice if offline_voice else None,
    )


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    engine = create_engine(settings.resolved_database_url)
    stack.push_async_callback(engine.dispose)
    redis = await queue.connect(require_redis_url(settings))
    stack.push_async_callback(redis.aclose)
    hub = ProgressHub(redis)
    await hub.start()
    stack.push_async_callback(hub.stop)
    offline_voice = settings.tts_provider.strip().lower() == "offline"
    return Services(
        sessions=session_factory(engine),
        queue=redis,
        hub=hub,
        storage=storage_for(settings),
        limits=input_limits(settings),
        list_voices=list_voices if offline_voice else None,
        expander=await expander(settings, stack),
    )


async def expander(settings: Settings, stack: AsyncExitStack) -> Expander:
    """expandIdea's language model, built here rather than by media.providers.registry: the registry is
    the worker's and imports every voice and painter (numpy, PyAV), which the API process must not load."""
    offline = Expander(timeout_seconds=settings.expand_timeout_seconds, per_minute=settings.expand_per_minute)
    name = settings.llm_provider.strip().lower()
    if name == "offline":
        return offline
    http = httpx.AsyncClient(timeout=httpx.Timeout(settings.expand_timeout_seconds, connect=5.0))
    stack.push_async_callback(http.aclose)
    llm: LLM
    if name == "openai":
        key, base = settings.openai_api_key.get_secret_value(), settings.openai_base_url
        llm = OpenAILLM(http=http, api_key=key or None, base_url=base)
    elif name == "anthropic":
        llm = AnthropicLLM(http=http, api_key=settings.anthropic_api_key.get_secret_value() or None)
    elif name == "gemini":
        llm = GeminiLLM(http=http, api_key=settings.gemini_api_key.get_secret_value() or None)
    else:
        raise ProviderError(
            "PROVIDER_NOT_CONFIGURED",
            f"no llm provider called {name!r}: set CLIPFORGE_LLM_PROVIDER to offline, openai, anthropic "
            "or gemini",
        )
    return replace(offline, llm=llm)
