"""`clipforge up` heals itself: its worker is SIGKILLed in the middle of a render, as a new user's laptop
might kill it (out of memory), and the job still completes without anyone doing anything — a new worker
within seconds, the job resumed from its last finished stage."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.settings import Settings
from db import repo
from db.engine import session_factory
from tests.conftest import free_port
from tests.factory import COLOURS, jpeg
from tests.service import MediaServer, Service
from tests.test_slideshow_e2e import mean_rgb

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage progress message } }"
DONE = "query($id: ID!) { job(id: $id) { status videoUrl stages { name status attempts } } }"


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def lease_owner(database: Path, job_id: str) -> str | None:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT lease_owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row[0] if row else None


async def test_up_restarts_a_killed_worker_and_the_job_resumes_from_its_render_and_completes(
    tmp_path: Path,
) -> None:
    port, worker_port = free_port(), free_port()
    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    # Production's lease (30 s) and reconciler period (10 s) on purpose: recovery must not wait for them.
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CLIPFORGE_WORKER_PORT=str(worker_port),
        CLIPFORGE_DATA_DIR=str(data),
        CLIPFORGE_ALLOW_PRIVATE_URLS="1",
        CLIPFORGE_RENDER_FPS="10",
        CLIPFORGE_RENDER_PRESET="ultrafast",
    )
    log = tmp_path / "up.log"
    with log.open("wb") as sink:
        up = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clipforge", "up", env=env, stdout=sink, stderr=sink
        )
    base = f"http://127.0.0.1:{port}"
    events: list[dict[str, Any]] = []
    victim = 0
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"clipforge up did not become ready in 30 s\n{log.read_text()[-3000:]}")
            service = Service(url=base, settings=Settings(port=port), http=http)
            files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:3])}
            with MediaServer(files) as media:
                inp = {
                    "imageUrls": [f"{media.url}/{i}.jpg" for i in range(3)],
                    "size": "1080x1080",
                    "secondsPerImage": 12,
                }
                created = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]
                job_id = created["id"]
                killed_at = resumed_at = 0.0
                async for message in service.subscribe(PROGRESS, {"id": job_id}, limit_seconds=240):
                    event = message["data"]["jobProgress"]
                    events.append(event)
                    if not victim and "frame" in event["message"]:
                        owner = lease_owner(data / "clipforge.db", job_id)
                        assert owner is not None
                        victim = int(owner.split(":")[1])
                        assert parent_of(victim) == up.pid  # up's own worker, and no one else's process
                        os.kill(victim, signal.SIGKILL)
                        killed_at = time.monotonic()
                    if killed_at and not resumed_at and "worker lost" in event["message"]:
                        resumed_at = time.monotonic()
            completed_at = time.monotonic()
            job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
            video = tmp_path / "video.mp4"
            video.write_bytes((await http.get(job["videoUrl"])).content)
            ready = (await http.get(f"{base}/readyz")).json()
    finally:
        up.send_signal(signal.SIGTERM)
        await asyncio.wait_for(up.wait(), 60)
    output = log.read_text()

    assert victim, "the render never reported a frame"
    assert events[-1]["status"] == "COMPLETED", (events[-3:], output[-3000:])
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    # Resumed from the last finished stage: fetch and compose were not run again.
    attempts = {s["name"]: s["attempts"] for s in job["stages"]}
    assert attempts == {"fetch": 1, "compose": 1, "render": 2, "store": 1, "finalize": 1}
    # The render that ran again made the whole video: each photo in its place, every frame there.
    with av.open(str(video)) as container:
        assert abs((container.duration or 0) / 1e6 - 36.0) < 0.2
        frames = list(container.decode(video=0))
    assert abs(len(frames) - 360) <= 1  # 36 s at 10 fps
    for k, colour in enumerate(COLOURS[:3]):
        middle = frames[k * 120 + 60]
        middle.to_image().save(tmp_path / f"photo-{k}.png")  # to look at
        assert np.abs(mean_rgb(middle) - np.array(colour)).max() < 40, (k, mean_rgb(middle), colour)
    assert ready["ready"] is True and ready["checks"]["workers"] == "1 alive"  # the new worker beats

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (died,) = [x for x in lines if x["message"].startswith("WORKER DIED")]
    assert died["level"] == "error" and f"(pid {victim}) killed by SIGKILL" in died["message"]
    restarted = [x for x in lines if x["message"].startswith("worker restarted")]
    assert len(restarted) == 1 and str(victim) not in restarted[0]["message"]
    released = [x for x in lines if x["message"].startswith("jobs of the dead worker")]
    assert released and job_id in released[0]["message"]
    print(
        f"\nSIGKILL -> job re-driven in {resumed_at - killed_at:.1f} s, "
        f"-> COMPLETED in {completed_at - killed_at:.1f} s (lease 30 s, reconciler every 10 s)"
    )
    pgrep = await asyncio.create_subprocess_exec("pgrep", "-f", str(tmp_path), stdout=asyncio.subprocess.PIPE)
    assert (await pgrep.communicate())[0].split() == [], "processes left running"


async def test_a_worker_restarted_in_place_takes_back_the_jobs_of_the_process_it_replaces(
    service: Service, engine: AsyncEngine
) -> None:
    """A container's restart policy brings a worker back under the same host name and pid. Its dead
    predecessor's lease (10 minutes to run here) is taken back at start-up, and the job completes at once."""
    files = {"/a.jpg": (jpeg(COLOURS[0]), "image/jpeg")}
    with MediaServer(files) as media:
        inp = {
            "imageUrls": [f"{media.url}/a.jpg"],
            "size": "1080x1080",
            "secondsPerImage": 1,
            "preview": True,
        }
        job_id = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]["id"]
        predecessor = f"{socket.gethostname()}:{os.getpid()}:dead00"  # this process's host:pid, gone
        async with session_factory(engine).begin() as session:
            claimed = await repo.claim_job(session, job_id, owner=predecessor, lease_seconds=600)
            assert claimed is not None and claimed.status == "PROCESSING"
        await service.drain_queue()  # a worker of this same host:pid
    job = (await service.gql(DONE, {"id": job_id}))["data"]["job"]
    assert job["status"] == "COMPLETED", job
