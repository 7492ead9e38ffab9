"""A job moved through its states by the real lifecycle (jobs.lifecycle: one transaction, one published event
per change), the way a worker moves it, so tests of live progress see real rows and real Redis messages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ids import new_id
from db.tables import Job
from jobs.lifecycle import Lease, Lifecycle

STAGES = [("fetch", 1.0), ("render", 8.0), ("store", 1.0)]


@dataclass
class DrivenJob:
    lifecycle: Lifecycle
    job_id: str
    lease: Lease | None = None
    stage: str = ""

    @classmethod
    async def create(
        cls, sessions: async_sessionmaker[AsyncSession], redis: Redis, *, user_id: str = "local"
    ) -> DrivenJob:
        lifecycle = Lifecycle(sessions, redis)
        job_id = new_id()
        await lifecycle.create(
            job_id=job_id, user_id=user_id, kind="SLIDESHOW", input={}, stages=STAGES,
            idempotency_key=None, input_hash=job_id,
        )  # fmt: skip
        return cls(lifecycle, job_id)

    async def claim(self) -> Job:
        claimed = await self.lifecycle.claim(
            self.job_id, owner="test-worker", lease_seconds=60, queue_id=None, attempt=1
        )
        assert claimed is not None
        self.lease, job, _ = claimed
        return job

    async def start(self, index: int) -> Job:
        assert self.lease is not None
        self.stage = STAGES[index][0]
        return await self.lease.start_stage(self.stage, index, progress=10.0 * index)

    async def progress(self, percent: float, message: str = "working") -> Job:
        assert self.lease is not None
        return await self.lease.progress(
            self.stage, percent / 100, progress=percent, message=message, eta_seconds=1.0
        )

    async def complete(self) -> Job:
        assert self.lease is not None
        return await self.lease.complete(video_key=None, thumbnail_key=None, manifest_key=None)


async def eventually(check: Callable[[], bool], what: str, within: float = 10.0, every: float = 0.02) -> None:
    """Until `check()` holds, bounded in tries and time; fails naming `what` otherwise."""
    for _ in range(int(within / every) + 1):
        if check():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"not within {within:g} s: {what}")
