"""Leases held by workers known to be dead."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.tables import Job, JobStatus


async def release_leases(session: AsyncSession, *, owner_prefix: str, now: datetime) -> list[str]:
    """Expire now the leases of PROCESSING jobs whose owners' ids start with `owner_prefix`; the ids of
    those jobs. The owner stays on the row, so only the reconciler's re-drive (a new queue id) moves it."""
    held = col(Job.lease_owner).startswith(owner_prefix, autoescape=True)
    query = select(col(Job.id)).where(col(Job.status) == JobStatus.PROCESSING, held)
    ids = list((await session.execute(query)).scalars())
    if ids:
        await session.execute(update(Job).where(col(Job.id).in_(ids), held).values(lease_expires_at=now))
    return ids
