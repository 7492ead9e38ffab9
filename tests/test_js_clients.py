"""The clients frontends use, unchanged: the reference graphql-ws client and Apollo Client (through its
GraphQLWsLink), run in Node against a real clipforge, follow a job to its end through the shared path.

Needs `node` and `npm`; the clients are installed into tests/js/node_modules (npm ci, from the lockfile)
the first time."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import session_factory
from tests.progress_driver import DrivenJob
from tests.service import Service

# node processes (and npm ci, the first time: one xdist process does it, so its tests share a group)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("npm")]

JS = Path(__file__).parent / "js"
CLIENTS = ("graphql-ws", "apollo")


@pytest.fixture(scope="session")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the JavaScript clients")
    if not (JS / "node_modules" / "graphql-ws").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=300, capture_output=True
        )
    return node


async def next_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert line, "the client exited without a word"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_graphql_ws_and_apollo_follow_a_job_to_its_end(
    service: Service, engine: AsyncEngine, redis: Redis, node: str
) -> None:
    job = await DrivenJob.create(session_factory(engine), redis)
    url = service.url.replace("http://", "ws://") + "/graphql"
    processes = [
        await asyncio.create_subprocess_exec(
            node, "follow.mjs", client, url, job.job_id, "40", cwd=JS, stdout=asyncio.subprocess.PIPE
        )
        for client in CLIENTS
    ]
    try:
        for process, client in zip(processes, CLIENTS, strict=True):
            assert await next_line(process) == {"subscribed": client}
            snapshot = await next_line(process)
            assert snapshot["event"]["seq"] == 1 and snapshot["event"]["status"] == "QUEUED", snapshot
        changes = [await job.claim(), await job.start(0), await job.progress(30), await job.complete()]
        for process in processes:
            lines = []
            for _ in range(10):
                lines.append(await next_line(process))
                if "event" not in lines[-1]:
                    break
            assert lines[-1] == {"complete": True}, lines
            events = [line["event"] for line in lines[:-1]]
            assert all(line["errors"] is None for line in lines[:-1])
            seqs = [e["seq"] for e in events]
            assert seqs == sorted(set(seqs)) and seqs[-1] == changes[-1].seq
            assert events[-1]["status"] == "COMPLETED" and events[-1]["progress"] == 100
            assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
