"""clipforge up | api | worker | migrate | create-key | credits grant | make <kind> …"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from clipforge.failures import one_line, reaching
from clipforge.logs import configure as configure_logging
from clipforge.prepare import prepare_folders, require_migrated
from clipforge.settings import Settings
from clipforge.wiring import migrate

log = logging.getLogger("clipforge")


def serve_api(settings: Settings) -> None:
    from clipforge.app import create_app

    # log_config=None: uvicorn's lines go through our logging (clipforge.logs), JSON or console alike.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


def print_new_key(settings: Settings, user_id: str, name: str | None) -> None:
    from clipforge.keys import create_key

    try:
        with reaching("the database"):
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
    # Every command: one clear line and a non-zero status when its surroundings fail (clipforge.failures),
    # and its folders made first, so a fresh CLIPFORGE_DATA_DIR just works (clipforge.prepare).
    with one_line():
        settings = Settings()
        configure_logging(settings.log_level, settings.log_format)
        prepare_folders(settings)
        if args.command in ("api", "worker"):
            asyncio.run(require_migrated(settings))
        if args.command == "up":
            from clipforge.up import up

            up(settings, serve_api)
        elif args.command == "api":
            serve_api(settings)
        elif args.command == "worker":
            from clipforge.worker import run_worker

            asyncio.run(run_worker(settings))
        elif args.command == "create-key":
            print_new_key(settings, args.user, args.name)
        elif args.command == "credits":
            with reaching("the database"):
                grant(settings, args.user, args.words[1])
        else:
            with reaching("the database"):
                asyncio.run(migrate(settings))
