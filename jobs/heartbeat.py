"""Workers say they are alive: each writes the time into one Redis sorted set every few seconds, from its
event loop (a loop stuck in blocking work stops beating too). The API's /readyz counts the recent ones."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "clipforge:workers"
FORGET_AFTER_SECONDS = 86400.0  # entries of workers gone this long are dropped, so the set stays small


async def beat(redis: Redis, worker_id: str) -> None:
    now = time.time()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(KEY, {worker_id: now})
        pipe.zremrangebyscore(KEY, "-inf", now - FORGET_AFTER_SECONDS)
        await pipe.execute()


async def live_workers(redis: Redis, within_seconds: float) -> int:
    return int(await redis.zcount(KEY, time.time() - within_seconds, "+inf"))


async def forget(redis: Redis, worker_id: str) -> None:
    """A worker that stops cleanly is no longer counted at once."""
    await redis.zrem(KEY, worker_id)


async def forget_dead(redis: Redis, owner_prefix: str) -> None:
    """Workers known to be dead (their ids start with `owner_prefix`) stop counting at once."""
    dead = [m async for m, _ in redis.zscan_iter(KEY) if m.decode().startswith(owner_prefix)]
    if dead:
        await redis.zrem(KEY, *dead)


async def keep_beating(redis: Redis, worker_id: str, every_seconds: float) -> None:
    """Runs until cancelled; Redis being away is logged once per outage, not fatal."""
    failing = False
    while True:
        try:
            await beat(redis, worker_id)
            failing = False
        except (RedisError, OSError) as exc:
            if not failing:
                log.warning("worker heartbeat could not reach Redis (%s); still trying", exc)
            failing = True
        await asyncio.sleep(every_seconds)
