"""The end of every create mutation: the job row first, committed, then the queue.

With an idempotency key the unique (user, key) constraint decides which request makes the job, so two
concurrent replays cannot both create one; the loser answers with the winner's job. A request that makes
no job (a replay, or the database being down) leaves none of its uploads behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from db import repo
from db.tables import Job
from jobs.kind import Kind
from jobs.queue import enqueue_job
from resolvers.availability import RETRY_LATER, database_errors
from resolvers.context import Context
from resolvers.idempotency import check_key, input_hash, reused
from resolvers.jobs import get_job
from resolvers.views import JobView

log = logging.getLogger(__name__)

# The client cannot tell whether a create that met an outage made its job; a key makes asking again safe.
UNAVAILABLE = f"{RETRY_LATER} (send an idempotencyKey, and a repeated create cannot make a second job)"
# A committed row is safe without Redis (the reconciler enqueues it later), so a slow or absent Redis
# must not hold the request up for long.
ENQUEUE_TIMEOUT_SECONDS = 2.0


async def submit(
    ctx: Context,
    job_id: str,
    kind: Kind[Any],
    params: BaseModel,
    *,
    idempotency_key: str | None = None,
    uploads: Mapping[str, str] | None = None,
    webhook_url: str | None = None,
) -> JobView:
    """`uploads` maps the storage key of each upload this request stored to the sha256 of its content."""
    uploads = uploads or {}
    data = params.model_dump(mode="json")
    try:
        key = check_key(idempotency_key)
        # The webhook is part of the request: the same key with another webhookUrl is a different request.
        hashed = {**data, "webhook_url": webhook_url} if webhook_url else data
        digest = input_hash(kind.name, hashed, uploads)
        with database_errors(UNAVAILABLE):
            winner = await _insert(ctx, job_id, kind, data, key, digest, webhook_url)
    except BaseException:
        await _discard_uploads(ctx, job_id, uploads)  # no row refers to them
        raise
    if winner is not None:
        await _discard_uploads(ctx, job_id, uploads)  # a replay: the first request's job and uploads stand
        job_id = winner.id
    else:
        await enqueue_soon(ctx, job_id)
    with database_errors(UNAVAILABLE):
        return await get_job(ctx, job_id)


async def _insert(
    ctx: Context,
    job_id: str,
    kind: Kind[Any],
    data: dict[str, object],
    key: str | None,
    digest: str,
    webhook_url: str | None = None,
) -> Job | None:
    """Create the row and return None; or, when this key already made a job with this input, that job."""
    try:
        await ctx.services.lifecycle.create(
            job_id=job_id,
            user_id=ctx.user_id,
            kind=kind.name,
            input=data,
            stages=kind.stage_weights,
            idempotency_key=key,
            input_hash=digest,
            webhook_url=webhook_url,
        )
        return None
    except IntegrityError:
        if key is None:
            raise
        async with ctx.services.sessions() as session:
            winner = await repo.find_by_idempotency_key(session, user_id=ctx.user_id, key=key)
        if winner is None:
            raise  # some other constraint failed
    if winner.input_hash != digest:
        raise reused(key, winner.id)
    log.info("idempotent replay of job %s (key %r)", winner.id, key)
    return winner


async def enqueue_soon(ctx: Context, job_id: str, queue_id: str | None = None) -> None:
    """Enqueue a committed QUEUED row. If Redis is down or slow the row stays QUEUED and the reconciler
    enqueues it once Redis is back, so this never fails the request."""
    try:
        async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
            await enqueue_job(ctx.services.queue, job_id, queue_id)
    except Exception as exc:  # noqa: BLE001 - whatever Redis did, the row is the promise
        log.warning("could not enqueue job %s (%s); the reconciler will", job_id, exc)


async def _discard_uploads(ctx: Context, job_id: str, uploads: Mapping[str, str]) -> None:
    if uploads:
        await ctx.services.storage.delete_prefix(f"jobs/{job_id}/")
