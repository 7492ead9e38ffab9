"""Faults injected for real: a worker SIGKILLed mid-render."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from db import repo
from db.engine import create_engine, session_factory
from tests.factory import COLOURS, jpeg
from tests.service import MediaServer, Service
from tests.workers import worker_processes

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """mutation($input: SlideshowInput!) { createSlideshow(input: $input) { ... on Job { id } } }"""
PROGRESS = "subscription($id: ID!) { jobProgress(jobId: $id) { seq status stage progress message } }"
STAGES = "query($id: ID!) { job(id: $id) { status videoUrl stages { name status attempts } } }"


async def lease_owner(service: Service, job_id: str) -> str | None:
    engine = create_engine(service.settings.resolved_database_url)
    try:
        async with session_factory(engine)() as session:
            job = await repo.get_job(session, job_id)
            return job.lease_owner if job else None
    finally:
        await engine.dispose()


async def test_a_job_whose_worker_is_killed_mid_render_is_finished_by_another_from_the_render_stage(
    service: Service, tmp_path: Path
) -> None:
    files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:3])}
    events: list[dict[str, Any]] = []
    async with worker_processes(service.settings, 2, tmp_path) as workers:
        with MediaServer(files) as media:
            inp = {"imageUrls": [f"{media.url}/{i}.jpg" for i in range(3)], "secondsPerImage": 15}
            job_id = (await service.gql(CREATE, {"input": inp}))["data"]["createSlideshow"]["id"]
            killed_at = 0.0
            async for message in service.subscribe(PROGRESS, {"id": job_id}, limit_seconds=120):
                event = message["data"]["jobProgress"]
                events.append(event)
                if not killed_at and "frame" in event["message"]:
                    owner = await lease_owner(service, job_id)
                    assert owner is not None
                    pid = int(owner.split(":")[1])
                    victim = next(w for w in workers if w.pid == pid)
                    victim.send_signal(signal.SIGKILL)
                    killed_at = time.monotonic()
            recovered_in = time.monotonic() - killed_at
    assert events[-1]["status"] == "COMPLETED", events[-3:]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert any("worker lost" in e["message"] for e in events)
    job = (await service.gql(STAGES, {"id": job_id}))["data"]["job"]
    attempts = {s["name"]: s["attempts"] for s in job["stages"]}
    # fetch and compose were not run again
    assert attempts == {"fetch": 1, "compose": 1, "render": 2, "store": 1, "finalize": 1}
    print(f"\nrecovered {recovered_in:.1f} s after SIGKILL (lease 3 s, reconciler every 1 s)")
    await asyncio.sleep(0.5)  # the orphaned render child notices its closed pipe on its next progress line
    pgrep = await asyncio.create_subprocess_exec(
        "pgrep", "-f", f"media.render .*{job_id}", stdout=asyncio.subprocess.PIPE
    )
    assert (await pgrep.communicate())[0] == b"", "the killed worker's render process outlived it"
