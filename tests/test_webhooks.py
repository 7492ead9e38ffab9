"""Signed webhooks over real HTTP, a real arq worker, real Redis and databases, and a receiver on 127.0.0.1
that checks every signature with the `standardwebhooks` reference library."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db import webhooks as webhook_repo
from db.engine import create_engine, session_factory
from db.ids import new_id
from jobs.delivery import LOST, next_attempt_at
from jobs.webhooks import WebhookPolicy
from tests.factory import COLOURS, jpeg
from tests.receiver import Receiver
from tests.service import MediaServer, Service
from tests.workers import worker_processes

CREATE_WEBHOOK = """mutation($input: WebhookInput!) { createWebhook(input: $input) {
  __typename ... on WebhookCreated { secret webhook { id url description createdAt } }
  ... on Problem { code message } ... on InvalidInput { field } } }"""
DELETE_WEBHOOK = """mutation($id: ID!) { deleteWebhook(id: $id) {
  __typename ... on Webhook { id url } ... on Problem { code message } } }"""
WEBHOOKS = "{ webhooks { id url description } }"
SECRET = "{ webhookSigningSecret }"
CREATE_JOB = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id status } ... on InvalidInput { code message field } } }"""
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { __typename ... on Job { status } } }"
DELIVERIES = """query($job: ID, $hook: ID) { webhookDeliveries(jobId: $job, webhookId: $hook) {
  id jobId webhookId url eventType status lastError nextAttemptAt finishedAt
  attempts { number statusCode error durationMs startedAt finishedAt } } }"""
JOBS = "{ jobs { edges { node { id } } } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Retries a fraction of a second apart, so a test sees several; the schedule's shape is tested below.
    return settings.model_copy(
        update={
            "webhook_retry_delays": [0.2, 0.2, 0.2],
            "webhook_timeout_seconds": 5,
            "max_webhooks_per_user": 3,
        }
    )


async def register(service: Service, url: str, description: str = "") -> dict[str, Any]:
    body = await service.gql(CREATE_WEBHOOK, {"input": {"url": url, "description": description}})
    result: dict[str, Any] = body["data"]["createWebhook"]
    return result


async def cancelled_job(service: Service, webhook_url: str | None = None) -> str:
    """A job that ends (CANCELLED) without a worker ever running it: the quickest way to an end."""
    inp: dict[str, Any] = {"imageUrls": ["http://127.0.0.1:9/a.jpg"]}
    if webhook_url is not None:
        inp["webhookUrl"] = webhook_url
    created = (await service.gql(CREATE_JOB, {"input": inp}))["data"]["createSlideshow"]
    assert created["__typename"] == "Job", created
    job_id: str = created["id"]
    assert (await service.gql(CANCEL, {"id": job_id}))["data"]["cancelJob"]["status"] == "CANCELLED"
    return job_id


async def deliveries(service: Service, job_id: str | None = None, hook: str | None = None) -> list[Any]:
    body = await service.gql(DELIVERIES, {"job": job_id, "hook": hook})
    assert "errors" not in body, body
    found: list[Any] = body["data"]["webhookDeliveries"]
    return found


async def test_a_new_webhook_shows_its_secret_once_and_is_listed_without_it(service: Service) -> None:
    created = await register(service, "https://93.184.215.14/clipforge", "n8n")
    assert created["__typename"] == "WebhookCreated", created
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    listed = (await service.gql(WEBHOOKS))["data"]["webhooks"]
    assert listed == [
        {"id": created["webhook"]["id"], "url": "https://93.184.215.14/clipforge", "description": "n8n"}
    ]
    fields = (await service.gql('{ __type(name: "Webhook") { fields { name } } }'))["data"]["__type"]
    assert "secret" not in {f["name"] for f in fields["fields"]}  # no way to read it back
    deleted = (await service.gql(DELETE_WEBHOOK, {"id": created["webhook"]["id"]}))["data"]["deleteWebhook"]
    assert deleted["__typename"] == "Webhook"
    assert (await service.gql(WEBHOOKS))["data"]["webhooks"] == []
    again = (await service.gql(DELETE_WEBHOOK, {"id": created["webhook"]["id"]}))["data"]["deleteWebhook"]
    assert (again["__typename"], again["code"]) == ("NotFound", "NOT_FOUND")


