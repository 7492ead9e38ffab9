"""Health and readiness, for orchestrators (docker-compose, Kubernetes) and people.

/healthz: the process is alive and its event loop answers; nothing else is asked, so a database outage
never gets a healthy process restarted. /readyz: what it needs answers — the database and Redis, and for
the API at least one worker heartbeat within CLIPFORGE_READY_HEARTBEAT_SECONDS, since without a worker
jobs would only queue. 200 when all is well, else 503; the body says which check failed and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.heartbeat import live_workers

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
Check = Callable[[], Awaitable[str]]  # returns what it saw; raises when it is not well


async def database_answers(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
    return "ok"


async def redis_answers(redis: Redis) -> str:
    await redis.ping()
    return "ok"


async def workers_alive(redis: Redis, within_seconds: float) -> str:
    count = await live_workers(redis, within_seconds)
    if count == 0:
        raise LookupError(f"no worker heartbeat in the last {within_seconds:g} s")
    return f"{count} alive"


async def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    async def one(check: Check) -> str:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()

    results = await asyncio.gather(*(one(c) for c in checks.values()), return_exceptions=True)
    report: dict[str, str] = {}
    ready = True
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            ready = False
            report[name] = f"error: {_reason(result)}"
            log.warning("not ready: %s: %s", name, _detail(result))
        else:
            report[name] = result
    return ready, report


def _reason(exc: BaseException) -> str:
    """What the (unauthenticated) response says: the kind of failure, not host names or addresses."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    if isinstance(exc, LookupError):  # ours, worded for the reader
        return str(exc)
    return type(exc).__name__


def _detail(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def readyz(checks: Callable[[Request], dict[str, Check]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        ready, report = await run_checks(checks(request))
        return JSONResponse({"ready": ready, "checks": report}, status_code=200 if ready else 503)

    return endpoint
