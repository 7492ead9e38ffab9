"""Subscriptions. Subscribe to the hub first, then read the row, then pass on only newer events:
a late subscriber misses nothing and sees nothing twice. jobProgress reads through the job's shared feed
(jobs.feed): one row read and one hub subscription per job however many sockets watch it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import repo
from db.tables import Job
from jobs.bus import RESYNC, Subscriber
from jobs.events import ProgressEvent, event_from_job
from jobs.feed import JobGone, Loader
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.errors import NotFound


async def _next(sub: Subscriber, quiet_seconds: float) -> ProgressEvent | str:
    try:
        return await asyncio.wait_for(sub.queue.get(), quiet_seconds)
    except TimeoutError:
        return RESYNC  # a quiet channel is re-checked against the row (pub/sub may have dropped it)


def row_loader(sessions: async_sessionmaker[AsyncSession]) -> Loader:
    """How feeds read a job's row: any user's (ownership is checked per subscriber, against the row's owner);
    an unreachable database is SERVICE_UNAVAILABLE, as for every other read."""

    async def load(job_id: str) -> Job | None:
        with database_errors():
            async with sessions() as session:
                return await repo.get_job(session, job_id)

    return load


async def job_progress(
    ctx: Context, job_id: str, after_seq: int | None = None
) -> AsyncIterator[ProgressEvent]:
    """The newest state, then what follows it (conflated: see jobs.feed), until the job ends."""
    try:
        async with ctx.services.feeds.watch(job_id) as feed:
            if feed.owner != ctx.user_id:
                raise NotFound("job", job_id)  # another user's job answers exactly like a missing one
            last = after_seq if after_seq is not None else -1
            event = feed.latest
            assert event is not None
            if event.seq <= last:
                if event.terminal and event.seq == last:
                    return  # the client has seen the end already
                event = await feed.wait_after(last)
            while True:
                last = event.seq
                if ctx.tap is not None:
                    ctx.tap(event)
                yield event
                if event.terminal:
                    return
                event = await feed.wait_after(last)
    except JobGone:
        raise NotFound("job", job_id) from None


async def job_updates(ctx: Context) -> AsyncIterator[ProgressEvent]:
    """Every change to any of the caller's jobs, for dashboards; runs until the client leaves."""
    services = ctx.services
    async with services.hub.subscribe(user_id=ctx.user_id) as sub:
        seen: dict[str, int] = {}
        since: datetime | None = None
        while True:
            item = await _next(sub, services.resync_seconds)
            if isinstance(item, ProgressEvent):
                events = [item]
            else:
                with database_errors():
                    async with services.sessions() as session:
                        changed = await repo.jobs_updated_since(session, user_id=ctx.user_id, since=since)
                events = [event_from_job(j) for j in changed]
            for event in events:
                if event.seq > seen.get(event.job_id, -1):
                    seen[event.job_id] = event.seq
                    since = max(since or event.at, event.at)
                    yield event
