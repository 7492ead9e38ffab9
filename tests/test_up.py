"""`clipforge up` as the README starts it: no REDIS_URL, no DATABASE_URL — embedded Redis, SQLite,
local storage, API and worker — then a slideshow through it, then a clean shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import av
import httpx
import pytest

from tests.conftest import free_port
from tests.factory import COLOURS, jpeg
from tests.service import MediaServer

pytestmark = pytest.mark.slow  # real renders and worker processes: `make test`, not `make test-fast`

CREATE = """mutation($urls: [String!]) { createSlideshow(input: {imageUrls: $urls, size: "1080x1080",
  secondsPerImage: 1, transitionSeconds: 0.2}) { ... on Job { id } ... on InvalidInput { code message } } }"""
STATUS = """query($id: ID!) { job(id: $id) { status videoUrl error { code message } } }"""


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
async def test_up_starts_everything_itself_renders_a_job_and_leaves_nothing_running(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port, worker_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CLIPFORGE_WORKER_PORT=str(worker_port),
        CLIPFORGE_DATA_DIR=str(tmp_path / "var"),
        CLIPFORGE_ALLOW_PRIVATE_URLS="1",
        CLIPFORGE_RENDER_FPS="10",
        CLIPFORGE_RENDER_PRESET="ultrafast",
    )
    log = tmp_path / "up.log"
    with log.open("wb") as sink:  # a file, not a pipe nobody reads while the service runs
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clipforge", "up", env=env, stdout=sink, stderr=sink
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("clipforge up did not become healthy in 30 s")
            files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:2])}
            with MediaServer(files) as media:
                urls = [f"{media.url}/{i}.jpg" for i in range(2)]
                request_id = f"test-{stop.name}"
                response = await http.post(
                    f"{base}/graphql",
                    json={"query": CREATE, "variables": {"urls": urls}},
                    headers={"x-request-id": request_id},
                )
                assert response.headers["x-request-id"] == request_id  # the client's id comes back
                job_id = response.json()["data"]["createSlideshow"]["id"]
                for _ in range(600):
                    body = (
                        await http.post(
                            f"{base}/graphql", json={"query": STATUS, "variables": {"id": job_id}}
                        )
                    ).json()
                    job = body["data"]["job"]
                    if job["status"] in ("COMPLETED", "FAILED"):
                        break
                    await asyncio.sleep(0.1)
            assert job["status"] == "COMPLETED", job
            video = tmp_path / "video.mp4"
            video.write_bytes((await http.get(job["videoUrl"])).content)
            # The worker's own probes and metrics, on its port.
            assert (await http.get(f"http://127.0.0.1:{worker_port}/readyz")).status_code == 200
            worker_metrics = (await http.get(f"http://127.0.0.1:{worker_port}/metrics")).text
            assert 'clipforge_jobs_finished_total{kind="SLIDESHOW",status="COMPLETED"} 1.0' in worker_metrics
            assert (await http.get(f"{base}/readyz")).json()["checks"]["workers"] == "1 alive"
        with av.open(str(video)) as container:
            assert container.streams.video[0].codec_context.width == 1080
            assert abs((container.duration or 0) / 1e6 - 2.0) < 0.15
    finally:
        proc.send_signal(stop)
        await asyncio.wait_for(proc.wait(), 30)
    output = log.read_text()
    assert "GraphiQL at" in output
    # Not a terminal: JSON lines (the banner aside), with the context they were logged in.
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (created,) = [x for x in lines if x.get("request_id") == request_id]
    assert created["logger"] == "uvicorn.access" and "POST /graphql" in created["message"]
    of_job = [x for x in lines if x.get("job_id") == job_id]
    assert all(x["kind"] == "SLIDESHOW" for x in of_job)
    stage_lines = [x for x in of_job if x["message"].startswith("stage ")]
    assert {x["stage"] for x in stage_lines} == {"fetch", "compose", "render", "store", "finalize"}
    assert all(x["message"].split()[1] == x["stage"] for x in stage_lines)
    assert (tmp_path / "var" / "clipforge.db").exists()
    pgrep = await asyncio.create_subprocess_exec("pgrep", "-f", str(tmp_path), stdout=asyncio.subprocess.PIPE)
    leftovers = (await pgrep.communicate())[0].split()
    assert leftovers == [], f"processes left running: {leftovers}\n{output[-2000:]}"
