"""One segment of a long render, run by whichever worker takes its arq entry: the job's manifest rendered
for the segment's frames only (video only, its first frame an IDR frame) in a child process, the file
stored, the result written on the board (jobs.segments).

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
from jobs.parking import publish_progress, wake_now
from jobs.segments import Board, SegmentDone, SegmentFailed
from jobs.tail import local_timeline
from media.errors import MediaError
from media.render.child import render_in_child
from media.render.result import RenderResult

log = logging.getLogger(__name__)


def segment_key(job_id: str, token: str, name: str) -> str:
    return f"jobs/{job_id}/segments/{token}/{name}"


async def render_segment(deps: Deps, job_id: str, token: str, index: int, queue_id: str | None) -> None:
    board = Board(deps.redis, job_id, token)
    state = await board.read()
    if state is None or state.queued.get(index) != queue_id or index in state.done:
        log.info(
            "segment %d of job %s: entry %s is superseded or done; nothing to do", index, job_id, queue_id
        )
        return
    if not await _wanted(deps, job_id):
        return
    first, end = state.plan.ranges[index]
    await board.start(index, queue_id or "", deps.lease_seconds, deps.worker_id)
    work = deps.tools.work_root / f"{job_id}.segment-{index}.{secrets.token_hex(4)}"
    started = time.monotonic()
    try:
        data = json.loads(await _read(deps, state.plan.manifest_key, work))
        timeline = await local_timeline(deps.tools, job_id, data, work / "inputs")
        video, poster = work / f"{index:03d}.mp4", work / "poster.jpg"

        async def on_progress(frames: int, total: int) -> None:
            await board.progress(index, frames)
            await publish_progress(deps, board)

        limits = deps.tools.render
        rendering = asyncio.ensure_future(
            render_in_child(
                timeline,
                video,
                poster,
                on_progress=on_progress,
                timeout_seconds=limits.timeout_seconds,
                limits=limits.timeline,
                memory_limit_mb=limits.memory_limit_mb,
                cpu_limit_seconds=limits.cpu_limit_seconds,
                nice=limits.nice,
                encoder=limits.encoder,
                segment=(first, end),
            )
        )
        result = await _watch(deps, board, index, rendering)
        if result is None:
            log.info("segment %d of job %s stopped: the job is no longer running", index, job_id)
            return
        storage = deps.tools.storage
        key = segment_key(job_id, token, f"{index:03d}.mp4")
        size = await storage.put_file(key, video, "video/mp4")
        poster_key = None
        if await asyncio.to_thread(poster.exists):
            poster_key = await _put_poster(deps, job_id, token, poster)
        done = SegmentDone(
            key=key,
            frames=result.frames,
            bytes=size,
            seconds=round(time.monotonic() - started, 3),
            encoder=result.encoder,
            poster_key=poster_key,
        )
        await board.finish(index, done)
        await wake_now(deps, board)
        log.info("segment %d of job %s: %d frames in %.2f s", index, job_id, done.frames, done.seconds)
    except MediaError as exc:
        await board.fail(index, SegmentFailed(code=exc.code, message=f"segment {index}: {exc.message}"))
    except Exception:
        log.exception("segment %d of job %s failed", index, job_id)
        await board.fail(
            index, SegmentFailed(code="RENDER_FAILED", message=f"segment {index} failed unexpectedly")
        )
    finally:
        with contextlib.suppress(Exception):
            await board.release(index)
        await asyncio.to_thread(shutil.rmtree, work, True)


async def _wanted(deps: Deps, job_id: str) -> bool:
    async with deps.sessions() as session:
        job = await repo.get_job(session, job_id)
    return job is not None and job.status == JobStatus.PROCESSING and not job.cancel_requested


async def _watch(
    deps: Deps, board: Board, index: int, rendering: asyncio.Future[RenderResult]
) -> RenderResult | None:
    """The render's result; None (its child killed) once the job is cancelled or ends. Keeps the segment's
    lease meanwhile, so the job's wake sees this worker alive."""
    try:
        while True:
            done, _ = await asyncio.wait({rendering}, timeout=deps.cancel_poll_seconds)
            if done:
                return rendering.result()
            await board.renew(index, deps.lease_seconds)
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


async def _put_poster(deps: Deps, job_id: str, token: str, poster: Path) -> str:
    key = segment_key(job_id, token, "poster.jpg")
    await deps.tools.storage.put_file(key, poster, "image/jpeg")
    return key
