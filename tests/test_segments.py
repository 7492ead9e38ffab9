"""A long timeline rendered as segments by real worker processes: the parked job frees its worker's slot
(one worker running one job at a time still finishes it), progress counts the frames of every segment, a
worker killed mid-segment costs a rerun of that segment only, and cancelling the job stops its segments."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import av
import pytest
from redis.asyncio import Redis

from jobs.queue import connect, in_queue
from jobs.segments import Board, BoardState
from tests.factory import COLOURS, jpeg, wav
from tests.service import MediaServer, Service
from tests.workers import worker_processes

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

RENDER = "mutation($input: TimelineInput!) { renderTimeline(input: $input) { ... on Job { id } } }"
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage progress message } }"
DONE = """query($id: ID!) { job(id: $id) {
  status videoUrl error { code message } stages { name status encoder attempts } } }"""
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { ... on Job { status } } }"
SEGMENTED = {
    "CLIPFORGE_SEGMENT_AFTER_SECONDS": "3",
    "CLIPFORGE_SEGMENT_SECONDS": "2",
    "CLIPFORGE_SEGMENT_POLL_SECONDS": "0.2",
    "CLIPFORGE_WORKER_CONCURRENCY": "1",
}


def _timeline(url: str, *, size: tuple[int, int], preset: str, scenes: int = 4) -> dict[str, Any]:
    fade = {"transition": {"kind": "crossfade", "duration": 0.5}}
    clips = [
        {"type": "image", "source": f"{url}/{i % 3}.jpg", "duration": 2.5, "ken_burns": {"pan": "left"}}
        | (fade if i else {})
        for i in range(scenes)
    ]
    return {
        "output": {"width": size[0], "height": size[1], "fps": 10, "preset": preset, "loudness_lufs": None},
        "tracks": [
            {"clips": clips},
            {"clips": [{"type": "text", "text": "Over a cut", "start": 1.5, "duration": 4}]},
        ],
        "audio": [{"clips": [{"source": f"{url}/tone.wav", "loop": True}]}],
    }


def _media() -> dict[str, tuple[bytes, str]]:
    files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:3])}
    files["/tone.wav"] = (wav(1.3), "audio/wav")
    return files


async def _create(service: Service, timeline: dict[str, Any]) -> str:
    body = await service.gql(RENDER, {"input": {"timeline": timeline}})
    job_id: str = body["data"]["renderTimeline"]["id"]
    return job_id


async def _board(redis: Redis, job_id: str) -> BoardState | None:
    async for key in redis.scan_iter(f"clipforge:segments:{job_id}:*"):
        name = key.decode()
        if ":lease:" not in name:
            return await Board(redis, job_id, name.rsplit(":", 1)[1]).read()
    return None


async def _until(redis: Redis, job_id: str, ready: Any, seconds: float = 60.0) -> BoardState:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = await _board(redis, job_id)
        if state is not None and ready(state):
            return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"the board of job {job_id} never got there: {await _board(redis, job_id)}")


def _rendering(state: BoardState) -> int | None:
    """A segment that has started encoding and is not done."""
    return next((i for i, frames in state.frames.items() if int(frames) > 0 and i not in state.done), None)


async def _events(service: Service, job_id: str) -> list[dict[str, Any]]:
    events = []
    async for message in service.subscribe(PROGRESS, {"id": job_id}, limit_seconds=120):
        events.append(message["data"]["jobProgress"])
    return events


async def test_a_long_timeline_renders_in_segments_even_on_one_worker_running_one_job_at_a_time(
    service: Service, tmp_path: Path
) -> None:
    async with worker_processes(service.settings, 1, tmp_path, **SEGMENTED):
        with MediaServer(_media()) as media:
            job_id = await _create(service, _timeline(media.url, size=(320, 180), preset="veryfast"))
            events = await _events(service, job_id)
    assert events[-1]["status"] == "COMPLETED", events[-3:]
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    render = next(s for s in job["stages"] if s["name"] == "render")
    assert render["encoder"] == "libx264"  # no GPU here: auto fell back
    assert render["attempts"] == 1  # parked while its segments rendered, then joined: one try, not two
    redis = Redis.from_url(str(service.settings.redis_url))
    try:
        state = await _board(redis, job_id)
    finally:
        await redis.aclose()
    assert state is not None and len(state.plan.ranges) >= 3 and state.all_done
    assert set(state.runs.values()) == {1}
    # The bar counted the segments' frames while the job was parked, and never went back.
    assert any("segments)" in e["message"] for e in events)
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    video = tmp_path / "joined.mp4"
    video.write_bytes((await service.http.get(job["videoUrl"])).content)
    with av.open(str(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        durations = {s.type: float(s.duration * s.time_base) for s in container.streams if s.time_base}
    assert frames == 85
    assert abs(durations["audio"] - durations["video"]) < 0.1


# The database's part is the same as in the test above: these two run on SQLite only, to keep CI short.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_worker_killed_mid_segment_costs_a_rerun_of_that_segment_only(
    service: Service, tmp_path: Path
) -> None:
    redis = await connect(str(service.settings.redis_url))
    try:
        async with worker_processes(service.settings, 2, tmp_path, **SEGMENTED) as workers:
            with MediaServer(_media()) as media:
                timeline = _timeline(media.url, size=(960, 540), preset="slow")
                job_id = await _create(service, timeline)
                state = await _until(redis, job_id, lambda s: _rendering(s) is not None)
                victim = _rendering(state)
                assert victim is not None
                pid = int(state.workers[victim].split(":")[1])
                next(w for w in workers if w.pid == pid).send_signal(signal.SIGKILL)
                events = await _events(service, job_id)
        state = await _until(redis, job_id, lambda s: s.all_done, seconds=5)
    finally:
        await redis.aclose()
    assert events[-1]["status"] == "COMPLETED", events[-3:]
    assert state.runs[victim] == 2
    assert all(runs == 1 for index, runs in state.runs.items() if index != victim), state.runs
    assert pid not in {int(w.split(":")[1]) for w in state.workers.values()}  # the survivor did it again


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_cancelling_the_job_stops_its_segments(service: Service, tmp_path: Path) -> None:
    redis = await connect(str(service.settings.redis_url))
    try:
        async with worker_processes(service.settings, 1, tmp_path, **SEGMENTED):
            with MediaServer(_media()) as media:
                job_id = await _create(service, _timeline(media.url, size=(960, 540), preset="slow"))
                state = await _until(redis, job_id, lambda s: _rendering(s) is not None)
                cancelled = await service.gql(CANCEL, {"id": job_id})
                assert cancelled["data"]["cancelJob"]["status"] == "CANCELLED"
                # Every entry the job queued is taken and ends; none renders after the cancel.
                queued = list(state.queued.values())
                for _ in range(600):  # up to 30 s
                    still = [q for q in queued if await in_queue(redis, q)]
                    if not still:
                        break
                    await asyncio.sleep(0.05)
                after = await _board(redis, job_id)
                pgrep = await asyncio.create_subprocess_exec(
                    "pgrep", "-f", f"media.render .*{job_id}", stdout=asyncio.subprocess.PIPE
                )
                children = (await pgrep.communicate())[0]
    finally:
        await redis.aclose()
    assert after is not None
    assert still == []
    assert children == b"", "a segment's render process outlived the cancel"
    assert len(after.done) <= len(state.done) + 1  # at most the one that was finishing as the cancel came
    assert set(after.runs) == set(state.runs), (state.runs, after.runs)  # no segment started after the cancel
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "CANCELLED" and job["videoUrl"] is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_part_that_fails_fails_the_job_with_its_typed_error(service: Service, tmp_path: Path) -> None:
    # Workers told to encode with NVENC, on a machine without an NVIDIA GPU: every segment fails.
    env = {**SEGMENTED, "CLIPFORGE_VIDEO_ENCODER": "h264_nvenc"}
    async with worker_processes(service.settings, 1, tmp_path, **env):
        with MediaServer(_media()) as media:
            job_id = await _create(service, _timeline(media.url, size=(320, 180), preset="veryfast"))
            events = await _events(service, job_id)
    assert events[-1]["status"] == "FAILED", events[-3:]
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["error"]["code"] == "ENCODER_UNAVAILABLE", job["error"]
    assert "h264_nvenc" in job["error"]["message"]
    assert {s["name"]: s["status"] for s in job["stages"]}["render"] == "FAILED"
