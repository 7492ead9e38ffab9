"""renderTimeline: check the whole timeline before anything is stored, name every file it refers to, keep the
uploads it uses, then submit the job.

A timeline names its media and fonts by http(s) URL or as "upload:N" (the N-th of the mutation's `files`).
Everything that can be checked without the files is checked here, so a bad timeline is a typed error listing
every problem with its path, never a failed job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db.ids import new_id
from jobs.inputs import InputRef
from jobs.timeline import TIMELINE, Source, TimelineParams
from media.errors import MediaError
from media.inputs.fetch import MediaKind, check_url
from media.timeline.checks import InvalidTimeline, parse_timeline
from media.timeline.sources import Reference, references, rewrite
from resolvers.context import Context
from resolvers.errors import UserError
from resolvers.idempotency import check_key
from resolvers.submit import submit
from resolvers.uploads import Upload, safe_name, store_upload
from resolvers.views import JobView

UPLOAD_PREFIX = "upload:"
MAX_SOURCES = 200


@dataclass
class TimelineRequest:
    timeline: Any  # decoded JSON, or a JSON string
    files: Sequence[Upload] = ()
    preview: bool = False
    idempotency_key: str | None = None


async def render_timeline(ctx: Context, req: TimelineRequest) -> JobView:
    check_key(req.idempotency_key)
    data = _decode(req.timeline)
    refs = references(data)
    names: dict[str, str] = {}  # file reference -> source name
    first: dict[str, Reference] = {}
    problems: list[tuple[str, str]] = []
    for ref in refs:
        if ref.value not in names:
            problem = _check_reference(ref.value, len(req.files))
            if problem:
                problems.append((ref.path, problem))
                continue
            names[ref.value] = f"src-{len(names):02d}"
            first[ref.value] = ref
    if len(names) > MAX_SOURCES:
        problems.append(("timeline", f"names {len(names)} files; at most {MAX_SOURCES} are allowed"))
    template = rewrite(data, lambda value: names.get(value, value))
    try:
        parse_timeline(template, ctx.services.limits.timeline, files=False)
    except InvalidTimeline as exc:
        problems += exc.problems
    except MediaError as exc:  # text the font cannot draw
        problems.append(("timeline", exc.message))
    if problems:
        raise UserError(
            "INVALID_TIMELINE",
            "; ".join(f"{path} {message}" for path, message in problems),
            problems[0][0],
            problems,
        )
    used = {int(value.removeprefix(UPLOAD_PREFIX)) for value in names if value.startswith(UPLOAD_PREFIX)}
    unused = sorted(set(range(len(req.files))) - used)
    if unused:
        raise UserError(
            "UNUSED_UPLOAD", f'files[{unused[0]}] is not used: refer to it as "upload:{unused[0]}"', "files"
        )

    job_id = new_id()
    uploads: dict[int, InputRef] = {}
    stored: dict[str, str] = {}  # storage key -> sha256 of the content
    storage = ctx.services.storage
    try:
        for index in sorted(used):
            upload = req.files[index]
            key = f"jobs/{job_id}/uploads/{index:02d}-{safe_name(upload.filename, 'file')}"
            max_bytes = ctx.services.limits.max_upload_bytes
            stored[key] = await store_upload(
                storage, upload, key, max_bytes=max_bytes, field=f"files[{index}]"
            )
            uploads[index] = InputRef(upload_key=key, filename=upload.filename)
    except BaseException:
        await storage.delete_prefix(f"jobs/{job_id}/")  # nothing half-stored survives a refusal
        raise

    def input_ref(value: str) -> InputRef:
        if value.startswith(UPLOAD_PREFIX):
            return uploads[int(value.removeprefix(UPLOAD_PREFIX))]
        return InputRef(url=value)

    sources = {
        name: Source(ref=input_ref(value), accept=_accepts(refs, value), path=first[value].path)
        for value, name in names.items()
    }
    params = TimelineParams(template=template, sources=sources, preview=req.preview)
    return await submit(ctx, job_id, TIMELINE, params, idempotency_key=req.idempotency_key, uploads=stored)


def _decode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise UserError("INVALID_TIMELINE", f"timeline is not valid JSON: {exc}", "timeline") from exc
    if not isinstance(value, dict):
        raise UserError("INVALID_TIMELINE", "timeline must be a JSON object", "timeline")
    return value


def _check_reference(value: str, uploads: int) -> str | None:
    """Why a file reference cannot be used, or None."""
    if value.startswith(UPLOAD_PREFIX):
        index = value.removeprefix(UPLOAD_PREFIX)
        if not uploads:
            return f"refers to {value!r} but the mutation has no files"
        if not index.isdigit() or int(index) >= uploads:
            return f"refers to {value!r}; the mutation's files are upload:0 .. upload:{uploads - 1}"
        return None
    if not value.lower().startswith(("http://", "https://")):
        return 'must be an http(s) URL or "upload:N" (one of the mutation\'s files)'
    try:
        check_url(value)
    except MediaError as exc:
        return exc.message
    return None


def _accepts(refs: list[Reference], value: str) -> frozenset[MediaKind]:
    """Every kind of media a reference is used as (normally one)."""
    return frozenset().union(*(r.accept for r in refs if r.value == value))
