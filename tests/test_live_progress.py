"""Live progress for many viewers, through the real API (uvicorn, graphql-transport-ws, Redis, the database):
sockets asking the same thing share one execution per event and get strawberry's exact bytes, a socket that
cannot keep up gets the newest state and every stage change, every subscriber's ownership is checked, and
nothing is left behind when the viewers go."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.graphql_app import GraphQLApp
from clipforge.settings import Settings
from db.engine import session_factory
from resolvers.context import Services
from tests.conftest import free_port
from tests.gqlws import GqlWs, connect
from tests.progress_driver import DrivenJob, eventually
from tests.service import Service, running_service

PROGRESS = """subscription($id: ID!) { jobProgress(jobId: $id) {
  seq status stage progress message at job { id status progress } } }"""
SMALL = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage message } }"
# 14 aliases of a 500-character message: ~7 KB frames, so a few MB of socket buffers fill in a few hundred
LARGE = (
    "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage "
    + " ".join(f"m{i}: message" for i in range(14))
    + " } }"
)


def graphql_app(service: Service) -> GraphQLApp:
    assert service.app is not None
    for route in service.app.routes:
        if isinstance(getattr(route, "app", None), GraphQLApp):
            return route.app  # type: ignore[attr-defined, no-any-return]
    raise AssertionError("no GraphQL endpoint")


def services_of(service: Service) -> Services:
    assert service.app is not None
    found: Services = service.app.state.services
    return found


@contextlib.contextmanager
def counting(service: Service, table: str) -> Any:
    """Counts the statements the service's own engine runs that read `table`."""
    sync_engine = services_of(service).sessions.kw["bind"].sync_engine
    seen = {"count": 0}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if f"FROM {table}" in statement:
            seen["count"] += 1

    event.listen(sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", before)


@contextlib.asynccontextmanager
async def viewers(service: Service, count: int, query: str, job_id: str) -> AsyncIterator[list[GqlWs]]:
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(service.url)) for _ in range(count)]
        for ws in sockets:
            assert (await ws.init())["type"] == "connection_ack"
            await ws.subscribe("1", query, {"id": job_id})
        yield sockets


async def until_complete(ws: GqlWs, within: float = 20) -> list[dict[str, Any]]:
    messages = []
    async with asyncio.timeout(within):
        while not messages or messages[-1]["type"] not in ("complete", "error"):
            messages.append(await ws.recv(within))
    return messages


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["payload"]["data"]["jobProgress"]["seq"] for m in messages if m["type"] == "next"]


async def test_sockets_asking_the_same_share_one_execution_per_event(
    service: Service, engine: AsyncEngine, redis: Redis
) -> None:
    job = await DrivenJob.create(session_factory(engine), redis)
    broadcast = graphql_app(service).broadcast
    async with viewers(service, 20, PROGRESS, job.job_id) as sockets:
        snapshots = [await ws.recv() for ws in sockets]
        assert {json.dumps(s["payload"]) for s in snapshots} == {json.dumps(snapshots[0]["payload"])}
        assert [c.viewers for c in broadcast.channels.values()] == [20]
        # The `job` field reads the job's stages: once per execution, however many sockets receive it.
        with counting(service, "stages") as executions:
            changes = [await job.claim(), await job.start(0), await job.progress(40), await job.start(1)]
            changes.append(await job.complete())
            streams = [await until_complete(ws) for ws in sockets]
    assert {json.dumps(s) for s in streams} == {json.dumps(streams[0])}  # the same messages on every socket
    got = seqs(streams[0])
    assert got == sorted(set(got)) and got[-1] == changes[-1].seq and streams[0][-1]["type"] == "complete"
    assert {changes[i].seq for i in (0, 1, 3, 4)} <= set(got)  # stage changes and the end are never skipped
    assert len(got) <= executions["count"] <= len(changes), executions  # not 20 per event
    await eventually(lambda: broadcast.channels == {}, "the ended channel let go", within=15)


async def test_the_shared_frames_are_byte_identical_to_strawberrys_own(
    service: Service, settings: Settings, engine: AsyncEngine, redis: Redis
) -> None:
    job = await DrivenJob.create(session_factory(engine), redis)
    unshared_settings = settings.model_copy(update={"port": free_port(), "ws_shared_execution": False})
    op_id = 'op "1" ü/\\'  # what a client may put in an id, escaped the way strawberry escapes it
    async with running_service(unshared_settings) as unshared, contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(s.url)) for s in (service, unshared)]
        for ws in sockets:
            await ws.init()
            await ws.subscribe(op_id, PROGRESS, {"id": job.job_id})
        raw: list[list[str]] = [[], []]
        for ws, frames in zip(sockets, raw, strict=True):
            frames.append(str(await asyncio.wait_for(ws.ws.recv(), 10)))
        for change in (job.claim, lambda: job.start(0), lambda: job.progress(50), job.complete):
            await change()
            for ws, frames in zip(sockets, raw, strict=True):  # each change seen before the next is made
                frames.append(str(await asyncio.wait_for(ws.ws.recv(), 10)))
        for ws, frames in zip(sockets, raw, strict=True):
            frames.append(str(await asyncio.wait_for(ws.ws.recv(), 10)))
        assert graphql_app(unshared).broadcast.channels == {}  # that one ran strawberry's own path
    assert raw[0] == raw[1]
    assert [json.loads(f)["type"] for f in raw[0]] == ["next"] * 5 + ["complete"]
    assert json.loads(raw[0][0])["id"] == op_id


