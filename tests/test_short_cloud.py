"""Shorts on cloud providers, against a local server speaking OpenAI's documented Chat Completions and image
generation (tests.openai_fake): the real clients, retries, ledger and cost rows run. Every fault is injected
for real: a render that runs out of memory, a model writing a bad storyboard twice, an image refused by the
provider, a slow model, too many calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from clipforge.worker import WorkerResources
from db import ledger
from db.engine import session_factory
from jobs import queue
from jobs.worker import create_worker
from tests.factory import COLOURS, jpeg, wav
from tests.openai_fake import FakeOpenAI
from tests.service import MediaServer, Service
from tests.test_short_e2e import DONE, create

pytestmark = [
    pytest.mark.slow,  # real renders and worker processes: `make test`, not `make test-fast`
    # They prove the media, not the database: on SQLite only (database behaviour is tested on both).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

PLAN = {
    "title": "Octopus minds",
    "logline": "How octopuses think with their arms",
    "tone": "playful",
    "format": "explainer",
    "audience": "teens",
    "hooks": ["Eight arms. Nine brains.", "Smarter than you think.", "Meet the escape artist."],
    "outline": ["Jar escape", "Arms that think", "Colour talk"],
}
BOARD = {
    "title": "Octopus minds",
    "scenes": [
        {"visualPrompt": "an octopus opening a jar", "narration": "Eight arms. Nine brains.",
         "onScreenText": "Nine brains", "duration": 3.5},
        {"visualPrompt": "an arm curling", "narration": "Each arm can taste and decide.",
         "onScreenText": "Arms that think", "duration": 4},
        {"visualPrompt": "skin changing colour", "narration": "Its skin talks in colour.",
         "onScreenText": "Colour talk", "duration": 4},
        {"visualPrompt": "a reef at dusk", "narration": "Follow for more.", "onScreenText": "Follow",
         "duration": 3.5},
    ],
}  # fmt: skip
ME = "{ me { credits } }"
RETRY = (
    "mutation($id: ID!) { retryJob(id: $id) { __typename ... on Job { status } ... on Problem { code } } }"
)
COSTED = (
    "query($id: ID!) { job(id: $id) { creditsCharged costUsd stages { name attempts costUsd warnings } } }"
)
EXPAND = """mutation($input: ExpandIdeaInput!) { expandIdea(input: $input) { __typename
  ... on IdeaExpansion { title logline tone format audience hooks outline }
  ... on RateLimited { code message retryAfterSeconds }
  ... on Problem { code message } } }"""


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(writers={"video_plan": PLAN, "storyboard": BOARD}) as fake:
        yield fake


@pytest.fixture(autouse=True)
async def credits(engine: AsyncEngine) -> None:
    """The local user starts with nothing in the tests; the paid pictures need a few credits."""
    async with session_factory(engine).begin() as session:
        await ledger.grant(session, user_id="local", credits=20, note="test")


@pytest.fixture
def settings(settings: Settings, openai: FakeOpenAI) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "image_provider": "openai",
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": openai.url,
            "render_preset": "ultrafast",
            "expand_per_minute": 2,
            "expand_timeout_seconds": 1.0,
        }
    )


async def drain(settings: Settings) -> None:
    """An arq worker in burst mode built from these settings (a fault can be one setting away)."""
    resources = WorkerResources(settings)
    redis = await queue.connect(str(settings.redis_url))
    worker = create_worker(redis, resources.build, resources.close, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()


async def job_of(service: Service, job_id: str, query: str = DONE) -> dict[str, Any]:
    body = await service.gql(query, {"id": job_id})
    job: dict[str, Any] = body["data"]["job"]
    return job


async def test_a_retry_after_a_failed_render_resumes_without_paying_for_any_picture_again(
    service: Service, openai: FakeOpenAI
) -> None:
    credits = (await service.gql(ME))["data"]["me"]["credits"]
    created = await create(service, idea="octopus brains", durationSeconds=15, preview=True)
    assert created["__typename"] == "Job", created
    # The fault, for real: a render process whose address space cannot hold the renderer.
    await drain(service.settings.model_copy(update={"render_memory_limit_mb": 40}))
    failed = await job_of(service, created["id"])
    assert failed["status"] == "FAILED" and failed["stage"] == "rendering", failed
    assert failed["error"]["code"] in ("RENDER_OUT_OF_MEMORY", "RENDER_FAILED"), failed["error"]
    assert len(openai.calls("images/generations")) == 4  # one picture per scene, paid for
    assert len(openai.calls("chat/completions")) == 2  # the plan, the storyboard

    retried = (await service.gql(RETRY, {"id": created["id"]}))["data"]["retryJob"]
    assert retried == {"__typename": "Job", "status": "QUEUED"}
    await drain(service.settings)
    job = await job_of(service, created["id"], COSTED)
    done = await job_of(service, created["id"])
    assert done["status"] == "COMPLETED", done
    # Nothing before the render ran again: no second picture, no second model call, no second charge.
    assert len(openai.calls("images/generations")) == 4 and len(openai.calls("chat/completions")) == 2
    attempts = {s["name"]: s["attempts"] for s in job["stages"]}
    assert attempts == {"drafting": 1, "assets": 1, "audio": 1, "rendering": 2, "ready": 1}
    assert job["creditsCharged"] == 4
    assert (await service.gql(ME))["data"]["me"]["credits"] == credits - 4
    costs = {s["name"]: s["costUsd"] for s in job["stages"]}
    assert costs["drafting"] > 0 and costs["assets"] > 0  # tokens and images, priced once
    # The storyboard is the model's, each scene's picture the provider's.
    kinds = [a["kind"] for a in done["artifacts"]]
    assert kinds.count("image") == kinds.count("frame") == 4
    prompts = [body["prompt"] for body in openai.calls("images/generations")]
    assert sorted(prompts) == sorted(s["visualPrompt"] for s in BOARD["scenes"])


async def test_a_picture_the_provider_refuses_is_drawn_offline_and_its_credit_given_back(
    service: Service, openai: FakeOpenAI
) -> None:
    openai.image_status = 400  # the documented moderation refusal: not retried
    credits = (await service.gql(ME))["data"]["me"]["credits"]
    created = await create(service, idea="octopus brains", durationSeconds=15, preview=True)
    await drain(service.settings)
    job = await job_of(service, created["id"], COSTED)
    assert (await job_of(service, created["id"]))["status"] == "COMPLETED"
    warnings = next(s["warnings"] for s in job["stages"] if s["name"] == "assets")
    assert len(warnings) == 4 and all("drawn offline instead" in w for w in warnings), warnings
    assert job["creditsCharged"] == 0
    assert (await service.gql(ME))["data"]["me"]["credits"] == credits


async def test_a_model_that_writes_a_bad_storyboard_twice_fails_drafting_with_script_invalid(
    service: Service, openai: FakeOpenAI
) -> None:
    wordy = {
        **BOARD,
        "scenes": [{**s, "onScreenText": "far too many words to read on a phone"} for s in BOARD["scenes"]],
    }
    openai.writers["storyboard"] = wordy
    created = await create(service, idea="octopus brains", durationSeconds=15)
    await drain(service.settings)
    job = await job_of(service, created["id"])
    assert (job["status"], job["stage"], job["error"]["code"]) == ("FAILED", "drafting", "SCRIPT_INVALID")
    assert "onScreenText" in job["error"]["message"]
    asked = openai.calls("chat/completions")
    assert len(asked) == 3  # the plan, the storyboard, the storyboard again with its problems
    assert "scenes[0].onScreenText" in json.dumps(asked[2]["messages"][-1])
    assert openai.calls("images/generations") == []


async def test_a_users_storyboard_is_rendered_as_given_with_their_pictures_and_music(
    service: Service, openai: FakeOpenAI, tmp_path: Path
) -> None:
    files = {
        "/red.jpg": (jpeg(COLOURS[0], (720, 1280)), "image/jpeg"),
        "/bed.wav": (wav(2.0, 330.0), "audio/wav"),
    }
    with MediaServer(files) as media:
        board = BOARD
        body = await service.gql(
            """mutation($board: JSON!, $blue: Upload!) { createShort(input: {storyboard: $board,
                imageUrls: ["%s/red.jpg"], images: [$blue], musicUrl: "%s/bed.wav"}) {
                __typename ... on Job { id } ... on Problem { code message } } }"""  # noqa: UP031
            % (media.url, media.url),
            {"board": board, "blue": None},
            files={"variables.blue": jpeg(COLOURS[2], (720, 1280))},
        )
        created = body["data"]["createShort"]
        assert created["__typename"] == "Job", body
        await drain(service.settings)
    job = await job_of(service, created["id"])
    assert job["status"] == "COMPLETED", job
    assert openai.calls("chat/completions") == []  # drafting asked nobody: the storyboard is the user's
    assert len(openai.calls("images/generations")) == 2  # only the scenes without a picture of theirs

    def artifact(kind: str) -> list[dict[str, Any]]:
        return [a for a in job["artifacts"] if a["kind"] == kind]

    stored = json.loads((await service.http.get(artifact("storyboard")[0]["url"])).content)
    assert stored == board  # as given, field for field
    assert artifact("expansion") == []
    assert artifact("music")[0]["contentType"] == "audio/wav"  # theirs, as fetched
    video = tmp_path / "short.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    starts = [0.0, 3.5, 7.5]
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 10)
        duration = float(container.duration or 0) / 1e6
        wanted = {round((s + 1.0) * fps): k for k, s in enumerate(starts)}
        seen = {
            wanted[i]: f.to_ndarray(format="rgb24")
            for i, f in enumerate(container.decode(stream))
            if i in wanted
        }
    assert duration == pytest.approx(15.0, abs=0.1)
    for k, colour in ((0, COLOURS[0]), (1, COLOURS[2])):
        h = seen[k].shape[0]
        middle = seen[k][int(h * 0.42) : int(h * 0.55)].reshape(-1, 3).mean(axis=0)  # below the headline
        assert np.abs(middle - np.array(colour)).max() < 45, (k, middle)
    assert np.abs(seen[2][int(seen[2].shape[0] * 0.42) :].reshape(-1, 3).mean(axis=0) - COLOURS[0]).max() > 45


async def test_expand_idea_on_a_cloud_model_is_rate_limited_per_user(
    service: Service, openai: FakeOpenAI
) -> None:
    # The API allows 2 calls a minute here (the settings fixture).
    answers = [
        (await service.gql(EXPAND, {"input": {"idea": "octopus brains"}}))["data"]["expandIdea"]
        for _ in range(3)
    ]
    assert [a["__typename"] for a in answers] == ["IdeaExpansion", "IdeaExpansion", "RateLimited"]
    assert answers[0]["hooks"] == PLAN["hooks"] and answers[0]["tone"] == "playful"
    assert answers[2]["code"] == "RATE_LIMITED" and 1 <= answers[2]["retryAfterSeconds"] <= 60
    assert len(openai.calls("chat/completions")) == 2  # the third never reached the model


async def test_expand_idea_gives_up_on_a_slow_model_with_a_typed_error(
    service: Service, openai: FakeOpenAI
) -> None:
    openai.delay_seconds = 3.0
    answer = (await service.gql(EXPAND, {"input": {"idea": "octopus brains"}}))["data"]["expandIdea"]
    assert (answer["__typename"], answer["code"]) == ("ServiceUnavailable", "EXPAND_TIMEOUT")
