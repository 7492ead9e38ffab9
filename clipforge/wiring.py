"""Builds the API's long-lived pieces from Settings (and what the API and workers share: storage, limits,
migrations). The worker's are built in clipforge.worker."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.settings import Settings
from db import repo
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from jobs import queue
from jobs.bus import ProgressHub
from jobs.kind import InputLimits
from jobs.money import DEFAULT_CREDIT_PRICES, Pricing
from media.errors import MediaError
from media.inputs.fetch import FetchLimits
from media.providers.prices import DEFAULT_PRICES_USD
from media.providers.voice.catalog import check_voice, list_voices
from media.storage.base import Storage
from media.storage.local import LocalStorage
from media.storage.supabase import Buckets, open_supabase_storage
from media.timeline.checks import Limits as TimelineLimits
from resolvers.auth import Authenticator
from resolvers.context import Services
from resolvers.tokens import SupabaseTokens

log = logging.getLogger(__name__)

LOCAL_USER = "local"


def require_redis_url(settings: Settings) -> str:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (clipforge up starts an embedded Redis for you)")
    return settings.redis_url


async def open_storage(settings: Settings, stack: AsyncExitStack) -> Storage:
    """The configured store (API and worker alike). Supabase's buckets are created here, at start-up, so a
    misconfigured project stops the process with its reason instead of failing every job."""
    if settings.storage == "local":
        return LocalStorage(
            settings.storage_root,
            settings.base_url,
            settings.secret_bytes(),
            url_seconds=settings.signed_url_seconds,
        )
    key = settings.supabase_service_role_key.get_secret_value()
    if not settings.supabase_url or not key:
        raise MediaError(
            "STORAGE_NOT_CONFIGURED",
            "CLIPFORGE_STORAGE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY",
        )
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.supabase_storage_timeout_seconds, connect=10.0), follow_redirects=True
    )
    stack.push_async_callback(http.aclose)
    return await open_supabase_storage(
        settings.supabase_url,
        key,
        http=http,
        buckets=Buckets(public=settings.storage_bucket_images, private=settings.storage_bucket_videos),
        url_seconds=settings.signed_url_seconds,
        resumable_above=settings.supabase_resumable_above_bytes,
    )


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
    engine = create_engine(
        settings.resolved_database_url, transaction_pooler=settings.database_transaction_pooler
    )
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
        check_voice=check_voice if offline_voice else None,
    )


def authenticator(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], stack: AsyncExitStack
) -> Authenticator:
    """API keys, and Supabase access tokens when CLIPFORGE_AUTH says so."""
    if settings.auth == "keys":
        return Authenticator(sessions)
    if not settings.supabase_url:
        raise ValueError(f"CLIPFORGE_AUTH={settings.auth} needs SUPABASE_URL (the project's URL)")
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    stack.push_async_callback(http.aclose)
    tokens = SupabaseTokens(
        issuer=settings.supabase_issuer,
        jwks_url=f"{settings.supabase_issuer}/.well-known/jwks.json",
        http=http,
        hs256_secret=settings.supabase_jwt_secret.get_secret_value(),
        cache_seconds=settings.supabase_jwks_cache_seconds,
        refetch_gap_seconds=settings.supabase_jwks_refetch_gap_seconds,
    )
    return Authenticator(sessions, settings.auth, tokens, settings.default_credits)


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    engine = create_engine(
        settings.resolved_database_url, transaction_pooler=settings.database_transaction_pooler
    )
    stack.push_async_callback(engine.dispose)
    redis = await queue.connect(require_redis_url(settings))
    stack.push_async_callback(redis.aclose)
    hub = ProgressHub(redis)
    await hub.start()
    stack.push_async_callback(hub.stop)
    offline_voice = settings.tts_provider.strip().lower() == "offline"
    sessions = session_factory(engine)
    return Services(
        sessions=sessions,
        auth=authenticator(settings, sessions, stack),
        queue=redis,
        hub=hub,
        storage=await open_storage(settings, stack),
        limits=input_limits(settings),
        list_voices=list_voices if offline_voice else None,
    )
