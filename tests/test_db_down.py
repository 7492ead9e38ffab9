"""The database becoming unreachable, for real: the API reaches Postgres through a TCP forwarder the test
cuts (open connections drop, new ones are refused), as when the database host or the network goes away.
Clients get a typed SERVICE_UNAVAILABLE, never a stack trace, and nothing is half-written; with auth on, a
key that cannot be checked is a 503 (HTTP) or close code 1013 (WebSocket), not a 500 or a 4403."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db.engine import session_factory
from db.tables import Job
from resolvers.auth import issue_api_key
from tests.conftest import free_port
from tests.factory import COLOURS, jpeg
from tests.gqlws import connect
from tests.service import Service, running_service

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""


class Forwarder:
    """Forwards 127.0.0.1:port to the database; `cut` drops every connection and refuses new ones."""

    def __init__(self, connect: Callable[[], Awaitable[Streams]]) -> None:
        self.connect = connect
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.open:
            writer.transport.abort()
        self.open.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        db_r, db_w = await self.connect()
        self.open |= {client_w, db_w}
        await asyncio.gather(_pipe(client_r, db_w), _pipe(db_r, client_w), return_exceptions=True)
        for writer in (client_w, db_w):
            self.open.discard(writer)
            writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):  # ends when either side's connection does
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url  # a server the API reaches over the network; SQLite is a local file


@pytest.fixture
async def forwarder(postgres_url: str) -> AsyncIterator[Forwarder]:
    url = make_url(postgres_url)
    socket_dir = url.query.get("host")  # an embedded pgserver listens on a unix socket
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        path = f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
        forwarder = Forwarder(lambda: asyncio.open_unix_connection(path))
    else:
        forwarder = Forwarder(lambda: asyncio.open_connection(url.host, url.port or 5432))
    await forwarder.start()
    yield forwarder
    with contextlib.suppress(AssertionError):
        await forwarder.cut()


def through(forwarder: Forwarder, settings: Settings, postgres_url: str, **changes: object) -> Settings:
    url = make_url(postgres_url).difference_update_query(["host"]).set(host="127.0.0.1", port=forwarder.port)
    return settings.model_copy(update={"database_url": url.render_as_string(hide_password=False), **changes})


@pytest.fixture
async def service(
    settings: Settings, engine: AsyncEngine, forwarder: Forwarder, postgres_url: str
) -> AsyncIterator[Service]:
    async with running_service(through(forwarder, settings, postgres_url)) as svc:
        yield svc


@pytest.fixture
async def service_with_auth(
    settings: Settings, engine: AsyncEngine, forwarder: Forwarder, postgres_url: str
) -> AsyncIterator[Service]:
    async with running_service(through(forwarder, settings, postgres_url, auth_required=True)) as svc:
        yield svc


async def create(service: Service, colour: tuple[int, int, int]) -> dict[str, str]:
    image = {"variables.input.images.0": jpeg(colour)}
    body = await service.gql(CREATE, {"input": {"images": [None], "secondsPerImage": 1}}, files=image)
    assert "errors" not in body, body
    result: dict[str, str] = body["data"]["createSlideshow"]
    return result


def stored_uploads(service: Service) -> set[str]:
    return {p.parent.parent.name for p in Path(service.settings.storage_root, "jobs").glob("*/uploads/*")}


async def rows(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:  # straight to the database, not through the forwarder
        return int((await session.execute(select(func.count()).select_from(Job))).scalar_one())


async def test_with_the_database_unreachable_a_create_is_service_unavailable_and_leaves_nothing_behind(
    service: Service, forwarder: Forwarder, engine: AsyncEngine, redis: Redis
) -> None:
    async with asyncio.timeout(20):
        before = await create(service, COLOURS[0])
        assert before["__typename"] == "Job"

        await forwarder.cut()
        started = time.monotonic()
        refused = await create(service, COLOURS[1])
        answered_in = time.monotonic() - started
        assert refused["__typename"] == "ServiceUnavailable", refused
        assert refused["code"] == "SERVICE_UNAVAILABLE" and "database" in refused["message"]
        assert "Traceback" not in refused["message"] and "Errno" not in refused["message"]
        assert stored_uploads(service) == {before["id"]}  # this request's upload was removed again
        assert await redis.zcard("clipforge:queue") == 1  # only the first job was ever enqueued
        assert await rows(engine) == 1

        query = await service.gql("query($id: ID!) { job(id: $id) { status } }", {"id": before["id"]})
        assert query["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        progress = "subscription($id: ID!) { jobProgress(jobId: $id) { seq } }"
        messages = [m async for m in service.subscribe(progress, {"id": before["id"]}, limit_seconds=10)]
        assert messages[-1]["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

        await forwarder.start()  # the database is back: the pool reconnects on its own
        after = await create(service, COLOURS[2])
        assert after["__typename"] == "Job", after
        assert await rows(engine) == 2
    assert answered_in < 6.0
    print(f"\ncreateSlideshow answered SERVICE_UNAVAILABLE in {answered_in:.2f} s with the database down")


async def test_with_auth_on_and_the_database_unreachable_a_key_cannot_be_checked_so_clients_retry_later(
    service_with_auth: Service, forwarder: Forwarder, engine: AsyncEngine
) -> None:
    service = service_with_auth
    key = await issue_api_key(session_factory(engine), user_id="alice", name="Alice")
    headers = {"Authorization": f"Bearer {key}"}
    jobs = {"query": "{ jobs { edges { node { id } } } }"}
    async with asyncio.timeout(30):
        served = await service.http.post(f"{service.url}/graphql", json=jobs, headers=headers)
        assert served.status_code == 200, served.text

        await forwarder.cut()
        refused = await service.http.post(f"{service.url}/graphql", json=jobs, headers=headers)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE" and "database" in error["message"]
        async with connect(service.url) as ws:
            assert await ws.init({"authorization": f"Bearer {key}"}) == {}  # no connection_ack
            code, reason = await ws.closed()
        assert code == 1013 and reason is not None and "try again" in reason

        await forwarder.start()
        again = await service.http.post(f"{service.url}/graphql", json=jobs, headers=headers)
        assert again.status_code == 200, again.text
