"""arq plumbing shared by the API (enqueue) and the worker: JSON serialization, never pickle —
anyone who can write to Redis must not get code execution in our processes."""

from __future__ import annotations

import json
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix

QUEUE_NAME = "clipforge:queue"
RUN_JOB = "run_job"


def serialize(obj: dict[str, Any]) -> bytes:
    # default=str: arq stores failure results that may hold exceptions; a string of them is enough.
    return json.dumps(obj, default=str).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw)
    return data


def redis_settings(url: str) -> RedisSettings:
    if url.startswith("unix://"):
        path, _, query = url[len("unix://") :].partition("?")
        db = int(query.split("db=")[1].split("&")[0]) if "db=" in query else 0
        return RedisSettings(unix_socket_path=path, database=db)
    settings: RedisSettings = RedisSettings.from_dsn(url)
    return settings


async def connect(url: str) -> ArqRedis:
    pool: ArqRedis = await create_pool(
        redis_settings(url),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=QUEUE_NAME,
    )
    return pool


def redrive_id(job_id: str, seq: int) -> str:
    """arq's id for running a job again (re-drive, retry). arq ignores an id it still holds a result
    for, so each run needs a new one; `seq` is the row's seq after the update that records it."""
    return f"{job_id}:{seq}"


async def enqueue_job(pool: ArqRedis, job_id: str, queue_id: str | None = None) -> bool:
    """arq's job id is the row id (or the queue id a re-drive chose), so enqueueing the same one twice
    is a no-op (False)."""
    job = await pool.enqueue_job(RUN_JOB, job_id, _job_id=queue_id or job_id, _queue_name=QUEUE_NAME)
    return job is not None


async def in_queue(pool: ArqRedis, queue_id: str) -> bool:
    """Whether arq still knows this entry (waiting or running) — Redis without persistence forgets."""
    return bool(await pool.exists(job_key_prefix + queue_id, in_progress_key_prefix + queue_id))