@pytest.mark.parametrize(
    ("query", "job_id"),
    [
        (PROGRESS, "01NOSUCHJOB"),  # refused by the resolver
        ("subscription($id: ID!) { jobProgress(jobId: $id) { seq nope } }", "x"),  # by validation
        ("subscription($id: ID!) { jobProgress(jobId: $id) { seq } }", 42),  # by the variables' types
        ("subscription($id: ID!) { jobProgress(jobId: $id) { seq } }", None),
    ],
    ids=["not-found", "unknown-field", "bad-variable", "missing-variable"],
)
async def test_refusals_on_the_shared_path_are_byte_identical_to_strawberrys_own(
    service: Service, settings: Settings, engine: AsyncEngine, query: str, job_id: object
) -> None:
    unshared_settings = settings.model_copy(update={"port": free_port(), "ws_shared_execution": False})
    variables = {} if job_id is None else {"id": job_id}
    async with running_service(unshared_settings) as unshared, contextlib.AsyncExitStack() as stack:
        frames: list[list[str]] = []
        for target in (service, unshared):
            ws = await stack.enter_async_context(connect(target.url))
            await ws.init()
            await ws.subscribe("7", query, variables)
            got = [str(await asyncio.wait_for(ws.ws.recv(), 10))]
            while json.loads(got[-1])["type"] == "next":
                got.append(str(await asyncio.wait_for(ws.ws.recv(), 10)))
            frames.append(got)
    assert frames[0] == frames[1]
    assert json.loads(frames[0][0])["type"] in ("next", "error")


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "strawberry"])
async def test_a_socket_that_cannot_keep_up_gets_the_newest_state_and_every_stage_change(
    settings: Settings, engine: AsyncEngine, redis: Redis, shared: bool
) -> None:
    job = await DrivenJob.create(session_factory(engine), redis)
    async with running_service(settings.model_copy(update={"ws_shared_execution": shared})) as service:
        await follow_slowly(service, job)


async def follow_slowly(service: Service, job: DrivenJob) -> None:
    port = int(service.url.rsplit(":", 1)[1])
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: backpressure comes soon
    raw.connect(("127.0.0.1", port))
    raw.setblocking(False)
    uri = service.url.replace("http://", "ws://") + "/graphql"
    protocol = [websockets.Subprotocol("graphql-transport-ws")]
    # It stops reading from its socket once one message waits unread: the server's sends back up (once the
    # kernel's buffers, which grow to a few MB on loopback, are full).
    async with (
        websockets.connect(uri, sock=raw, subprotocols=protocol, max_queue=1, compression=None) as slow_ws,
        viewers(service, 1, LARGE, job.job_id) as (fast,),
    ):
        slow = GqlWs(slow_ws)
        assert (await slow.init())["type"] == "connection_ack"
        await slow.subscribe("1", LARGE, {"id": job.job_id})
        await slow.recv()  # its snapshot; then it reads nothing while the job runs
        await fast.recv()
        reading = asyncio.create_task(until_complete(fast, 120))  # one that keeps up, for comparison
        await job.claim()
        await job.start(0)
        filler = "x" * 480
        published = [await job.progress(p / 20, filler) for p in range(1, 1000)]
        render = await job.start(1)
        published += [await job.progress(50 + p / 10, filler) for p in range(1, 100)]
        done = await job.complete()
        fast_seqs = seqs(await reading)
        slow_seqs = seqs(await until_complete(slow, 60))
    assert fast_seqs[-1] == slow_seqs[-1] == done.seq
    assert slow_seqs == sorted(set(slow_seqs)) and {render.seq, done.seq} <= set(slow_seqs)
    skipped = done.seq - slow_seqs[0] + 1 - len(slow_seqs)
    total = len(published) + 4
    print(f"\nslow socket: {len(slow_seqs)} of {total} states ({skipped} skipped); fast: {len(fast_seqs)}")
    assert skipped > 200, f"{len(slow_seqs)} of {len(published)}: too little was conflated"


