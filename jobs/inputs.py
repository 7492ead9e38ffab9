"""A job's input files: fetched from their URLs (or taken from the API's uploads), checked to be the kind of
media expected, and kept in storage under deterministic keys, so a rerun overwrites instead of duplicating."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from jobs.stage import StageCall
from media.errors import MediaError
from media.inputs.fetch import MediaKind, fetch_to_file, sniff

PARALLEL_FETCHES = 4


class InputRef(BaseModel):
    """Where an input comes from: a URL to fetch, or an upload the API already stored."""

    url: str | None = None
    upload_key: str | None = None
    filename: str | None = None
    # An upload's media kind as its first bytes say ("image", "audio", "video", "font", or "unknown"), so
    # a kind can refuse the wrong file before queueing; None for a URL (known only once fetched).
    sniffed: str | None = None

    @property
    def label(self) -> str:
        return self.url or self.filename or "upload"


class StoredInput(BaseModel):
    key: str
    content_type: str
    bytes: int


class Wanted(BaseModel):
    name: str  # file name in storage, without extension: "image-03"
    ref: InputRef
    accept: frozenset[MediaKind]
    label: str  # how an error names it: "image 03", "tracks[0].clips[2].source"


async def fetch_inputs(call: StageCall[Any], wanted: Sequence[Wanted]) -> dict[str, StoredInput]:
    """Every wanted input in storage at jobs/<id>/inputs/<name><ext>, by name; a few at a time."""
    inbox = call.work_dir / "inputs"
    inbox.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(PARALLEL_FETCHES)
    finished = 0

    async def one(item: Wanted) -> StoredInput:
        nonlocal finished
        async with gate:
            try:
                path, content_type, ext = await _materialise(call, item.ref, inbox / item.name, item.accept)
            except MediaError as exc:
                raise MediaError(exc.code, f"{item.label} ({item.ref.label}): {exc.message}") from exc
            key = f"jobs/{call.job_id}/inputs/{item.name}{ext}"
            size = await call.tools.storage.put_file(key, path, content_type)
        await call.add_artifact("input", key, content_type, size)
        finished += 1
        await call.report(finished / len(wanted), f"{finished}/{len(wanted)} inputs ready")
        return StoredInput(key=key, content_type=content_type, bytes=size)

    stored = await asyncio.gather(*(one(item) for item in wanted))
    return {item.name: result for item, result in zip(wanted, stored, strict=True)}


async def _materialise(
    call: StageCall[Any], ref: InputRef, dest: Path, accept: frozenset[MediaKind]
) -> tuple[Path, str, str]:
    if ref.url:
        fetched = await fetch_to_file(call.tools.http, ref.url, dest, accept, call.tools.fetch_limits)
        return fetched.path, fetched.content_type, fetched.extension
    if not ref.upload_key:
        raise MediaError("INVALID_INPUT", "an input has neither a URL nor an upload")
    path = await call.tools.storage.fetch_to(ref.upload_key, dest)
    head = await asyncio.to_thread(_head, path)
    found = sniff(head)
    if found is None or found[0] not in accept:
        seen = found[0] if found else "unrecognised data"
        expected = " or ".join(sorted(accept))
        raise MediaError("UNSUPPORTED_MEDIA", f"expected {expected}, got {seen}")
    return path, found[1], found[2]


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(64)
