"""`clipforge up`: everything on one machine — an embedded Redis if none is configured, migrations, the API in
this process and one worker process, kept alive by clipforge.supervise."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from redis.asyncio import Redis

from clipforge.embedded import EmbeddedRedis
from clipforge.settings import Settings
from clipforge.supervise import WorkerSupervisor
from clipforge.wiring import migrate
from db.engine import create_engine, session_factory
from jobs.heartbeat import forget_dead
from jobs.lifecycle import Lifecycle

log = logging.getLogger("clipforge.up")


async def release_worker(settings: Settings, pid: int) -> list[str]:
    """Let go of the jobs the dead worker `pid` of this machine held (clipforge.worker.new_worker_id)."""
    engine = create_engine(
        settings.resolved_database_url, transaction_pooler=settings.database_transaction_pooler
    )
    redis = Redis.from_url(str(settings.redis_url))
    prefix = f"{socket.gethostname()}:{pid}:"
    try:
        await forget_dead(redis, prefix)  # /readyz stops counting it
        return await Lifecycle(session_factory(engine), redis).release(prefix)
    finally:
        await redis.aclose()
        await engine.dispose()


def worker_env(settings: Settings, worker_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        REDIS_URL=str(settings.redis_url),
        CLIPFORGE_DATA_DIR=str(settings.data_dir.resolve()),
        CLIPFORGE_SIGNING_SECRET=settings.secret_bytes().decode(),
        CLIPFORGE_PUBLIC_BASE_URL=settings.base_url,
        CLIPFORGE_WORKER_PORT=str(worker_port),
    )
    if settings.database_url is None:
        env["DATABASE_URL"] = settings.resolved_database_url
    return env


def up(settings: Settings, serve_api: Callable[[Settings], None]) -> None:
    """`serve_api(settings)` runs the API until it is stopped (clipforge.cli.serve_api)."""
    # uvicorn re-raises the signal that stopped it once it has shut down. SIGTERM's default action would
    # then kill this process on the spot, leaving the worker and Redis it started running; exiting instead
    # runs the `finally` below.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    embedded = None
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        settings = settings.model_copy(update={"redis_url": embedded.start()})
        log.info("started embedded Redis at %s (set REDIS_URL to use your own)", settings.redis_url)
    supervisor = None
    try:
        asyncio.run(migrate(settings))
        worker_port = settings.worker_port or settings.port + 1

        def on_death(pid: int) -> None:
            released = asyncio.run(release_worker(settings, pid))
            if released:
                log.warning("jobs of the dead worker, resuming on the next one: %s", ", ".join(released))

        supervisor = WorkerSupervisor(
            [sys.executable, "-m", "clipforge", "worker"],
            worker_env(settings, worker_port),
            max_delay_seconds=settings.worker_restart_max_seconds,
            on_death=on_death,
        )
        supervisor.start()
        print(
            f"\n  clipforge is up:  {settings.base_url}/  (GraphiQL at {settings.base_url}/graphql)"
            f"\n  health: {settings.base_url}/readyz   metrics: {settings.base_url}/metrics (API), "
            f"http://{settings.host}:{worker_port}/metrics (worker)\n",
            flush=True,
        )
        serve_api(settings)
    finally:
        # In order: the API has stopped; then the worker (not restarted), then Redis.
        if supervisor is not None:
            supervisor.stop()
        if embedded is not None:
            embedded.stop()
