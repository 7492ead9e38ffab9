"""retryJob: run a FAILED or CANCELLED job again from its last finished stage.

Finished stages keep their checkpoints (their outputs and artifacts), so a job that failed while rendering
does not fetch its inputs again; the rest are reset and the job goes back to QUEUED under a new arq id.
"""

from __future__ import annotations

from db.tables import Job
from jobs.lifecycle import RETRYABLE
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.errors import UserError
from resolvers.jobs import get_job, load_job
from resolvers.submit import enqueue_soon
from resolvers.views import JobView


def not_retryable(job: Job) -> UserError:
    return UserError(
        "JOB_NOT_RETRYABLE",
        f"job {job.id!r} is {job.status.lower()}; only failed or cancelled jobs can be retried",
        "id",
    )


async def retry_job(ctx: Context, job_id: str) -> JobView:
    job = await load_job(ctx, job_id)  # another user's job is NOT_FOUND, like a missing one
    if job.status not in RETRYABLE:
        raise not_retryable(job)
    with database_errors():
        queued = await ctx.services.lifecycle.retry(job)
    if queued is None:  # a concurrent retry got there first
        raise not_retryable(await load_job(ctx, job_id))
    await enqueue_soon(ctx, job_id, queued.queue_id)
    with database_errors():
        return await get_job(ctx, job_id)
