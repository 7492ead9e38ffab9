"""A slideshow from mutation to MP4, the way a frontend does it: create, subscribe, watch it finish,
then download the video and check what is in it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.timeline.model import ImageClip, Timeline
from tests.factory import COLOURS, jpeg, wav
from tests.service import MediaServer, Service

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """
mutation($input: SlideshowInput!) {
  createSlideshow(input: $input) {
    __typename
    ... on Job { id status }
    ... on InvalidInput { code message }
  }
}"""
PROGRESS = """subscription($id: ID!) {
  jobProgress(jobId: $id) { seq status stage stageIndex stageCount progress message etaSeconds at }
}"""
DONE = """query($id: ID!) { job(id: $id) {
  status videoUrl thumbnailUrl error { code message }
  stages { name status attempts startedAt finishedAt }
  artifacts { kind url contentType bytes stage } } }"""


async def watch(service: Service, job_id: str) -> list[dict[str, Any]]:
    """Subscribe first, then run the worker, collecting every event until the stream completes."""
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for message in service.subscribe(PROGRESS, {"id": job_id}):
            assert "errors" not in message, message
            events.append(message["data"]["jobProgress"])

    collector = asyncio.create_task(collect())
    for _ in range(100):  # the snapshot arrives once the subscription is live
        if events:
            break
        await asyncio.sleep(0.05)
    await service.drain_queue()
    await asyncio.wait_for(collector, 60)
    return events


def mean_rgb(frame: av.VideoFrame) -> np.ndarray:
    """Mean colour of the frame's centre, where the picture is (a landscape photo in a portrait frame
    sits on a darkened, blurred fill of itself)."""
    rgb = frame.to_ndarray(format="rgb24")
    h, w = rgb.shape[:2]
    return rgb[h * 2 // 5 : h * 3 // 5, w // 4 : w * 3 // 4].reshape(-1, 3).mean(axis=0)


async def test_slideshow_from_urls_streams_progress_and_yields_a_playable_mp4(
    service: Service, tmp_path: Path
) -> None:
    colours = COLOURS[:3]
    files = {f"/img{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(colours)}
    files["/music.wav"] = (wav(2.0), "audio/wav")
    with MediaServer(files) as media:
        created = (
            await service.gql(
                CREATE,
                {
                    "input": {
                        "imageUrls": [f"{media.url}/img{i}.jpg" for i in range(3)],
                        "audioUrl": f"{media.url}/music.wav",
                        "size": "1080x1920",
                        "secondsPerImage": 1.5,
                        "transitionSeconds": 0.4,
                    }
                },
            )
        )["data"]["createSlideshow"]
        assert created["__typename"] == "Job", created
        events = await watch(service, created["id"])

    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert events[0]["status"] == "QUEUED"
    assert events[-1]["status"] == "COMPLETED" and events[-1]["progress"] == 100
    assert {e["stage"] for e in events} >= {"fetch", "compose", "render", "store", "finalize"}
    assert all(e["stageCount"] == 5 and e["at"] for e in events)
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert any("frame" in e["message"] for e in events)  # render progress comes from encoded frames

    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "COMPLETED" and job["error"] is None
    assert [(s["name"], s["status"], s["attempts"]) for s in job["stages"]] == [
        ("fetch", "DONE", 1), ("compose", "DONE", 1), ("render", "DONE", 1), ("store", "DONE", 1),
        ("finalize", "DONE", 1),
    ]  # fmt: skip
    kinds = sorted(a["kind"] for a in job["artifacts"])
    assert kinds == ["input", "input", "input", "input", "manifest", "thumbnail", "video"]

    manifest_url = next(a["url"] for a in job["artifacts"] if a["kind"] == "manifest")
    manifest = Timeline.model_validate_json((await service.http.get(manifest_url)).content)
    assert [str(c.source) for c in manifest.tracks[0].clips if isinstance(c, ImageClip)] == [
        f"jobs/{created['id']}/inputs/image-{i:02d}.jpg" for i in range(3)
    ]  # the slideshow is a timeline like every other job, kept as its manifest

    video = tmp_path / "out.mp4"
    response = await service.http.get(job["videoUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    video.write_bytes(response.content)
    thumb = await service.http.get(job["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"

    with av.open(str(video)) as container:
        vstream = container.streams.video[0]
        astream = container.streams.audio[0]
        assert vstream.codec_context.name == "h264" and vstream.codec_context.pix_fmt == "yuv420p"
        assert (vstream.codec_context.width, vstream.codec_context.height) == (1080, 1920)
        assert astream.codec_context.name == "aac"
        assert container.duration is not None
        assert abs(container.duration / 1_000_000 - 4.5) < 0.15
        frames = list(container.decode(vstream))
    assert abs(len(frames) - 45) <= 1  # 3 images x 1.5 s x 10 fps
    for k, colour in enumerate(colours):
        middle = frames[int((k + 0.5) * 15)]
        assert np.abs(mean_rgb(middle) - np.array(colour)).max() < 40, (k, mean_rgb(middle), colour)


async def test_uploaded_images_work_like_urls(service: Service, tmp_path: Path) -> None:
    files = {f"variables.input.images.{i}": jpeg(c) for i, c in enumerate(COLOURS[:2])}
    body = await service.gql(
        CREATE,
        {
            "input": {
                "images": [None, None],
                "size": "1080x1080",
                "secondsPerImage": 1.0,
                "transitionSeconds": 0,
            }
        },
        files=files,
    )
    created = body["data"]["createSlideshow"]
    assert created["__typename"] == "Job", body
    await service.drain_queue()
    job = (await service.gql(DONE, {"id": created["id"]}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    video = tmp_path / "up.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        frames = list(container.decode(video=0))
        assert container.streams.audio  # a silent track when no audio was given
    assert (frames[0].width, frames[0].height) == (1080, 1080)
    assert np.abs(mean_rgb(frames[5]) - np.array(COLOURS[0])).max() < 40


async def test_a_page_instead_of_an_image_fails_the_job_with_a_code_and_the_service_goes_on(
    service: Service,
) -> None:
    files = {
        "/page.jpg": (b"<!doctype html><html><body>hi</body></html>", "image/jpeg"),
        "/ok.jpg": (jpeg(COLOURS[0]), "image/jpeg"),
    }
    with MediaServer(files) as media:
        bad = (await service.gql(CREATE, {"input": {"imageUrls": [f"{media.url}/page.jpg"]}}))["data"]
        gone = (await service.gql(CREATE, {"input": {"imageUrls": ["http://127.0.0.1:9/closed.jpg"]}}))[
            "data"
        ]
        good = (
            await service.gql(
                CREATE,
                {"input": {"imageUrls": [f"{media.url}/ok.jpg"], "size": "1080x1080", "secondsPerImage": 1}},
            )
        )["data"]
        await service.drain_queue()
    results = {}
    for name, created in (("bad", bad), ("gone", gone), ("good", good)):
        job = (await service.gql(DONE, {"id": created["createSlideshow"]["id"]}))["data"]["job"]
        results[name] = (job["status"], job["error"]["code"] if job["error"] else None)
    assert results == {
        "bad": ("FAILED", "UNSUPPORTED_MEDIA"),
        "gone": ("FAILED", "FETCH_FAILED"),
        "good": ("COMPLETED", None),
    }
    failed = (await service.gql(DONE, {"id": bad["createSlideshow"]["id"]}))["data"]["job"]
    assert "HTML" in failed["error"]["message"] and "image" in failed["error"]["message"]
    assert failed["stages"][0]["status"] == "FAILED"


async def test_cancelling_during_the_render_kills_the_render_process(service: Service) -> None:
    files = {"/a.jpg": (jpeg(COLOURS[0]), "image/jpeg")}
    with MediaServer(files) as media:
        inp = {"imageUrls": [f"{media.url}/a.jpg"] * 3, "secondsPerImage": 30, "transitionSeconds": 0}
        job_id = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]["id"]
        worker = asyncio.create_task(service.drain_queue())
        async for message in service.subscribe(PROGRESS, {"id": job_id}):
            if "frame" in message["data"]["jobProgress"]["message"]:
                break  # the render child is encoding now
        cancel = "mutation($id: ID!) { cancelJob(id: $id) { ... on Job { status } } }"
        assert (await service.gql(cancel, {"id": job_id}))["data"]["cancelJob"] == {"status": "CANCELLED"}
        await asyncio.wait_for(worker, 20)  # the worker stops the stage instead of rendering 90 s of video
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "CANCELLED" and job["videoUrl"] is None
    pgrep = await asyncio.create_subprocess_exec(
        "pgrep", "-f", f"media.render .*{job_id}", stdout=asyncio.subprocess.PIPE
    )
    assert (await pgrep.communicate())[0] == b""
