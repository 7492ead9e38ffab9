"""A short's pictures from Runway's text to image (CLIPFORGE_IMAGE_GEN_PROVIDER=runway), against the local
server speaking Runway's documented API (tests/runway_fake.py): a paid picture per scene at the frame's
ratio, a refused one drawn offline with its credit given back, and a balance that cannot cover the pictures
refused before anything is queued."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import av
import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db import ledger
from db.engine import session_factory
from tests.runway_fake import KEY, FakeRunway, RunwayServer, failed, succeeded
from tests.service import Service
from tests.test_short_e2e import DONE

pytestmark = [
    pytest.mark.slow,  # real renders and worker processes: `make test`, not `make test-fast`
    # They prove the media, not the database: on SQLite only (database behaviour is tested on both).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CREATE = """mutation($input: ShortInput!) { createShort(input: $input) { __typename ... on Job { id }
  ... on InsufficientCredits { code required balance } ... on Problem { code message } } }"""
CHARGED = "query($id: ID!) { job(id: $id) { creditsCharged stages { name warnings } } }"
IDEA = "Why octopuses are smarter than you think"


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
            "render_preset": "ultrafast",
        }
    )


async def grant(engine: AsyncEngine, credits: int) -> None:
    async with session_factory(engine).begin() as session:
        await ledger.grant(session, user_id="local", credits=credits, note="test")


async def test_each_scene_is_painted_by_runway_once_and_paid_for_once(
    service: Service, runway: RunwayServer, engine: AsyncEngine
) -> None:
    await grant(engine, 10)
    # The third picture is refused by Runway's moderation: that scene is drawn offline, its credit back.
    runway.fake.next_tasks("text_to_image", [succeeded()], [succeeded()], [failed("SAFETY.INPUT.TEXT")])
    body = await service.gql(CREATE, {"input": {"idea": IDEA, "durationSeconds": 15, "preview": True}})
    created = body["data"]["createShort"]
    assert created["__typename"] == "Job", body
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    board = json.loads((await service.http.get(
        next(a["url"] for a in job["artifacts"] if a["kind"] == "storyboard")
    )).content)  # fmt: skip
    scenes = len(board["scenes"])
    sent = [json.loads(r.content) for r in runway.fake.requests if r.url.path == "/v1/text_to_image"]
    assert len(sent) == scenes  # one task per scene; a refused one is not retried (SAFETY.* never is)
    assert {b["ratio"] for b in sent} == {"1080:1920"} and {b["model"] for b in sent} == {"gen4_image"}
    assert sorted(b["promptText"] for b in sent) == sorted(s["visualPrompt"] for s in board["scenes"])
    charged = (await service.gql(CHARGED, {"id": created["id"]}))["data"]["job"]
    assert charged["creditsCharged"] == scenes - 1
    warnings = next(s["warnings"] for s in charged["stages"] if s["name"] == "assets")
    assert len(warnings) == 1 and "runway" in warnings[0] and "drawn offline instead" in warnings[0]
    images = [a for a in job["artifacts"] if a["kind"] == "image"]
    assert len(images) == scenes and all("/public/" in a["url"] for a in images)  # shared images are public


async def test_a_balance_that_cannot_cover_the_pictures_is_refused_before_anything_is_queued(
    service: Service, runway: RunwayServer
) -> None:
    body = await service.gql(CREATE, {"input": {"idea": IDEA, "durationSeconds": 15}})
    refused = body["data"]["createShort"]
    assert (refused["__typename"], refused["code"], refused["balance"]) == (
        "InsufficientCredits",
        "INSUFFICIENT_CREDITS",
        0,
    )
    assert refused["required"] == 5  # a picture for each of the five scenes a 15 s short has
    assert runway.fake.requests == []
    jobs = await service.gql("{ jobs(first: 5) { edges { node { id } } } }")
    assert jobs["data"]["jobs"]["edges"] == []


async def test_with_motion_each_picture_becomes_a_runway_video_in_its_scene(
    service: Service, runway: RunwayServer, engine: AsyncEngine
) -> None:
    await grant(engine, 40)  # five pictures at 1 credit, five scene videos at 5
    variables = {"input": {"idea": IDEA, "durationSeconds": 15, "preview": True, "motion": True}}
    created = (await service.gql(CREATE, variables))["data"]["createShort"]
    assert created["__typename"] == "Job", created
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    asked = [json.loads(r.content) for r in runway.fake.requests if r.url.path == "/v1/image_to_video"]
    assert len(asked) == 5
    assert {b["ratio"] for b in asked} == {"720:1280"} and all(2 <= b["duration"] <= 10 for b in asked)
    assert all(b["promptImage"].startswith("data:image/") for b in asked)  # each scene's own picture
    assert [a["kind"] for a in job["artifacts"]].count("clip") == 5
    manifest = json.loads((await service.http.get(
        next(a["url"] for a in job["artifacts"] if a["kind"] == "manifest")
    )).content)  # fmt: skip
    assert [c["type"] for c in manifest["tracks"][0]["clips"]] == ["video"] * 5
    charged = (await service.gql(CHARGED, {"id": created["id"]}))["data"]["job"]
    assert charged["creditsCharged"] == 5 * 1 + 5 * 5
    # On screen: Runway's video (teal, a white bar sweeping across), not the picture it was made from.
    body = (await service.http.get(job["videoUrl"])).content
    with av.open(io.BytesIO(body)) as container:
        stream = container.streams.video[0]
        wanted = round((manifest["tracks"][0]["clips"][1]["start"] + 1.5) * float(stream.average_rate or 10))
        rgb = next(f for k, f in enumerate(container.decode(stream)) if k == wanted).to_ndarray(
            format="rgb24"
        )
    band = rgb[int(rgb.shape[0] * 0.42) : int(rgb.shape[0] * 0.55)].reshape(-1, 3)
    assert np.abs(np.median(band, axis=0) - np.array([20, 140, 140])).max() < 40, np.median(band, axis=0)
