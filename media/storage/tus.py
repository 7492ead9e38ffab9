"""Resumable uploads: the tus 1.0 protocol, as Supabase Storage speaks it, over the storage client's httpx.

One POST creates the upload (its bucket, object name and content type travel base64-encoded in
Upload-Metadata), then PATCHes send the file in fixed-size chunks, each read from disk in a thread. A chunk
that fails on the way (connection lost, timeout, 5xx, 429) is not resent blindly: a HEAD asks the server how
much it holds (Upload-Offset) and the upload goes on from there, a bounded number of times in a row.

Written here rather than taken from tuspy: its async uploader is built on aiohttp (a second HTTP stack, with
its own timeouts and TLS settings, beside the httpx client the supabase package already holds), and Supabase
needs a fixed 6 MiB chunk and its own metadata keys, which is most of what such a client would do for us.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx

TUS_VERSION = "1.0.0"
# Supabase: "chunkSize must be set to 6MB (for now)"; every chunk but the last has exactly this size.
CHUNK_BYTES = 6 * 1024 * 1024
TRIES = 3
Sleep = Callable[[float], Awaitable[None]]


class TusError(Exception):
    """The server refused the upload (or kept failing): `status` is the status it meant (0: no answer), `body`
    what it said. Supabase answers most errors with HTTP 400 and the real status in the body's statusCode."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"resumable upload failed: HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body

    @classmethod
    def of(cls, response: httpx.Response) -> TusError:
        try:
            status = int(response.json()["statusCode"])
        except (ValueError, KeyError, TypeError):
            status = response.status_code
        return cls(status, response.text)

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


def metadata(values: Mapping[str, str]) -> str:
    """tus Upload-Metadata: comma-separated `key base64(value)` pairs."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def upload_file(
    http: httpx.AsyncClient,
    endpoint: str,
    headers: Mapping[str, str],
    src: Path,
    *,
    bucket: str,
    name: str,
    content_type: str,
    cache_control: str = "3600",
    upsert: bool = True,
    chunk_bytes: int = CHUNK_BYTES,
    tries: int = TRIES,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Upload `src` as `name` in `bucket`; returns its size. TusError when the server refuses or keeps
    failing; FileNotFoundError when `src` is not there (before anything is sent)."""
    size = (await asyncio.to_thread(src.stat)).st_size
    base = {**headers, "Tus-Resumable": TUS_VERSION}
    created = await _send(
        http,
        "POST",
        endpoint,
        {
            **base,
            "Upload-Length": str(size),
            "Upload-Metadata": metadata(
                {
                    "bucketName": bucket,
                    "objectName": name,
                    "contentType": content_type,
                    "cacheControl": cache_control,
                }
            ),
            "x-upsert": "true" if upsert else "false",
        },
    )
    if created.status_code != 201 or "location" not in created.headers:
        raise TusError.of(created)
    location = str(httpx.URL(endpoint).join(created.headers["location"]))
    offset, failures = 0, 0
    while offset < size:
        chunk = await asyncio.to_thread(_read, src, offset, chunk_bytes)
        try:
            sent = await _send(
                http,
                "PATCH",
                location,
                {**base, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
                chunk,
            )
            if sent.status_code != 204:
                raise TusError.of(sent)
            taken = _offset(sent)
            if taken <= offset:  # a server that takes nothing would keep this loop going for ever
                raise TusError(sent.status_code, f"the server took no bytes at offset {offset}")
            offset, failures = taken, 0
        except TusError as exc:
            failures += 1
            if not exc.transient or failures >= tries:
                raise
            await sleep(0.5 * 2 ** (failures - 1) * (1 + random.random()))
            # Where to go on from: what the server holds, not what we think we sent.
            held = await _send(http, "HEAD", location, base)
            if held.status_code != 200:
                raise TusError.of(held) from exc
            offset = _offset(held)
    return size


async def _send(
    http: httpx.AsyncClient, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
) -> httpx.Response:
    try:
        return await http.request(method, url, headers=dict(headers), content=body)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TusError(0, repr(exc)) from exc


def _offset(response: httpx.Response) -> int:
    try:
        return int(response.headers["upload-offset"])
    except (KeyError, ValueError):
        raise TusError(response.status_code, "the answer has no Upload-Offset") from None


def _read(src: Path, offset: int, size: int) -> bytes:
    with src.open("rb") as f:
        f.seek(offset)
        return f.read(size)
