"""What only the Supabase store does (the contract every store meets is test_storage_contract.py): buckets
made at start-up, what each upload asks of the server, resumable uploads and the faults they survive.
The real `supabase` client talks to tests/supabase_fake.py on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from media.storage.base import StorageUnavailable
from media.storage.supabase import Buckets, SupabaseStorage, open_supabase_storage
from tests import supabase_fake
from tests.supabase_fake import CHUNK, SERVICE_KEY, SupabaseFake

MIB = 1024 * 1024


@pytest.fixture
async def fake() -> AsyncIterator[SupabaseFake]:
    async with supabase_fake.running() as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def no_wait(_seconds: float) -> None:
    pass


@pytest.fixture
async def store(fake: SupabaseFake, http: httpx.AsyncClient) -> SupabaseStorage:
    opened = await open_supabase_storage(fake.url, SERVICE_KEY, http=http)
    opened.sleep = no_wait  # backoff between retries is not what these tests measure
    return opened


# --- buckets --------------------------------------------------------------------------------------------


async def test_start_up_creates_a_public_images_bucket_and_a_private_videos_bucket(
    store: SupabaseStorage, fake: SupabaseFake
) -> None:
    assert {b: fake.buckets[b]["public"] for b in fake.buckets} == {
        "generated-content": True,
        "video-files": False,
    }
    created = [r.body for r in fake.requests_to("POST", "/storage/v1/bucket")]
    assert len(created) == 2


async def test_two_processes_starting_at_once_both_come_up(fake: SupabaseFake) -> None:
    # The server holds each creation until both are in flight, so both ask while neither bucket exists:
    # one wins each bucket, the other gets Supabase's 400 with statusCode "409" and carries on.
    fake.create_barrier = 2
    async with httpx.AsyncClient(timeout=30) as one, httpx.AsyncClient(timeout=30) as other:
        opened = await asyncio.gather(
            open_supabase_storage(fake.url, SERVICE_KEY, http=one),
            open_supabase_storage(fake.url, SERVICE_KEY, http=other),
        )
    assert len(opened) == 2
    assert sorted(fake.buckets) == ["generated-content", "video-files"]
    assert len(fake.requests_to("POST", "/storage/v1/bucket")) == 4
    assert len(fake.requests_to("GET", "/storage/v1/bucket/")) == 2  # each loser read the winner's bucket


async def test_an_existing_bucket_with_the_wrong_setting_is_corrected(
    fake: SupabaseFake, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await open_supabase_storage(fake.url, SERVICE_KEY, http=http, buckets=Buckets("imgs", "vids"))
    fake.buckets["vids"]["public"] = True  # someone made the video bucket public by hand
    with caplog.at_level(logging.WARNING):
        await open_supabase_storage(fake.url, SERVICE_KEY, http=http, buckets=Buckets("imgs", "vids"))
    assert fake.buckets["vids"]["public"] is False
    assert fake.buckets["imgs"]["public"] is True
    assert "bucket vids is public; making it private" in caplog.text


async def test_a_refused_service_key_stops_start_up_with_the_reason(
    fake: SupabaseFake, http: httpx.AsyncClient
) -> None:
    with pytest.raises(StorageUnavailable, match="creating bucket generated-content.*invalid signature"):
        await open_supabase_storage(fake.url, "not-the-service-key", http=http)
    assert fake.buckets == {}


# --- uploads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "content_type", "bucket", "path"),
    [
        ("jobs/1/video.mp4", "video/mp4", "video-files", "jobs/1/video.mp4"),
        ("jobs/1/narration/scene-00.wav", "audio/wav", "video-files", "jobs/1/narration/scene-00.wav"),
        ("jobs/1/captions.vtt", "text/vtt", "video-files", "jobs/1/captions.vtt"),
        ("jobs/1/manifest.json", "application/json", "video-files", "jobs/1/manifest.json"),
        ("public/jobs/1/thumbnail.jpg", "image/jpeg", "generated-content", "jobs/1/thumbnail.jpg"),
    ],
)
async def test_an_upload_names_its_bucket_content_type_and_upsert(
    store: SupabaseStorage, fake: SupabaseFake, key: str, content_type: str, bucket: str, path: str
) -> None:
    await store.put_bytes(key, b"first", content_type)
    await store.put_bytes(key, b"second", content_type)  # the same key again: overwritten, not refused
    sent = fake.requests_to("POST", f"/storage/v1/object/{bucket}/{path}")
    assert [r.form_content_type for r in sent] == [content_type, content_type]
    assert all(r.headers["x-upsert"] == "true" for r in sent)
    assert fake.objects[(bucket, path)].data == b"second"
    assert fake.objects[(bucket, path)].content_type == content_type


async def test_without_x_upsert_supabase_refuses_to_overwrite(
    fake: SupabaseFake, http: httpx.AsyncClient
) -> None:
    # What x-upsert is for: the server's answer when it is missing (so the test above can fail).
    await open_supabase_storage(fake.url, SERVICE_KEY, http=http)
    headers = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
    url = f"{fake.url}/storage/v1/object/video-files/jobs/1/a.txt"
    assert (await http.post(url, headers=headers, files={"file": ("a.txt", b"1", "text/plain")})).is_success
    again = await http.post(url, headers=headers, files={"file": ("a.txt", b"2", "text/plain")})
    assert again.status_code == 400 and again.json()["statusCode"] == "409"


async def test_a_large_file_goes_up_resumably_in_6_mib_chunks(
    store: SupabaseStorage, fake: SupabaseFake, tmp_path: Path
) -> None:
    src = tmp_path / "video.mp4"
    src.write_bytes(os.urandom(2 * CHUNK + 123_457))
    assert await store.put_file("jobs/7/video.mp4", src, "video/mp4") == src.stat().st_size
    created = fake.requests_to("POST", "/storage/v1/upload/resumable")
    assert len(created) == 1 and created[0].headers["x-upsert"] == "true"
    assert created[0].headers["upload-length"] == str(src.stat().st_size)
    patches = fake.requests_to("PATCH", "/storage/v1/upload/resumable/")
    assert [len(p.body) for p in patches] == [CHUNK, CHUNK, 123_457]
    assert [int(p.headers["upload-offset"]) for p in patches] == [0, CHUNK, 2 * CHUNK]
    stored = fake.objects[("video-files", "jobs/7/video.mp4")]
    assert stored.data == src.read_bytes() and stored.content_type == "video/mp4"
    assert not fake.requests_to("POST", "/storage/v1/object/")  # no single-request upload was tried


async def test_a_chunk_that_fails_half_way_is_resumed_from_what_the_server_holds(
    store: SupabaseStorage, fake: SupabaseFake, tmp_path: Path
) -> None:
    src = tmp_path / "video.mp4"
    src.write_bytes(os.urandom(2 * CHUNK + 10))
    # The second chunk: 1 MiB of it reaches the server, then the server fails.
    fake.fail("PATCH", "upload/resumable/", 500, keep_bytes=MIB, after=1)
    assert await store.put_file("jobs/8/video.mp4", src, "video/mp4") == src.stat().st_size
    offsets = [int(p.headers["upload-offset"]) for p in fake.requests_to("PATCH", "/storage/v1/upload/")]
    assert offsets == [0, CHUNK, CHUNK + MIB]  # resumed where the server's HEAD said it was
    assert len(fake.requests_to("HEAD", "/storage/v1/upload/resumable/")) == 1
    assert fake.objects[("video-files", "jobs/8/video.mp4")].data == src.read_bytes()


async def test_a_resumable_upload_that_keeps_failing_gives_up_as_unavailable(
    store: SupabaseStorage, fake: SupabaseFake, tmp_path: Path
) -> None:
    src = tmp_path / "video.mp4"
    src.write_bytes(os.urandom(CHUNK + 1))
    fake.fail("PATCH", "upload/resumable/", 503, times=100)
    with pytest.raises(StorageUnavailable):
        await store.put_file("jobs/9/video.mp4", src, "video/mp4")
    assert ("video-files", "jobs/9/video.mp4") not in fake.objects
    # 3 uploads (the store's tries), each giving up after 3 failed chunks in a row: bounded, not for ever
    assert len(fake.requests_to("PATCH", "/storage/v1/upload/")) == 9


# --- faults ---------------------------------------------------------------------------------------------


async def test_a_5xx_is_retried_and_the_upload_goes_through(
    store: SupabaseStorage, fake: SupabaseFake
) -> None:
    fake.fail("POST", "object/video-files/jobs/1/", 503, times=2)
    assert await store.put_bytes("jobs/1/manifest.json", b"{}", "application/json") == 2
    assert len(fake.requests_to("POST", "/storage/v1/object/video-files/jobs/1/")) == 3
    assert fake.objects[("video-files", "jobs/1/manifest.json")].data == b"{}"


async def test_an_outage_beyond_the_retries_is_storage_unavailable(
    store: SupabaseStorage, fake: SupabaseFake
) -> None:
    fake.fail("POST", "object/sign/", 500, times=3)
    await store.put_bytes("jobs/1/video.mp4", b"v", "video/mp4")
    with pytest.raises(StorageUnavailable):
        await store.url("jobs/1/video.mp4")
    assert len(fake.requests_to("POST", "/storage/v1/object/sign/")) == 3


async def test_a_server_that_does_not_answer_is_storage_unavailable(http: httpx.AsyncClient) -> None:
    from tests.conftest import free_port

    with pytest.raises(StorageUnavailable, match="creating bucket"):
        await open_supabase_storage(f"http://127.0.0.1:{free_port()}", SERVICE_KEY, http=http)


async def test_a_missing_bucket_is_an_outage_not_a_missing_file(
    store: SupabaseStorage, fake: SupabaseFake, tmp_path: Path
) -> None:
    del fake.buckets["video-files"]  # deleted by hand while the service runs
    with pytest.raises(StorageUnavailable, match="Bucket not found"):
        await store.put_bytes("jobs/1/video.mp4", b"v", "video/mp4")
    with pytest.raises(StorageUnavailable, match="Bucket not found"):
        await store.delete_prefix("jobs/1")


async def test_urls_of_a_page_are_signed_in_one_request(store: SupabaseStorage, fake: SupabaseFake) -> None:
    keys = [f"jobs/{n}/video.mp4" for n in range(5)] + ["public/jobs/1/thumbnail.jpg"]
    for key in keys:
        await store.put_bytes(key, b"x", "video/mp4")
    links = await store.urls(keys)
    assert len(fake.requests_to("POST", "/storage/v1/object/sign/")) == 1
    assert links["public/jobs/1/thumbnail.jpg"] == (
        f"{fake.url}/storage/v1/object/public/generated-content/jobs/1/thumbnail.jpg"
    )
    assert links["jobs/3/video.mp4"].startswith(
        f"{fake.url}/storage/v1/object/sign/video-files/jobs/3/video.mp4?token="
    )


async def test_downloads_stream_to_a_file_and_leave_nothing_behind_on_failure(
    store: SupabaseStorage, fake: SupabaseFake, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB)
    await store.put_bytes("jobs/1/input.bin", data, "application/octet-stream")
    dest = tmp_path / "in" / "input.bin"
    assert (await store.fetch_to("jobs/1/input.bin", dest)).read_bytes() == data
    fake.fail("GET", "object/video-files/jobs/1/", 500, times=3)
    with pytest.raises(StorageUnavailable):
        await store.fetch_to("jobs/1/input.bin", tmp_path / "in" / "again.bin")
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["input.bin"]
