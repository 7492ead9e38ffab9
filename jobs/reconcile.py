"""The reconciler: the database is the truth and arq only a trigger, so a periodic pass re-drives
jobs a dead worker left PROCESSING, re-enqueues QUEUED jobs Redis forgot, and finalises jobs that
have run out of tries. No row stays PROCESSING forever."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from arq import ArqRedis

from db import repo
from db.tables import Job, utcnow
from jobs.bus import publish
from jobs.deps import Deps
from jobs.events import event_from_job
from jobs.kinds import PIPELINES
from jobs.queue import enqueue_job, in_queue, redrive_id

log = logging.getLogger(__name__)


@dataclass
class Report:
    redriven: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _queue_id(job: Job) -> str:
    return redrive_id(job.id, job.seq + 1)  # the update that records it bumps seq: unique per re-drive


async def _changed(deps: Deps, job: Job | None) -> None:
    if job is not None:
        pipeline = PIPELINES.get(job.kind)
        await publish(deps.redis, event_from_job(job, pipeline.stage_names if pipeline else ()))


async def reconcile(deps: Deps, queue: ArqRedis) -> Report:
    report = Report()
    async with deps.sessions() as session:
        expired = await repo.expired_leases(session)
    for job in expired:
        async with deps.sessions.begin() as session:
            if job.attempts >= deps.max_tries:
                updated = await repo.update_job(
                    session,
                    job.id,
                    only_if_status=("PROCESSING",),
                    status="FAILED",
                    error_code="WORKER_LOST",
                    error_message=f"the worker running this job stopped responding ({job.attempts} tries)",
                    message="failed: worker lost",
                    finished_at=utcnow(),
                    lease_owner=None,
                    lease_expires_at=None,
                )
                report.failed.append(job.id)
            else:
                queue_id = _queue_id(job)
                updated = await repo.update_job(
                    session,
                    job.id,
                    only_if_status=("PROCESSING",),
                    message="worker lost; resuming from the last finished stage",
                    queue_id=queue_id,
                    lease_owner=None,
                    # Not re-driven again until a worker has had time to pick it up.
                    lease_expires_at=utcnow() + timedelta(seconds=deps.lease_seconds),
                )
                report.redriven.append(job.id)
        await _changed(deps, updated)
        if updated is not None and updated.status == "PROCESSING":
            await enqueue_job(queue, job.id, queue_id=updated.queue_id)

    async with deps.sessions() as session:
        queued = await repo.queued_before(
            session, before=utcnow() - timedelta(seconds=deps.requeue_after_seconds)
        )
    for job in queued:
        if job.queue_id and await in_queue(queue, job.queue_id):
            continue  # waiting its turn
        async with deps.sessions.begin() as session:
            updated = await repo.update_job(
                session, job.id, only_if_status=("QUEUED",), queue_id=_queue_id(job)
            )
        if updated is not None:
            await enqueue_job(queue, job.id, queue_id=updated.queue_id)
            report.requeued.append(job.id)
    if report.redriven or report.requeued or report.failed:
        log.warning(
            "reconciler: re-drove %s, re-enqueued %s, failed %s",
            report.redriven,
            report.requeued,
            report.failed,
        )
    return report
