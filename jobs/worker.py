"""An arq Worker for clipforge jobs; the caller supplies how to build and close the dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from arq import ArqRedis
from arq.cron import cron
from arq.worker import Worker, func

from jobs.deps import Deps
from jobs.queue import QUEUE_NAME, RUN_JOB, deserialize, serialize
from jobs.tasks import reconcile_jobs, run_job


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
) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["deps"] = await build_deps()

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "deps" in ctx:
            await close_deps(ctx["deps"])

    return Worker(
        functions=[func(run_job, name=RUN_JOB, max_tries=max_tries, timeout=job_timeout)],
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
