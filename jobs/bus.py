"""Progress over Redis pub/sub: workers publish on a channel per job; each API process holds ONE
pattern subscription and fans events out in-process.

Pub/sub drops what nobody hears, so it is only a fast hint: a subscriber that may have missed
something (slow consumer, Redis reconnect) is told to resync from the database row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from jobs.events import ProgressEvent

log = logging.getLogger(__name__)


def channel_prefix(redis: Redis) -> str:
    """Pub/sub channels are shared by every database of a Redis server, so they are named after the database
    the deployment uses: two deployments on one server (two databases) never hear each other's jobs."""
    return f"clipforge:{redis.connection_pool.connection_kwargs.get('db', 0)}:job:"


def channel(redis: Redis, job_id: str) -> str:
    return channel_prefix(redis) + job_id


async def publish(redis: Redis, event: ProgressEvent) -> None:
    try:
        await redis.publish(channel(redis, event.job_id), event.to_json())
    except (RedisError, OSError) as exc:  # the row is saved; subscribers fall back to it
        log.warning("could not publish progress for job %s: %s", event.job_id, exc)


RESYNC = "resync"  # put in a subscriber's queue when it may have missed events


@dataclass(eq=False)
class Subscriber:
    job_id: str | None  # None: every job of user_id
    user_id: str
    queue: asyncio.Queue[ProgressEvent | str] = field(default_factory=lambda: asyncio.Queue(64))

    def offer(self, item: ProgressEvent | str) -> None:
        """Never blocks the fan-out: a full queue drops its oldest item and asks for a resync, since
        every event carries the whole state and the newest one matters most."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            item_to_keep: ProgressEvent | str = RESYNC if isinstance(item, str) else item
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(item_to_keep)
            return
        self.queue.put_nowait(item)


class ProgressHub:
    def __init__(
        self,
        redis: Redis,
        *,
        reconnect_delay: float = 0.1,
        max_reconnect_delay: float = 5.0,
        ping_after_seconds: float = 10.0,
    ) -> None:
        self._redis = redis
        self._by_job: dict[str, set[Subscriber]] = {}
        self._by_user: dict[str, set[Subscriber]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._ping_after = ping_after_seconds
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="progress-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def subscribe(self, *, user_id: str, job_id: str | None = None) -> AsyncIterator[Subscriber]:
        sub = Subscriber(job_id=job_id, user_id=user_id)
        index, key = (self._by_job, job_id) if job_id else (self._by_user, user_id)
        index.setdefault(key, set()).add(sub)
        try:
            yield sub
        finally:
            subs = index.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del index[key]

    @property
    def subscriber_count(self) -> int:
        return sum(map(len, self._by_job.values())) + sum(map(len, self._by_user.values()))

    def dispatch(self, event: ProgressEvent) -> None:
        for sub in self._by_job.get(event.job_id, ()):
            sub.offer(event)
        for sub in self._by_user.get(event.user_id, ()):
            sub.offer(event)

    def _resync_all(self) -> None:
        for subs in (*self._by_job.values(), *self._by_user.values()):
            for sub in subs:
                sub.offer(RESYNC)

    async def _run(self) -> None:
        delay = self._reconnect_delay
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(channel_prefix(self._redis) + "*")
                    await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any connection fault: reconnect, never die
                log.warning("progress subscription lost (%s); reconnecting in %.1f s", exc, delay)
            if self.connected.is_set():
                delay = self._reconnect_delay  # it worked until now: a new outage starts a new backoff
            self.connected.clear()
            # Every subscriber re-reads its row at each attempt, so progress still flows (from the database)
            # while Redis is away; the backoff keeps a long outage from turning that into a flood of reads.
            self._resync_all()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_reconnect_delay)

    async def _listen(self, pubsub: PubSub) -> None:
        """Hand messages on until the connection fails. A half-open TCP connection (Redis host gone, no
        FIN) raises nothing by itself, so a quiet connection is PINGed, and one silent after that is dead."""
        pinged = False
        while True:
            # A real timeout blocks on the socket; get_message(timeout=0) would spin a core.
            message = await pubsub.get_message(timeout=self._ping_after)
            if message is None:
                if pinged:
                    raise ConnectionError(f"Redis did not answer a PING within {self._ping_after:g} s")
                await pubsub.ping()
                pinged = True
                continue
            pinged = False
            if message.get("type") == "pmessage":
                self._handle(message["data"])
            elif message.get("type") == "psubscribe":  # Redis confirmed: we hear everything now
                self.connected.set()
                self._resync_all()  # what was published while we were away is in the rows

    def _handle(self, raw: str | bytes) -> None:
        try:
            event = ProgressEvent.from_json(raw)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring malformed progress message: %s", exc)
            return
        self.dispatch(event)
