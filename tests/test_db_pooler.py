"""Postgres behind a transaction-mode pooler, as Supabase's Supavisor on port 6543 runs it: the engine's
pooler setting, checked against the local Postgres directly and through a real PgBouncer in transaction mode
(Debian's `pgbouncer`, which like Supavisor's transaction mode keeps no prepared statements for clients)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from db import repo
from db.engine import create_engine, session_factory, uses_transaction_pooler
from tests.conftest import free_port

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("url", "pooled"),
    [
        ("postgresql://postgres.abcdefgh:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres", True),
        ("postgresql://postgres.abcdefgh:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres", False),
        ("postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres", False),
        ("postgres://u@localhost/db", False),
        ("sqlite:///var/clipforge.db", False),
    ],
)
def test_the_transaction_pooler_is_recognised_by_its_port(url: str, pooled: bool) -> None:
    assert uses_transaction_pooler(url) is pooled


async def workload(engine: AsyncEngine, tag: str) -> None:
    """What the API and workers do, from several connections at once."""
    sessions = session_factory(engine)

    async def one(n: int) -> None:
        for _ in range(4):
            async with sessions.begin() as session:
                await repo.ensure_user(session, f"{tag}-{n}", "Pooled")
            async with sessions() as session:
                await repo.list_jobs(session, user_id=f"{tag}-{n}", limit=5)
                await repo.get_job(session, "no-such-job", user_id=f"{tag}-{n}")

    await asyncio.gather(*(one(n) for n in range(4)))


async def test_with_the_pooler_setting_nothing_outlives_a_transaction(postgres_url: str) -> None:
    engine = create_engine(postgres_url, transaction_pooler=True)
    try:
        assert isinstance(engine.pool, NullPool)
        await workload(engine, "direct")
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None and raw._stmt_cache.get_max_size() == 0  # asyncpg's own cache is off
            await conn.execute(text("SELECT count(*) FROM users"))
            names = (await conn.execute(text("SELECT name FROM pg_prepared_statements"))).scalars().all()
        # Only uniquely named statements: a numbered __asyncpg_stmt_N__ would collide on a shared connection.
        assert all(n.startswith("__asyncpg_") and "stmt_" not in n for n in names), names
    finally:
        await engine.dispose()


@pytest.fixture
def pgbouncer(postgres_url: str) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of the test database, two server connections shared by all
    clients; yields its URL."""
    binary = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed (.ci/run installs Debian's pgbouncer)")
        pytest.skip("pgbouncer is not installed: apt-get install pgbouncer")
    url = make_url(postgres_url)
    if not url.host or url.host.startswith("/") or "host" in url.query:
        pytest.skip("needs Postgres on TCP (TEST_POSTGRES_URL)")
    folder = Path(tempfile.mkdtemp(prefix="clipforge-pgbouncer-"))
    folder.chmod(0o755)  # pgbouncer will not run as root; the user it runs as reads its files here
    port = free_port()
    (folder / "users.txt").write_text(f'"{url.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={url.host} port={url.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
ignore_startup_parameters = extra_float_digits
"""
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (folder / name).chmod(0o644)
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "nobody", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):  # up to 5 s for it to listen
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                if process.poll() is not None:
                    said = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"pgbouncer exited: {said!r}") from None
                time.sleep(0.05)
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


async def next_transaction_on_another_server(engine: AsyncEngine, holder: AsyncEngine) -> None:
    """One client connection runs a query in a transaction, then the same query in its next transaction
    while another client holds the server connection the first one used: the pooler gives the second
    transaction the other server connection, as a busy pooler does all the time."""
    query = text("SELECT count(*) FROM users WHERE id = :id")
    async with engine.connect() as conn:
        await conn.execute(query, {"id": "someone"})
        await conn.commit()
        async with holder.connect() as other:
            await other.execute(text("SELECT 1"))  # its transaction stays open: it keeps that server
            await conn.execute(query, {"id": "someone"})
            await conn.commit()
            await other.rollback()


async def test_through_a_transaction_pooler_the_default_engine_breaks_and_the_setting_fixes_it(
    pgbouncer: str,
) -> None:
    pooled = create_engine(pgbouncer, transaction_pooler=True)
    plain = create_engine(pgbouncer, transaction_pooler=False)
    try:
        # The statement asyncpg prepared and cached lives on the first server only.
        with pytest.raises(DBAPIError, match="prepared statement .* does not exist"):
            await next_transaction_on_another_server(plain, pooled)
        await next_transaction_on_another_server(pooled, pooled)
        await workload(pooled, "pooled")
        async with session_factory(pooled)() as session:
            assert (await repo.get_job(session, "no-such-job")) is None
    finally:
        await plain.dispose()
        await pooled.dispose()
