"""Shared fixtures: a real Redis (REDIS_URL, else an embedded redis-server) and real databases
(a fresh SQLite file per test; Postgres from TEST_POSTGRES_URL, else an embedded pgserver)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from clipforge.embedded import EmbeddedRedis
from db import repo
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from jobs.deps import Deps
from jobs.tools import RenderLimits, Tools
from media.storage.local import LocalStorage

if TYPE_CHECKING:
    from clipforge.settings import Settings
    from tests.service import Service

# pytest-xdist runs the suite in processes gw0, gw1, …; each gets its own Redis db and Postgres database.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# A db of its own on a shared server, flushed before every test (CLIPFORGE_TEST_REDIS_DB: another one, so two
# checkouts can run their suites against one server at once), the next ones for the other xdist processes.
TEST_REDIS_DB = int(os.environ.get("CLIPFORGE_TEST_REDIS_DB", "13")) + int(XDIST_WORKER[2:] or 0)
TABLES = (
    "webhook_attempts", "webhook_deliveries", "webhook_endpoints", "webhook_secrets",  # webhooks (issue 17)
    "api_keys", "costs", "ledger", "artifacts", "scenes", "scenarios", "stages", "jobs", "users",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        base = configured.rsplit("/", 1)[0] if configured.count("/") > 2 else configured
        yield f"{base}/{TEST_REDIS_DB}"
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port())
    server.start()
    yield f"{server.url.rsplit('/', 1)[0]}/{TEST_REDIS_DB}"
    server.stop()


@pytest.fixture
async def redis_url(redis_server_url: str) -> AsyncIterator[str]:
    client = Redis.from_url(redis_server_url)
    await client.flushdb()
    await client.aclose()
    yield redis_server_url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _database_of_this_process(url: str) -> str:
    """Under xdist, `<database>_gwN` on the same server, created the first time."""
    if not XDIST_WORKER:
        return url
    base = make_url(url)
    name = f"{base.database}_{XDIST_WORKER}"
    engine = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(TABLES)}, alembic_version CASCADE"))
    await upgrade(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_POSTGRES_URL")
    server = None
    if not url:
        try:
            import pgserver
        except ImportError:
            pytest.skip("TEST_POSTGRES_URL is unset and pgserver is not installed")
        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
        url = server.get_uri()
    # When TEST_POSTGRES_URL is set and unreachable this raises: the suite fails, it does not skip.
    url = asyncio.run(_database_of_this_process(url))
    asyncio.run(_reset_postgres(url))
    yield url
    if server is not None:
        server.cleanup()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
    else:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    async with session_factory(engine).begin() as session:
        await repo.ensure_user(session, "local", "Local user")
        await repo.ensure_user(session, "other", "Someone else")
    yield engine
    await engine.dispose()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    from clipforge.settings import Settings

    port = free_port()
    return Settings(
        host="127.0.0.1",
        port=port,
        redis_url=redis_url,
        database_url=database_url,
        data_dir=tmp_path / "data",
        signing_secret="test-secret",
        allow_private_urls=True,  # the media server of the tests is on 127.0.0.1
        render_fps=10,
        render_preset="ultrafast",
        job_max_tries=2,
    )


@pytest.fixture
async def service(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Service]:
    from tests.service import running_service

    async with running_service(settings) as svc:
        yield svc


@pytest.fixture
async def deps(engine: AsyncEngine, redis: Redis, tmp_path: Path) -> AsyncIterator[Deps]:
    async with httpx.AsyncClient() as http:
        tools = Tools(
            storage=LocalStorage(tmp_path / "storage", "http://127.0.0.1:1", b"s"),
            http=http,
            work_root=tmp_path / "work",
            render=RenderLimits(timeout_seconds=60),
        )
        yield Deps(
            sessions=session_factory(engine), redis=redis, tools=tools, worker_id="test-worker",
            events_per_second=1000, cancel_poll_seconds=0.05, lease_seconds=30, requeue_after_seconds=0,
        )  # fmt: skip
