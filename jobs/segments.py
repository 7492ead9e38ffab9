"""A long render's segments: the plan (saved as the render stage's checkpoint) and their board in Redis.

Each segment, and the soundtrack, is an arq job of its own (jobs.segment_task), so any worker on any
machine renders it. The
board is one Redis hash per plan: which arq entry each segment is queued under, which entry started it, how
many frames it has encoded, its result or its failure; plus a short-lived lease key per running segment,
renewed while it renders, so that a segment whose worker died is seen (its lease lapses) and queued again
under a new entry. The stored segment files are what count; the board only says where they are, and a board
Redis forgot is rebuilt by rendering again what it does not list.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any, cast

from arq import ArqRedis
from pydantic import BaseModel
from redis.asyncio import Redis

from jobs.queue import QUEUE_NAME, deserialize, in_queue, serialize

RENDER_SEGMENT = "render_segment"
BOARD_SECONDS = 86400  # a board outlives any render; renewed at every write


class SegmentPlan(BaseModel):
    """The parts of a render: a video segment for each range, then the soundtrack (index len(ranges))."""

    token: str  # names this plan's board, files and queue entries
    ranges: list[tuple[int, int]]  # (first frame, end frame) of each segment
    manifest_key: str  # the timeline every segment renders a part of

    @property
    def parts(self) -> int:
        return len(self.ranges) + 1

    @property
    def soundtrack(self) -> int:
        return len(self.ranges)


class SegmentDone(BaseModel):
    key: str  # the stored segment file
    frames: int
    bytes: int
    seconds: float  # the segment's render, wall time
    encoder: str
    poster_key: str | None = None  # the segment that holds the poster's frame stores it


class SegmentFailed(BaseModel):
    code: str
    message: str


class Span(BaseModel):
    """Where the render stage's progress runs in the job's overall progress, and since when it waits."""

    stage: str
    progress_from: float
    progress_to: float
    since: float  # epoch seconds


class BoardState(BaseModel):
    plan: SegmentPlan
    span: Span | None
    queued: dict[int, str]
    started: dict[int, str]
    workers: dict[int, str]  # the worker that started each segment last
    runs: dict[int, int]
    frames: dict[int, int]
    done: dict[int, SegmentDone]
    failed: dict[int, SegmentFailed]

    @property
    def parts(self) -> int:
        return self.plan.parts

    @property
    def all_done(self) -> bool:
        return all(index in self.done for index in range(self.parts))

    @property
    def frames_done(self) -> int:
        return sum(
            self.done[i].frames if i in self.done else self.frames.get(i, 0)
            for i in range(len(self.plan.ranges))
        )

    @property
    def total_frames(self) -> int:
        return self.plan.ranges[-1][1] if self.plan.ranges else 0


def arq_pool(redis: Redis) -> ArqRedis:
    """The worker's Redis as an arq pool (it already is one in a worker: jobs.queue.connect)."""
    if isinstance(redis, ArqRedis):
        return redis
    return ArqRedis(
        connection_pool=redis.connection_pool,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=QUEUE_NAME,
    )


class Board:
    def __init__(self, redis: Redis, job_id: str, token: str) -> None:
        self.redis = redis
        self.job_id = job_id
        self.token = token
        self.key = f"clipforge:segments:{job_id}:{token}"

    def lease_key(self, index: int) -> str:
        return f"{self.key}:lease:{index}"

    async def _set(self, mapping: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.key,
                mapping={k: v if isinstance(v, str | int) else json.dumps(v) for k, v in mapping.items()},
            )
            pipe.expire(self.key, BOARD_SECONDS)
            await pipe.execute()

    async def read(self) -> BoardState | None:
        found = await cast(Awaitable[dict[bytes, bytes]], self.redis.hgetall(self.key))
        raw = {k.decode(): v.decode() for k, v in found.items()}
        if "plan" not in raw:
            return None
        names = ("queued", "started", "worker", "runs", "frames", "done", "failed")
        fields: dict[str, dict[int, Any]] = {name: {} for name in names}
        for name, value in raw.items():
            kind, _, index = name.partition(":")
            if kind in fields and index.isdigit():
                fields[kind][int(index)] = json.loads(value) if kind in ("done", "failed") else value
        span = Span.model_validate_json(raw["span"]) if "span" in raw else None
        fields["workers"] = fields.pop("worker")
        return BoardState(plan=SegmentPlan.model_validate_json(raw["plan"]), span=span, **fields)

    async def submit(self, plan: SegmentPlan) -> BoardState:
        """Queue every part that is neither done nor still held by arq (waiting or running), and every one
        that failed; returns the board as it then is. Run by the render stage each time it runs, so a board
        Redis forgot is rebuilt and a retried job renders again only what is missing."""
        await self._set({"plan": plan.model_dump_json()})
        state = await self.read()
        assert state is not None
        pool = arq_pool(self.redis)
        # Longest first, the soundtrack (the least work) last: the workers then finish close together.
        longest = sorted(range(len(plan.ranges)), key=lambda i: plan.ranges[i][0] - plan.ranges[i][1])
        for index in [*longest, plan.soundtrack]:
            if index in state.done:
                continue
            if state.failed.pop(index, None) is not None:
                # The job ran its render stage again (retryJob): a part that failed gets another go.
                await cast(Awaitable[int], self.redis.hdel(self.key, f"failed:{index}"))
            elif (queued := state.queued.get(index)) is not None and await in_queue(pool, queued):
                continue
            state.queued[index] = await self.enqueue(index)
        return state

    async def enqueue(self, index: int) -> str:
        """Queue segment `index` under a new arq entry; the entry it had, if it ever runs, does nothing."""
        attempt = await self.count(f"attempt:{index}")
        queue_id = f"seg:{self.job_id}:{self.token}:{index}:{attempt}"
        await self._set({f"queued:{index}": queue_id})
        await arq_pool(self.redis).enqueue_job(
            RENDER_SEGMENT, self.job_id, self.token, index, _job_id=queue_id, _queue_name=QUEUE_NAME
        )
        return queue_id

    async def set_span(self, span: Span) -> None:
        await self._set({"span": span.model_dump_json()})

    async def start(self, index: int, queue_id: str, lease_seconds: float, worker: str) -> None:
        await self.renew(index, lease_seconds)  # first: a started segment without a lease is a dead one
        await self._set({f"started:{index}": queue_id, f"frames:{index}": 0, f"worker:{index}": worker})
        await self.count(f"runs:{index}")

    async def renew(self, index: int, lease_seconds: float) -> None:
        await self.redis.set(self.lease_key(index), "1", px=max(1, int(lease_seconds * 1000)))

    async def leased(self, index: int) -> bool:
        return bool(await self.redis.exists(self.lease_key(index)))

    async def progress(self, index: int, frames: int) -> None:
        await self._set({f"frames:{index}": frames})

    async def finish(self, index: int, done: SegmentDone) -> None:
        await self._set({f"done:{index}": done.model_dump(mode="json"), f"frames:{index}": done.frames})
        await self.redis.delete(self.lease_key(index))

    async def fail(self, index: int, failed: SegmentFailed) -> None:
        await self._set({f"failed:{index}": failed.model_dump(mode="json")})
        await self.redis.delete(self.lease_key(index))

    async def count(self, name: str) -> int:
        return int(await cast(Awaitable[int], self.redis.hincrby(self.key, name, 1)))

    async def release(self, index: int) -> None:
        await self.redis.delete(self.lease_key(index))


def new_span(stage: str, progress_from: float, progress_to: float) -> Span:
    return Span(stage=stage, progress_from=progress_from, progress_to=progress_to, since=time.time())
