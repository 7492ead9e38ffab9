"""A slideshow with CLIPFORGE_STORAGE=supabase, end to end through the GraphQL API and a worker, against a
local server speaking Supabase Storage's API (tests/supabase_fake.py): every artifact in its bucket with its
content type, the video behind a signed URL minted on every read, the poster at a public URL."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from media.timeline.model import Timeline
from tests import supabase_fake
from tests.factory import COLOURS, jpeg, wav
from tests.service import MediaServer, Service
from tests.supabase_fake import SERVICE_KEY, SupabaseFake
from tests.test_slideshow_e2e import mean_rgb

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """mutation($input: SlideshowInput!) {
  createSlideshow(input: $input) { __typename ... on Job { id } ... on Problem { code message } } }"""
DONE = """query($id: ID!) { job(id: $id) {
  status videoUrl thumbnailUrl error { code message } stages { name status attempts }
  artifacts { kind url contentType bytes } } }"""


@pytest.fixture
async def fake() -> AsyncIterator[SupabaseFake]:
    async with supabase_fake.running() as served:
        yield served


@pytest.fixture
def settings(settings: Settings, fake: SupabaseFake) -> Settings:
    return settings.model_copy(
        update={
            "storage": "supabase",
            "supabase_url": fake.url,
            "supabase_service_role_key": SecretStr(SERVICE_KEY),
        }
    )


async def test_a_slideshow_stored_in_supabase_plays_from_its_signed_url(
    service: Service, fake: SupabaseFake, tmp_path: Path
) -> None:
    colours = COLOURS[:3]
    files = {f"/img{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(colours)}
    files["/music.wav"] = (wav(2.0), "audio/wav")
    with MediaServer(files) as media:
        inp = {
            "imageUrls": [f"{media.url}/img{i}.jpg" for i in range(3)],
            "audioUrl": f"{media.url}/music.wav",
            "size": "1080x1920",
            "secondsPerImage": 1.5,
            "transitionSeconds": 0.4,
        }
        created = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]
        assert created["__typename"] == "Job", created
        await service.drain_queue()
    job_id = created["id"]
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "COMPLETED", job

    # Where everything went, and with which content type (the client's default would be text/plain).
    stored = {f"{b}/{name}": o.content_type for (b, name), o in fake.objects.items()}
    assert stored == {
        f"video-files/jobs/{job_id}/inputs/image-00.jpg": "image/jpeg",
        f"video-files/jobs/{job_id}/inputs/image-01.jpg": "image/jpeg",
        f"video-files/jobs/{job_id}/inputs/image-02.jpg": "image/jpeg",
        f"video-files/jobs/{job_id}/inputs/audio.wav": "audio/wav",
        f"video-files/jobs/{job_id}/manifest.json": "application/json",
        f"video-files/jobs/{job_id}/video.mp4": "video/mp4",
        f"generated-content/jobs/{job_id}/thumbnail.jpg": "image/jpeg",
    }

    # The video: a Supabase signed URL that fetches exactly the stored bytes, minted again on every read.
    base = f"{fake.url}/storage/v1/object"
    assert job["videoUrl"].startswith(f"{base}/sign/video-files/jobs/{job_id}/video.mp4?token=")
    signs_before = len(fake.requests_to("POST", "/storage/v1/object/sign/video-files"))
    again = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert len(fake.requests_to("POST", "/storage/v1/object/sign/video-files")) == signs_before + 1
    assert again["videoUrl"].startswith(f"{base}/sign/video-files/jobs/{job_id}/video.mp4?token=")
    response = await service.http.get(job["videoUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    assert response.content == fake.objects[("video-files", f"jobs/{job_id}/video.mp4")].data
    assert (
        await service.http.get(job["videoUrl"].partition("?")[0])
    ).status_code == 400  # no token: no video

    # The poster: a plain public URL.
    assert job["thumbnailUrl"] == f"{base}/public/generated-content/jobs/{job_id}/thumbnail.jpg"
    poster = await service.http.get(job["thumbnailUrl"])
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"

    manifest_url = next(a["url"] for a in job["artifacts"] if a["kind"] == "manifest")
    assert "/object/sign/video-files/" in manifest_url
    manifest = Timeline.model_validate(json.loads((await service.http.get(manifest_url)).content))
    assert manifest.output.width == 1080

    video = tmp_path / "out.mp4"
    video.write_bytes(response.content)
    frames_dir = Path(os.environ.get("CLIPFORGE_KEEP_FRAMES", tmp_path / "frames"))
    os.makedirs(frames_dir, exist_ok=True)  # CLIPFORGE_KEEP_FRAMES: keep the PNGs to look at
    with av.open(str(video)) as container:
        vstream = container.streams.video[0]
        assert vstream.codec_context.name == "h264"
        assert (vstream.codec_context.width, vstream.codec_context.height) == (1080, 1920)
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = list(container.decode(vstream))
    assert abs(len(frames) - 45) <= 1
    for k, colour in enumerate(colours):
        middle = frames[int((k + 0.5) * 15)]
        middle.to_image().save(frames_dir / f"supabase-slideshow-{k}.png")
        assert np.abs(mean_rgb(middle) - np.array(colour)).max() < 40, (k, mean_rgb(middle), colour)
    (frames_dir / "supabase-poster.jpg").write_bytes(poster.content)
    with Image.open(frames_dir / "supabase-poster.jpg") as image:
        assert image.size == (1080, 1920)


async def test_same_project_urls_as_inputs_still_go_through_the_safe_fetcher(
    settings: Settings, fake: SupabaseFake, engine: AsyncEngine
) -> None:
    from tests.service import running_service

    strict = settings.model_copy(update={"allow_private_urls": False})
    async with running_service(strict) as service:
        fake.objects[("generated-content", "shared/a.jpg")] = supabase_fake.StoredObject(
            jpeg(COLOURS[0]), "image/jpeg", "3600"
        )
        fake.objects[("video-files", "private/b.jpg")] = supabase_fake.StoredObject(
            jpeg(COLOURS[1]), "image/jpeg", "3600"
        )
        public = f"{fake.url}/storage/v1/object/public/generated-content/shared/a.jpg"
        signed = f"{fake.url}/storage/v1/object/sign/video-files/private/b.jpg?token=x"
        ids = []
        for url in (public, signed):
            created = (await service.gql(CREATE, {"input": {"imageUrls": [url]}}))["data"]["createSlideshow"]
            ids.append(created["id"])
        gets_before = len(fake.requests_to("GET", "/storage/v1/object/"))
        await service.drain_queue()
        for job_id in ids:
            job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
            # The project's own host (here 127.0.0.1) gets no pass: the fetcher refuses it like any other.
            assert (job["status"], job["error"]["code"]) == ("FAILED", "URL_NOT_ALLOWED"), job
        assert len(fake.requests_to("GET", "/storage/v1/object/")) == gets_before  # never fetched around it


async def test_a_storage_outage_during_a_job_is_retried_and_a_read_during_one_is_service_unavailable(
    service: Service, fake: SupabaseFake
) -> None:
    with MediaServer({"/a.jpg": (jpeg(COLOURS[0]), "image/jpeg")}) as media:
        inp = {"imageUrls": [f"{media.url}/a.jpg"], "size": "1080x1080", "secondsPerImage": 1}
        job_id = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]["id"]
        # The manifest's upload fails on all of the store's own tries: the job is retried by the queue.
        fake.fail("POST", f"object/video-files/jobs/{job_id}/manifest.json", 503, times=3)
        await service.drain_queue()
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
    attempts = {s["name"]: s["attempts"] for s in job["stages"]}
    assert attempts == {"fetch": 1, "compose": 2, "render": 1, "store": 1, "finalize": 1}

    fake.fail("POST", "object/sign/video-files", 500, times=3)
    body = await service.gql(DONE, {"id": job_id})
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert (await service.gql(DONE, {"id": job_id}))["data"]["job"]["videoUrl"].startswith(fake.url)


async def test_an_upload_while_storage_is_down_is_service_unavailable_and_keeps_nothing(
    service: Service, fake: SupabaseFake
) -> None:
    fake.fail("POST", "object/video-files/jobs/", 503, times=3)
    body = await service.gql(
        CREATE, {"input": {"images": [None]}}, files={"variables.input.images.0": jpeg(COLOURS[0])}
    )
    result = body["data"]["createSlideshow"]
    assert (result["__typename"], result["code"]) == ("ServiceUnavailable", "SERVICE_UNAVAILABLE"), body
    assert not [key for key in fake.objects if key[0] == "video-files"]
