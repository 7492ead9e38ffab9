"""The Storage contract: one set of tests run against every implementation.

A backend joins by adding one entry to BACKENDS: a factory for a storage under test and a way to open the URLs
it hands out, as a client would (an HTTP GET for a hosted store)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from media.storage.base import Storage
from media.storage.local import LocalStorage
from media.storage.memory import MemoryStorage
from media.storage.signing import key_of_url
from media.storage.supabase import open_supabase_storage
from tests import supabase_fake

SECRET = b"test-secret"
BASE = "http://media.test"


@dataclass(frozen=True)
class Backend:
    storage: Storage
    # (url, seconds from now) -> what a client would get for the URL that much later: the object's bytes, or
    # None when it is refused (bad or expired signature) or names no object. A backend whose clock cannot be
    # moved waits that long.
    open_url: Callable[[str, float], Awaitable[bytes | None]]

    async def read_url(self, url: str, *, later: float = 0.0) -> bytes | None:
        return await self.open_url(url, later)


@asynccontextmanager
async def local_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    store = LocalStorage(tmp_path / "store", f"{BASE}/", SECRET)

    async def open_url(url: str, later: float) -> bytes | None:
        # What the app's /files route (clipforge.app) does for this store: the signature, then the file.
        key = key_of_url(url, f"{BASE}/files", SECRET, time.time() + later)
        if key is None or not store.path_for(key).is_file():
            return None
        return store.path_for(key).read_bytes()

    yield Backend(store, open_url)


@asynccontextmanager
async def memory_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    store = MemoryStorage(BASE, SECRET)

    async def open_url(url: str, later: float) -> bytes | None:
        return store.read_url(url, now=time.time() + later)

    yield Backend(store, open_url)


@asynccontextmanager
async def supabase_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    # The real supabase client against a local server speaking Supabase Storage's API (tests/supabase_fake).
    # Files over 1 MiB go up resumably here, so the contract covers the tus path too.
    async with supabase_fake.running() as fake, httpx.AsyncClient(timeout=30) as http:
        store = await open_supabase_storage(
            fake.url, supabase_fake.SERVICE_KEY, http=http, resumable_above=1024 * 1024
        )

        async def open_url(url: str, later: float) -> bytes | None:
            # As a browser would: a plain GET, no keys; the server's clock moved `later` seconds on.
            fake.clock_offset = later
            try:
                response = await http.get(url)
            finally:
                fake.clock_offset = 0
            return response.content if response.status_code == 200 else None

        yield Backend(store, open_url)


BACKENDS: dict[str, Callable[[Path], AbstractAsyncContextManager[Backend]]] = {
    "local": local_backend,
    "memory": memory_backend,
    "supabase": supabase_backend,
}


@pytest.fixture(params=list(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with BACKENDS[request.param](tmp_path) as made:
        yield made


# --- putting and fetching ---------------------------------------------------------------------------------


async def test_put_bytes_returns_the_size_and_fetch_materialises_the_bytes(
    backend: Backend, tmp_path: Path
) -> None:
    storage = backend.storage
    assert await storage.put_bytes("jobs/1/manifest.json", b'{"a": 1}', "application/json") == 8
    assert await storage.exists("jobs/1/manifest.json")
    dest = await storage.fetch_to("jobs/1/manifest.json", tmp_path / "out" / "m.json")
    assert dest == tmp_path / "out" / "m.json"
    assert dest.read_bytes() == b'{"a": 1}'


async def test_put_file_returns_the_size_copies_and_leaves_the_source(
    backend: Backend, tmp_path: Path
) -> None:
    src = tmp_path / "video.mp4"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    assert await backend.storage.put_file("jobs/1/video.mp4", src, "video/mp4") == src.stat().st_size
    assert src.exists()
    back = await backend.storage.fetch_to("jobs/1/video.mp4", tmp_path / "back.mp4")
    assert back.read_bytes() == src.read_bytes()


async def test_putting_the_same_key_again_overwrites(backend: Backend, tmp_path: Path) -> None:
    storage = backend.storage
    assert await storage.put_bytes("jobs/1/thumb.jpg", b"first version", "image/jpeg") == 13
    assert await storage.put_bytes("jobs/1/thumb.jpg", b"second", "image/jpeg") == 6
    assert await storage.put_bytes("jobs/1/thumb.jpg", b"second", "image/jpeg") == 6
    assert (await storage.fetch_to("jobs/1/thumb.jpg", tmp_path / "t.jpg")).read_bytes() == b"second"
    src = tmp_path / "third.jpg"
    src.write_bytes(b"3")
    assert await storage.put_file("jobs/1/thumb.jpg", src, "image/jpeg") == 1
    assert (await storage.fetch_to("jobs/1/thumb.jpg", tmp_path / "t.jpg")).read_bytes() == b"3"


async def test_putting_a_file_that_is_not_there_fails_and_keeps_the_old_object(
    backend: Backend, tmp_path: Path
) -> None:
    await backend.storage.put_bytes("jobs/1/video.mp4", b"old", "video/mp4")
    with pytest.raises(FileNotFoundError):
        await backend.storage.put_file("jobs/1/video.mp4", tmp_path / "does-not-exist.mp4", "video/mp4")
    assert (await backend.storage.fetch_to("jobs/1/video.mp4", tmp_path / "v.mp4")).read_bytes() == b"old"


async def test_a_missing_key_does_not_exist_and_cannot_be_fetched(backend: Backend, tmp_path: Path) -> None:
    await backend.storage.put_bytes("jobs/1/a.txt", b"a", "text/plain")
    for key in ("jobs/none/video.mp4", "jobs/1"):  # the second is a folder of objects, not an object
        assert not await backend.storage.exists(key)
        with pytest.raises(FileNotFoundError):
            await backend.storage.fetch_to(key, tmp_path / "x")
    assert not (tmp_path / "x").exists()


# --- deleting a folder ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["jobs/1", "jobs/1/"])
async def test_delete_prefix_removes_that_folder_only_and_counts(backend: Backend, prefix: str) -> None:
    storage = backend.storage
    inside = ["jobs/1/a.png", "jobs/1/frames/001.png", "jobs/1/frames/002.png"]
    # Siblings a string prefix would take: "jobs/1" is a folder, not the start of a name.
    outside = ["jobs/10/a.png", "jobs/1.txt", "jobs/1-old/a.png", "other/jobs/1/a.png"]
    for key in inside + outside:
        await storage.put_bytes(key, b"x", "image/png")
    assert await storage.delete_prefix(prefix) == 3
    for key in inside:
        assert not await storage.exists(key)
    for key in outside:
        assert await storage.exists(key)
    assert await storage.delete_prefix(prefix) == 0


async def test_delete_prefix_of_a_subfolder_or_an_empty_one(backend: Backend) -> None:
    storage = backend.storage
    for key in ("jobs/1/a.png", "jobs/1/frames/001.png", "jobs/1/frames/002.png"):
        await storage.put_bytes(key, b"x", "image/png")
    assert await storage.delete_prefix("jobs/1/frames") == 2
    assert await storage.exists("jobs/1/a.png")
    assert await storage.delete_prefix("jobs/nothing-here") == 0


# --- unsafe keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["/abs", "../x", "a/../b", "./a", "a/./b", "..", "a//b", "", "a\\b", "a b"])
async def test_every_operation_refuses_unsafe_keys(backend: Backend, key: str, tmp_path: Path) -> None:
    storage = backend.storage
    src = tmp_path / "src.txt"
    src.write_bytes(b"x")
    with pytest.raises(ValueError):
        await storage.put_bytes(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        await storage.put_file(key, src, "text/plain")
    with pytest.raises(ValueError):
        await storage.fetch_to(key, tmp_path / "x")
    with pytest.raises(ValueError):
        await storage.exists(key)
    with pytest.raises(ValueError):
        await storage.delete_prefix(key)
    with pytest.raises(ValueError):
        await storage.url(key)
    with pytest.raises(ValueError):
        await storage.urls([key])
    assert not (tmp_path / "x").exists()


async def test_a_key_ending_in_a_slash_names_a_folder_not_an_object(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        await backend.storage.put_bytes("jobs/1/", b"x", "text/plain")
    with pytest.raises(ValueError):
        await backend.storage.exists("jobs/1/")
    with pytest.raises(ValueError):
        await backend.storage.url("jobs/1/")


# --- URLs -------------------------------------------------------------------------------------------------


async def test_a_public_key_is_served_without_a_signature_and_does_not_expire(backend: Backend) -> None:
    await backend.storage.put_bytes("public/scenes/1/image.png", b"png", "image/png")
    url = await backend.storage.url("public/scenes/1/image.png", expires_in=1)
    assert await backend.read_url(url) == b"png"
    assert await backend.read_url(url, later=4) == b"png"
    assert await backend.read_url(await backend.storage.url("public/scenes/1/none.png")) is None


async def test_a_private_key_is_served_through_its_signed_url_until_it_expires(backend: Backend) -> None:
    await backend.storage.put_bytes("jobs/1/video.mp4", b"mp4", "video/mp4")
    # Whole seconds and short waits: a hosted store's links count seconds, and its harness has to sleep.
    url = await backend.storage.url("jobs/1/video.mp4", expires_in=2)
    assert await backend.read_url(url) == b"mp4"
    assert await backend.read_url(url, later=1) == b"mp4"
    assert await backend.read_url(url, later=4) is None
    assert await opened_or_refused(backend, "jobs/1/none.mp4") is None


async def test_a_private_url_that_was_tampered_with_is_refused(backend: Backend) -> None:
    storage = backend.storage
    await storage.put_bytes("jobs/1/video.mp4", b"mine", "video/mp4")
    await storage.put_bytes("jobs/2/video.mp4", b"someone else's", "video/mp4")
    url = await storage.url("jobs/1/video.mp4", expires_in=3600)
    assert await backend.read_url(url) == b"mine"
    assert await backend.read_url(url.replace("jobs/1/", "jobs/2/")) is None  # another key, same signature
    assert await backend.read_url(url.partition("?")[0]) is None  # no signature at all
    address, _, query = url.partition("?")
    pairs = query.split("&")
    for index, pair in enumerate(pairs):  # every parameter altered by one character
        name, _, value = pair.partition("=")
        mid = len(value) // 2
        altered = value[:mid] + ("1" if value[mid] != "1" else "2") + value[mid + 1 :]
        changed = "&".join([*pairs[:index], f"{name}={altered}", *pairs[index + 1 :]])
        assert await backend.read_url(f"{address}?{changed}") is None, name


async def opened_or_refused(backend: Backend, key: str) -> bytes | None:
    """What a client gets for a private key's URL; a store that signs only existing objects refuses to
    make a URL for a key with none (FileNotFoundError), which is as good as a URL that opens nothing."""
    try:
        url = await backend.storage.url(key)
    except FileNotFoundError:
        return None
    return await backend.read_url(url)


async def test_urls_for_many_keys_open_each_object_and_may_leave_out_missing_private_ones(
    backend: Backend,
) -> None:
    storage = backend.storage
    keys = ["jobs/1/video.mp4", "jobs/1/captions.vtt", "public/jobs/1/thumbnail.jpg"]
    for key in keys:
        await storage.put_bytes(key, key.encode(), "application/octet-stream")
    links = await storage.urls([*keys, "jobs/1/none.mp4", "public/jobs/1/none.jpg"], expires_in=60)
    for key in keys:
        assert await backend.read_url(links[key]) == key.encode(), key
    assert set(links) - set(keys) <= {"jobs/1/none.mp4", "public/jobs/1/none.jpg"}
    for key in set(links) - set(keys):
        assert await backend.read_url(links[key]) is None
    assert await storage.urls([]) == {}


@pytest.mark.parametrize("expires_in", [0, -1])
async def test_an_expiry_that_is_not_in_the_future_is_refused(backend: Backend, expires_in: int) -> None:
    with pytest.raises(ValueError):
        await backend.storage.url("jobs/1/video.mp4", expires_in=expires_in)
