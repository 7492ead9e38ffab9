"""Idempotency keys over real HTTP: a replayed create returns the job the first request made (one row,
one enqueue, no uploads left behind by the replay); a key reused for a different request is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.factory import COLOURS, jpeg
from tests.service import Service

SLIDESHOW = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id status } ... on InvalidInput { code message field } } }"""
TIMELINE = """mutation($input: TimelineInput!) { renderTimeline(input: $input) {
  __typename ... on Job { id status } ... on InvalidInput { code message field } } }"""
JOBS = "{ jobs { edges { node { id } } } }"
IMAGES = ["http://127.0.0.1:9/a.jpg", "http://127.0.0.1:9/b.jpg"]


async def slideshow(service: Service, files: dict[str, bytes] | None = None, **inp: Any) -> dict[str, Any]:
    body = await service.gql(SLIDESHOW, {"input": inp}, files=files)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createSlideshow"]
    return result


async def job_ids(service: Service) -> list[str]:
    return [e["node"]["id"] for e in (await service.gql(JOBS))["data"]["jobs"]["edges"]]


def stored_uploads(service: Service) -> set[str]:
    """The job ids that have uploads in storage."""
    return {p.parent.parent.name for p in (service.settings.storage_root / "jobs").glob("*/uploads/*")}


async def test_the_same_key_with_the_same_input_returns_the_first_job_and_enqueues_it_once(
    service: Service, redis: Redis
) -> None:
    first = await slideshow(service, imageUrls=IMAGES, idempotencyKey="order-1")
    # Keys in a different order and a default spelled out: the same request, as canonical JSON.
    again = await slideshow(service, secondsPerImage=4.0, idempotencyKey="order-1", imageUrls=IMAGES)
    assert first["__typename"] == again["__typename"] == "Job"
    assert again["id"] == first["id"]
    assert await job_ids(service) == [first["id"]]
    assert await redis.zcard("clipforge:queue") == 1


async def test_the_same_key_with_a_different_input_is_refused_and_creates_nothing(service: Service) -> None:
    first = await slideshow(service, imageUrls=IMAGES, idempotencyKey="order-2")
    changed = await slideshow(service, imageUrls=IMAGES, secondsPerImage=5, idempotencyKey="order-2")
    assert (changed["__typename"], changed["code"], changed["field"]) == (
        "InvalidInput", "IDEMPOTENCY_KEY_REUSED", "idempotencyKey",
    )  # fmt: skip
    assert first["id"] in changed["message"]
    clip = {"type": "image", "source": IMAGES[0], "duration": 1}
    timeline = {"output": {"width": 160, "height": 160}, "tracks": [{"clips": [clip]}]}
    body = await service.gql(TIMELINE, {"input": {"timeline": timeline, "idempotencyKey": "order-2"}})
    other_kind = body["data"]["renderTimeline"]
    assert other_kind["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await job_ids(service) == [first["id"]]
    without_key = await slideshow(service, imageUrls=IMAGES)  # no key: every request is a new job
    assert without_key["id"] != first["id"]


async def test_a_replayed_upload_is_not_kept_and_a_different_file_under_the_same_key_is_refused(
    service: Service,
) -> None:
    image = {"variables.input.images.0": jpeg(COLOURS[0])}
    inp = {"images": [None], "idempotencyKey": "upload-1"}
    first = await slideshow(service, image, **inp)
    again = await slideshow(service, image, **inp)
    other = await slideshow(service, {"variables.input.images.0": jpeg(COLOURS[1])}, **inp)
    assert again["id"] == first["id"]
    assert other["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert stored_uploads(service) == {first["id"]}  # the replays' copies were deleted
    assert await job_ids(service) == [first["id"]]


async def test_concurrent_identical_requests_make_one_job_and_keep_one_set_of_uploads(
    service: Service, redis: Redis
) -> None:
    image = {"variables.input.images.0": jpeg(COLOURS[2])}
    inp = {"images": [None], "idempotencyKey": "double-click"}
    results = await asyncio.gather(*(slideshow(service, image, **inp) for _ in range(6)))
    ids = {r["id"] for r in results}
    assert len(ids) == 1, results
    assert await job_ids(service) == list(ids)
    assert await redis.zcard("clipforge:queue") == 1
    assert stored_uploads(service) == ids


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "naïve"])
async def test_a_malformed_key_is_refused_before_anything_is_stored(service: Service, key: str) -> None:
    image = {"variables.input.images.0": jpeg(COLOURS[0])}
    result = await slideshow(service, image, images=[None], idempotencyKey=key)
    assert (result["code"], result["field"]) == ("INVALID_IDEMPOTENCY_KEY", "idempotencyKey")
    assert stored_uploads(service) == set()
    assert await job_ids(service) == []
