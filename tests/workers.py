"""Real `clipforge worker` processes for fault tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from clipforge.settings import Settings


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        REDIS_URL=str(settings.redis_url),
        DATABASE_URL=settings.resolved_database_url,
        CLIPFORGE_DATA_DIR=str(settings.data_dir),
        CLIPFORGE_SIGNING_SECRET=settings.secret_bytes().decode(),
        CLIPFORGE_PUBLIC_BASE_URL=settings.base_url,
        CLIPFORGE_ALLOW_PRIVATE_URLS="1",
        CLIPFORGE_RENDER_FPS=str(settings.render_fps),
        CLIPFORGE_RENDER_PRESET=settings.render_preset,
        CLIPFORGE_LEASE_SECONDS="3",
        CLIPFORGE_RECONCILE_EVERY_SECONDS="1",
        CLIPFORGE_REQUEUE_AFTER_SECONDS="2",
        CLIPFORGE_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def worker_processes(
    settings: Settings, count: int, log_dir: Path, **extra_env: str
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs = []
    for i in range(count):
        with (log_dir / f"worker-{i}.log").open("wb") as log:
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "clipforge",
                    "worker",
                    env=worker_env(settings, **extra_env),
                    stdout=log,
                    stderr=log,
                )
            )
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
