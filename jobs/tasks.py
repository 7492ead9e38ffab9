"""arq task entry points: the only code that sees arq's untyped ctx."""

from __future__ import annotations

import logging
from typing import Any

from structlog.contextvars import bound_contextvars

from db import repo
from jobs import webhooks
from jobs.delivery import deliver
from jobs.deps import Deps
from jobs.kinds import KINDS
from jobs.parking import wake
from jobs.pipeline import run_pipeline
from jobs.reconcile import reconcile
from jobs.segment_task import render_segment

log = logging.getLogger(__name__)


async def run_job(ctx: dict[str, Any], job_id: str) -> None:
    deps: Deps = ctx["deps"]
    attempt = int(ctx.get("job_try", 1))
    async with deps.sessions() as session:
        job = await repo.get_job(session, job_id)
    if job is None:
        log.warning("job %s not found; dropping it", job_id)
        return
    with bound_contextvars(job_id=job_id, kind=job.kind):
        deps.metrics.jobs_in_progress.inc()
        try:
            await _run(deps, job.kind, job_id, attempt, ctx.get("job_id"))
        finally:
            deps.metrics.jobs_in_progress.dec()


async def _run(deps: Deps, kind_name: str, job_id: str, attempt: int, queue_id: str | None) -> None:
    kind = KINDS.get(kind_name)
    if kind is None:
        # Queued by a newer API than this worker, or a kind since removed: fail it with a reason rather
        # than leave it QUEUED for the reconciler to enqueue again and again.
        log.error("job %s has kind %s, which this worker cannot run", job_id, kind_name)
        await deps.lifecycle.reject(
            job_id, "UNKNOWN_KIND", f"this service cannot run jobs of kind {kind_name!r}"
        )
        return
    await run_pipeline(deps, kind.pipeline, job_id, attempt=attempt, queue_id=queue_id)


async def reconcile_jobs(ctx: dict[str, Any]) -> None:
    deps: Deps = ctx["deps"]
    await reconcile(deps, ctx["redis"])
    async with deps.sessions() as session:
        swept = await webhooks.sweep(session, ctx["redis"])
    if swept:
        log.warning("reconciler: re-enqueued webhook deliveries %s", swept)


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str, attempt: int) -> None:
    await deliver(ctx["deps"], delivery_id, attempt)


async def render_segment_job(ctx: dict[str, Any], job_id: str, token: str, index: int) -> None:
    with bound_contextvars(job_id=job_id, segment=index):
        await render_segment(ctx["deps"], job_id, token, int(index), ctx.get("job_id"))


async def wake_job(ctx: dict[str, Any], job_id: str, token: str) -> None:
    with bound_contextvars(job_id=job_id):
        await wake(ctx["deps"], job_id, token)
