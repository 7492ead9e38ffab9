"""Storage in a local folder, served by the app; private keys behind HMAC-signed, expiring URLs.

Files can be hundreds of MB, so all file work runs in a thread, and every write goes to a temporary file
in the destination folder first and is renamed into place: readers see the old object or the new one, never
half of one.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from media.storage.base import DEFAULT_URL_SECONDS, check_key, folder_key, guess_content_type
from media.storage.signing import object_url, sign, verify

# guess_content_type, sign and verify are re-exported for the app's /files route, which serves this store.
__all__ = ["LocalStorage", "guess_content_type", "sign", "verify"]


class LocalStorage:
    def __init__(
        self, root: Path, base_url: str, secret: bytes, *, url_seconds: int = DEFAULT_URL_SECONDS
    ) -> None:
        if not secret:
            raise ValueError("LocalStorage needs a non-empty secret to sign URLs")
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
        self.url_seconds = url_seconds
        self._secret = secret

    def path_for(self, key: str) -> Path:
        """The file behind `key`; ValueError for bad keys and for symlinks that lead outside the root."""
        try:
            path = (self.root / check_key(key)).resolve()
        except (OSError, RuntimeError) as exc:  # e.g. a symlink loop
            raise ValueError(f"storage key {key!r} cannot be resolved: {exc}") from None
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key {key!r} leads outside the storage root")
        return path

    async def put_file(self, key: str, src: Path, content_type: str) -> int:
        # Copied, not moved: callers keep their file, as with a remote store. copyfile lets the kernel copy
        # (sendfile on Linux), so big renders are not pulled through Python. content_type is not stored:
        # serving guesses it from the key's extension.
        dest = self.path_for(key)
        return await asyncio.to_thread(_write_atomic, dest, lambda tmp: shutil.copyfile(src, tmp))

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        dest = self.path_for(key)
        return await asyncio.to_thread(_write_atomic, dest, lambda tmp: tmp.write_bytes(data))

    async def fetch_to(self, key: str, dest: Path) -> Path:
        src = self.path_for(key)
        await asyncio.to_thread(_write_atomic, dest, lambda tmp: _copy_object(src, tmp))
        return dest

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(_delete_tree, self.path_for(folder_key(prefix)))

    async def url(self, key: str, *, expires_in: int | None = None) -> str:
        return self.sign_url(key, expires_in)

    async def urls(self, keys: Sequence[str], *, expires_in: int | None = None) -> dict[str, str]:
        return {key: self.sign_url(key, expires_in) for key in keys}

    def sign_url(self, key: str, expires_in: int | None = None) -> str:
        """What `url` answers, without awaiting: signing here is a local HMAC."""
        lifetime = self.url_seconds if expires_in is None else expires_in
        return object_url(f"{self.base_url}/files", key, self._secret, lifetime)


def _write_atomic(dest: Path, fill: Callable[[Path], object]) -> int:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        try:
            fill(tmp)  # rewrites the same inode that fd refers to
            os.fsync(fd)  # the rename must not reach the disk before the data does
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def _copy_object(src: Path, dest: Path) -> None:
    # A folder holds objects but is not one: fetching it is a missing key, as in an object store.
    if src.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no object at this key", str(src))
    shutil.copyfile(src, dest)


def _delete_tree(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    count = sum(1 for p in folder.rglob("*") if not p.is_dir())
    shutil.rmtree(folder)
    return count
