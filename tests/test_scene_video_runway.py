"""The scene video with Runway, exactly once under faults. Workers (in-process, or real `clipforge worker`
processes) build their own Runway clients from settings and talk to a local HTTP server playing Runway's
documented API (tests/runway_fake.py) through CLIPFORGE_RUNWAY_BASE_URL.

- a job made by Runway: THROTTLED shown as "queued at provider", a 429 waited out, the two retired ratios
  fitted, the USD cost at list price per stage, credits charged once;
- a worker SIGKILLed while it polls Runway: the next one polls the same task, nothing is paid twice;
- refused content, then retryJob: the finished image is neither made nor charged again;
- 20 jobs racing for credits enough for 5: exactly 5 charged, the balance never below zero.

Every test checks that the ledger sums to the balance.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from clipforge.worker import WorkerResources
from db import ledger
from db.engine import session_factory
from db.tables import Hold
from jobs import queue
from jobs.worker import create_worker
from tests.runway_fake import KEY, FakeRunway, RunwayServer, failed, succeeded
from tests.service import Service, running_service
from tests.test_faults import lease_owner
from tests.test_scenes import SCENARIO, SCENE, VIDEO
from tests.test_slideshow_e2e import watch
from tests.workers import worker_processes

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts" / "scene_video"
pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

JOB = """query($id: ID!) { job(id: $id) { status creditsCharged costUsd videoUrl error { code message }
  stages { name status attempts costUsd } artifacts { kind } } }"""
RETRY = "mutation($id: ID!) { retryJob(id: $id) { __typename ... on Job { status } } }"
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage progress message } }"
THROTTLED = [
    {"status": "PENDING"},
    {"status": "THROTTLED"},
    {"status": "RUNNING", "progress": 0.5},
    succeeded(),
]


@pytest.fixture
def runway() -> Iterator[RunwayServer]:
    with RunwayServer(FakeRunway()) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, runway: RunwayServer) -> Settings:
    return settings.model_copy(
        update={
            "image_gen_provider": "runway",
            "image_to_video_provider": "runway",
            "runway_api_key": SecretStr(KEY),
            "runway_base_url": runway.url,
            "runway_poll_seconds": 0.05,
            "progress_events_per_second": 1e6,
        }
    )


async def books(engine: AsyncEngine, user: str = "local") -> tuple[int, int, list[tuple[str, str]]]:
    """(balance, what the ledger's entries sum to, each paid entry's (action, status))."""
    async with session_factory(engine)() as s:
        balance = await ledger.balance(s, user)
        entries = await ledger.entries(s, user_id=user, limit=1000)
    total = sum(e.credits if e.status == Hold.GRANTED else 0 if e.status == Hold.RELEASED else -e.credits
                for e in entries)  # fmt: skip
    return balance, total, sorted((e.action, e.status) for e in entries if e.job_id)


async def grant(engine: AsyncEngine, credits: int) -> None:
    async with session_factory(engine).begin() as s:
        await ledger.grant(s, user_id="local", credits=credits)


async def new_scene(service: Service, resolution: str, duration: int = 3) -> str:
    made = await service.gql(SCENARIO, {"i": {"name": "Kettle", "resolution": resolution}})
    shot = await service.gql(SCENE, {"i": {
        "scenarioId": made["data"]["createScenario"]["id"], "duration": duration,
        "imagePrompt": "A red kettle on an oak table", "visualPrompt": "steam rising"}})  # fmt: skip
    scene_id: str = shot["data"]["createScene"]["id"]
    return scene_id


async def create(service: Service, scene_id: str) -> str:
    created = (await service.gql(VIDEO, {"i": {"sceneId": scene_id}}))["data"]["createSceneVideo"]
    assert created["__typename"] == "Job", created
    job_id: str = created["id"]
    return job_id


async def test_a_scene_made_by_runway_costs_its_list_price_and_charges_its_credits_once(
    service: Service, runway: RunwayServer, engine: AsyncEngine, tmp_path: Path
) -> None:
    await grant(engine, 20)
    fake = runway.fake
    fake.next_tasks("text_to_image", THROTTLED)
    fake.next_tasks("image_to_video", THROTTLED)
    fake.refuse_posts = [429]  # the first start is refused once, then accepted
    job_id = await create(service, await new_scene(service, "1280:768"))
    events = await watch(service, job_id)
    messages = [(e["stage"], e["message"].split(": ", 1)[-1]) for e in events]
    for stage in ("image", "video"):
        assert (stage, "queued at provider") in messages and (stage, "waiting at provider") in messages
    job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    # gen4_image at 1920:1080 is 8 Runway credits ($0.08); gen4_turbo 3 s at 5 a second ($0.15).
    costs = {s["name"]: s["costUsd"] for s in job["stages"]}
    assert costs == {"initialize": 0.0, "scene": 0.0, "image": 0.08, "video": 0.15, "finalize": 0.0}
    assert job["costUsd"] == pytest.approx(0.23) and job["creditsCharged"] == 6
    assert fake.posts == {"text_to_image": 1, "image_to_video": 1}
    assert sorted(a["kind"] for a in job["artifacts"]) == ["generated", "image", "manifest", "video"]
    video = tmp_path / "scene.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:  # Runway made 1280:720; the scene asked for 1280:768
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 768)
        assert abs(float(container.duration or 0) / 1e6 - 3.0) < 0.15
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(container.decode(video=0)):
            if index in (0, 29):  # the vendor's bar sweeping left to right, fitted (cover) to 1280x768
                frame.to_image().save(ARTIFACTS / f"runway_fitted_{index:02d}.png")
    assert await books(engine) == (14, 14, [("generate_image", "CHARGED"), ("generate_scene", "CHARGED")])


async def test_refused_content_then_retry_job_makes_a_new_video_and_charges_the_image_once(
    service: Service, runway: RunwayServer, engine: AsyncEngine
) -> None:
    await grant(engine, 20)
    fake = runway.fake
    fake.next_tasks("image_to_video", [failed("SAFETY.INPUT.TEXT", "The text prompt was flagged")])
    job_id = await create(service, await new_scene(service, "720:1280", duration=2))
    await service.drain_queue()
    job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    assert job["status"] == "FAILED" and job["error"]["code"] == "CONTENT_REJECTED", job
    assert "SAFETY.INPUT.TEXT" in job["error"]["message"] and "flagged" in job["error"]["message"]
    assert fake.posts["image_to_video"] == 1  # refused content is not tried again by itself
    assert job["creditsCharged"] == 1 and job["costUsd"] == pytest.approx(0.08)
    assert await books(engine) == (19, 19, [("generate_image", "CHARGED"), ("generate_scene", "RELEASED")])

    retried = (await service.gql(RETRY, {"id": job_id}))["data"]["retryJob"]
    assert retried == {"__typename": "Job", "status": "QUEUED"}
    await service.drain_queue()
    job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    attempts = {s["name"]: s["attempts"] for s in job["stages"]}
    assert attempts == {"initialize": 1, "scene": 1, "image": 1, "video": 2, "finalize": 1}
    assert fake.posts == {"text_to_image": 1, "image_to_video": 2}  # a new video task; the image kept
    assert job["creditsCharged"] == 6 and job["costUsd"] == pytest.approx(0.08 + 0.10)
    assert await books(engine) == (14, 14, [("generate_image", "CHARGED"), ("generate_scene", "CHARGED")])


async def test_a_worker_killed_while_polling_runway_is_followed_by_one_polling_the_same_task(
    service: Service, runway: RunwayServer, engine: AsyncEngine, tmp_path: Path
) -> None:
    await grant(engine, 20)
    fake = runway.fake
    fake.held.add("image_to_video")  # the video task keeps running until the first worker is dead
    s = service.settings
    env = {
        "CLIPFORGE_IMAGE_GEN_PROVIDER": "runway",
        "CLIPFORGE_IMAGE_TO_VIDEO_PROVIDER": "runway",
        "CLIPFORGE_RUNWAY_API_KEY": KEY,
        "CLIPFORGE_RUNWAY_BASE_URL": runway.url,
        "CLIPFORGE_RUNWAY_POLL_SECONDS": "0.1",
        "CLIPFORGE_PROGRESS_EVENTS_PER_SECOND": "20",
    }
    events: list[dict[str, Any]] = []
    polls_before = 0
    async with worker_processes(s, 2, tmp_path, **env) as workers:
        job_id = await create(service, await new_scene(service, "960:960", duration=2))
        killed = False
        async for message in service.subscribe(PROGRESS, {"id": job_id}, limit_seconds=90):
            event = message["data"]["jobProgress"]
            events.append(event)
            if not killed and event["stage"] == "video" and "generating at provider" in event["message"]:
                # Runway has answered with the task id, which is kept; now the worker dies mid-poll.
                owner = await lease_owner(service, job_id)
                assert owner is not None
                victim = next(w for w in workers if w.pid == int(owner.split(":")[1]))
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
                killed = True
                polls_before = sum(fake.polls_of("image_to_video").values())
                fake.held.discard("image_to_video")  # the task finishes while nobody is polling
    assert killed and events[-1]["status"] == "COMPLETED", events[-3:]
    assert any("worker lost" in e["message"] for e in events)
    [(task, polls)] = fake.polls_of("image_to_video").items()
    assert fake.posts == {"text_to_image": 1, "image_to_video": 1} and polls > polls_before
    job = (await service.gql(JOB, {"id": job_id}))["data"]["job"]
    assert {s["name"]: s["attempts"] for s in job["stages"]}["video"] == 2
    assert job["creditsCharged"] == 6 and job["costUsd"] == pytest.approx(0.08 + 0.10)
    assert await books(engine) == (14, 14, [("generate_image", "CHARGED"), ("generate_scene", "CHARGED")])


async def test_twenty_jobs_racing_for_credits_enough_for_five_charge_exactly_five(
    settings: Settings, engine: AsyncEngine
) -> None:
    prices = {"generate_image@offline": 0, "generate_scene@offline": 1}
    offline = settings.model_copy(
        update={
            "image_gen_provider": "offline",
            "image_to_video_provider": "offline",
            "credit_prices": prices,
        }
    )
    await grant(engine, 5)
    balances: list[int] = []
    async with running_service(offline) as service:
        scene = {"imagePrompt": "A kettle", "visualPrompt": "steam", "duration": 2}
        jobs = []
        for _ in range(20):  # each passes the up-front check: 1 credit needed, 5 in the balance
            created = await service.gql(VIDEO, {"i": {"scene": scene, "preview": True}})
            jobs.append(created["data"]["createSceneVideo"]["id"])

        async def sample() -> None:
            for _ in range(2000):  # bounded: 2000 × 50 ms
                balances.append((await books(engine))[0])
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        resources = WorkerResources(offline)
        redis = await queue.connect(str(offline.redis_url))
        worker = create_worker(
            redis, resources.build, resources.close, burst=True, handle_signals=False, concurrency=20
        )
        try:
            await asyncio.wait_for(worker.main(), 110)
        finally:
            await worker.close()
            sampler.cancel()
        query = "{ jobs(first: 20) { edges { node { status creditsCharged error { code } } } } }"
        nodes = [e["node"] for e in (await service.gql(query))["data"]["jobs"]["edges"]]
    outcomes = sorted((n["status"], (n["error"] or {}).get("code"), n["creditsCharged"]) for n in nodes)
    assert outcomes == [("COMPLETED", None, 1)] * 5 + [("FAILED", "INSUFFICIENT_CREDITS", 0)] * 15
    balance, total, paid = await books(engine)
    assert balance == total == 0 and balances and min(balances) >= 0
    scenes = [action for action, status in paid if action == "generate_scene" and status == "CHARGED"]
    assert len(scenes) == 5 and not [p for p in paid if p[1] == "HELD"]
