"""A real Redis restart: a redis-server of the test's own (no persistence, so a restart loses every queued
arq job), a real API and a real `clipforge worker` process. The database is the truth: nothing a
client was promised is lost, and no subscriber is left hanging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from clipforge.embedded import EmbeddedRedis
from clipforge.settings import Settings
from jobs.bus import RESYNC, ProgressHub, publish
from tests.conftest import free_port
from tests.factory import COLOURS, jpeg
from tests.service import MediaServer, Service, running_service
from tests.test_bus import event
from tests.workers import worker_processes

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """mutation($input: SlideshowInput!) {
  createSlideshow(input: $input) { __typename ... on Job { id status } ... on Problem { code message } } }"""
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage message } }"
STATUS = "query($id: ID!) { job(id: $id) { status error { code message } } }"
IMAGES = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:3])}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # Redis is what restarts here; the reconciler's queries run on both databases in test_reconcile.py.
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def stack(settings: Settings, own_redis: EmbeddedRedis, engine: object) -> AsyncIterator[Service]:
    async with running_service(settings.model_copy(update={"redis_url": own_redis.url})) as service:
        yield service


def long_job(media: MediaServer) -> dict[str, Any]:
    """Renders for a few seconds: long enough to restart Redis in the middle of it."""
    urls = [f"{media.url}/{i}.jpg" for i in range(3)]
    return {"imageUrls": urls, "size": "1080x1080", "secondsPerImage": 10, "transitionSeconds": 0}


def short_job(media: MediaServer) -> dict[str, Any]:
    return {"imageUrls": [f"{media.url}/0.jpg"], "size": "1080x1080", "secondsPerImage": 1, "preview": True}


async def create(service: Service, inp: dict[str, Any]) -> str:
    result = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]
    assert result["__typename"] == "Job" and result["status"] == "QUEUED", result
    job_id: str = result["id"]
    return job_id


async def wait_until_finished(service: Service, job_ids: list[str], limit_seconds: float) -> dict[str, str]:
    statuses: dict[str, str] = {}
    async with asyncio.timeout(limit_seconds):
        for _ in range(int(limit_seconds / 0.1)):
            for job_id in job_ids:
                statuses[job_id] = (await service.gql(STATUS, {"id": job_id}))["data"]["job"]["status"]
            if all(s in ("COMPLETED", "FAILED", "CANCELLED") for s in statuses.values()):
                break
            await asyncio.sleep(0.1)
    return statuses


async def restart(redis: EmbeddedRedis, down_seconds: float, while_down: Any = None) -> tuple[Any, float]:
    """Stop Redis (its data is gone: no persistence), run `while_down`, start it again on the same port.
    Returns what `while_down` returned and the monotonic time Redis was back."""
    await asyncio.to_thread(redis.stop)
    result = await while_down() if while_down else None
    await asyncio.sleep(down_seconds)
    await asyncio.to_thread(redis.start)
    return result, time.monotonic()


async def test_a_subscription_open_across_a_redis_restart_resumes_and_sees_the_job_complete(
    stack: Service, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    events: list[tuple[float, dict[str, Any]]] = []
    with MediaServer(IMAGES) as media:
        async with worker_processes(stack.settings, 1, tmp_path) as (worker,):
            job_id = await create(stack, long_job(media))

            async def collect() -> None:
                async for message in stack.subscribe(PROGRESS, {"id": job_id}, limit_seconds=40):
                    events.append((time.monotonic(), message))

            collector = asyncio.create_task(collect())
            for _ in range(300):  # until the render is under way
                if any("frame" in str(m) for _, m in events):
                    break
                await asyncio.sleep(0.05)
            assert any("frame" in str(m) for _, m in events), events
            _, back_at = await restart(own_redis, 1.0)
            await asyncio.wait_for(collector, 30)

            after_restart = await create(stack, short_job(media))  # mutations work once Redis is back
            finished = await wait_until_finished(stack, [job_id, after_restart], 20)
            assert worker.returncode is None, "the worker died with the Redis connection"

    payloads = [m for _, m in events]
    assert all("errors" not in m for m in payloads), payloads
    progress = [m["data"]["jobProgress"] for m in payloads]
    assert progress[-1]["status"] == "COMPLETED"
    seqs = [p["seq"] for p in progress]
    assert seqs == sorted(set(seqs))
    resumed = [t for t, _ in events if t > back_at]
    assert resumed, "no event reached the subscriber after Redis was back"
    assert finished == {job_id: "COMPLETED", after_restart: "COMPLETED"}
    print(f"\nsubscription resumed {resumed[0] - back_at:.2f} s after Redis was back ({len(resumed)} events)")


async def test_jobs_queued_when_redis_lost_its_data_and_jobs_created_while_it_was_down_all_complete(
    stack: Service, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    with MediaServer(IMAGES) as media:
        # One job at a time, so the short jobs wait in Redis behind the long one.
        async with worker_processes(stack.settings, 1, tmp_path, CLIPFORGE_WORKER_CONCURRENCY="1") as (
            worker,
        ):
            busy = await create(stack, long_job(media))
            queued = [await create(stack, short_job(media)) for _ in range(2)]
            async for message in stack.subscribe(PROGRESS, {"id": busy}, limit_seconds=20):
                if "frame" in message["data"]["jobProgress"]["message"]:
                    break

            async def create_while_down() -> tuple[str, float]:
                started = time.monotonic()
                return await create(stack, short_job(media)), time.monotonic() - started

            (while_down, took), back_at = await restart(own_redis, 1.0, create_while_down)
            finished = await wait_until_finished(stack, [busy, *queued, while_down], 30)
            done_in = time.monotonic() - back_at
            assert worker.returncode is None, "the worker died with the Redis connection"

    assert set(finished.values()) == {"COMPLETED"}, finished
    assert took < 3.0, f"createSlideshow took {took:.1f} s while Redis was down"
    print(f"\njobs Redis forgot completed {done_in:.1f} s after it was back; create while down: {took:.2f} s")


async def test_a_hub_whose_redis_stops_answering_notices_it_by_ping_and_reconnects(
    own_redis: EmbeddedRedis,
) -> None:
    """A Redis that goes silent (host gone, no FIN) raises nothing on a listening socket; CLIENT PAUSE makes a
    real one silent."""
    redis = Redis.from_url(own_redis.url)
    hub = ProgressHub(redis, ping_after_seconds=0.3)
    await hub.start()
    try:
        await asyncio.wait_for(hub.connected.wait(), 5)
        async with hub.subscribe(user_id="local", job_id="j1") as sub:
            while not sub.queue.empty():  # bounded: the queue holds at most 64 items
                sub.queue.get_nowait()
            await redis.execute_command("CLIENT", "PAUSE", "2000", "ALL")
            paused_at = time.monotonic()
            assert await asyncio.wait_for(sub.queue.get(), 5) == RESYNC  # told to read the row instead
            noticed_in = time.monotonic() - paused_at
            assert not hub.connected.is_set()
            await asyncio.wait_for(hub.connected.wait(), 10)  # once Redis answers again
            await publish(redis, event("j1", 7))
            for _ in range(10):  # resyncs first, then the event
                item = await asyncio.wait_for(sub.queue.get(), 5)
                if item != RESYNC:
                    break
            assert getattr(item, "seq", None) == 7
    finally:
        await hub.stop()
        await redis.aclose()
    assert noticed_in < 1.5  # two quiet intervals of 0.3 s, plus scheduling
    print(f"\nsilent Redis noticed in {noticed_in:.2f} s")
