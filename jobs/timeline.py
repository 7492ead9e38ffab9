"""The timeline job (renderTimeline): fetch the files it names → render → store → finalize.

The API has already checked the timeline with its files still unfetched and replaced each file reference by
a source name ("src-00"); here the names become local files, and the render child checks the whole timeline
again, files included, before it draws a frame.
"""

from __future__ import annotations

import asyncio
from typing import cast

from pydantic import BaseModel

from jobs.inputs import InputRef, StoredInput, Wanted, fetch_inputs, local_copies
from jobs.outputs import FINISH, RenderOutput, render_timeline, result
from jobs.stage import Pipeline, StageCall, StageSpec
from media.inputs.fetch import MediaKind
from media.timeline.checks import parse_timeline
from media.timeline.sources import rewrite


class Source(BaseModel):
    ref: InputRef
    accept: frozenset[MediaKind]
    path: str  # where the timeline first names it, for errors: "tracks[0].clips[2].source"


class TimelineParams(BaseModel):
    template: dict[str, object]  # the timeline, each file reference replaced by its source name
    sources: dict[str, Source]  # by source name
    preview: bool = False


class FetchOutput(BaseModel):
    stored: dict[str, StoredInput]  # by source name


def _params(call: StageCall) -> TimelineParams:
    return cast(TimelineParams, call.params)


async def fetch(call: StageCall) -> FetchOutput:
    wanted = [
        Wanted(name=name, ref=source.ref, accept=source.accept, label=source.path)
        for name, source in _params(call).sources.items()
    ]
    return FetchOutput(stored=await fetch_inputs(call, wanted))


async def render(call: StageCall) -> RenderOutput:
    params = _params(call)
    stored = call.output("fetch", FetchOutput).stored
    local = await local_copies(call, list(stored.values()), call.work_dir / "render" / "inputs")
    data = rewrite(params.template, lambda name: str(local[stored[name].key]))
    timeline = await asyncio.to_thread(parse_timeline, data, call.tools.timeline_limits)
    keys = {str(path): key for key, path in local.items()}
    return await render_timeline(call, timeline, keys, preview=params.preview)


TIMELINE = Pipeline(
    kind="TIMELINE",
    params=TimelineParams,
    stages=(
        StageSpec("fetch", fetch, FetchOutput, weight=1.0),
        StageSpec("render", render, RenderOutput, weight=8.0),
        *FINISH,
    ),
    result=result,
)
