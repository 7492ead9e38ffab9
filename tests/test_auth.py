"""With auth on: API keys over HTTP and WebSocket, keys stored hashed, and users kept apart."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db.engine import session_factory
from resolvers.auth import issue_api_key
from tests.gqlws import connect
from tests.service import Service

JOBS = "{ jobs { edges { node { id } } } }"
JOB = "query($id: ID!) { job(id: $id) { id status } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth_required": True})


@pytest.fixture
async def keys(engine: AsyncEngine) -> dict[str, str]:
    sessions = session_factory(engine)
    return {user: await issue_api_key(sessions, user_id=user, name=user.title()) for user in ("alice", "bob")}


@pytest.fixture
async def users(service: Service, keys: dict[str, str]) -> AsyncIterator[dict[str, Service]]:
    """The service as each user sees it: the same server, their own key on every request."""
    clients = {
        user: httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {key}"})
        for user, key in keys.items()
    }
    yield {user: dataclasses.replace(service, http=client) for user, client in clients.items()}
    for client in clients.values():
        await client.aclose()


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer cf_not-a-key", "Basic YWxpY2U6c2VjcmV0", "alice-key-without-scheme"]
)
async def test_http_without_a_valid_key_is_401_with_a_json_error(
    service: Service, keys: dict[str, str], header: str | None
) -> None:
    headers = {"Authorization": header.replace("alice-key", keys["alice"])} if header else {}
    response = await service.http.post(f"{service.url}/graphql", json={"query": JOBS}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    query_by_get = await service.http.get(f"{service.url}/graphql", params={"query": JOBS}, headers=headers)
    assert query_by_get.status_code == 401


async def test_http_with_a_key_acts_as_its_user_and_graphiql_loads_without_one(
    service: Service, keys: dict[str, str]
) -> None:
    response = await service.http.post(
        f"{service.url}/graphql", json={"query": JOBS}, headers={"Authorization": f"bearer {keys['alice']}"}
    )
    assert response.status_code == 200 and response.json() == {"data": {"jobs": {"edges": []}}}
    page = await service.http.get(f"{service.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


@pytest.mark.parametrize("params", [{}, bearer("cf_not-a-key"), {"authorization": "alice-key"}])
async def test_websocket_without_a_valid_key_is_closed_with_4403(
    service: Service, keys: dict[str, str], params: dict[str, str]
) -> None:
    params = {k: v.replace("alice-key", keys["alice"]) for k, v in params.items()}
    async with connect(service.url) as ws:
        assert await ws.init(params) == {}
        assert await ws.closed() == (4403, "Forbidden")


async def test_websocket_with_a_key_in_connection_init_is_acknowledged(
    service: Service, keys: dict[str, str]
) -> None:
    async with connect(service.url) as ws:
        assert (await ws.init(bearer(keys["alice"])))["type"] == "connection_ack"
        await ws.subscribe("1", JOBS)
        assert await ws.recv() == {"id": "1", "type": "next", "payload": {"data": {"jobs": {"edges": []}}}}


CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) { ... on Job { id } } }"""
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { __typename ... on NotFound { code message } } }"
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { jobId status } }"
UPDATES = "subscription { jobUpdates { jobId status } }"


async def create_job(service: Service) -> str:
    body = await service.gql(CREATE, {"input": {"imageUrls": ["http://127.0.0.1:9/a.jpg"]}})
    job_id: str = body["data"]["createSlideshow"]["id"]
    return job_id


def anonymised(answer: Any, job_id: str) -> Any:
    """The answer with the asked-for id blanked: another user's job must read like a missing one."""
    return json.loads(json.dumps(answer).replace(job_id, "<id>"))


async def test_another_users_job_looks_exactly_like_a_missing_one_over_http_and_websocket(
    users: dict[str, Service], keys: dict[str, str]
) -> None:
    alice, bob = users["alice"], users["bob"]
    hers = await create_job(alice)
    missing = "0190e7a0-0000-7000-8000-000000000000"
    assert (await alice.gql(JOB, {"id": hers}))["data"]["job"]["id"] == hers

    for query in (JOB, CANCEL):
        seen = await bob.gql(query, {"id": hers})
        assert anonymised(seen, hers) == anonymised(await bob.gql(query, {"id": missing}), missing)
    assert (await bob.gql(JOB, {"id": hers}))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await bob.gql(JOBS) == {"data": {"jobs": {"edges": []}}}

    async def progress(job_id: str) -> list[dict[str, Any]]:
        stream = bob.subscribe(PROGRESS, {"id": job_id}, connection_params=bearer(keys["bob"]))
        return [m async for m in stream]

    assert anonymised(await progress(hers), hers) == anonymised(await progress(missing), missing)
    assert (await progress(hers))[-1]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # ... and her job was not touched by bob's cancel
    assert (await alice.gql(JOB, {"id": hers}))["data"]["job"]["status"] == "QUEUED"


async def cancel(service: Service, job_id: str) -> None:
    body = await service.gql("mutation($id: ID!) { cancelJob(id: $id) { __typename } }", {"id": job_id})
    assert body["data"]["cancelJob"]["__typename"] == "Job"


async def test_job_updates_stream_only_the_callers_own_jobs(
    users: dict[str, Service], keys: dict[str, str]
) -> None:
    alice, bob = users["alice"], users["bob"]
    hers = await create_job(alice)
    async with connect(bob.url) as ws:
        await ws.init(bearer(keys["bob"]))
        await ws.subscribe("1", UPDATES)
        # bob's own change shows his stream is live (one made before it listened comes by resync)
        probe = await create_job(bob)
        await cancel(bob, probe)
        seen = [await ws.recv(within=30)]
        await cancel(alice, hers)
        his = await create_job(bob)
        await cancel(bob, his)
        while seen[-1]["payload"]["data"]["jobUpdates"] != {"jobId": his, "status": "CANCELLED"}:
            seen.append(await ws.recv())
    streamed = {m["payload"]["data"]["jobUpdates"]["jobId"] for m in seen}
    assert hers not in streamed and streamed <= {probe, his}


async def test_create_key_prints_a_key_once_and_stores_only_its_hash(
    service: Service, engine: AsyncEngine, settings: Settings
) -> None:
    env = dict(os.environ, DATABASE_URL=str(settings.database_url), CLIPFORGE_DATA_DIR=str(settings.data_dir))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "clipforge", "create-key", "--user", "carol", "--name", "Carol",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    key = stdout.decode().strip()
    assert key.startswith("cf_") and len(key) > 40 and "\n" not in key
    assert "shown once" in stderr.decode()

    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM api_keys WHERE user_id = 'carol'"))).mappings().all()
    assert len(rows) == 1
    assert rows[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert all(key not in str(value) for value in rows[0].values())

    response = await service.http.post(
        f"{service.url}/graphql", json={"query": JOBS}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200 and "errors" not in response.json()

    refused = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "clipforge", "create-key", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, complaint = await refused.communicate()
    assert refused.returncode == 2 and b"--user" in complaint
