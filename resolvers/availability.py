"""When the database cannot be reached: a typed SERVICE_UNAVAILABLE for the client, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from media.storage.base import StorageUnavailable
from resolvers.errors import UserError

log = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


RETRY_LATER = "the database cannot be reached right now; try again in a few seconds"


class Unavailable(UserError):
    def __init__(self, message: str = RETRY_LATER) -> None:
        super().__init__(SERVICE_UNAVAILABLE, message)


def is_outage(exc: BaseException) -> bool:
    """Connection-level failures only: a constraint violation or a bad query is a bug, not an outage."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    # asyncpg lets a refused connection out as a plain OSError; a connect timeout as TimeoutError.
    return isinstance(exc, PoolTimeout | OSError | TimeoutError)


@contextmanager
def database_errors(message: str = RETRY_LATER) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("database unreachable: %s: %s", type(exc).__name__, exc)
        raise Unavailable(message) from exc


STORAGE_RETRY_LATER = "file storage cannot be reached right now; try again in a few seconds"


@contextmanager
def storage_errors(message: str = STORAGE_RETRY_LATER) -> Iterator[None]:
    """The object store failing on its side (after its own retries) is an outage for the client too."""
    try:
        yield
    except StorageUnavailable as exc:
        log.warning("storage unreachable: %s", exc)
        raise Unavailable(message) from exc
