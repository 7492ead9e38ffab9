"""`clipforge up` renders below the API: while a job renders, every thread of its render process runs at
CLIPFORGE_RENDER_NICE, and the API and worker processes keep their own priority (read from /proc)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.factory import COLOURS, jpeg
from tests.media.test_render_priority import thread_niceness
from tests.service import MediaServer

pytestmark = pytest.mark.slow  # a real render in worker processes

CREATE = """mutation($urls: [String!]) { createSlideshow(input: {imageUrls: $urls, size: "1080x1080",
  secondsPerImage: 4, transitionSeconds: 0.5}) { ... on Job { id } ... on InvalidInput { code message } } }"""
STATUS = "query($id: ID!) { job(id: $id) { status } }"


def process_tree(root: int) -> dict[int, str]:
    """pid -> command line of `root`'s descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                try:
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                frontier.append(pid)
    return found


async def test_up_renders_at_the_configured_niceness_below_the_api_and_the_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CLIPFORGE_DATA_DIR=str(tmp_path / "var"),
        CLIPFORGE_ALLOW_PRIVATE_URLS="1",
        CLIPFORGE_RENDER_FPS="25",
        CLIPFORGE_RENDER_PRESET="ultrafast",
        CLIPFORGE_RENDER_NICE="6",
    )
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with (tmp_path / "up.log").open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "clipforge", "up", env=env, stdout=sink, stderr=sink
        )
    base = f"http://127.0.0.1:{port}"
    renders: dict[int, int] = {}
    others: dict[str, set[int]] = {"api": set(), "worker": set()}
    try:
        async with httpx.AsyncClient(timeout=10) as http, asyncio.timeout(90):
            while True:
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            files = {f"/{i}.jpg": (jpeg(c), "image/jpeg") for i, c in enumerate(COLOURS[:2])}
            with MediaServer(files) as media:
                urls = [f"{media.url}/{i}.jpg" for i in range(2)]
                body = {"query": CREATE, "variables": {"urls": urls}}
                created = (await http.post(f"{base}/graphql", json=body)).json()
                job_id = created["data"]["createSlideshow"]["id"]
                status = "QUEUED"
                while status not in ("COMPLETED", "FAILED"):
                    for pid, command in process_tree(proc.pid).items():
                        if "media.render" in command:
                            renders.update(thread_niceness(pid))
                        elif "clipforge worker" in command:
                            others["worker"].update(thread_niceness(pid).values())
                    others["api"].update(thread_niceness(proc.pid).values())
                    query = {"query": STATUS, "variables": {"id": job_id}}
                    status = (await http.post(f"{base}/graphql", json=query)).json()["data"]["job"]["status"]
                    await asyncio.sleep(0.02)
        assert status == "COMPLETED"
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
    assert len(renders) > 1, "the render process was never seen while the job ran"
    assert set(renders.values()) == {max(own, 6)}, renders
    assert others == {"api": {own}, "worker": {own}}, others
