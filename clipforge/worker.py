"""The worker process: its dependencies built from Settings (arq's startup and shutdown hooks build and close
them), the loop that runs jobs, its heartbeat (jobs.heartbeat) and, with CLIPFORGE_WORKER_PORT, its
/healthz, /readyz and /metrics (clipforge.worker_http)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from contextlib import AsyncExitStack

import httpx
from arq import ArqRedis

from clipforge.settings import Settings
from clipforge.wiring import (
    fetch_limits,
    open_storage,
    pricing,
    provider_choices,
    require_redis_url,
    timeline_limits,
)
from clipforge.worker_http import QuietServer, bind, server, worker_app
from db.engine import create_engine, session_factory
from jobs import queue
from jobs.deps import Deps
from jobs.heartbeat import forget, forget_dead, keep_beating
from jobs.metrics import MeteredTransport, Metrics
from jobs.tools import MusicBed, RenderLimits, Tools
from jobs.webhooks import WebhookPolicy
from jobs.worker import create_worker
from media.providers.registry import ProviderConfig, build_providers

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    # host:pid:random. `clipforge up` knows its worker's pid, and so which leases were its (clipforge.up).
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class WorkerResources:
    """Deps plus what must be closed with them."""

    def __init__(
        self, settings: Settings, metrics: Metrics | None = None, worker_id: str | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.worker_id = worker_id or new_worker_id()
        self.stack = AsyncExitStack()
        self.deps: Deps | None = None  # once built

    async def build(self) -> Deps:
        s = self.settings
        engine = create_engine(s.resolved_database_url, transaction_pooler=s.database_transaction_pooler)
        self.stack.push_async_callback(engine.dispose)
        redis = await queue.connect(require_redis_url(s))
        self.stack.push_async_callback(redis.aclose)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(s.download_timeout_seconds, connect=5.0),
            # Counts provider calls and errors by vendor (what media.providers.http.send tags).
            transport=MeteredTransport(httpx.AsyncHTTPTransport(), self.metrics),
        )
        self.stack.push_async_callback(http.aclose)
        providers = build_providers(
            provider_choices(s),
            ProviderConfig(
                http=http,
                openai_api_key=s.openai_api_key.get_secret_value() or None,
                anthropic_api_key=s.anthropic_api_key.get_secret_value() or None,
                gemini_api_key=s.gemini_api_key.get_secret_value() or None,
                elevenlabs_api_key=s.elevenlabs_api_key.get_secret_value() or None,
                openai_base_url=s.openai_base_url,
                runway_api_key=s.runway_api_key.get_secret_value() or None,
                runway_base_url=s.runway_base_url,
                runway_poll_seconds=s.runway_poll_seconds,
                runway_max_wait_seconds=s.runway_max_wait_seconds,
                fetch_limits=fetch_limits(s),
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
                nice=s.render_nice,
                timeline=timeline_limits(s),
                encoder=s.video_encoder,
                segment_after_seconds=s.segment_after_seconds,
                segment_seconds=s.segment_seconds,
            ),
            caption_font=s.caption_font,
            pricing=pricing(s),
            redis=redis,
            music_bed=MusicBed(
                duck_db=s.music_duck_db,
                duck_attack_seconds=s.music_duck_attack_seconds,
                duck_release_seconds=s.music_duck_release_seconds,
                music_db=s.music_level_db,
                loudness_lufs=s.short_loudness_lufs,
                true_peak_db=s.short_true_peak_db,
            ),
        )
        self.deps = Deps(
            sessions=session_factory(engine),
            redis=redis,
            tools=tools,
            worker_id=self.worker_id,
            events_per_second=s.progress_events_per_second,
            max_tries=s.job_max_tries,
            lease_seconds=s.lease_seconds,
            requeue_after_seconds=s.requeue_after_seconds,
            segment_poll_seconds=s.segment_poll_seconds,
            metrics=self.metrics,
            webhooks=WebhookPolicy(
                timeout_seconds=s.webhook_timeout_seconds,
                retry_delays=tuple(s.webhook_retry_delays),
                retry_for_seconds=s.webhook_retry_for_seconds,
                allow_private=s.allow_private_urls,
            ),
        )
        # A worker restarted in place (a container's restart policy: same host name, same pid) finds the
        # leases of the process it replaces under its own host:pid, which no live process can hold: they go
        # back at once, and this worker's first reconciler pass resumes those jobs. (Two containers that
        # share a host name and each run as pid 1 would defeat this; container host names differ by default.)
        previous = self.worker_id.rsplit(":", 1)[0] + ":"
        released = await self.deps.lifecycle.release(previous)
        await forget_dead(redis, previous)
        if released:
            log.warning("took back the jobs of this worker's previous process (%s): %s", previous, released)
        # Beats from now on: a worker counts as alive once it can take jobs.
        beating = asyncio.create_task(keep_beating(redis, self.worker_id, s.heartbeat_seconds))
        self.stack.push_async_callback(self._stop_beating, beating, redis)
        return self.deps

    async def _stop_beating(self, beating: asyncio.Task[None], redis: ArqRedis) -> None:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        with contextlib.suppress(Exception):  # Redis may be the reason we are stopping
            await forget(redis, self.worker_id)

    async def close(self, _deps: Deps) -> None:
        self.deps = None
        await self.stack.aclose()


async def run_worker(settings: Settings) -> None:
    metrics = Metrics()
    resources = WorkerResources(settings, metrics)
    async with AsyncExitStack() as stack:
        if settings.worker_port is not None:
            sock = bind(settings.host, settings.worker_port)
            probes = server(worker_app(metrics, lambda: resources.deps))
            serving = asyncio.create_task(probes.serve(sockets=[sock]))
            stack.push_async_callback(_stop_server, probes, serving)
            log.info("worker health and metrics at http://%s:%d/metrics", settings.host, settings.worker_port)
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
        stack.push_async_callback(worker.close)
        try:
            # async_run, not main: arq's SIGTERM/SIGINT handler cancels the task async_run creates.
            await worker.async_run()
        except asyncio.CancelledError:
            log.info("worker stopped")


async def _stop_server(probes: QuietServer, serving: asyncio.Task[None]) -> None:
    probes.should_exit = True
    await serving
