"""Supabase Storage through the `supabase` package's async client: a public bucket for shared images, a
private one for everything else.

Keys under "public/" live in the public bucket without that prefix ("public/jobs/1/thumbnail.jpg" is
"jobs/1/thumbnail.jpg" there) and are served at the bucket's plain public URL; every other key lives in the
private bucket and is reached through a signed URL that Supabase mints (one request per bucket for a page of
keys). Every upload carries its content type (the client's default is text/plain) and x-upsert, so a rerun
overwrites. Files above `resumable_above` bytes go up with tus (media/storage/tus.py) in 6 MiB chunks, as
Supabase recommends above 6 MB; downloads stream to disk.

Errors: Supabase answers most of them with HTTP 400 and the real status as a string in the body
(`{"statusCode": "404", "error": "not_found", ...}`); storage3 raises StorageApiError carrying that string.
A missing object is FileNotFoundError; timeouts, 429 and 5xx are retried here with backoff, then become
StorageUnavailable, as does anything else the store refuses (a wrong key, a missing bucket).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from storage3 import AsyncStorageClient
from storage3.exceptions import StorageApiError
from supabase import AsyncClientOptions, acreate_client

from media.storage.base import (
    DEFAULT_URL_SECONDS,
    PUBLIC_PREFIX,
    StorageUnavailable,
    check_key,
    folder_key,
    is_public,
)
from media.storage.tus import CHUNK_BYTES, TusError, upload_file

log = logging.getLogger(__name__)

T = TypeVar("T")
TRIES = 3
LIST_PAGE = 1000  # objects per list request and per delete request
RESUMABLE_ABOVE = 6 * 1024 * 1024  # Supabase: "for files larger than 6 MB, use resumable uploads"
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Buckets:
    public: str = "generated-content"
    private: str = "video-files"


class SupabaseStorage:
    def __init__(
        self,
        storage: AsyncStorageClient,
        *,
        http: httpx.AsyncClient,
        storage_url: str,
        service_key: str,
        buckets: Buckets = Buckets(),
        url_seconds: int = DEFAULT_URL_SECONDS,
        resumable_above: int = RESUMABLE_ABOVE,
        chunk_bytes: int = CHUNK_BYTES,
        tries: int = TRIES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.storage = storage
        self.http = http
        self.storage_url = storage_url.rstrip("/") + "/"
        self.headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
        self.buckets = buckets
        self.url_seconds = url_seconds
        self.resumable_above = resumable_above
        self.chunk_bytes = chunk_bytes
        self.tries = tries
        self.sleep = sleep

    # --- the Storage protocol -----------------------------------------------------------------------------

    async def put_file(self, key: str, src: Path, content_type: str) -> int:
        bucket, path = self.where(key)
        size = (await asyncio.to_thread(src.stat)).st_size  # FileNotFoundError before anything is sent
        if size > self.resumable_above:
            return await self._retrying(
                f"uploading {key}",
                lambda: upload_file(
                    self.http,
                    f"{self.storage_url}upload/resumable",
                    self.headers,
                    src,
                    bucket=bucket,
                    name=path,
                    content_type=content_type,
                    chunk_bytes=self.chunk_bytes,
                    sleep=self.sleep,
                ),
            )
        return await self._upload(key, bucket, path, await asyncio.to_thread(src.read_bytes), content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        bucket, path = self.where(key)
        if len(data) > self.resumable_above:
            with tempfile.TemporaryDirectory(prefix="clipforge-upload-") as folder:
                src = Path(folder) / "object"
                await asyncio.to_thread(src.write_bytes, data)
                return await self.put_file(key, src, content_type)
        return await self._upload(key, bucket, path, bytes(data), content_type)

    async def fetch_to(self, key: str, dest: Path) -> Path:
        bucket, path = self.where(key)
        url = f"{self.storage_url}object/{bucket}/{quote(path)}"
        await self._retrying(f"downloading {key}", lambda: self._download(url, dest))
        return dest

    async def exists(self, key: str) -> bool:
        bucket, path = self.where(key)
        return await self._retrying(f"looking up {key}", lambda: self.storage.from_(bucket).exists(path))

    async def delete_prefix(self, prefix: str) -> int:
        folder = folder_key(prefix)
        # "public" names the whole public bucket, as it names the folder of every public key elsewhere.
        bucket, path = (self.buckets.public, "") if folder + "/" == PUBLIC_PREFIX else self.where(folder)
        names = await self._list(bucket, path)
        deleted = 0
        for start in range(0, len(names), LIST_PAGE):
            batch = names[start : start + LIST_PAGE]
            remove = functools.partial(self.storage.from_(bucket).remove, batch)
            gone = await self._retrying(f"deleting under {prefix}", remove)
            deleted += len(gone)
        return deleted

    async def url(self, key: str, *, expires_in: int | None = None) -> str:
        lifetime = self._lifetime(expires_in)
        bucket, path = self.where(key)
        if bucket == self.buckets.public:
            return await self.storage.from_(bucket).get_public_url(path)
        signed = await self._retrying(
            f"signing {key}", lambda: self.storage.from_(bucket).create_signed_url(path, lifetime)
        )
        url = signed["signedURL"]
        if url is None:
            raise FileNotFoundError(f"no object in storage at {key}")
        return url

    async def urls(self, keys: Sequence[str], *, expires_in: int | None = None) -> dict[str, str]:
        lifetime = self._lifetime(expires_in)
        found: dict[str, str] = {}
        private: dict[str, str] = {}  # path in the private bucket -> key
        for key in keys:
            bucket, path = self.where(key)
            if bucket == self.buckets.public:
                found[key] = await self.storage.from_(bucket).get_public_url(path)
            else:
                private[path] = key
        if private:
            signed = await self._retrying(
                "signing URLs",
                lambda: self.storage.from_(self.buckets.private).create_signed_urls(list(private), lifetime),
            )
            for item in signed:
                # An object that is gone comes back with an error and no URL: it is left out.
                if item["signedURL"] and item["path"] in private:
                    found[private[item["path"]]] = item["signedURL"]
        return found

    # --- buckets --------------------------------------------------------------------------------------------

    async def ensure_buckets(self) -> None:
        """Create both buckets with their public/private setting. "Already exists" is fine (another process
        may be creating them at this moment); an existing bucket with the wrong setting is corrected, since a
        public video bucket would serve every video to anyone who guesses a key."""
        for bucket, public in ((self.buckets.public, True), (self.buckets.private, False)):
            try:
                create = functools.partial(self.storage.create_bucket, bucket, options={"public": public})
                await self._retrying(f"creating bucket {bucket}", create, conflict_ok=True)
            except _Conflict:
                read = functools.partial(self.storage.get_bucket, bucket)
                existing = await self._retrying(f"reading bucket {bucket}", read)
                if existing.public != public:
                    log.warning(
                        "bucket %s is %s; making it %s",
                        bucket,
                        "public" if existing.public else "private",
                        "public" if public else "private",
                    )
                    update = functools.partial(self.storage.update_bucket, bucket, {"public": public})
                    await self._retrying(f"updating bucket {bucket}", update)

    # --- helpers --------------------------------------------------------------------------------------------

    def where(self, key: str) -> tuple[str, str]:
        """The bucket and the object path of a key."""
        check_key(key)
        if is_public(key):
            return self.buckets.public, key.removeprefix(PUBLIC_PREFIX)
        return self.buckets.private, key

    def _lifetime(self, expires_in: int | None) -> int:
        lifetime = self.url_seconds if expires_in is None else expires_in
        if lifetime <= 0:
            raise ValueError("expires_in must be positive")
        return lifetime

    async def _upload(self, key: str, bucket: str, path: str, data: bytes, content_type: str) -> int:
        options: Any = {"content-type": content_type, "upsert": "true"}
        await self._retrying(
            f"uploading {key}", lambda: self.storage.from_(bucket).upload(path, data, options)
        )
        return len(data)

    async def _download(self, url: str, dest: Path) -> None:
        async with self.http.stream("GET", url, headers=self.headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise _api_error(response)
            await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
            fd, name = await asyncio.to_thread(
                tempfile.mkstemp, dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"
            )
            tmp = Path(name)
            try:
                with os.fdopen(fd, "wb") as out:
                    async for chunk in response.aiter_bytes(1024 * 1024):
                        await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(os.replace, tmp, dest)
            except BaseException:
                await asyncio.to_thread(tmp.unlink, missing_ok=True)
                raise

    async def _list(self, bucket: str, folder: str) -> list[str]:
        """Every object path under `folder`, however deep (a list request names one level: objects, and
        folders with a null id)."""
        names: list[str] = []
        pending = [folder]
        while pending:
            current = pending.pop()
            offset = 0
            while True:
                listing = functools.partial(
                    self.storage.from_(bucket).list, current, {"limit": LIST_PAGE, "offset": offset}
                )
                page = await self._retrying(f"listing {bucket}/{current}", listing)
                for entry in page:
                    path = f"{current}/{entry['name']}" if current else str(entry["name"])
                    (names if entry.get("id") is not None else pending).append(path)
                if len(page) < LIST_PAGE:
                    break
                offset += LIST_PAGE
        return names

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]], *, conflict_ok: bool = False) -> T:
        for attempt in range(1, self.tries + 1):
            try:
                return await call()
            except StorageApiError as exc:
                status = _status(exc.status)
                if status == 404 and exc.code in ("not_found", "NoSuchKey"):
                    raise FileNotFoundError(f"no object in storage: {what}") from exc
                if status == 409 and conflict_ok:
                    raise _Conflict from exc
                failure: Exception = exc
                transient = status == 429 or status >= 500
            except TusError as exc:
                failure, transient = exc, exc.transient
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                failure, transient = exc, True
            if not transient or attempt == self.tries:
                raise StorageUnavailable(f"Supabase Storage failed {what}: {failure}") from failure
            await self.sleep(0.5 * 2 ** (attempt - 1) * (1 + random.random()))
        raise AssertionError("unreachable")  # the loop returns or raises


class _Conflict(Exception):
    pass


def _status(value: int | str) -> int:
    try:
        return int(value)
    except ValueError:
        return 500


def _api_error(response: httpx.Response) -> StorageApiError:
    """What storage3 raises for the same answer: the body's statusCode, error and message."""
    try:
        body = response.json()
        return StorageApiError(str(body["message"]), str(body["error"]), body["statusCode"])
    except (KeyError, TypeError, ValueError):
        return StorageApiError(response.text[:300], "InternalError", response.status_code)


async def open_supabase_storage(
    url: str,
    service_key: str,
    *,
    http: httpx.AsyncClient,
    buckets: Buckets = Buckets(),
    url_seconds: int = DEFAULT_URL_SECONDS,
    resumable_above: int = RESUMABLE_ABOVE,
) -> SupabaseStorage:
    """The store on the project at `url`, its buckets created if missing. `http` (owned by the caller)
    carries every request, with its timeouts: the storage client's own default is 20 s."""
    client = await acreate_client(
        url,
        service_key,
        AsyncClientOptions(httpx_client=http, auto_refresh_token=False, persist_session=False),
    )
    store = SupabaseStorage(
        client.storage,
        http=http,
        storage_url=str(client.storage_url),
        service_key=service_key,
        buckets=buckets,
        url_seconds=url_seconds,
        resumable_above=resumable_above,
    )
    await store.ensure_buckets()
    return store
