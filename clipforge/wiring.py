"""Builds the API's long-lived pieces from Settings (and what the API and workers share: storage, limits,
migrations). The worker's are built in clipforge.worker."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from clipforge.settings import Settings
from db import repo
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from jobs import queue
from jobs.bus import ProgressHub
from jobs.feed import Feeds
from jobs.kind import InputLimits
from media.inputs.fetch import FetchLimits
from media.providers.voice.catalog import check_voice, list_voices
from media.storage.local import LocalStorage
from media.timeline.checks import Limits as TimelineLimits
from resolvers.context import Services
from resolvers.progress import row_loader

log = logging.getLogger(__name__)

LOCAL_USER = "local"
RESYNC_SECONDS = 15.0  # a quiet subscription re-checks its job's row this often


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
            await repo.ensure_user(session, LOCAL_USER, "Local user")
    finally:
        await engine.dispose()


def timeline_limits(settings: Settings) -> TimelineLimits:
    return TimelineLimits(
        max_side=settings.max_video_side,
        max_seconds=settings.max_video_seconds,
        max_fps=settings.max_video_fps,
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


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    engine = create_engine(settings.resolved_database_url)
    stack.push_async_callback(engine.dispose)
    redis = await queue.connect(require_redis_url(settings))
    stack.push_async_callback(redis.aclose)
    hub = ProgressHub(redis)
    await hub.start()
    stack.push_async_callback(hub.stop)
    sessions = session_factory(engine)
    feeds = Feeds(hub, row_loader(sessions), resync_seconds=RESYNC_SECONDS)
    stack.push_async_callback(feeds.close)
    offline_voice = settings.tts_provider.strip().lower() == "offline"
    return Services(
        sessions=sessions,
        queue=redis,
        hub=hub,
        feeds=feeds,
        storage=storage_for(settings),
        limits=input_limits(settings),
        list_voices=list_voices if offline_voice else None,
        resync_seconds=RESYNC_SECONDS,
    )
