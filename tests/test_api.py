"""The GraphQL API over real HTTP: typed errors for bad input, ownership, pagination, cancel."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from media.storage.local import LocalStorage, sign
from tests.conftest import free_port
from tests.service import Service

CREATE = """
mutation($input: SlideshowInput!) {
  createSlideshow(input: $input) {
    __typename
    ... on Job { id status stage progress seq stages { name status } }
    ... on InvalidInput { code message field }
  }
}
"""
JOB = "query($id: ID!) { job(id: $id) { id status kind } }"


def urls(n: int) -> list[str]:
    return [f"http://127.0.0.1:9/{i}.jpg" for i in range(n)]


async def create(service: Service, **fields: Any) -> dict[str, Any]:
    body = await service.gql(CREATE, {"input": fields})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createSlideshow"]
    return result


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"imageUrls": []}, "INVALID_IMAGE_COUNT", "imageUrls"),
        ({"imageUrls": urls(21)}, "INVALID_IMAGE_COUNT", "imageUrls"),
        ({"imageUrls": ["ftp://example.com/a.jpg"]}, "INVALID_URL", "imageUrls[0]"),
        ({"imageUrls": ["not a url"]}, "INVALID_URL", "imageUrls[0]"),
        ({"imageUrls": urls(1), "audioUrl": "file:///etc/passwd"}, "INVALID_URL", "audioUrl"),
        ({"imageUrls": urls(1), "size": "640x480"}, "UNKNOWN_SIZE", "size"),
        ({"imageUrls": urls(1), "secondsPerImage": 0}, "INVALID_DURATION", "secondsPerImage"),
        ({"imageUrls": urls(1), "secondsPerImage": 1e9}, "INVALID_DURATION", "secondsPerImage"),
        ({"imageUrls": urls(1), "transitionSeconds": 3}, "INVALID_DURATION", "transitionSeconds"),
    ],
)
async def test_bad_slideshow_input_gets_a_typed_error_and_creates_no_job(
    service: Service, fields: dict[str, Any], code: str, field: str
) -> None:
    result = await create(service, **fields)
    assert result["__typename"] == "InvalidInput"
    assert (result["code"], result["field"]) == (code, field)
    assert result["message"]
    listed = await service.gql("{ jobs { edges { node { id } } } }")
    assert listed["data"]["jobs"]["edges"] == []


async def test_create_returns_a_queued_job_at_once_and_enqueues_it_once(
    service: Service, redis: Redis
) -> None:
    job = await create(service, imageUrls=urls(2))
    assert job["__typename"] == "Job"
    assert job["status"] == "QUEUED" and job["seq"] == 1
    assert [s["name"] for s in job["stages"]] == ["fetch", "compose", "render", "store", "finalize"]
    assert await redis.zcard("clipforge:queue") == 1
    fetched = await service.gql(JOB, {"id": job["id"]})
    assert fetched["data"]["job"] == {"id": job["id"], "status": "QUEUED", "kind": "SLIDESHOW"}


async def test_an_unknown_job_id_is_not_found_with_a_code(service: Service) -> None:
    body = await service.gql(JOB, {"id": "nope"})
    assert body["data"]["job"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "nope" in body["errors"][0]["message"]


async def test_jobs_pages_newest_first_and_filters(service: Service) -> None:
    created = [(await create(service, imageUrls=urls(1)))["id"] for _ in range(5)]
    query = """query($after: String) { jobs(first: 2, after: $after, kind: SLIDESHOW) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = (await service.gql(query, {"after": after}))["data"]["jobs"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(created))
    empty = await service.gql("{ jobs(status: COMPLETED) { edges { node { id } } } }")
    assert empty["data"]["jobs"]["edges"] == []
    bad = await service.gql("{ jobs(first: 1000) { edges { node { id } } } }")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"


async def test_cancelling_a_queued_job_ends_it_and_a_second_cancel_says_why(service: Service) -> None:
    job = await create(service, imageUrls=urls(1))
    mutation = """mutation($id: ID!) { cancelJob(id: $id) { __typename
        ... on Job { status } ... on InvalidInput { code } ... on NotFound { code } } }"""
    first = (await service.gql(mutation, {"id": job["id"]}))["data"]["cancelJob"]
    assert first == {"__typename": "Job", "status": "CANCELLED"}
    again = (await service.gql(mutation, {"id": job["id"]}))["data"]["cancelJob"]
    assert again == {"__typename": "InvalidInput", "code": "JOB_FINISHED"}
    missing = (await service.gql(mutation, {"id": "missing"}))["data"]["cancelJob"]
    assert missing == {"__typename": "NotFound", "code": "NOT_FOUND"}
    await service.drain_queue()  # the worker skips it
    after = await service.gql(JOB, {"id": job["id"]})
    assert after["data"]["job"]["status"] == "CANCELLED"


async def test_progress_of_an_unknown_job_ends_with_a_not_found_error(service: Service) -> None:
    messages = [m async for m in service.subscribe('subscription { jobProgress(jobId: "nope") { seq } }')]
    assert messages[-1]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_too_deep_queries_are_refused(service: Service) -> None:
    deep = "{ jobs { edges { node { stages { name } } } } }"
    assert "errors" not in await service.gql(deep)
    nested = "query { " + "jobs { edges { node { id } } }" * 1 + " }"
    assert "errors" not in await service.gql(nested)
    too_deep = '{ job(id: "x") ' + "{ __typename " * 20 + "}" * 20 + " }"
    body = await service.gql(too_deep)
    assert "errors" in body and body.get("data") is None


async def test_a_private_file_needs_a_valid_unexpired_signature(service: Service) -> None:
    root = service.settings.storage_root / "jobs" / "x"
    root.mkdir(parents=True)
    (root / "video.mp4").write_bytes(b"\x00" * 10)

    storage = LocalStorage(service.settings.storage_root, service.url, b"test-secret")
    good = await storage.url("jobs/x/video.mp4")
    assert (await service.http.get(good)).status_code == 200
    assert (await service.http.get(good.replace("sig=", "sig=0"))).status_code == 403
    assert (await service.http.get(f"{service.url}/files/jobs/x/video.mp4")).status_code == 403
    stale = int(time.time()) - 10
    signature = sign("jobs/x/video.mp4", stale, b"test-secret")
    expired = f"{service.url}/files/jobs/x/video.mp4?exp={stale}&sig={signature}"
    assert (await service.http.get(expired)).status_code == 403


async def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(service: Service) -> None:
    from tests.service import running_service

    small = service.settings.model_copy(update={"max_upload_bytes": 1000, "port": free_port()})
    async with running_service(small) as svc:
        body = await svc.gql(
            CREATE,
            {"input": {"images": [None]}},
            files={"variables.input.images.0": b"\xff\xd8" + b"0" * 5000},
        )
    result = body["data"]["createSlideshow"]
    assert (result["code"], result["field"]) == ("UPLOAD_TOO_LARGE", "images[0]")
    assert not list((small.storage_root / "jobs").glob("*/uploads/*"))


async def test_a_request_body_over_the_cap_is_refused_before_it_is_parsed(service: Service) -> None:
    from tests.service import running_service

    capped = service.settings.model_copy(update={"max_request_bytes": 10_000, "port": free_port()})
    async with running_service(capped) as svc:
        declared = await svc.http.post(f"{svc.url}/graphql", content=b"x" * 20_000)
        assert declared.status_code == 413 and declared.json()["error"] == "REQUEST_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(200):
                yield b"y" * 1000

        with contextlib.suppress(httpx.HTTPError):
            streamed = await svc.http.post(f"{svc.url}/graphql", content=chunks())
            assert streamed.status_code >= 400
        fine = await svc.gql("{ resolutions }")
        assert fine["data"]["resolutions"]
