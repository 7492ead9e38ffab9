"""retryJob: run a FAILED or CANCELLED job again from its last finished stage.

Finished stages keep their checkpoints (their outputs and artifacts), so a job that failed while rendering
does not fetch its inputs again; the rest are reset and the job goes back to QUEUED under a new arq id.
"""

from __future__ import annotations

from db import repo
from db.tables import Job
from jobs.bus import publish
from jobs.events import event_from_job
from jobs.queue import redrive_id
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.errors import UserError
from resolvers.jobs import get_job, load_job, stage_names
from resolvers.submit import enqueue_soon
from resolvers.views import JobView

RETRYABLE = ("FAILED", "CANCELLED")


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
        async with ctx.services.sessions.begin() as session:
            stages = await repo.get_stages(session, [job_id])
            total = sum(s.weight for s in stages) or 1.0
            done = sum(s.weight for s in stages if s.status == "DONE")
            # A terminal row's seq only moves through this update (or cancelJob, which refuses terminal
            # rows), so seq + 1 is the seq it will have: a queue id no earlier run of the job used.
            queued = await repo.update_job(
                session,
                job_id,
                only_if_status=RETRYABLE,
                status="QUEUED",
                message="queued again (retry)",
                progress=100.0 * done / total,  # what the kept checkpoints are worth: the bar does not jump
                eta_seconds=None,
                error_code=None,
                error_message=None,
                finished_at=None,
                cancel_requested=False,
                # A retry is a fresh run: a full set of tries before the reconciler gives up on it.
                attempts=0,
                lease_owner=None,
                lease_expires_at=None,
                queue_id=redrive_id(job_id, job.seq + 1),
            )
            if queued is not None:
                await repo.reset_unfinished_stages(session, job_id)
    if queued is None:  # a concurrent retry got there first
        raise not_retryable(await load_job(ctx, job_id))
    await publish(ctx.services.queue, event_from_job(queued, stage_names(queued.kind)))
    await enqueue_soon(ctx, job_id, queued.queue_id)
    with database_errors():
        return await get_job(ctx, job_id)
