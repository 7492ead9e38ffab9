"""Abusive GraphQL is refused with a code over HTTP and WebSocket; internal errors are masked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import get_introspection_query
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import repo
from db.engine import session_factory
from db.ids import new_id
from tests.conftest import free_port
from tests.gqlws import connect
from tests.service import Service, running_service

FULL_JOB = (
    "id status stage progress stages { name status progress attempts error } artifacts { kind url bytes }"
)
ABUSIVE = {
    "tokens": ("{ " + "__typename " * 2001 + "}", "QUERY_TOO_LARGE"),
    "aliases": ("{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }", "TOO_MANY_ALIASES"),
    "cost": ("{ jobs(first: 100) { edges { node { " + FULL_JOB + " } } } }", "QUERY_TOO_COSTLY"),
    "cost by fragments": (
        "{ jobs(first: 100) { ...Page } } fragment Page on JobConnection { edges { node { ...Full } } } "
        "fragment Full on Job { " + FULL_JOB + " }",
        "QUERY_TOO_COSTLY",
    ),
    "fragment bomb": (
        "{ ...F0 } "
        + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
        + " fragment F20 on Query { __typename }",
        "QUERY_TOO_COSTLY",
    ),
    "repeated field": ("{ " + 'job(id: "x") { id } ' * 11 + "}", "QUERY_TOO_COSTLY"),
    "introspection bomb": (
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
        "QUERY_TOO_COSTLY",
    ),
}


@pytest.mark.parametrize("case", ABUSIVE)
async def test_an_abusive_query_over_http_is_refused_with_its_code(service: Service, case: str) -> None:
    query, code = ABUSIVE[case]
    body = await service.gql(query)
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert body["errors"][0]["message"]


@pytest.mark.parametrize("case", [c for c in ABUSIVE if c != "tokens"])
async def test_an_abusive_operation_over_websocket_gets_an_error_message_with_its_code(
    service: Service, case: str
) -> None:
    query, code = ABUSIVE[case]
    async with connect(service.url) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        await ws.subscribe("1", query)
        message = await ws.recv()
        assert (message["type"], message["id"]) == ("error", "1")
        assert [e["extensions"]["code"] for e in message["payload"]] == [code]


async def test_a_document_over_the_token_limit_closes_the_websocket_as_unparseable(service: Service) -> None:
    async with connect(service.url) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        await ws.subscribe("1", ABUSIVE["tokens"][0])
        code, reason = await ws.closed()
    # graphql-transport-ws answers a document it cannot parse by closing with 4400
    assert code == 4400 and reason and "2000 tokens" in reason


async def test_the_same_selection_passes_on_a_smaller_page_and_graphiql_can_introspect(
    service: Service,
) -> None:
    page = await service.gql("{ jobs(first: 20) { edges { node { " + FULL_JOB + " } } } }")
    assert page == {"data": {"jobs": {"edges": []}}}
    introspection = await service.gql(get_introspection_query(descriptions=True))
    assert "errors" not in introspection
    assert introspection["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_a_variable_page_size_is_priced_by_its_value(service: Service) -> None:
    query = "query($n: Int) { jobs(first: $n) { edges { node { " + FULL_JOB + " } } } }"
    assert "errors" not in await service.gql(query, {"n": 20})
    refused = await service.gql(query, {"n": 100})
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


@pytest.fixture
async def strict(service: Service) -> AsyncIterator[Service]:
    """The same service with tight limits and introspection off, as production might run it."""
    settings = service.settings.model_copy(
        update={
            "port": free_port(),
            "graphql_max_depth": 3,
            "graphql_introspection": False,
            "ws_max_subscriptions_per_connection": 2,
            "ws_max_connections_per_client": 2,
        }
    )
    async with running_service(settings) as svc:
        yield svc


INTROSPECTION = "{ __schema { queryType { name } } }"
TOO_DEEP = "{ jobs { edges { node { stages { name } } } } }"


@pytest.mark.parametrize(
    ("query", "code"), [(INTROSPECTION, "INTROSPECTION_DISABLED"), (TOO_DEEP, "QUERY_TOO_DEEP")]
)
async def test_introspection_when_off_and_depth_are_refused_over_http_and_websocket(
    strict: Service, query: str, code: str
) -> None:
    body = await strict.gql(query)
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}
    assert await strict.gql("{ __typename }") == {"data": {"__typename": "Query"}}
    async with connect(strict.url) as ws:
        await ws.init()
        await ws.subscribe("1", query)
        message = await ws.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == code


async def new_job(service: Service) -> str:
    mutation = (
        """mutation($input: SlideshowInput!) { createSlideshow(input: $input) { ... on Job { id } } }"""
    )
    body = await service.gql(mutation, {"input": {"imageUrls": ["http://127.0.0.1:9/a.jpg"]}})
    job_id: str = body["data"]["createSlideshow"]["id"]
    return job_id


PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { jobId seq } }"


async def test_one_connection_holds_at_most_the_configured_subscriptions(strict: Service) -> None:
    job_id = await new_job(strict)
    async with connect(strict.url) as ws:
        await ws.init()
        for op in ("1", "2"):  # a queued job: its current state, then the stream stays open
            await ws.subscribe(op, PROGRESS, {"id": job_id})
            assert (await ws.recv())["type"] == "next"
        await ws.subscribe("3", PROGRESS, {"id": job_id})
        refused = await ws.recv()
        assert (refused["type"], refused["id"]) == ("error", "3")
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        await ws.complete("1")  # frees a place
        await ws.subscribe("4", PROGRESS, {"id": job_id})
        accepted = await ws.recv()
        assert (accepted["type"], accepted["id"]) == ("next", "4")


async def test_a_client_holds_at_most_the_configured_connections(strict: Service) -> None:
    async with connect(strict.url) as first, connect(strict.url) as second:
        assert (await first.init())["type"] == "connection_ack"
        assert (await second.init())["type"] == "connection_ack"
        async with connect(strict.url) as third:
            assert await third.init() == {}
            assert await third.closed() == (4429, "Too many connections")
    # both closed: places free up as soon as the server has seen them go
    for _ in range(50):
        async with connect(strict.url) as again:
            if (await again.init()).get("type") == "connection_ack":
                break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("connection places were not released")


@pytest.fixture
async def corrupt_job(engine: AsyncEngine) -> str:
    """A real fault: a job row our code cannot read (a status no version of it ever wrote)."""
    job_id = new_id()
    async with session_factory(engine).begin() as session:
        await repo.create_job(session, job_id=job_id, user_id="local", kind="SLIDESHOW", input={}, stages=[])
        await session.execute(text("UPDATE jobs SET status = 'BOGUS' WHERE id = :id"), {"id": job_id})
    return job_id


def masked_request_id(error: dict[str, Any]) -> str:
    extensions = error["extensions"]
    assert extensions["code"] == "INTERNAL_ERROR"
    request_id: str = extensions["requestId"]
    assert error["message"] == f"Internal server error (request id {request_id})"
    return request_id


def logged_with_traceback(caplog: pytest.LogCaptureFixture, request_id: str) -> logging.LogRecord:
    records = [r for r in caplog.records if r.name == "clipforge.graphql" and request_id in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None  # the whole story, for the operator
    return records[0]


async def test_an_internal_error_reaches_the_client_masked_with_a_request_id_found_in_the_log(
    service: Service, corrupt_job: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await service.http.post(
        f"{service.url}/graphql", json={"query": f'{{ job(id: "{corrupt_job}") {{ id status }} }}'}
    )
    body = response.json()
    request_id = masked_request_id(body["errors"][0])
    for leak in ("BOGUS", "JobStatus", "ValueError", "Traceback", "File "):
        assert leak not in response.text
    record = logged_with_traceback(caplog, request_id)
    assert record.exc_info is not None and "BOGUS" in str(record.exc_info[1])

    progress = f'subscription {{ jobProgress(jobId: "{corrupt_job}") {{ seq status }} }}'
    messages = [m async for m in service.subscribe(progress)]
    ws_request_id = masked_request_id(messages[-1]["errors"][0])
    assert ws_request_id != request_id and "BOGUS" not in str(messages)
    logged_with_traceback(caplog, ws_request_id)


async def test_a_client_mistake_keeps_its_message_and_gets_a_code(service: Service) -> None:
    typo = await service.gql("{ jobz { edges { node { id } } } }")
    assert typo["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "jobz" in typo["errors"][0]["message"]
    broken = await service.gql("{ jobs { ")
    assert broken["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    wrong_type = await service.gql(
        "query($n: Int) { jobs(first: $n) { edges { node { id } } } }", {"n": "many"}
    )
    assert wrong_type["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
