"""Progress fan-out through one real Redis pattern subscription."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from redis.asyncio import Redis

from jobs.bus import ProgressHub, Subscriber, publish
from jobs.events import ProgressEvent


def event(job_id: str, seq: int, user_id: str = "local", status: str = "PROCESSING") -> ProgressEvent:
    return ProgressEvent(
        job_id=job_id, user_id=user_id, seq=seq, status=status, stage="render", stage_index=1,
        stage_count=4, progress=seq * 1.0, message="m", eta_seconds=None, at=datetime.now(UTC),
    )  # fmt: skip


async def started_hub(redis: Redis) -> ProgressHub:
    hub = ProgressHub(redis)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    return hub


async def patterns_on_this_db(redis: Redis) -> int:
    """Pattern subscriptions of clients using the test's db (NUMPAT would count other suites' too)."""
    db = int(redis.connection_pool.connection_kwargs.get("db", 0))
    return sum(int(c["psub"]) for c in await redis.client_list() if int(c["db"]) == db)


async def test_one_subscription_fans_events_out_to_job_and_user_subscribers(redis: Redis) -> None:
    before = await patterns_on_this_db(redis)
    hub = await started_hub(redis)
    try:
        async with (
            hub.subscribe(user_id="local", job_id="j1") as on_job,
            hub.subscribe(user_id="local", job_id="j1") as on_job_too,
            hub.subscribe(user_id="local") as on_user,
            hub.subscribe(user_id="other") as stranger,
        ):
            await publish(redis, event("j1", 1))
            await publish(redis, event("j2", 1))
            got = [await asyncio.wait_for(s.queue.get(), 5) for s in (on_job, on_job_too, on_user, on_user)]
            assert [(e.job_id, e.seq) for e in got if isinstance(e, ProgressEvent)] == [
                ("j1", 1), ("j1", 1), ("j1", 1), ("j2", 1),
            ]  # fmt: skip
            assert stranger.queue.qsize() == 0
            assert await patterns_on_this_db(redis) == before + 1  # one, however many listen
        assert hub.subscriber_count == 0
    finally:
        await hub.stop()


def test_a_slow_subscriber_keeps_the_newest_events_and_is_told_to_resync() -> None:
    sub = Subscriber(job_id="j", user_id="u", queue=asyncio.Queue(3))
    for seq in range(1, 8):
        sub.offer(event("j", seq))
    items = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    seqs = [i.seq for i in items if isinstance(i, ProgressEvent)]
    assert seqs == sorted(seqs) and seqs[-1] == 7 and len(items) == 3


async def test_malformed_messages_on_the_channel_are_ignored(redis: Redis) -> None:
    hub = await started_hub(redis)
    try:
        async with hub.subscribe(user_id="local", job_id="j1") as sub:
            await redis.publish("clipforge:job:j1", b"not json")
            await publish(redis, event("j1", 5))
            got = await asyncio.wait_for(sub.queue.get(), 5)
            assert isinstance(got, ProgressEvent) and got.seq == 5
    finally:
        await hub.stop()
