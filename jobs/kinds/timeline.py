"""The timeline render (renderTimeline): a declarative timeline → its video. Stages: fetch the files it
names, then compose and the shared tail.

A timeline names its media and fonts by http(s) URL or as "upload:N" (the N-th of the mutation's `files`).
Everything that can be checked without the files is checked at intake, so a bad timeline is a typed error
listing every problem with its path, never a failed job; each file reference is replaced by a source name
("src-00"), fetched into storage by the fetch stage, and named by its storage key in the composed timeline.
The render checks the whole timeline again, files included, before it draws a frame.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel

from jobs.errors import UserError
from jobs.inputs import InputRef, StoredInput, Wanted, fetch_inputs
from jobs.kind import InputLimits, Kind, Values
from jobs.params import JobParams
from jobs.stage import StageCall, StageSpec
from media.errors import MediaError
from media.inputs.fetch import MediaKind, check_url
from media.timeline.checks import InvalidTimeline, parse_timeline
from media.timeline.model import Timeline
from media.timeline.sources import Reference, references, rewrite

UPLOAD_PREFIX = "upload:"
MAX_SOURCES = 200


class Source(BaseModel):
    ref: InputRef
    accept: frozenset[MediaKind]
    path: str  # where the timeline first names it, for errors: "tracks[0].clips[2].source"


class TimelineParams(JobParams):
    template: dict[str, object]  # the timeline, each file reference replaced by its source name
    sources: dict[str, Source]  # by source name


def intake(values: Values, limits: InputLimits) -> TimelineParams:
    data = _decode(values["timeline"])
    files: list[InputRef] = list(values.get("files") or ())
    refs = references(data)
    names: dict[str, str] = {}  # file reference -> source name
    first: dict[str, Reference] = {}
    problems: list[tuple[str, str]] = []
    for ref in refs:
        if ref.value not in names:
            problem = _check_reference(ref.value, len(files))
            if problem:
                problems.append((ref.path, problem))
                continue
            names[ref.value] = f"src-{len(names):02d}"
            first[ref.value] = ref
    if len(names) > MAX_SOURCES:
        problems.append(("timeline", f"names {len(names)} files; at most {MAX_SOURCES} are allowed"))
    template = rewrite(data, lambda value: names.get(value, value))
    try:
        parse_timeline(template, limits.timeline, files=False)
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
    unused = sorted(set(range(len(files))) - used)
    if unused:
        raise UserError(
            "UNUSED_UPLOAD", f'files[{unused[0]}] is not used: refer to it as "upload:{unused[0]}"', "files"
        )

    def input_ref(value: str) -> InputRef:
        if value.startswith(UPLOAD_PREFIX):
            return files[int(value.removeprefix(UPLOAD_PREFIX))]
        return InputRef(url=value)

    sources = {
        name: Source(ref=input_ref(value), accept=_accepts(refs, value), path=first[value].path)
        for value, name in names.items()
    }
    return TimelineParams(template=template, sources=sources, preview=bool(values.get("preview")))


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


class FetchOutput(BaseModel):
    stored: dict[str, StoredInput]  # by source name


async def fetch(call: StageCall[TimelineParams]) -> FetchOutput:
    wanted = [
        Wanted(name=name, ref=source.ref, accept=source.accept, label=source.path)
        for name, source in call.params.sources.items()
    ]
    return FetchOutput(stored=await fetch_inputs(call, wanted))


async def compose(call: StageCall[TimelineParams]) -> Timeline:
    stored = call.output("fetch", FetchOutput).stored
    data = rewrite(call.params.template, lambda name: stored[name].key)
    return await asyncio.to_thread(parse_timeline, data, call.tools.render.timeline, files=False)


TIMELINE = Kind(
    name="TIMELINE",
    params=TimelineParams,
    intake=intake,
    stages=(StageSpec("fetch", fetch, FetchOutput, weight=1.0),),
    compose=compose,
)
