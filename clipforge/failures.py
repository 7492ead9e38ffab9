"""How a command fails: with one line that says what is wrong and what to do, and a non-zero exit status.

Faults of the surroundings (a database or Redis that cannot be reached, a folder that cannot be written, a
bad setting) are described here in a line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator

from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from media.errors import MediaError

log = logging.getLogger("clipforge")


class CommandFailed(Exception):
    """A failure whose message is already the one line to show."""


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _hide_password(text: str) -> str:
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def describe(exc: BaseException) -> str | None:
    """The one line for a known kind of failure, or None for a bug."""
    if isinstance(exc, CommandFailed):
        return str(exc)
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        return f"invalid setting: {problems} (settings come from CLIPFORGE_* environment variables)"
    if isinstance(exc, DBAPIError):
        reason = _first_line(exc.orig) or type(exc.orig).__name__
        return f"the database cannot be used: {_hide_password(reason)}"
    if isinstance(exc, SQLAlchemyError):
        return f"the database cannot be used: {_hide_password(_first_line(exc))}"
    if isinstance(exc, RedisError):
        return f"Redis cannot be reached: {_hide_password(_first_line(exc))} (check REDIS_URL)"
    if isinstance(exc, MediaError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, OSError) and (exc.strerror or exc.filename):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, OSError):
        return _hide_password(_first_line(exc)) or type(exc).__name__
    return None


@contextlib.contextmanager
def reaching(what: str) -> Iterator[None]:
    """Name the service a bare connection error came from (asyncpg lets a refused connection out as a plain
    OSError, which does not say it was the database)."""
    try:
        yield
    except (OSError, TimeoutError) as exc:
        reason = _first_line(exc) or type(exc).__name__
        raise CommandFailed(f"{what} cannot be reached: {_hide_password(reason)}") from exc


@contextlib.contextmanager
def one_line() -> Iterator[None]:
    """Turn a known failure into `clipforge: <line>` on stderr and exit status 1."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - sorted below: known ones become a line, bugs re-raise
        line = describe(exc)
        if line is None:
            raise
        log.debug("command failed", exc_info=exc)
        sys.exit(f"clipforge: {line}")