async def test_every_subscriber_is_checked_even_when_the_same_document_is_already_running(
    settings: Settings, engine: AsyncEngine, redis: Redis
) -> None:
    from resolvers.auth import issue_api_key

    sessions = session_factory(engine)
    keys = {user: await issue_api_key(sessions, user_id=user, name=user) for user in ("alice", "bob")}
    job = await DrivenJob.create(sessions, redis, user_id="alice")
    async with (
        running_service(settings.model_copy(update={"auth_required": True})) as service,
        connect(service.url) as alice,
        connect(service.url) as bob,
    ):
        for ws, user in ((alice, "alice"), (bob, "bob")):
            assert (await ws.init({"authorization": f"Bearer {keys[user]}"}))["type"] == "connection_ack"
        await alice.subscribe("1", PROGRESS, {"id": job.job_id})
        assert (await alice.recv())["payload"]["data"]["jobProgress"]["seq"] == 1
        await bob.subscribe("1", PROGRESS, {"id": job.job_id})  # the same document and variables
        refused = await bob.recv()
        assert refused["type"] in ("next", "error"), refused
        errors = refused["payload"]["errors"] if refused["type"] == "next" else refused["payload"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND" and "alice" not in json.dumps(refused)
        await job.claim()
        assert (await alice.recv())["payload"]["data"]["jobProgress"]["status"] == "PROCESSING"
        assert sorted(key[0] for key in graphql_app(service).broadcast.channels) == ["alice"]


async def test_nothing_is_left_running_when_the_viewers_go(
    service: Service, engine: AsyncEngine, redis: Redis
) -> None:
    job = await DrivenJob.create(session_factory(engine), redis)
    services = services_of(service)
    async with viewers(service, 5, PROGRESS, job.job_id) as sockets:
        for ws in sockets:
            await ws.recv()
        await sockets[0].complete("1")  # one says it is done; the others just hang up
        channels = graphql_app(service).broadcast.channels
        await eventually(lambda: [c.viewers for c in channels.values()] == [4], "one viewer fewer")
    # The feed lingers (5 s) for viewers coming back, then closes with its hub subscription.
    app = graphql_app(service)
    await eventually(
        lambda: not (app.broadcast.channels or len(services.feeds) or services.hub.subscriber_count),
        "no channel, feed or hub subscription left",
        within=15,
    )


@pytest.mark.parametrize("deflate", [False, True])
async def test_per_message_deflate_is_offered_only_when_configured(
    settings: Settings, engine: AsyncEngine, deflate: bool
) -> None:
    async with (
        running_service(settings.model_copy(update={"ws_per_message_deflate": deflate})) as service,
        connect(service.url) as ws,  # websockets offers permessage-deflate, as browsers do
    ):
        assert ws.ws.response is not None
        agreed = ws.ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in agreed) is deflate


async def test_a_crowd_of_sockets_with_one_key_costs_one_key_lookup(
    settings: Settings, engine: AsyncEngine
) -> None:
    from resolvers.auth import issue_api_key

    key = await issue_api_key(session_factory(engine), user_id="alice", name="Alice")

    async def handshake(service: Service, key: str) -> dict[str, Any]:
        async with connect(service.url) as ws:
            return await ws.init({"authorization": f"Bearer {key}"})

    async with running_service(settings.model_copy(update={"auth_required": True})) as service:
        graphql_app(service).recent_keys.ttl_seconds = 0.5  # a found key is remembered this long (5 s)
        with counting(service, "api_keys") as lookups:
            acks = await asyncio.gather(*(handshake(service, key) for _ in range(15)))  # under the cap (20)
            assert [a["type"] for a in acks] == ["connection_ack"] * 15
            assert lookups["count"] == 1
            for _ in range(3):  # an unknown key is never remembered: a key made a moment later works
                assert await handshake(service, "cf_not-a-key") == {}
            assert lookups["count"] == 4
            await asyncio.sleep(0.6)
            assert (await handshake(service, key))["type"] == "connection_ack"
            assert lookups["count"] == 5


async def test_a_crowd_arriving_just_after_the_end_costs_no_execution_until_the_job_changes_again(
    service: Service, engine: AsyncEngine, redis: Redis
) -> None:
    from db import repo

    sessions = session_factory(engine)
    job = await DrivenJob.create(sessions, redis)
    async with viewers(service, 1, PROGRESS, job.job_id) as (first,):
        await first.recv()
        await job.claim()
        cancelled = await job.lifecycle.cancel(job.job_id)
        assert cancelled is not None and seqs(await until_complete(first))[-1] == cancelled.seq
    with counting(service, "stages") as executions:
        async with viewers(service, 10, PROGRESS, job.job_id) as late:
            streams = [await until_complete(ws) for ws in late]
    assert {json.dumps(s) for s in streams} == {json.dumps(streams[0])}
    assert seqs(streams[0]) == [cancelled.seq] and streams[0][-1]["type"] == "complete"
    assert executions["count"] == 0  # the ended channel's result, sent as it was
    async with sessions() as session:
        row = await repo.get_job(session, job.job_id)
    assert row is not None and await job.lifecycle.retry(row) is not None  # retryJob: the job lives again
    async with viewers(service, 1, PROGRESS, job.job_id) as (after,):
        snapshot = (await after.recv())["payload"]["data"]["jobProgress"]
    assert snapshot["status"] == "QUEUED" and snapshot["seq"] == cancelled.seq + 1
