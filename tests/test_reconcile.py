"""The reconciler against real Redis and databases: nothing stays PROCESSING or QUEUED forever."""

from __future__ import annotations

from arq import ArqRedis

from db import repo
from db.ids import new_id
from jobs import queue
from jobs.deps import Deps
from jobs.reconcile import reconcile


async def job_in(deps: Deps, status: str, *, attempts: int = 1, lease_seconds: float = -1) -> str:
    job_id = new_id()
    async with deps.sessions.begin() as s:
        await repo.create_job(
            s, job_id=job_id, user_id="local", kind="SLIDESHOW", input={}, stages=[("fetch", 1.0)]
        )
        if status == "PROCESSING":
            await repo.claim_job(
                s, job_id, owner="dead-worker", lease_seconds=lease_seconds, attempts=attempts
            )
    return job_id


async def pool(deps: Deps) -> ArqRedis:
    url = deps.redis.connection_pool.connection_kwargs
    return await queue.connect(f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}")


async def row(deps: Deps, job_id: str) -> tuple[str, str | None, str | None]:
    async with deps.sessions() as s:
        job = await repo.get_job(s, job_id)
    assert job is not None
    return job.status, job.error_code, job.queue_id


async def test_a_job_on_a_dead_worker_is_enqueued_again_under_a_new_queue_id(deps: Deps) -> None:
    job_id = await job_in(deps, "PROCESSING")
    arq = await pool(deps)
    try:
        report = await reconcile(deps, arq)
        status, _, queue_id = await row(deps, job_id)
        assert report.redriven == [job_id] and status == "PROCESSING"
        assert queue_id and queue_id != job_id and await queue.in_queue(arq, queue_id)
        assert (await reconcile(deps, arq)).redriven == []  # given time to be picked up, not re-driven again
    finally:
        await arq.aclose()


async def test_a_job_out_of_tries_on_a_dead_worker_fails_with_worker_lost(deps: Deps) -> None:
    job_id = await job_in(deps, "PROCESSING", attempts=deps.max_tries)
    arq = await pool(deps)
    try:
        assert (await reconcile(deps, arq)).failed == [job_id]
    finally:
        await arq.aclose()
    assert (await row(deps, job_id))[:2] == ("FAILED", "WORKER_LOST")


async def test_a_queued_job_that_redis_forgot_is_enqueued_again_and_a_waiting_one_is_left_alone(
    deps: Deps,
) -> None:
    forgotten = await job_in(deps, "QUEUED")
    waiting = await job_in(deps, "QUEUED")
    arq = await pool(deps)
    try:
        await queue.enqueue_job(arq, waiting)
        report = await reconcile(deps, arq)
        assert report.requeued == [forgotten]
        assert await queue.in_queue(arq, str((await row(deps, forgotten))[2]))
    finally:
        await arq.aclose()


async def test_a_live_lease_is_not_touched(deps: Deps) -> None:
    await job_in(deps, "PROCESSING", lease_seconds=60)
    arq = await pool(deps)
    try:
        report = await reconcile(deps, arq)
    finally:
        await arq.aclose()
    assert (report.redriven, report.failed) == ([], [])
