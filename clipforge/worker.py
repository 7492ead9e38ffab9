"""The worker process: its dependencies built from Settings (arq's startup and shutdown hooks build and close
them), and the loop that runs jobs."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from contextlib import AsyncExitStack

import httpx

from clipforge.settings import Settings
from clipforge.wiring import fetch_limits, open_storage, pricing, require_redis_url, timeline_limits
from db.engine import create_engine, session_factory
from jobs import queue
from jobs.deps import Deps
from jobs.tools import RenderLimits, Tools
from jobs.worker import create_worker
from media.providers.registry import ProviderConfig, build_providers

log = logging.getLogger(__name__)


class WorkerResources:
    """Deps plus what must be closed with them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stack = AsyncExitStack()

    async def build(self) -> Deps:
        s = self.settings
        engine = create_engine(s.resolved_database_url, transaction_pooler=s.database_transaction_pooler)
        self.stack.push_async_callback(engine.dispose)
        redis = await queue.connect(require_redis_url(s))
        self.stack.push_async_callback(redis.aclose)
        http = httpx.AsyncClient(timeout=httpx.Timeout(s.download_timeout_seconds, connect=5.0))
        self.stack.push_async_callback(http.aclose)
        providers = build_providers(
            {"llm": s.llm_provider, "voice": s.tts_provider, "image": s.image_provider},
            ProviderConfig(
                http=http,
                openai_api_key=s.openai_api_key.get_secret_value() or None,
                anthropic_api_key=s.anthropic_api_key.get_secret_value() or None,
                gemini_api_key=s.gemini_api_key.get_secret_value() or None,
                elevenlabs_api_key=s.elevenlabs_api_key.get_secret_value() or None,
                openai_base_url=s.openai_base_url,
                anthropic_base_url=s.anthropic_base_url,
            ),
        )
        tools = Tools(
            storage=await open_storage(s, self.stack),
            http=http,
            work_root=s.work_root,
            providers=providers,
            fetch_limits=fetch_limits(s),
            render=RenderLimits(
                timeout_seconds=s.render_timeout_seconds,
                memory_limit_mb=s.render_memory_limit_mb,
                cpu_limit_seconds=s.render_cpu_limit_seconds,
                timeline=timeline_limits(s),
            ),
            caption_font=s.caption_font,
            pricing=pricing(s),
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


async def run_worker(settings: Settings) -> None:
    resources = WorkerResources(settings)
    redis = await queue.connect(require_redis_url(settings))
    worker = create_worker(
        redis,
        resources.build,
        resources.close,
        concurrency=settings.worker_concurrency,
        job_timeout=settings.job_timeout_seconds,
        max_tries=settings.job_max_tries,
        reconcile_every_seconds=settings.reconcile_every_seconds,
    )
    try:
        # async_run, not main: arq's SIGTERM/SIGINT handler cancels the task async_run creates.
        await worker.async_run()
    except asyncio.CancelledError:
        log.info("worker stopped")
    finally:
        await worker.close()