async def test_another_users_webhook_is_not_found_and_the_per_user_limit_holds(
    service: Service, engine: AsyncEngine
) -> None:
    async with session_factory(engine).begin() as session:
        theirs = await webhook_repo.add_endpoint(
            session,
            endpoint_id=new_id(),
            user_id="other",
            url="https://93.184.215.14/",
            description="",
            secret="s",
        )
    refused = (await service.gql(DELETE_WEBHOOK, {"id": theirs.id}))["data"]["deleteWebhook"]
    assert refused["code"] == "NOT_FOUND"
    for i in range(service.settings.max_webhooks_per_user):
        assert (await register(service, f"https://93.184.215.14/{i}"))["__typename"] == "WebhookCreated"
    over = await register(service, "https://93.184.215.14/one-too-many")
    assert (over["__typename"], over["code"]) == ("InvalidInput", "TOO_MANY_WEBHOOKS")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9/hook", "URL_NOT_ALLOWED"),
        ("http://localhost/hook", "URL_NOT_ALLOWED"),
        ("http://10.1.2.3/hook", "URL_NOT_ALLOWED"),
        ("http://169.254.169.254/latest/meta-data/", "URL_NOT_ALLOWED"),
        ("http://[::ffff:127.0.0.1]/hook", "URL_NOT_ALLOWED"),
        ("ftp://hooks.example.com/", "INVALID_URL"),
        ("http://user:pw@hooks.example.com/", "INVALID_URL"),
    ],
)
async def test_webhook_targets_pass_the_same_address_checks_as_every_fetch(
    settings: Settings, engine: AsyncEngine, url: str, code: str
) -> None:
    from tests.service import running_service

    async with running_service(settings.model_copy(update={"allow_private_urls": False})) as service:
        refused = await register(service, url)
        assert (refused["__typename"], refused["code"], refused["field"]) == ("InvalidInput", code, "url")
        body = await service.gql(
            CREATE_JOB, {"input": {"imageUrls": ["https://93.184.215.14/a.jpg"], "webhookUrl": url}}
        )
        result = body["data"]["createSlideshow"]
        assert (result["code"], result["field"]) == (code, "webhookUrl")
        assert (await service.gql(JOBS))["data"]["jobs"]["edges"] == []  # refused before any job
        assert (await service.gql(WEBHOOKS))["data"]["webhooks"] == []


async def test_the_metadata_address_stays_refused_even_with_private_urls_allowed(service: Service) -> None:
    assert service.settings.allow_private_urls
    refused = await register(service, "http://169.254.169.254/latest/meta-data/")
    assert refused["code"] == "URL_NOT_ALLOWED"


async def test_every_create_mutation_takes_a_webhook_url(service: Service) -> None:
    query = """{ __schema { mutationType { fields { name type { ofType { name } }
      args { name type { ofType { name } } } } } } }"""
    fields = (await service.gql(query))["data"]["__schema"]["mutationType"]["fields"]
    # every mutation answering a Job (CreateJobResult, or PaidJobResult for kinds with paid actions)
    creates = [f for f in fields if f["type"]["ofType"]["name"] in ("CreateJobResult", "PaidJobResult")]
    assert len(creates) >= 4
    for mutation in creates:
        (arg,) = [a for a in mutation["args"] if a["name"] == "input"]
        input_type = arg["type"]["ofType"]["name"]
        found = await service.gql(
            "query($n: String!) { __type(name: $n) { inputFields { name } } }", {"n": input_type}
        )
        names = {f["name"] for f in found["data"]["__type"]["inputFields"]}
        assert "webhookUrl" in names, f"{mutation['name']} ({input_type}) has no webhookUrl"


async def test_an_ended_job_is_posted_signed_to_its_own_url_and_to_every_registered_webhook(
    service: Service,
) -> None:
    with Receiver() as receiver:
        created = await register(service, f"{receiver.url}/registered", "all my jobs")
        job_id = await cancelled_job(service, webhook_url=f"{receiver.url}/own")
        await service.drain_queue()
        job_secret = (await service.gql(SECRET))["data"]["webhookSigningSecret"]
        by_path = {r.path: r for r in receiver.received}
    assert set(by_path) == {"/own", "/registered"}
    own = dataclasses.replace(receiver, received=[by_path["/own"]]).verified(job_secret)[0]
    registered = dataclasses.replace(receiver, received=[by_path["/registered"]]).verified(created["secret"])[
        0
    ]
    for message in (own, registered):
        assert isinstance(message, dict)
        assert message["type"] == "job.cancelled"
        data = message["data"]
        assert data["id"] == job_id and data["status"] == "CANCELLED" and data["kind"] == "SLIDESHOW"
        assert datetime.fromisoformat(message["timestamp"]) <= datetime.now(UTC)
    # Each target's secret signs only its own messages.
    with pytest.raises(Exception, match="signature"):
        dataclasses.replace(receiver, received=[by_path["/own"]]).verified(created["secret"])
    found = await deliveries(service, job_id)
    assert {d["id"] for d in found} == {r.headers["webhook-id"] for r in by_path.values()}
    assert {(d["webhookId"], d["status"], d["eventType"]) for d in found} == {
        (None, "DELIVERED", "job.cancelled"),
        (created["webhook"]["id"], "DELIVERED", "job.cancelled"),
    }
    for d in found:
        assert [(a["number"], a["statusCode"], a["error"]) for a in d["attempts"]] == [(1, 200, None)]
        assert d["nextAttemptAt"] is None and d["finishedAt"]


