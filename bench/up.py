"""`clipforge up` for an end-to-end benchmark, as a new user starts it with `make run`: embedded Redis, SQLite
and local storage in a temporary folder, on a free port of 127.0.0.1, stopped with SIGINT (Ctrl-C) after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 30


@dataclass(frozen=True)
class Up:
    base: str  # http://127.0.0.1:<port>
    http: httpx.Client
    pid: int  # of `clipforge up`; its API and worker are its children
    work: Path  # a temporary folder for the benchmark's own files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seconds(start: str | None, end: str | None) -> float:
    """Between two ISO timestamps of the API (a stage's startedAt and finishedAt); 0 when one is missing."""
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@contextmanager
def clipforge_up(prefix: str) -> Iterator[Up]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, (Path(tmp) / "up.log").open("wb") as log:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        env.update(HOST="127.0.0.1", PORT=str(port), CLIPFORGE_DATA_DIR=str(Path(tmp) / "var"))
        up = subprocess.Popen(
            [sys.executable, "-m", "clipforge", "up"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            with httpx.Client(timeout=30) as http:
                deadline = time.monotonic() + START_SECONDS
                while not _healthy(http, base):
                    if time.monotonic() > deadline or up.poll() is not None:
                        raise SystemExit(
                            f"clipforge up did not start within {START_SECONDS} s (see {log.name})"
                        )
                    time.sleep(0.1)
                yield Up(base, http, up.pid, Path(tmp))
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(30)


def _healthy(http: httpx.Client, base: str) -> bool:
    try:
        return http.get(f"{base}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def poll_job(
    http: httpx.Client, base: str, query: str, job_id: str, started: float, limit: float
) -> dict[str, Any]:
    """The job (as `query` selects it, with `status` and `error`) once it has ended COMPLETED, polling every
    50 ms; SystemExit when it ends otherwise or takes longer than `limit` seconds from `started`."""
    job: dict[str, Any] = {"status": "QUEUED", "error": None}
    while time.perf_counter() - started < limit:
        job = http.post(f"{base}/graphql", json={"query": query, "variables": {"id": job_id}}).json()["data"][
            "job"
        ]
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.05)
    if job["status"] != "COMPLETED":
        raise SystemExit(f"the job ended {job['status']}: {job['error']}")
    return job
