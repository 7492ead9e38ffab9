"""Webhooks, the outbox half: when a job ends (jobs.lifecycle), one delivery row per target is written in the
same transaction that ends it, then put on the queue. The row is the promise: a worker that dies between
the two, or Redis forgetting the queue entry, only delays it, since `sweep` (run with the reconciler) puts
every due delivery nobody holds back on the queue. jobs.delivery sends them.

Targets: the job's own `webhookUrl` (signed with the user's webhook secret) and every endpoint the user
registered (each signed with its own secret).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq import ArqRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from db import webhooks as repo
from db.repo import aware
from db.tables import Job, JobStatus, WebhookDelivery, utcnow
from jobs.queue import QUEUE_NAME, deserialize, in_queue, serialize

log = logging.getLogger(__name__)

DELIVER_WEBHOOK = "deliver_webhook"  # the arq function (jobs.tasks)
SECRET_PREFIX = "whsec_"  # Standard Webhooks' secret format: whsec_ + base64 of the key
EVENT_TYPES = {
    JobStatus.COMPLETED: "job.completed",
    JobStatus.FAILED: "job.failed",
    JobStatus.CANCELLED: "job.cancelled",
}


@dataclass(frozen=True)
class WebhookPolicy:
    """How deliveries are sent (from settings; the defaults are the production ones)."""

    timeout_seconds: float = 15.0
    # Svix's schedule: after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, cut off at a day.
    retry_delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    retry_for_seconds: float = 86400.0
    allow_private: bool = False  # development only, like fetch's

    @property
    def lease_seconds(self) -> float:
        # An attempt takes at most the timeout (plus resolving); past this its worker is taken to be dead.
        return self.timeout_seconds + 10.0


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def delivery_id(job: Job, endpoint_id: str | None) -> str:
    """The webhook-id: one per (job, the end it reached, target). A job retried and ending again is a new
    message; the same end is never recorded twice (the row's primary key)."""
    digest = hashlib.sha256(f"{job.id}:{job.seq}:{endpoint_id or 'job'}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value else None


def job_data(job: Job) -> dict[str, Any]:
    """The job as the message tells it, in the GraphQL API's field names."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress, 2),
        "message": job.message,
        "seq": job.seq,
        "error": {"code": job.error_code, "message": job.error_message or ""} if job.error_code else None,
        "createdAt": _iso(job.created_at),
        "finishedAt": _iso(job.finished_at),
    }


def job_files(job: Job) -> dict[str, str]:
    named = {"videoUrl": job.video_key, "thumbnailUrl": job.thumbnail_key, "manifestUrl": job.manifest_key}
    return {name: key for name, key in named.items() if key}


async def record(session: AsyncSession, job: Job) -> list[str]:
    """In the transaction that ended `job`: a delivery for each of its targets. Returns their ids."""
    event_type = EVENT_TYPES.get(JobStatus(job.status))
    if event_type is None:
        return []
    targets: list[tuple[str | None, str]] = [
        (e.id, e.url) for e in await repo.list_endpoints(session, job.user_id)
    ]
    if job.webhook_url:
        await repo.ensure_secret(session, job.user_id, new_secret)  # the sender signs with it
        targets.insert(0, (None, job.webhook_url))
    if not targets:
        return []
    now = utcnow()
    payload = {"type": event_type, "timestamp": _iso(job.finished_at or now), "data": job_data(job)}
    deliveries = [
        WebhookDelivery(
            id=delivery_id(job, endpoint_id),
            user_id=job.user_id,
            job_id=job.id,
            endpoint_id=endpoint_id,
            url=url,
            event_type=event_type,
            payload=payload,
            files=job_files(job),
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id, url in targets
    ]
    await repo.add_deliveries(session, deliveries)
    return [d.id for d in deliveries]


def arq_pool(redis: Redis) -> ArqRedis:
    """An arq view of a Redis client: the API and the worker hold ArqRedis already; a plain client (tests)
    shares its connection pool."""
    if isinstance(redis, ArqRedis):
        return redis
    return ArqRedis(
        redis.connection_pool,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=QUEUE_NAME,
    )


def queue_id(delivery: str, attempt: int) -> str:
    return f"{delivery}:{attempt}"


async def enqueue(redis: Redis, delivery: str, attempt: int, *, at: datetime | None = None) -> None:
    await arq_pool(redis).enqueue_job(
        DELIVER_WEBHOOK,
        delivery,
        attempt,
        _job_id=queue_id(delivery, attempt),
        _queue_name=QUEUE_NAME,
        _defer_until=at,
    )


async def enqueue_new(redis: Redis, deliveries: list[str]) -> None:
    """After the commit: the first attempts. Failing here is fine: `sweep` finds them."""
    for delivery in deliveries:
        try:
            await enqueue(redis, delivery, 1)
        except Exception as exc:  # noqa: BLE001 - whatever Redis did, the row is the promise
            log.warning("could not enqueue webhook %s (%s); the reconciler will", delivery, exc)


async def sweep(session: AsyncSession, redis: Redis) -> list[str]:
    """Put every due delivery that nobody holds, and that is not waiting in the queue, back on it."""
    swept = []
    for delivery in await repo.due_deliveries(session, now=utcnow()):
        attempt = delivery.attempts + 1
        if await in_queue(arq_pool(redis), queue_id(delivery.id, attempt)):
            continue  # waiting its turn
        await enqueue(redis, delivery.id, attempt)
        swept.append(delivery.id)
    return swept
