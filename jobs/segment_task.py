"""One part of a long render, run by whichever worker takes its arq entry: the job's manifest rendered in a
child process for one segment's frames (video only, its first frame an IDR frame), or for its soundtrack
alone; the file stored, the result written on the board (jobs.segments).

It stops at once, killing its render, when the job is cancelled or no longer running, and does nothing when
its entry is not the one the board names (an entry superseded after its worker died), so a worker killed
mid-segment costs a rerun of that segment only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import time
from pathlib import Path

from db import repo
from db.tables import JobStatus
from jobs.deps import Deps
from jobs.parking import keep_parked, publish_progress, wake_now
from jobs.segments import Board, SegmentDone, SegmentFailed, SegmentPlan
from jobs.tail import local_timeline, render_limited
from media.errors import MediaError
from media.render.child import audio_in_child
from media.render.result import RenderResult
from media.timeline.model import Timeline

log = logging.getLogger(__name__)


def segment_key(job_id: str, token: str, name: str) -> str:
    return f"jobs/{job_id}/segments/{token}/{name}"


async def render_segment(deps: Deps, job_id: str, token: str, index: int, queue_id: str | None) -> None:
    """Part `index` of the plan: a video segment, or (the last index) the soundtrack."""
    board = Board(deps.redis, job_id, token)
    state = await board.read()
    if state is None or state.queued.get(index) != queue_id or index in state.done:
        log.info("part %d of job %s: entry %s is superseded or done; nothing to do", index, job_id, queue_id)
        return
    if not await _wanted(deps, job_id):
        return
    await board.start(index, queue_id or "", deps.lease_seconds, deps.worker_id)
    work = deps.tools.work_root / f"{job_id}.segment-{index}.{secrets.token_hex(4)}"
    started = time.monotonic()
    try:
        data = json.loads(await _read(deps, state.plan.manifest_key, work))
        timeline = await local_timeline(deps.tools, job_id, data, work / "inputs")
        rendering = asyncio.ensure_future(_render(deps, board, state.plan, index, timeline, work))
        result = await _watch(deps, board, index, rendering)
        if result is None:
            log.info("part %d of job %s stopped: the job is no longer running", index, job_id)
            return
        done = await _store(deps, board, state.plan, index, work, result)
        done.seconds = round(time.monotonic() - started, 3)
        await board.finish(index, done)
        log.info("part %d of job %s: %d frames in %.2f s", index, job_id, done.frames, done.seconds)
    except MediaError as exc:
        await board.fail(index, SegmentFailed(code=exc.code, message=f"part {index}: {exc.message}"))
    except Exception:
        log.exception("part %d of job %s failed", index, job_id)
        await board.fail(
            index, SegmentFailed(code="RENDER_FAILED", message=f"part {index} failed unexpectedly")
        )
    finally:
        with contextlib.suppress(Exception):
            await board.release(index)
        await asyncio.to_thread(shutil.rmtree, work, True)
    await wake_now(deps, board)  # done or failed: the parked job need not wait for its next wake


def _files(plan: SegmentPlan, index: int, work: Path) -> tuple[Path, Path]:
    name = "soundtrack.m4a" if index == plan.soundtrack else f"{index:03d}.mp4"
    return work / name, work / "poster.jpg"


async def _render(
    deps: Deps, board: Board, plan: SegmentPlan, index: int, timeline: Timeline, work: Path
) -> RenderResult:
    limits = deps.tools.render
    out, poster = _files(plan, index, work)
    if index == plan.soundtrack:
        return await audio_in_child(
            timeline,
            out,
            timeout_seconds=limits.timeout_seconds,
            limits=limits.timeline,
            memory_limit_mb=limits.memory_limit_mb,
            nice=limits.nice,
        )

    async def on_progress(frames: int, total: int) -> None:
        await board.progress(index, frames)
        await publish_progress(deps, board)

    return await render_limited(limits, timeline, out, poster, on_progress, plan.ranges[index])


async def _store(
    deps: Deps, board: Board, plan: SegmentPlan, index: int, work: Path, result: RenderResult
) -> SegmentDone:
    storage = deps.tools.storage
    out, poster = _files(plan, index, work)
    key = segment_key(board.job_id, board.token, out.name)
    size = await storage.put_file(key, out, "audio/mp4" if index == plan.soundtrack else "video/mp4")
    poster_key = None
    if await asyncio.to_thread(poster.exists):
        poster_key = segment_key(board.job_id, board.token, "poster.jpg")
        await storage.put_file(poster_key, poster, "image/jpeg")
    return SegmentDone(
        key=key, frames=result.frames, bytes=size, seconds=0.0, encoder=result.encoder, poster_key=poster_key
    )


async def _wanted(deps: Deps, job_id: str) -> bool:
    async with deps.sessions() as session:
        job = await repo.get_job(session, job_id)
    return job is not None and job.status == JobStatus.PROCESSING and not job.cancel_requested


async def _watch(
    deps: Deps, board: Board, index: int, rendering: asyncio.Future[RenderResult]
) -> RenderResult | None:
    """The render's result; None (its child killed) once the job is cancelled or ends. Keeps the part's
    lease meanwhile (the job's wakes see this worker alive) and the parked job's (the reconciler sees the
    job alive while every slot renders and its wakes wait in the queue)."""
    try:
        while True:
            done, _ = await asyncio.wait({rendering}, timeout=deps.cancel_poll_seconds)
            if done:
                return rendering.result()
            await board.renew(index, deps.lease_seconds)
            await keep_parked(deps, board)
            if not await _wanted(deps, board.job_id):
                return None
    finally:
        if not rendering.done():
            rendering.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await rendering


async def _read(deps: Deps, key: str, work: Path) -> bytes:
    path = await deps.tools.storage.fetch_to(key, work / "manifest.json")
    return await asyncio.to_thread(path.read_bytes)
