"""retryJob over real HTTP, a real arq worker and a real render: a job that failed in its render stage runs
again from there (its fetched inputs are checkpoints), under a new arq id, and completes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db import repo
from db.engine import session_factory
from db.ids import new_id
from jobs.bus import channel
from tests.factory import COLOURS, jpeg, wav
from tests.service import MediaServer, Service

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id status } ... on Problem { code message } } }"""
RETRY = """mutation($id: ID!) { retryJob(id: $id) {
  __typename
  ... on Job { id status seq progress error { code } stages { name status attempts } }
  ... on InvalidInput { code message field }
  ... on NotFound { code message } } }"""
JOB = """query($id: ID!) { job(id: $id) {
  status seq videoUrl error { code message } stages { name status attempts } } }"""


async def create(service: Service, inp: dict[str, Any]) -> str:
    result = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]
    assert result["__typename"] == "Job", result
    job_id: str = result["id"]
    return job_id


async def job(service: Service, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    return found


def attempts(found: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {s["name"]: (s["status"], s["attempts"]) for s in found["stages"]}


async def test_a_job_that_failed_in_its_render_is_retried_from_the_render_and_completes(
    service: Service, redis: Redis
) -> None:
    files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:2])}
    files["/music.wav"] = (wav(2.0), "audio/wav")
    with MediaServer(files) as media:
        inp = {
            "imageUrls": [f"{media.url}/0.jpg", f"{media.url}/1.jpg"],
            "audioUrl": f"{media.url}/music.wav",
            "size": "1080x1080",
            "secondsPerImage": 1,
            "preview": True,
        }
        job_id = await create(service, inp)
        # The first worker's renders may take 10 ms: this one hits that limit and the job fails in the
        # render stage. The operator raises the limit and the user retries.
        strict = dataclasses.replace(
            service, settings=service.settings.model_copy(update={"render_timeout_seconds": 0.01})
        )
        await strict.drain_queue()
    failed = await job(service, job_id)
    assert failed["status"] == "FAILED" and failed["error"]["code"] == "RENDER_TIMEOUT", failed
    assert attempts(failed) == {
        "fetch": ("DONE", 1), "compose": ("DONE", 1), "render": ("FAILED", 1), "store": ("PENDING", 0),
        "finalize": ("PENDING", 0),
    }  # fmt: skip

    async with redis.pubsub() as events:
        await events.subscribe(channel(redis, job_id))
        await events.get_message(timeout=5)  # the subscribe confirmation
        retried = (await service.gql(RETRY, {"id": job_id}))["data"]["retryJob"]
        published = await events.get_message(timeout=5)
    assert retried["__typename"] == "Job", retried
    assert (retried["status"], retried["error"], retried["seq"] > failed["seq"]) == ("QUEUED", None, True)
    assert attempts(retried)["fetch"] == ("DONE", 1) and attempts(retried)["render"] == ("PENDING", 1)
    assert published is not None
    event = json.loads(published["data"])
    assert (event["status"], event["seq"]) == ("QUEUED", retried["seq"])
    # A fresh arq id: arq still holds the first run's result under the old one and would ignore it.
    assert await redis.zrange("clipforge:queue", 0, -1) == [f"{job_id}:{retried['seq']}".encode()]

    await service.drain_queue()  # the media server is gone: a fetch that ran again would fail the job
    done = await job(service, job_id)
    assert done["status"] == "COMPLETED", done
    assert attempts(done) == {
        "fetch": ("DONE", 1), "compose": ("DONE", 1), "render": ("DONE", 2), "store": ("DONE", 1),
        "finalize": ("DONE", 1),
    }  # fmt: skip
    video = await service.http.get(done["videoUrl"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"


async def test_a_cancelled_job_can_be_retried_and_two_concurrent_retries_run_it_once(
    service: Service, redis: Redis
) -> None:
    with MediaServer({"/0.jpg": (jpeg(COLOURS[0]), "image/jpeg")}) as media:
        inp = {
            "imageUrls": [f"{media.url}/0.jpg"],
            "size": "1080x1080",
            "secondsPerImage": 1,
            "preview": True,
        }
        job_id = await create(service, inp)
        cancel = "mutation($id: ID!) { cancelJob(id: $id) { __typename } }"
        assert (await service.gql(cancel, {"id": job_id}))["data"]["cancelJob"]["__typename"] == "Job"

        both = await asyncio.gather(*(service.gql(RETRY, {"id": job_id}) for _ in range(2)))
        results = sorted(
            (b["data"]["retryJob"]["__typename"], b["data"]["retryJob"].get("code")) for b in both
        )
        assert results == [("InvalidInput", "JOB_NOT_RETRYABLE"), ("Job", None)]
        # The cancelled job's first queue entry is still waiting; the row no longer names it, so it does
        # nothing when a worker takes it, and the retry's entry runs the job once.
        assert await redis.zcard("clipforge:queue") == 2
        await service.drain_queue()
    done = await job(service, job_id)
    assert done["status"] == "COMPLETED", done
    assert {s["attempts"] for s in done["stages"]} == {1}


async def test_only_failed_or_cancelled_jobs_of_the_caller_can_be_retried(
    service: Service, engine: AsyncEngine
) -> None:
    sessions = session_factory(engine)
    ids: dict[str, str] = {}
    for status in ("QUEUED", "PROCESSING", "COMPLETED"):
        ids[status] = await create(service, {"imageUrls": ["http://127.0.0.1:9/a.jpg"]})
        async with sessions.begin() as s:
            if status == "PROCESSING":
                await repo.claim_job(s, ids[status], owner="w", lease_seconds=60)
            elif status == "COMPLETED":
                await repo.update_job(s, ids[status], status="COMPLETED")
    strangers = new_id()
    async with sessions.begin() as s:
        await repo.create_job(
            s, job_id=strangers, user_id="other", kind="SLIDESHOW", input={}, stages=[("fetch", 1.0)]
        )
        await repo.update_job(s, strangers, status="FAILED")

    for status, job_id in ids.items():
        result = (await service.gql(RETRY, {"id": job_id}))["data"]["retryJob"]
        assert (result["__typename"], result["code"], result["field"]) == (
            "InvalidInput", "JOB_NOT_RETRYABLE", "id",
        ), status  # fmt: skip
        assert status.lower() in result["message"]
    for job_id in (strangers, "no-such-job"):
        result = (await service.gql(RETRY, {"id": job_id}))["data"]["retryJob"]
        assert (result["__typename"], result["code"]) == ("NotFound", "NOT_FOUND")
    async with sessions() as s:
        untouched = await repo.get_job(s, strangers)
    assert untouched is not None and untouched.status == "FAILED"
