"""Async engine and sessions: SQLite (aiosqlite) by default, Postgres (asyncpg) in production, directly or
through a transaction-mode pooler (Supabase's Supavisor on port 6543, PgBouncer)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool


def async_url(url: str) -> str:
    """Accept the URLs people write (postgres://, postgresql://, sqlite:///) and pick the async driver."""
    for prefix, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url


CONNECT_TIMEOUT = 5.0
TRANSACTION_POOLER_PORT = 6543  # Supabase's pooler in transaction mode (5432 there is session mode)


def uses_transaction_pooler(url: str) -> bool:
    """Whether `url` looks like Supabase's transaction-mode pooler (its port)."""
    try:
        return make_url(async_url(url)).port == TRANSACTION_POOLER_PORT
    except Exception:  # noqa: BLE001 - an unparsable URL fails later, with the driver's own message
        return False


def create_engine(url: str, *, transaction_pooler: bool | None = None) -> AsyncEngine:
    """`transaction_pooler`: None detects it from the URL (uses_transaction_pooler)."""
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # asyncpg waits 60 s for a connection by default: a request would hang that long on an unreachable
    # database before it could answer SERVICE_UNAVAILABLE.
    if uses_transaction_pooler(url) if transaction_pooler is None else transaction_pooler:
        # Between transactions the pooler hands our server connection to other clients, so nothing may
        # outlive a transaction: no statement caches (asyncpg's, SQLAlchemy's), statements named uniquely
        # (the ones SQLAlchemy still prepares live in one transaction; numbered names would collide with
        # another client's), and no pool of our own to hold connections the pooler already pools.
        return create_async_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "timeout": CONNECT_TIMEOUT,
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
            },
        )
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT}
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while a worker process writes; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
