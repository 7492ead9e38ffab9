"""The end of every create mutation: the job row first, committed, then the queue."""

from __future__ import annotations

import logging

from pydantic import BaseModel

from db import repo
from jobs.queue import enqueue_job
from jobs.stage import Pipeline
from resolvers.context import Context
from resolvers.jobs import get_job
from resolvers.views import JobView

log = logging.getLogger(__name__)


async def submit(ctx: Context, job_id: str, pipeline: Pipeline, params: BaseModel) -> JobView:
    async with ctx.services.sessions.begin() as session:
        await repo.create_job(
            session,
            job_id=job_id,
            user_id=ctx.user_id,
            kind=pipeline.kind,
            input=params.model_dump(mode="json"),
            stages=[(s.name, s.weight) for s in pipeline.stages],
        )
    # If Redis is down the row stays QUEUED and the reconciler enqueues it once Redis is back.
    try:
        await enqueue_job(ctx.services.queue, job_id)
    except Exception:
        log.exception("could not enqueue job %s; it stays QUEUED in the database", job_id)
    return await get_job(ctx, job_id)
