"""An arq Worker for clipforge jobs; the caller supplies how to build and close the dependencies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import ArqRedis
from arq.cron import cron
from arq.worker import Worker, func
from redis import exceptions as redis_errors

from jobs.deps import Deps
from jobs.parking import WAKE_JOB
from jobs.queue import QUEUE_NAME, RUN_JOB, deserialize, serialize
from jobs.segments import RENDER_SEGMENT
from jobs.tasks import deliver_webhook, reconcile_jobs, render_segment_job, run_job, wake_job
from jobs.webhooks import DELIVER_WEBHOOK

log = logging.getLogger(__name__)

# What Redis being away looks like; anything else is a bug and still stops the worker loudly.
REDIS_UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a replica that has not been promoted yet
    OSError,
)


class OutageProofWorker(Worker):
    """arq's worker lets the first Redis error out of its poll loop, which ends the process: one Redis
    restart would stop every worker. Here a failed poll is logged and tried again with backoff. Jobs that
    Redis forgot meanwhile are re-enqueued by the reconciler from their rows."""

    _outage_delay = 0.0

    async def _poll_iteration(self) -> None:
        try:
            if self._outage_delay:
                await self.pool.ping()  # a busy worker's poll may not touch Redis at all: ask it directly
            await super()._poll_iteration()
        except REDIS_UNAVAILABLE as exc:
            self._outage_delay = min(max(self._outage_delay * 2, 0.1), 5.0)
            log.warning("Redis is unavailable (%s); polling again in %.1f s", exc, self._outage_delay)
            await asyncio.sleep(self._outage_delay)
            return
        if self._outage_delay:
            log.warning("Redis is back; picking up jobs again")
            self._outage_delay = 0.0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_UNAVAILABLE:
            # arq (0.28) takes a slot (semaphore + counter) before the Redis calls that start a job and
            # frees it when the job's task ends; the failed start made no task, so free the slot here or
            # every outage would shrink the worker's concurrency by one.
            self.job_counter -= 1
            self.sem.release()
            raise


def create_worker(
    redis: ArqRedis,
    build_deps: Callable[[], Awaitable[Deps]],
    close_deps: Callable[[Deps], Awaitable[None]],
    *,
    concurrency: int = 2,
    job_timeout: int = 3600,
    max_tries: int = 3,
    burst: bool = False,
    handle_signals: bool = True,
    reconcile_every_seconds: int = 10,
) -> OutageProofWorker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["deps"] = await build_deps()

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "deps" in ctx:
            await close_deps(ctx["deps"])

    return OutageProofWorker(
        functions=[
            func(run_job, name=RUN_JOB, max_tries=max_tries, timeout=job_timeout),
            # One arq job per attempt, its id naming the attempt; no result kept, so a queue id the sweep
            # needs again is free at once. Retries are ours (jobs.delivery), not arq's.
            func(deliver_webhook, name=DELIVER_WEBHOOK, max_tries=1, timeout=120, keep_result=0),
            # A long render's segments and its parked job's wakes (jobs.parking): one try per entry, a
            # segment whose worker died is queued again under a new entry by the wake that notices.
            func(render_segment_job, name=RENDER_SEGMENT, max_tries=1, timeout=job_timeout, keep_result=0),
            func(wake_job, name=WAKE_JOB, max_tries=1, timeout=60, keep_result=0),
        ],
        # Every worker runs the reconciler; unique=True lets only one of them do each pass.
        cron_jobs=[
            cron(
                reconcile_jobs,
                name="reconcile",
                second=set(range(0, 60, max(1, min(reconcile_every_seconds, 60)))),
                run_at_startup=True,
                unique=True,
                timeout=120,
            )
        ],
        queue_name=QUEUE_NAME,
        redis_pool=redis,
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=concurrency,
        job_timeout=job_timeout,
        max_tries=max_tries,
        poll_delay=0.2,
        job_serializer=serialize,
        job_deserializer=deserialize,
    )
