"""Uploads from the GraphQL multipart request: streamed into storage with a size cap."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol, TypeGuard, runtime_checkable

from media.storage.base import Storage
from resolvers.availability import storage_errors
from resolvers.errors import UserError

CHUNK = 1024 * 1024


@runtime_checkable
class Upload(Protocol):
    """What starlette's UploadFile offers; resolvers do not depend on the web framework."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


def is_upload(value: Any) -> TypeGuard[Upload]:
    return not isinstance(value, str | bytes) and isinstance(value, Upload)


def safe_name(name: str | None, fallback: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name or "").strip(".-")[:80]
    return cleaned or fallback


async def store_upload(storage: Storage, upload: Upload, key: str, *, max_bytes: int, field: str) -> str:
    """Store the upload at `key`; returns the sha256 of its content (idempotency keys compare requests by
    it, since the key holds the request's own job id)."""
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(prefix="clipforge-upload-") as tmp:
        size = 0
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
            if size > max_bytes:
                raise UserError(
                    "UPLOAD_TOO_LARGE", f"{field} is larger than the limit of {max_bytes} bytes", field
                )
            tmp.write(chunk)
        if size == 0:
            raise UserError("EMPTY_FILE", f"{field} is empty", field)
        tmp.flush()
        with storage_errors():
            await storage.put_file(key, Path(tmp.name), "application/octet-stream")
    return digest.hexdigest()
