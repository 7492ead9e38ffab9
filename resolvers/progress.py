"""Subscriptions. Subscribe to the hub first, then read the row, then pass on only newer events:
a late subscriber misses nothing and sees nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from db import repo
from jobs.bus import RESYNC, Subscriber
from jobs.events import ProgressEvent, event_from_job
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.jobs import load_job


async def _next(sub: Subscriber, quiet_seconds: float) -> ProgressEvent | str:
    try:
        return await asyncio.wait_for(sub.queue.get(), quiet_seconds)
    except TimeoutError:
        return RESYNC  # a quiet channel is re-checked against the row (pub/sub may have dropped it)


async def job_progress(
    ctx: Context, job_id: str, after_seq: int | None = None
) -> AsyncIterator[ProgressEvent]:
    services = ctx.services
    async with services.hub.subscribe(user_id=ctx.user_id, job_id=job_id) as sub:
        last = after_seq if after_seq is not None else -1
        item: ProgressEvent | str = event_from_job(await load_job(ctx, job_id))
        while True:
            if item == RESYNC:
                item = event_from_job(await load_job(ctx, job_id))
            if isinstance(item, ProgressEvent) and item.seq > last:
                last = item.seq
                yield item
                if item.terminal:
                    return
            elif isinstance(item, ProgressEvent) and item.terminal and item.seq == last:
                return
            item = await _next(sub, services.resync_seconds)


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
