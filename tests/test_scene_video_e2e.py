"""The AI scene video end to end with the offline providers, the way a frontend does it: a scenario and a
scene made by mutation, createSceneVideo, a subscriber watching the seed's progress steps in order, then the
public image, the signed video (and what a tampered or expired link gets), the scene row, and the credits
charged once.

Offline providers are priced here (1 credit an image, 5 a video) so the ledger has something to show.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import av
import numpy as np
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db import ledger, repo
from db.engine import session_factory
from db.ids import new_id
from media.storage.local import LocalStorage
from tests.factory import jpeg
from tests.service import MediaServer, Service, running_service
from tests.test_scenes import SCENARIO, SCENE, VIDEO
from tests.test_slideshow_e2e import watch

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts" / "scene_video"
DONE = """query($id: ID!, $scene: ID!) {
  job(id: $id) { status videoUrl thumbnailUrl creditsCharged costUsd error { code message }
    stages { name status warnings costUsd } artifacts { kind url contentType } }
  scene(id: $scene) { status imageUrl videoUrl jobId } }"""
ME = "{ me { credits ledger(first: 10) { edges { node { action credits change status jobId stage } } } } }"
PRICES = {"generate_image@offline": 1, "generate_scene@offline": 5}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Every progress step reaches the subscriber (the default coalesces to 4 a second).
    return settings.model_copy(update={"credit_prices": PRICES, "progress_events_per_second": 1e6})


async def grant(engine: AsyncEngine, credits: int) -> None:
    async with session_factory(engine).begin() as s:
        await ledger.grant(s, user_id="local", credits=credits, note="test")


async def ledger_sums_to_the_balance(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as s:
        balance = await ledger.balance(s, "local")
        entries = await ledger.entries(s, user_id="local", limit=1000)
    changes = {"GRANTED": 1, "RELEASED": 0, "HELD": -1, "CHARGED": -1}
    assert sum(changes[e.status] * e.credits for e in entries) == balance
    return balance


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def save_frames(video: Path, picks: dict[int, str]) -> dict[int, np.ndarray]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    frames: dict[int, np.ndarray] = {}
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in picks:
                frame.to_image().save(ARTIFACTS / picks[index])
                frames[index] = frame.to_ndarray(format="rgb24").astype(np.float32)
    return frames


async def test_a_stored_scene_becomes_a_public_image_and_a_signed_video_charged_once(
    service: Service, engine: AsyncEngine, tmp_path: Path
) -> None:
    await grant(engine, 20)
    made = (await service.gql(SCENARIO, {"i": {"name": "Kettle", "resolution": "1280:720"}}))["data"]
    shot = await service.gql(SCENE, {"i": {
        "scenarioId": made["createScenario"]["id"], "duration": 5,
        "imagePrompt": "A red enamel kettle on an oak table, morning light through the window",
        "visualPrompt": "steam rising, the camera pulls back slowly"}})  # fmt: skip
    scene_id = shot["data"]["createScene"]["id"]
    created = (await service.gql(VIDEO, {"i": {"sceneId": scene_id}}))["data"]["createSceneVideo"]
    assert created["__typename"] == "Job", created
    events = await watch(service, created["id"])

    # The seed's steps, in order, each at its stage: 5, 15, 35 → 40, 70 → 75, 95, 100.
    steps = [(e["stage"], round(e["progress"], 1)) for e in events]
    seen = [e["progress"] for e in events]
    assert seen == sorted(seen) and events[-1]["status"] == "COMPLETED" and events[-1]["progress"] == 100
    for step in [("initialize", 5.0), ("scene", 15.0), ("image", 35.0), ("image", 40.0), ("video", 70.0),
                 ("video", 75.0), ("finalize", 95.0)]:  # fmt: skip
        assert step in steps, (step, steps)
    order = [steps.index(s) for s in [("scene", 15.0), ("image", 35.0), ("video", 70.0), ("finalize", 95.0)]]
    assert order == sorted(order)
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})

    body = await service.gql(DONE, {"id": created["id"], "scene": scene_id})
    job, scene = body["data"]["job"], body["data"]["scene"]
    assert job["status"] == "COMPLETED" and job["error"] is None, job
    assert all(s["warnings"] == [] for s in job["stages"]) and job["costUsd"] == 0.0
    assert job["creditsCharged"] == 6
    assert sorted(a["kind"] for a in job["artifacts"]) == ["image", "manifest", "video"]

    # The image: public, at generated_images/<user>/<uuid>.png, served without a signature.
    image_url = job["thumbnailUrl"]
    assert "/files/public/generated_images/local/" in image_url and "sig=" not in image_url
    assert image_url.endswith(".png")
    response = await service.http.get(image_url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    (tmp_path / "image.png").write_bytes(response.content)
    with Image.open(tmp_path / "image.png") as picture:
        assert picture.size == (1920, 1080)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        picture.save(ARTIFACTS / "image.png")

    # The video: private, at video-files/<user>/<uuid>.mp4, only through a signed link that expires in 1 h.
    video_url = job["videoUrl"]
    assert "/files/video-files/local/" in video_url
    expires = int(parse_qs(urlsplit(video_url).query)["exp"][0])
    assert 3590 <= expires - time.time() <= 3600
    response = await service.http.get(video_url)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    video = tmp_path / "scene.mp4"
    video.write_bytes(response.content)
    sig = parse_qs(urlsplit(video_url).query)["sig"][0]
    for bad in [
        video_url.split("?")[0],  # no signature at all
        with_query(video_url, sig=("0" if sig[0] != "0" else "1") + sig[1:]),  # tampered signature
        with_query(video_url, exp=str(expires + 3600)),  # a longer life it was never given
    ]:
        assert (await service.http.get(bad)).status_code == 403, bad
    key = urlsplit(video_url).path.removeprefix("/files/")
    settings = service.settings
    local = LocalStorage(settings.storage_root, settings.base_url, settings.secret_bytes())
    short = await local.url(key, expires_in=1)
    assert (await service.http.get(short)).status_code == 200
    await asyncio.sleep(2.1)
    assert (await service.http.get(short)).status_code == 403  # expired

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert abs(float(container.duration or 0) / 1e6 - 5.0) < 0.15
    frames = save_frames(video, {0: "video_first.png", 25: "video_middle.png", 49: "video_last.png"})
    assert sorted(frames) == [0, 25, 49]
    assert np.abs(frames[0] - frames[49]).mean() > 1.0  # the camera moved

    # The scene row took the job's status and media; its video link is signed afresh on each read.
    assert scene["status"] == "COMPLETED" and scene["jobId"] == created["id"]
    assert scene["imageUrl"] == image_url and urlsplit(scene["videoUrl"]).path == urlsplit(video_url).path
    assert (await service.http.get(scene["videoUrl"])).status_code == 200

    # Charged once: the ledger has one CHARGED row per paid action, and sums to the balance.
    await service.drain_queue()  # nothing left to run; a stray rerun would find the job finished
    me = (await service.gql(ME))["data"]["me"]
    nodes = [e["node"] for e in me["ledger"]["edges"]]
    paid = sorted((n["action"], n["credits"], n["status"], n["stage"]) for n in nodes if n["jobId"])
    assert paid == [("generate_image", 1, "CHARGED", "image"), ("generate_scene", 5, "CHARGED", "video")]
    assert me["credits"] == 14 == sum(n["change"] for n in nodes)


async def test_an_inline_scene_with_a_product_reference_and_no_resolution(
    service: Service, engine: AsyncEngine, tmp_path: Path
) -> None:
    await grant(engine, 6)
    bottle = jpeg((30, 70, 200), (600, 800))
    with MediaServer({"/bottle.jpg": (bottle, "image/jpeg")}) as media:
        scene = {"imagePrompt": "The bottle on a linen cloth", "visualPrompt": "slow pan left", "duration": 2,
                 "productReferenceImageUrl": f"{media.url}/bottle.jpg"}  # fmt: skip
        created = (await service.gql(VIDEO, {"i": {"scene": scene, "preview": True}}))["data"]
    job_id = created["createSceneVideo"]["id"]
    await service.drain_queue()  # the reference was downloaded up front: the media server is gone now
    query = """query($id: ID!) { job(id: $id) { status creditsCharged videoUrl thumbnailUrl
      stages { name warnings } artifacts { kind } } }"""
    job = (await service.gql(query, {"id": job_id}))["data"]["job"]
    assert job["status"] == "COMPLETED" and job["creditsCharged"] == 6, job
    warnings = {s["name"]: s["warnings"] for s in job["stages"]}
    assert warnings["initialize"] == ["the scenario has no resolution; using 720:1280"]
    assert "input" in {a["kind"] for a in job["artifacts"]}  # the reference, kept with the job
    picture = tmp_path / "image.png"
    picture.write_bytes((await service.http.get(job["thumbnailUrl"])).content)
    with Image.open(picture) as image:
        assert image.size == (1080, 1920)  # 720:1280's image ratio
        centre = np.asarray(image.convert("RGB"), np.float32)[860:1060, 440:640].mean(axis=(0, 1))
    assert centre[2] > 150 and centre[0] < 80, centre  # the blue bottle, fitted
    video = tmp_path / "preview.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (360, 640)  # a preview: half
    save_frames(video, {0: "inline_first.png", 19: "inline_last.png"})
    assert await ledger_sums_to_the_balance(engine) == 0


async def test_a_job_that_runs_short_mid_way_fails_with_insufficient_credits_and_keeps_what_it_did(
    settings: Settings, engine: AsyncEngine
) -> None:
    await grant(engine, 6)
    async with running_service(settings) as service:
        scene = {"imagePrompt": "A kettle", "visualPrompt": "steam", "duration": 2}
        job_id = (await service.gql(VIDEO, {"i": {"scene": scene, "preview": True}}))["data"]
        job_id = job_id["createSceneVideo"]["id"]
        other = new_id()
        async with session_factory(engine).begin() as s:  # another job takes 3 credits meanwhile
            await repo.create_job(s, job_id=other, user_id="local", kind="X", input={}, stages=[])
            await ledger.hold(
                s, user_id="local", job_id=other, stage="video", action="generate_scene", credits=3
            )
        await service.drain_queue()
        job = (await service.gql("""query($id: ID!) { job(id: $id) { status creditsCharged
          error { code message } stages { name status } } }""", {"id": job_id}))["data"]["job"]  # fmt: skip
    assert job["status"] == "FAILED" and job["error"]["code"] == "INSUFFICIENT_CREDITS", job
    assert "needs 5 credits and the balance is 2" in job["error"]["message"]
    assert [s["status"] for s in job["stages"]] == ["DONE", "DONE", "DONE", "FAILED", "PENDING"]
    assert job["creditsCharged"] == 1  # the image was made and is paid for; the video was not taken
    async with session_factory(engine)() as s:
        assert await ledger.balance(s, "local") == 2  # 6 - 1 (the image) - 3 (the other job's hold)
        entries = await ledger.entries(s, user_id="local", limit=10)
    ours = sorted((e.action, e.status) for e in entries if e.job_id == job_id)
    assert ours == [("generate_image", "CHARGED")]  # nothing held or charged for the step not taken
    assert await ledger_sums_to_the_balance(engine) == 2