async def test_a_500_then_a_200_is_two_attempts_with_one_webhook_id(service: Service) -> None:
    with Receiver(statuses=[500, 200]) as receiver:
        created = await register(service, f"{receiver.url}/hook")
        job_id = await cancelled_job(service)
        await service.drain_queue()
        messages = receiver.verified(created["secret"])  # both attempts carry a valid signature
    assert len(receiver.received) == 2
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1 and messages[0] == messages[1]
    (delivery,) = await deliveries(service, job_id)
    assert delivery["id"] in ids and delivery["status"] == "DELIVERED" and delivery["lastError"] is None
    assert [(a["number"], a["statusCode"], a["error"]) for a in delivery["attempts"]] == [
        (1, 500, "HTTP 500: receiver says no"),
        (2, 200, None),
    ]
    # The deliveries of one webhook are found by it too.
    assert [d["id"] for d in await deliveries(service, hook=created["webhook"]["id"])] == [delivery["id"]]


async def test_a_receiver_that_keeps_failing_is_given_up_after_its_attempts_and_redirects_are_not_followed(
    service: Service,
) -> None:
    with Receiver(statuses=[302]) as receiver:
        await register(service, f"{receiver.url}/hook")
        job_id = await cancelled_job(service)
        await service.drain_queue()
    # One attempt and three retries (settings above), every one at the URL registered: no redirect followed.
    assert [r.path for r in receiver.received] == ["/hook"] * 4
    (delivery,) = await deliveries(service, job_id)
    assert delivery["status"] == "FAILED" and delivery["lastError"].startswith("HTTP 302")
    assert [a["statusCode"] for a in delivery["attempts"]] == [302, 302, 302, 302]
    assert delivery["nextAttemptAt"] is None


async def test_a_target_that_now_reaches_a_private_address_is_refused_at_every_attempt(
    service: Service,
) -> None:
    with Receiver() as receiver:
        await register(service, f"{receiver.url}/hook")  # accepted: this API allows private URLs
        job_id = await cancelled_job(service)
        # The workers do not (think of a name that resolved to a public address when it was registered).
        strict = service.settings.model_copy(update={"allow_private_urls": False})
        await dataclasses.replace(service, settings=strict).drain_queue()
    assert receiver.received == []
    (delivery,) = await deliveries(service, job_id)
    assert delivery["status"] == "FAILED"
    assert {a["error"].split(":")[0] for a in delivery["attempts"]} == {"URL_NOT_ALLOWED"}
    assert all(a["statusCode"] is None for a in delivery["attempts"])


async def test_a_deleted_webhook_gets_nothing_more(service: Service) -> None:
    with Receiver() as receiver:
        created = await register(service, f"{receiver.url}/hook")
        job_id = await cancelled_job(service)
        await service.gql(DELETE_WEBHOOK, {"id": created["webhook"]["id"]})
        await service.drain_queue()
    assert receiver.received == []
    (delivery,) = await deliveries(service, job_id)
    assert (delivery["status"], delivery["lastError"]) == ("FAILED", "the endpoint was deleted")


def test_retries_follow_the_schedule_for_a_day_then_stop() -> None:
    policy = WebhookPolicy()  # the production schedule
    created = datetime(2026, 1, 1, tzinfo=UTC)
    now, attempts, times = created, 1, [created]
    while (at := next_attempt_at(policy, created, attempts, now)) is not None:
        times.append(at)
        now, attempts = at, attempts + 1
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    expected = [5, 300, 1800, 7200, 18000, 36000]
    assert all(0.9 * e <= g <= 1.1 * e for g, e in zip(gaps, expected, strict=False))
    # The last attempt is moved to the end of the day, and there is none after it.
    assert times[-1] == created + timedelta(days=1)
    assert len(times) == 8
    assert next_attempt_at(policy, created, 3, created + timedelta(days=1, seconds=1)) is None


