"""The reconciler: the database is the truth and arq only a trigger, so a periodic pass re-drives
jobs a dead worker left PROCESSING, re-enqueues QUEUED jobs Redis forgot, and finalises jobs that
have run out of tries. No row stays PROCESSING forever."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from arq import ArqRedis

from db import repo
from db.tables import JobStatus, utcnow
from jobs.deps import Deps
from jobs.queue import enqueue_job, in_queue

log = logging.getLogger(__name__)


@dataclass
class Report:
    redriven: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def reconcile(deps: Deps, queue: ArqRedis) -> Report:
    report = Report()
    lifecycle = deps.lifecycle
    async with deps.sessions() as session:
        expired = await repo.expired_leases(session)
    for job in expired:
        if job.attempts >= deps.max_tries:
            if await lifecycle.give_up(job) is not None:
                report.failed.append(job.id)
            continue
        redriven = await lifecycle.redrive(job, lease_seconds=deps.lease_seconds)
        if redriven is not None and redriven.status == JobStatus.PROCESSING:
            report.redriven.append(job.id)
            await enqueue_job(queue, job.id, queue_id=redriven.queue_id)

    async with deps.sessions() as session:
        queued = await repo.queued_before(
            session, before=utcnow() - timedelta(seconds=deps.requeue_after_seconds)
        )
    for job in queued:
        if job.queue_id and await in_queue(queue, job.queue_id):
            continue  # waiting its turn
        requeued = await lifecycle.requeue(job)
        if requeued is not None:
            await enqueue_job(queue, job.id, queue_id=requeued.queue_id)
            report.requeued.append(job.id)
    if report.redriven or report.requeued or report.failed:
        log.warning(
            "reconciler: re-drove %s, re-enqueued %s, failed %s",
            report.redriven,
            report.requeued,
            report.failed,
        )
    return report
