"""Storage in a dict, for tests and for runs that should leave nothing on disk; it lasts as long as the
process. URLs are signed as the local folder's are, and `read_url` opens them as the app's /files route
opens those, so code that hands out links can be tested end to end without a server."""

from __future__ import annotations

import asyncio
import errno
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from media.storage.base import DEFAULT_URL_SECONDS, check_key, folder_key
from media.storage.signing import key_of_url, object_url


class MemoryStorage:
    def __init__(
        self,
        base_url: str = "memory://storage",
        secret: bytes | None = None,
        *,
        url_seconds: int = DEFAULT_URL_SECONDS,
    ) -> None:
        # Without a secret given, one for this process: its URLs are never opened anywhere else.
        secret = secrets.token_bytes(32) if secret is None else secret
        if not secret:
            raise ValueError("MemoryStorage needs a non-empty secret to sign URLs")
        self.base_url = base_url.rstrip("/")
        self.url_seconds = url_seconds
        self._secret = secret
        self._objects: dict[str, bytes] = {}

    async def put_file(self, key: str, src: Path, content_type: str) -> int:
        check_key(key)
        return self._store(key, await asyncio.to_thread(src.read_bytes))

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        check_key(key)
        return self._store(key, bytes(data))  # a copy: the caller may reuse a bytearray it passed

    async def fetch_to(self, key: str, dest: Path) -> Path:
        data = self._objects.get(check_key(key))
        if data is None:
            raise FileNotFoundError(errno.ENOENT, "no object in storage at this key", key)
        await asyncio.to_thread(_write, dest, data)
        return dest

    async def exists(self, key: str) -> bool:
        return check_key(key) in self._objects

    async def delete_prefix(self, prefix: str) -> int:
        folder = folder_key(prefix) + "/"
        doomed = [key for key in self._objects if key.startswith(folder)]
        for key in doomed:
            del self._objects[key]
        return len(doomed)

    async def url(self, key: str, *, expires_in: int | None = None) -> str:
        return self._url(key, expires_in)

    async def urls(self, keys: Sequence[str], *, expires_in: int | None = None) -> dict[str, str]:
        return {key: self._url(key, expires_in) for key in keys}

    def _url(self, key: str, expires_in: int | None) -> str:
        return object_url(
            self.base_url, key, self._secret, self.url_seconds if expires_in is None else expires_in
        )

    def read_url(self, url: str, *, now: float | None = None) -> bytes | None:
        """The object a URL from `url` opens (at time `now`, by default the present); None when the URL is
        not this store's, its signature is missing, tampered with or expired, or no object is there."""
        key = key_of_url(url, self.base_url, self._secret, time.time() if now is None else now)
        return None if key is None else self._objects.get(key)

    def _store(self, key: str, data: bytes) -> int:
        self._objects[key] = data
        return len(data)


def _write(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
