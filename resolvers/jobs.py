"""Reading, listing and cancelling jobs — always scoped to the caller."""

from __future__ import annotations

from dataclasses import dataclass

from db import ledger, repo
from db.tables import Job
from resolvers.availability import database_errors, storage_errors
from resolvers.context import Context
from resolvers.errors import NotFound, UserError
from resolvers.views import JobView, job_view, keys_to_sign

MAX_PAGE = 100


async def views(ctx: Context, jobs: list[Job]) -> list[JobView]:
    ids = [j.id for j in jobs]
    with database_errors():
        async with ctx.services.sessions() as session:
            stages = await repo.get_stages(session, ids)
            artifacts = await repo.get_artifacts(session, ids)
            costs = await ledger.cost_by_stage(session, ids)
            charged = await ledger.charged_by_job(session, ids)
    owned = {j.id: [a for a in artifacts if a.job_id == j.id] for j in jobs}
    keys = [key for j in jobs for key in keys_to_sign(j, owned[j.id])]
    # Minted on every read, all at once: a hosted store signs a whole page in one request per bucket.
    with storage_errors():
        links = await ctx.services.storage.urls(keys) if keys else {}
    return [
        job_view(
            j,
            [s for s in stages if s.job_id == j.id],
            owned[j.id],
            links,
            stage_costs={stage: micros for (job_id, stage), micros in costs.items() if job_id == j.id},
            credits_charged=charged.get(j.id, 0),
        )
        for j in jobs
    ]


async def load_job(ctx: Context, job_id: str) -> Job:
    with database_errors():  # queries, cancel, retry and subscriptions all read through here
        async with ctx.services.sessions() as session:
            job = await repo.get_job(session, job_id, user_id=ctx.user_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


async def get_job(ctx: Context, job_id: str) -> JobView:
    return (await views(ctx, [await load_job(ctx, job_id)]))[0]


@dataclass(frozen=True)
class Page:
    items: list[JobView]
    has_next: bool
    end_cursor: str | None


async def list_jobs(
    ctx: Context, *, first: int | None, after: str | None, status: str | None, kind: str | None
) -> Page:
    limit = first if first is not None else 20
    if not 0 < limit <= MAX_PAGE:
        raise UserError("INVALID_PAGE_SIZE", f"first must be between 1 and {MAX_PAGE}", "first")
    with database_errors():
        async with ctx.services.sessions() as session:
            rows = await repo.list_jobs(
                session, user_id=ctx.user_id, limit=limit + 1, before_id=after, status=status, kind=kind
            )
    page = rows[:limit]
    return Page(
        items=await views(ctx, page), has_next=len(rows) > limit, end_cursor=page[-1].id if page else None
    )


async def cancel_job(ctx: Context, job_id: str) -> JobView:
    """Cancelled at once for the caller; a running worker sees the row change and kills its render."""
    await load_job(ctx, job_id)
    with database_errors():
        cancelled = await ctx.services.lifecycle.cancel(job_id)
    if cancelled is None:
        current = await load_job(ctx, job_id)
        raise UserError("JOB_FINISHED", f"job {job_id!r} is already {current.status.lower()}", "id")
    return await get_job(ctx, job_id)
