"""Counts for monitoring (clipforge.metrics): cheap queries on indexed columns, read at scrape time."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.tables import Job, JobStatus


async def active_job_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(kind, status) -> how many jobs are QUEUED or PROCESSING now."""
    query = (
        select(col(Job.kind), col(Job.status), func.count())
        .where(col(Job.status).in_([JobStatus.QUEUED, JobStatus.PROCESSING]))
        .group_by(col(Job.kind), col(Job.status))
    )
    return {(kind, status): int(count) for kind, status, count in (await session.execute(query)).all()}