async def test_a_delivery_whose_queue_entry_redis_forgot_is_sent_by_the_reconciler(
    service: Service, redis: Redis
) -> None:
    with Receiver() as receiver:
        created = await register(service, f"{receiver.url}/hook")
        job_id = await cancelled_job(service)
        await redis.flushdb()  # a Redis restart without persistence: the queued first attempt is gone
        await service.drain_queue()  # its reconciler pass finds the delivery row
        receiver.verified(created["secret"])
    assert len(receiver.received) == 1
    (delivery,) = await deliveries(service, job_id)
    assert delivery["status"] == "DELIVERED"


@pytest.mark.slow
async def test_a_completed_job_posts_a_video_url_that_plays_and_a_failed_one_its_error(
    service: Service, tmp_path: Path
) -> None:
    files = {"/a.jpg": (jpeg(COLOURS[0]), "image/jpeg")}
    with Receiver() as receiver, MediaServer(files) as media:
        hook = f"{receiver.url}/done"
        good = {
            "imageUrls": [f"{media.url}/a.jpg"],
            "size": "1080x1080",
            "secondsPerImage": 1,
            "webhookUrl": hook,
        }
        bad = {**good, "imageUrls": [f"{media.url}/missing.jpg"]}
        ids = []
        for inp in (good, bad):
            created = (await service.gql(CREATE_JOB, {"input": inp}))["data"]["createSlideshow"]
            ids.append(created["id"])
        await service.drain_queue()
        messages = receiver.verified((await service.gql(SECRET))["data"]["webhookSigningSecret"])
        by_job = {m["data"]["id"]: m for m in messages if isinstance(m, dict)}
        completed, failed = by_job[ids[0]], by_job[ids[1]]
        assert completed["type"] == "job.completed" and completed["data"]["status"] == "COMPLETED"
        assert completed["data"]["error"] is None and completed["data"]["progress"] == 100
        video = tmp_path / "video.mp4"
        response = await service.http.get(completed["data"]["videoUrl"])  # signed when it was sent
        assert response.status_code == 200
        video.write_bytes(response.content)
        assert (await service.http.get(completed["data"]["thumbnailUrl"])).content[:2] == b"\xff\xd8"
    with av.open(str(video)) as container:
        assert abs((container.duration or 0) / 1e6 - 1.0) < 0.15
    assert failed["type"] == "job.failed" and failed["data"]["error"]["code"] == "FETCH_FAILED"
    assert "videoUrl" not in failed["data"]


@pytest.mark.slow
async def test_a_worker_killed_in_the_middle_of_a_post_does_not_lose_the_delivery(
    service: Service, tmp_path: Path
) -> None:
    env = {"CLIPFORGE_WEBHOOK_TIMEOUT_SECONDS": "5", "CLIPFORGE_WEBHOOK_RETRY_DELAYS": "[0.5]"}
    with Receiver(hold_first=True) as receiver:
        created = await register(service, f"{receiver.url}/hook")
        async with worker_processes(service.settings, 2, tmp_path, **env) as workers:
            job_id = await cancelled_job(service)
            assert await asyncio.to_thread(receiver.arrived.wait, 30), "no delivery arrived"
            (delivery,) = await deliveries(service, job_id)
            engine = create_engine(service.settings.resolved_database_url)
            try:
                async with session_factory(engine)() as session:
                    row = await webhook_repo.get_delivery(session, delivery["id"])
            finally:
                await engine.dispose()
            assert row is not None and row.lease_owner is not None
            pid = int(row.lease_owner.split(":")[1])
            victim = next(w for w in workers if w.pid == pid)  # one of this test's workers, no one else's
            victim.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            for _ in range(600):  # the lease (timeout + 10 s) lapses, the other worker's reconciler sweeps
                (delivery,) = await deliveries(service, job_id)
                if delivery["status"] != "PENDING":
                    break
                await asyncio.sleep(0.1)
            recovered_in = time.monotonic() - killed_at
        messages = receiver.verified(created["secret"])
    assert delivery["status"] == "DELIVERED", delivery
    assert len(receiver.received) == 2 and messages[0] == messages[1]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same message, twice
    assert delivery["id"] == receiver.received[0].headers["webhook-id"]
    first, second = delivery["attempts"]
    assert (first["number"], first["statusCode"], first["error"]) == (1, None, LOST)
    assert (second["number"], second["statusCode"], second["error"]) == (2, 200, None)
    print(f"\ndelivered again {recovered_in:.1f} s after its worker was killed (lease 15 s)")
