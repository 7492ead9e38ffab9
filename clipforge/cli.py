"""clipforge up | api | worker | migrate | create-key."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import subprocess
import sys

import uvicorn

from clipforge.embedded import EmbeddedRedis
from clipforge.settings import Settings
from clipforge.wiring import migrate

log = logging.getLogger("clipforge")


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


# The API holds a few hundred objects per open WebSocket. With thousands open, Python's default thresholds
# (700, 10, 10) run full collections over half a million objects while sockets connect, each stopping every
# socket for 100-300 ms of CPU (bench/subscriptions.py, 2,000 viewers: event latency p99 828 ms with them,
# 255 ms without). Young collections now run 14x less often, and full ones accordingly.
GC_THRESHOLDS = (10_000, 20, 20)


def tune_gc() -> None:
    """Called once the app is built: what exists then (modules, the schema) lives for ever, so it is frozen
    out of every later collection."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve_api(settings: Settings) -> None:
    from clipforge.app import create_app

    app = create_app(settings)
    if settings.api_gc_tuning:
        tune_gc()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws_per_message_deflate=settings.ws_per_message_deflate,
    )


def up(settings: Settings) -> None:
    """Everything on one machine: embedded Redis if none is configured, migrations, API + one worker."""
    # uvicorn re-raises the signal that stopped it once it has shut down. SIGTERM's default action would
    # then kill this process on the spot, leaving the worker and Redis it started running; exiting instead
    # runs the `finally` below.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    embedded = None
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        settings = settings.model_copy(update={"redis_url": embedded.start()})
        log.info("started embedded Redis at %s (set REDIS_URL to use your own)", settings.redis_url)
    worker = None
    try:
        asyncio.run(migrate(settings))
        env = dict(os.environ)
        env.update(
            REDIS_URL=str(settings.redis_url),
            CLIPFORGE_DATA_DIR=str(settings.data_dir.resolve()),
            CLIPFORGE_SIGNING_SECRET=settings.secret_bytes().decode(),
            CLIPFORGE_PUBLIC_BASE_URL=settings.base_url,
        )
        if settings.database_url is None:
            env["DATABASE_URL"] = settings.resolved_database_url
        # Own session: on Ctrl-C we stop the API first, then the worker, then Redis, in that order.
        worker = subprocess.Popen(
            [sys.executable, "-m", "clipforge", "worker"], env=env, start_new_session=True
        )
        print(f"\n  clipforge is up:  GraphiQL at {settings.base_url}/graphql\n", flush=True)
        serve_api(settings)
    finally:
        if worker is not None:
            worker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(20)
            if worker.poll() is None:
                worker.kill()
        if embedded is not None:
            embedded.stop()


def print_new_key(settings: Settings, user_id: str, name: str | None) -> None:
    from clipforge.keys import create_key

    try:
        key = asyncio.run(create_key(settings, user_id, name))
    except ValueError as err:
        sys.exit(f"clipforge: {err}")
    # Only the key on stdout, so scripts can capture it; it is stored hashed and cannot be shown again.
    print(f"API key for {user_id!r} (shown once, store it now):", file=sys.stderr)
    print(key, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="clipforge", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "api", "worker", "migrate", "create-key"],
        help="up: all-in-one for one machine; api / worker: the pieces for production; migrate: the DB; "
        "create-key: a user (--user) and an API key for them, printed once",
    )
    parser.add_argument("--user", help="create-key: the user's id (created if new)")
    parser.add_argument("--name", help="create-key: the user's display name (default: the id)")
    args = parser.parse_args(argv)
    if args.command == "create-key" and not args.user:
        parser.error("create-key needs --user")
    settings = Settings()
    _logging(settings)
    if args.command == "up":
        up(settings)
    elif args.command == "api":
        serve_api(settings)
    elif args.command == "worker":
        from clipforge.worker import run_worker

        asyncio.run(run_worker(settings))
    elif args.command == "create-key":
        print_new_key(settings, args.user, args.name)
    else:
        asyncio.run(migrate(settings))
