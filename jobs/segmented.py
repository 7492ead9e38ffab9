"""The render stage of a long timeline: cut into segments (media.timeline.cuts) that any workers render
as arq jobs of their own (jobs.segment_task), beside one more job that mixes and encodes the soundtrack once
for the whole timeline; then joined here, copying both without re-encoding (media.render.join).

The stage runs twice or more: the first time it queues the segments and raises Waiting, which parks the job
and frees this worker's slot (jobs.parking); once every segment is stored, the job runs again from this
stage, which finds them on the board and joins them. Its plan is the stage's checkpoint, so a re-driven or
retried job keeps the segments already rendered.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

from pydantic import BaseModel

from jobs.params import JobParams
from jobs.segments import Board, SegmentPlan
from jobs.stage import StageCall, Waiting
from jobs.tools import RenderLimits
from media.errors import MediaError
from media.render.child import join_in_child
from media.render.result import RenderResult
from media.timeline.checks import validate_timeline
from media.timeline.cuts import plan_segments
from media.timeline.model import Timeline
from media.timeline.schedule import duration_of, frame_count


class SegmentReport(BaseModel):
    frames: int
    seconds: float  # its render's wall time, on whichever worker ran it


class Joined(BaseModel):
    encoder: str
    segments: list[SegmentReport]
    soundtrack_seconds: float
    join_seconds: float


def segment_ranges(timeline: Timeline, limits: RenderLimits) -> list[tuple[int, int]]:
    """One range (0, total) unless the timeline is longer than the segmenting threshold."""
    placed = validate_timeline(timeline, limits.timeline)
    fps = timeline.output.fps
    duration = duration_of(timeline, placed)
    total = frame_count(duration, fps)
    if limits.segment_after_seconds <= 0 or duration <= limits.segment_after_seconds:
        return [(0, total)]
    return plan_segments(placed, fps, total, round(limits.segment_seconds * fps))


async def render_in_segments(
    call: StageCall[JobParams],
    timeline: Timeline,
    ranges: list[tuple[int, int]],
    manifest_key: str,
    video_path: Path,
    poster_path: Path,
) -> tuple[RenderResult, Joined]:
    assert call.tools.redis is not None

    async def make() -> SegmentPlan:
        return SegmentPlan(token=secrets.token_hex(6), ranges=ranges, manifest_key=manifest_key)

    plan = await call.once("segments", make, SegmentPlan)
    board = Board(call.tools.redis, call.job_id, plan.token)
    state = await board.submit(plan)
    if not state.all_done:
        raise Waiting(plan.token, len(plan.ranges))
    done = [state.done[i] for i in range(len(plan.ranges))]
    folder = video_path.parent / "segments"
    storage = call.tools.storage
    paths = await asyncio.gather(
        *(storage.fetch_to(d.key, folder / f"{i:03d}.mp4") for i, d in enumerate(done))
    )
    audio = await storage.fetch_to(state.done[plan.soundtrack].key, folder / "soundtrack.m4a")
    poster_key = next((d.poster_key for d in done if d.poster_key), None)
    if poster_key is None:
        raise MediaError("RENDER_FAILED", "no segment made the poster")
    await storage.fetch_to(poster_key, poster_path)

    async def on_progress(frames: int, total: int) -> None:
        await call.report(frames / max(total, 1), f"joining: frame {frames}/{total}")

    limits = call.tools.render
    started = time.monotonic()
    result = await join_in_child(
        timeline,
        [(path, d.frames) for path, d in zip(paths, done, strict=True)],
        audio,
        video_path,
        encoder=done[0].encoder,
        on_progress=on_progress,
        timeout_seconds=limits.timeout_seconds,
        limits=limits.timeline,
        memory_limit_mb=limits.memory_limit_mb,
        nice=limits.nice,
    )
    joined = Joined(
        encoder=result.encoder,
        segments=[SegmentReport(frames=d.frames, seconds=d.seconds) for d in done],
        soundtrack_seconds=state.done[plan.soundtrack].seconds,
        join_seconds=round(time.monotonic() - started, 3),
    )
    return result, joined
