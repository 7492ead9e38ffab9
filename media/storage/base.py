"""Where artifacts live: one small Protocol, with local-folder, in-memory and Supabase implementations.

Keys are relative, slash-separated paths such as "jobs/<id>/video.mp4". Keys under "public/" are served at a
plain URL; every other key only through a signed URL that expires (which key a job's artifact gets is the rule
in media/storage/placement.py). Jobs use deterministic keys and every put overwrites, so a rerun replaces its
artifacts instead of duplicating them.

URLs are minted asynchronously: a hosted store (Supabase) signs them with a request of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

PUBLIC_PREFIX = "public/"
MAX_KEY_LENGTH = 512
_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]+")

_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".json": "application/json",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".txt": "text/plain; charset=utf-8",
}


DEFAULT_URL_SECONDS = 3600


class StorageUnavailable(Exception):
    """The store could not be reached or failed on its side (timeouts, 5xx, refused credentials) after its
    own retries. Not the user's doing: a job is retried later, an API read answers SERVICE_UNAVAILABLE."""


class Storage(Protocol):
    async def put_file(self, key: str, src: Path, content_type: str) -> int:
        """Store a copy of `src` at `key`, replacing what was there; returns the bytes stored."""
        ...

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        """Store `data` at `key`, replacing what was there; returns the bytes stored."""
        ...

    async def fetch_to(self, key: str, dest: Path) -> Path:
        """Materialise the object at `key` as the local file `dest`; FileNotFoundError if there is none."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under the folder `prefix` ("jobs/1" and "jobs/1/" alike); returns how many."""
        ...

    async def url(self, key: str, *, expires_in: int | None = None) -> str:
        """A plain URL for keys under "public/", else a signed URL valid for `expires_in` seconds (None: the
        store's configured lifetime). A store that signs only existing objects raises FileNotFoundError for a
        private key with no object; the others hand out a URL that opens nothing."""
        ...

    async def urls(self, keys: Sequence[str], *, expires_in: int | None = None) -> dict[str, str]:
        """`url` for many keys at once (one request per bucket for a hosted store); a private key with no
        object may be left out of the answer."""
        ...


def check_key(key: str) -> str:
    """Return `key` if it is a safe relative object key, else raise ValueError.

    The rules are the intersection of what a filesystem and an object store both treat as one plain path:
    no absolute paths, no "." or ".." segments, no empty segments, no backslashes, a small alphabet.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a storage key must be 1 to {MAX_KEY_LENGTH} characters long")
    if not _KEY_CHARS.fullmatch(key):
        raise ValueError(f"storage key {key!r} may only contain letters, digits and . _ / -")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"storage key {key!r} must be relative, without empty, '.' or '..' segments")
    return key


def folder_key(prefix: str) -> str:
    """The folder key a delete_prefix argument names: "jobs/1/" and "jobs/1" both mean "jobs/1"."""
    return check_key(prefix.removesuffix("/"))


def is_public(key: str) -> bool:
    return key.startswith(PUBLIC_PREFIX)


def guess_content_type(key: str) -> str:
    """The Content-Type to serve a key with, from its extension."""
    return _CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")
