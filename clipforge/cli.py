"""clipforge up | api | worker | migrate | create-key | credits grant | make <kind> …"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def serve_api(settings: Settings) -> None:
    from clipforge.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


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
        print(
            f"\n  clipforge is up:  {settings.base_url}/  (GraphiQL at {settings.base_url}/graphql)\n",
            flush=True,
        )
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


def grant(settings: Settings, user_id: str, amount: str) -> None:
    from clipforge.credits import grant_credits

    if not amount.isdigit():
        sys.exit(f"clipforge: {amount!r} is not a whole number of credits")
    try:
        balance = asyncio.run(grant_credits(settings, user_id, int(amount)))
    except ValueError as err:
        sys.exit(f"clipforge: {err}")
    print(f"granted {amount} credits to {user_id!r}; the balance is {balance}", flush=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["make"]:  # a client of a server: its options come from the server's schema
        from clipforge.make.command import main as make

        sys.exit(make(argv[1:]))
    parser = argparse.ArgumentParser(prog="clipforge", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "api", "worker", "migrate", "create-key", "credits", "make"],
        help="up: all-in-one for one machine; api / worker: the pieces for production; migrate: the DB; "
        "create-key: a user (--user) and an API key for them, printed once; "
        "credits grant --user ID N: give a user N credits; "
        "make <kind> …: create a job on a server and follow it (clipforge make --help)",
    )
    parser.add_argument("words", nargs="*", help="credits: grant N")
    parser.add_argument("--user", help="create-key, credits: the user's id (created if new)")
    parser.add_argument("--name", help="create-key: the user's display name (default: the id)")
    args = parser.parse_args(argv)
    if args.command in ("create-key", "credits") and not args.user:
        parser.error(f"{args.command} needs --user")
    if args.command == "credits" and (len(args.words) != 2 or args.words[0] != "grant"):
        parser.error("usage: clipforge credits grant --user ID N")
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
    elif args.command == "credits":
        grant(settings, args.user, args.words[1])
    else:
        asyncio.run(migrate(settings))
