"""Storage in a local folder, served by the app; private keys behind HMAC-signed, expiring URLs.

Files can be hundreds of MB, so all file work runs in a thread, and every write goes to a temporary file
in the destination folder first and is renamed into place: readers see the old object or the new one, never
half of one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from media.storage.base import check_key, folder_key, guess_content_type, is_public

__all__ = ["LocalStorage", "guess_content_type", "sign", "verify"]

_EXP = re.compile(r"[0-9]{1,12}")
_SIG = re.compile(r"[0-9a-fA-F]{64}")


def sign(key: str, exp: int, secret: bytes) -> str:
    return hmac.new(secret, f"{key}\n{exp}".encode(), hashlib.sha256).hexdigest()


def verify(key: str, exp: str | None, sig: str | None, secret: bytes, now: float) -> bool:
    """True only for an untampered signature that has not expired; anything malformed is simply False."""
    if exp is None or sig is None or not _EXP.fullmatch(exp) or not _SIG.fullmatch(sig):
        return False
    try:
        check_key(key)
    except ValueError:
        return False
    if int(exp) <= now:
        return False
    return hmac.compare_digest(sign(key, int(exp), secret), sig.lower())


class LocalStorage:
    def __init__(self, root: Path, base_url: str, secret: bytes) -> None:
        if not secret:
            raise ValueError("LocalStorage needs a non-empty secret to sign URLs")
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
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
        await asyncio.to_thread(_write_atomic, dest, lambda tmp: shutil.copyfile(src, tmp))
        return dest

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(_delete_tree, self.path_for(folder_key(prefix)))

    def url(self, key: str, *, expires_in: int = 3600) -> str:
        check_key(key)
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        if is_public(key):
            return f"{self.base_url}/files/{key}"
        # Key characters are all URL-safe (check_key), so no quoting is needed.
        exp = int(time.time()) + expires_in
        return f"{self.base_url}/files/{key}?exp={exp}&sig={sign(key, exp, self._secret)}"


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


def _delete_tree(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    count = sum(1 for p in folder.rglob("*") if not p.is_dir())
    shutil.rmtree(folder)
    return count
