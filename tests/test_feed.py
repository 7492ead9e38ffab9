"""A job's feed in the API process (jobs.feed), against real Redis and real databases: one row read for a
crowd, conflation that keeps every stage change and the end, resyncs from the row, outages reported to all."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db import repo
from db.engine import create_engine, session_factory
from db.tables import Job
from jobs.bus import ProgressHub
from jobs.events import ProgressEvent
from jobs.feed import STAGE_CHANGES_KEPT, Feed, Feeds, JobGone, Loader
from resolvers.availability import Unavailable
from resolvers.progress import row_loader
from tests.progress_driver import DrivenJob, eventually


class Reads:
    """The real row loader, counting the reads that reach the database."""

    def __init__(self, load: Loader) -> None:
        self.load, self.count = load, 0

    async def __call__(self, job_id: str) -> Job | None:
        self.count += 1
        return await self.load(job_id)


@pytest.fixture
async def hub(redis: Redis) -> AsyncIterator[ProgressHub]:
    hub = ProgressHub(redis)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    yield hub
    await hub.stop()


async def wait_for(feed: Feed, seq: int) -> None:
    await eventually(lambda: feed.latest is not None and feed.latest.seq >= seq, f"the feed at seq {seq}")


async def follow(feed: Feed, after: int) -> list[ProgressEvent]:
    """What a consumer that has seen `after` gets from here to the end."""
    seen = []
    async with asyncio.timeout(10):
        while not seen or not seen[-1].terminal:
            seen.append(await feed.wait_after(seen[-1].seq if seen else after))
    return seen


async def test_a_crowd_shares_one_row_read_and_one_hub_subscription(
    engine: AsyncEngine, redis: Redis, hub: ProgressHub
) -> None:
    sessions = session_factory(engine)
    job = await DrivenJob.create(sessions, redis)
    reads = Reads(row_loader(sessions))
    feeds = Feeds(hub, reads, linger_seconds=0.3)
    try:
        async with contextlib.AsyncExitStack() as crowd:
            watching = await asyncio.gather(
                *(crowd.enter_async_context(feeds.watch(job.job_id)) for _ in range(50))
            )
            assert {id(feed) for feed in watching} == {id(watching[0])}
            assert watching[0].latest is not None and watching[0].latest.seq == 1
            assert reads.count == 1 and hub.subscriber_count == 1
        async with feeds.watch(job.job_id) as back:  # a crowd reconnecting at once finds the lingering feed
            assert back is watching[0] and reads.count == 1
        await asyncio.sleep(0.6)  # then it lingers no more: the next watcher reads the row again
        assert len(feeds) == 0 and hub.subscriber_count == 0
        async with feeds.watch(job.job_id) as fresh:
            assert fresh is not watching[0] and reads.count == 2
    finally:
        await feeds.close()


async def test_a_consumer_that_falls_behind_gets_every_stage_change_and_the_newest_state(
    engine: AsyncEngine, redis: Redis, hub: ProgressHub
) -> None:
    sessions = session_factory(engine)
    job = await DrivenJob.create(sessions, redis)
    feeds = Feeds(hub, row_loader(sessions))
    try:
        async with feeds.watch(job.job_id) as feed:
            snapshot = feed.latest
            assert snapshot is not None
            claimed = await job.claim()
            fetch = await job.start(0)
            for percent in range(1, 30):
                await job.progress(percent)
            render = await job.start(1)
            for percent in range(30, 60):
                last = await job.progress(percent)
            done = await job.complete()
            await wait_for(feed, done.seq)
            got = await follow(feed, snapshot.seq)  # a consumer that read nothing since its snapshot
    finally:
        await feeds.close()
    assert [e.seq for e in got] == [claimed.seq, fetch.seq, render.seq, done.seq]
    assert got[-1].status == "COMPLETED" and done.seq - snapshot.seq == 63  # 59 progress states skipped
    assert last.seq not in [e.seq for e in got]


async def test_a_consumer_stalled_past_the_bound_still_gets_the_newest_and_the_end(
    engine: AsyncEngine, redis: Redis, hub: ProgressHub
) -> None:
    sessions = session_factory(engine)
    job = await DrivenJob.create(sessions, redis)
    feeds = Feeds(hub, row_loader(sessions))
    try:
        async with feeds.watch(job.job_id) as feed:
            await job.claim()
            for _ in range(25):  # 75 stage changes: more than a feed keeps
                for index in range(3):
                    await job.start(index)
            done = await job.complete()
            await wait_for(feed, done.seq)
            got = await follow(feed, 0)
    finally:
        await feeds.close()
    assert len(got) == STAGE_CHANGES_KEPT  # the newest stage changes kept, the end last among them
    assert got[-1].seq == done.seq and [e.seq for e in got] == list(
        range(done.seq - len(got) + 1, done.seq + 1)
    )


async def test_a_change_pubsub_never_delivered_is_read_from_the_row_once_for_all_watchers(
    engine: AsyncEngine, redis: Redis, hub: ProgressHub
) -> None:
    sessions = session_factory(engine)
    job = await DrivenJob.create(sessions, redis)
    reads = Reads(row_loader(sessions))
    feeds = Feeds(hub, reads, resync_seconds=0.3)
    try:
        async with contextlib.AsyncExitStack() as crowd:
            watching = await asyncio.gather(
                *(crowd.enter_async_context(feeds.watch(job.job_id)) for _ in range(20))
            )
            async with sessions.begin() as session:  # a change whose event was lost: written, never published
                silent = await repo.update_job(session, job.job_id, message="changed quietly")
            assert silent is not None
            await wait_for(watching[0], silent.seq)
            assert watching[0].latest is not None and watching[0].latest.message == "changed quietly"
            await asyncio.sleep(0.5)
        assert 2 <= reads.count <= 6  # the first read, then one per quiet period: not one per watcher
    finally:
        await feeds.close()


async def test_an_unreachable_database_fails_every_watcher_with_service_unavailable(
    redis: Redis, hub: ProgressHub, tmp_path: Path
) -> None:
    # SQLite cannot open a file in a directory that does not exist: a real OperationalError on every read.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    feeds = Feeds(hub, row_loader(session_factory(engine)))

    async def watch() -> None:
        async with feeds.watch("01JOB"):
            raise AssertionError("a feed without its row")

    try:
        outcomes = await asyncio.gather(*(watch() for _ in range(10)), return_exceptions=True)
        assert all(isinstance(o, Unavailable) and o.code == "SERVICE_UNAVAILABLE" for o in outcomes), outcomes
        assert len(feeds) == 0 and hub.subscriber_count == 0  # nothing kept for a read that failed
    finally:
        await feeds.close()
        await engine.dispose()


async def test_a_missing_job_is_gone_and_nothing_is_kept_for_it(
    engine: AsyncEngine, redis: Redis, hub: ProgressHub
) -> None:
    feeds = Feeds(hub, row_loader(session_factory(engine)))
    try:
        with pytest.raises(JobGone):
            async with feeds.watch("01NOSUCHJOB"):
                pass
        assert len(feeds) == 0 and hub.subscriber_count == 0
    finally:
        await feeds.close()
