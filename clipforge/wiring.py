"""Builds the long-lived pieces from Settings: the API's Services and the worker's Deps."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from contextlib import AsyncExitStack

import httpx

from clipforge.settings import Settings
from db import repo
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from jobs import queue
from jobs.bus import ProgressHub
from jobs.deps import Deps, WorkerTools
from media.inputs.fetch import FetchLimits
from media.providers.script.factory import make_writer
from media.providers.visual.factory import make_painter
from media.providers.voice.espeak import check_voice, list_voices
from media.providers.voice.factory import make_voice
from media.storage.local import LocalStorage
from media.timeline.checks import Limits as TimelineLimits
from resolvers.context import Limits, Services

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
            await repo.ensure_user(session, LOCAL_USER, "Local user")
    finally:
        await engine.dispose()


def timeline_limits(settings: Settings) -> TimelineLimits:
    return TimelineLimits(
        max_side=settings.max_video_side,
        max_seconds=settings.max_video_seconds,
        max_fps=settings.max_video_fps,
    )


async def open_services(settings: Settings, stack: AsyncExitStack) -> Services:
    engine = create_engine(settings.resolved_database_url)
    stack.push_async_callback(engine.dispose)
    redis = await queue.connect(require_redis_url(settings))
    stack.push_async_callback(redis.aclose)
    hub = ProgressHub(redis)
    await hub.start()
    stack.push_async_callback(hub.stop)
    return Services(
        sessions=session_factory(engine),
        queue=redis,
        hub=hub,
        storage=storage_for(settings),
        limits=Limits(
            max_images=settings.max_images,
            max_upload_bytes=settings.max_upload_bytes,
            max_seconds_per_image=settings.max_seconds_per_image,
            render_fps=settings.render_fps,
            render_preset=settings.render_preset,
            render_crf=settings.render_crf,
            timeline=timeline_limits(settings),
            max_source_chars=settings.max_source_chars,
            check_voice=check_voice if settings.tts_provider == "offline" else None,
            list_voices=list_voices if settings.tts_provider == "offline" else None,
        ),
    )


class WorkerResources:
    """Deps plus what must be closed with them (arq's startup/shutdown hooks call these)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stack = AsyncExitStack()

    async def build(self) -> Deps:
        s = self.settings
        engine = create_engine(s.resolved_database_url)
        self.stack.push_async_callback(engine.dispose)
        redis = await queue.connect(require_redis_url(s))
        self.stack.push_async_callback(redis.aclose)
        http = httpx.AsyncClient(timeout=httpx.Timeout(s.download_timeout_seconds, connect=5.0))
        self.stack.push_async_callback(http.aclose)
        tools = WorkerTools(
            storage=storage_for(s),
            http=http,
            fetch_limits=fetch_limits(s),
            render_timeout_seconds=s.render_timeout_seconds,
            render_memory_limit_mb=s.render_memory_limit_mb,
            render_cpu_limit_seconds=s.render_cpu_limit_seconds,
            work_root=s.work_root,
            timeline_limits=timeline_limits(s),
            writer=make_writer(
                s.llm_provider,
                http=http,
                openai_api_key=s.openai_api_key,
                anthropic_api_key=s.anthropic_api_key,
                gemini_api_key=s.gemini_api_key,
                openai_base_url=s.openai_base_url,
            ),
            voice=make_voice(
                s.tts_provider,
                http=http,
                openai_api_key=s.openai_api_key,
                elevenlabs_api_key=s.elevenlabs_api_key,
                openai_base_url=s.openai_base_url,
            ),
            painter=make_painter(
                s.image_provider, http=http, openai_key=s.openai_api_key, openai_base_url=s.openai_base_url
            ),
            caption_font=s.caption_font,
        )
        return Deps(
            sessions=session_factory(engine),
            redis=redis,
            tools=tools,
            worker_id=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}",
            events_per_second=s.progress_events_per_second,
            max_tries=s.job_max_tries,
            lease_seconds=s.lease_seconds,
            requeue_after_seconds=s.requeue_after_seconds,
        )

    async def close(self, _deps: Deps) -> None:
        await self.stack.aclose()
