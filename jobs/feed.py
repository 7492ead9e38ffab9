"""What a job looks like now, for everyone in this API process who watches it.

One Feed per watched job holds one hub subscription and the job's newest state. Subscribers that arrive
together share one read of the row (their snapshot), and the feed lingers a few seconds after its last
subscriber leaves, so a crowd reconnecting finds the state without reading the database again. The hub's
events keep the state current; when the hub says events may have been lost (a Redis reconnect, a full queue),
or after a quiet spell, the feed re-reads the row, once for all its subscribers.

A progress event is a state, so a consumer asks for "what comes after the seq I last saw" and gets the
earliest stage change (or the end) it has not seen, else the newest state: one that cannot keep up skips
stale progress (its seq jumps) but never a stage change or the terminal event. The feed keeps only the newest
state and its last few stage changes, however many consumers lag behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from db.tables import Job
from jobs.bus import RESYNC, ProgressHub
from jobs.events import ProgressEvent, event_from_job

log = logging.getLogger(__name__)

STAGE_CHANGES_KEPT = 32  # a consumer this many stage changes behind is stalled: it gets the newest instead
Loader = Callable[[str], Awaitable[Job | None]]


class JobGone(LookupError):
    """No job has this id (the feed's read found no row)."""


def changes_stage(before: ProgressEvent | None, event: ProgressEvent) -> bool:
    """Whether `event` is one no consumer may skip: the end, or a move to another status or stage."""
    if event.terminal or before is None:
        return True
    return (before.status, before.stage, before.stage_index) != (event.status, event.stage, event.stage_index)


class Feed:
    """One job's newest state in this process, and its last few stage changes."""

    def __init__(self, job_id: str, hub: ProgressHub, load: Loader, resync_seconds: float) -> None:
        self.job_id = job_id
        self.latest: ProgressEvent | None = None
        self.failure: BaseException | None = None  # the read that failed: every consumer raises it
        self.watchers = 0
        self._hub, self._load, self._resync_seconds = hub, load, resync_seconds
        self._stage_changes: deque[ProgressEvent] = deque(maxlen=STAGE_CHANGES_KEPT)
        self._changed = asyncio.Event()
        self._ready = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.linger: asyncio.TimerHandle | None = None  # set while no one watches: when it closes
        self.on_failure: Callable[[Feed], None] = lambda feed: None

    @property
    def owner(self) -> str:
        assert self.latest is not None, "read only after ready()"
        return self.latest.user_id

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"feed-{self.job_id}")

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def ready(self) -> None:
        """Until the first read is done; raises what made it fail (the loader's error, or JobGone)."""
        await asyncio.shield(self._ready)

    def next_after(self, seq: int) -> ProgressEvent | None:
        for event in self._stage_changes:
            if event.seq > seq:
                return event
        if self.latest is not None and self.latest.seq > seq:
            return self.latest
        return None

    async def wait_after(self, seq: int) -> ProgressEvent:
        """The next state a consumer that has seen `seq` should get (see next_after), when there is one."""
        while True:
            if self.failure is not None:
                raise self.failure
            event = self.next_after(seq)
            if event is not None:
                return event
            await self._changed.wait()

    def _apply(self, event: ProgressEvent) -> bool:
        if self.latest is not None and event.seq <= self.latest.seq:
            return False  # older than what we have: a late event, or the row we already read
        if self.latest is not None and changes_stage(self.latest, event):
            self._stage_changes.append(event)
        self.latest = event
        return True

    def _wake(self) -> None:
        # Every waiter's future is resolved by set(); clearing at once makes the next wait() block again.
        self._changed.set()
        self._changed.clear()

    async def _read(self) -> None:
        job = await self._load(self.job_id)
        if job is None:
            raise JobGone(self.job_id)
        if self._apply(event_from_job(job)):
            self._wake()

    async def _run(self) -> None:
        try:
            async with self._hub.subscribe(user_id="", job_id=self.job_id) as sub:  # before the read
                await self._read()
                self._ready.set_result(None)
                while True:
                    try:
                        item = await asyncio.wait_for(sub.queue.get(), self._resync_seconds)
                    except TimeoutError:  # a quiet job is re-checked against its row: pub/sub may drop one
                        item = RESYNC
                    resync, changed = False, False
                    while True:  # take everything queued, then wake consumers once
                        if isinstance(item, ProgressEvent):
                            changed = self._apply(item) or changed
                        else:
                            resync = True
                        if sub.queue.empty():
                            break
                        item = sub.queue.get_nowait()
                    if changed:
                        self._wake()
                    if resync:
                        await self._read()
        except asyncio.CancelledError:
            if not self._ready.done():
                self._ready.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - a failed read ends the feed for everyone watching it
            if not isinstance(exc, JobGone):
                log.info("progress feed of job %s failed: %s", self.job_id, exc)
            self.failure = exc
            if not self._ready.done():
                self._ready.set_exception(exc)
            self._ready.exception()  # retrieved: consumers raise self.failure, not the future's copy
            self.on_failure(self)
            self._wake()


class Feeds:
    """The feeds of this process, one per watched job, each closed `linger_seconds` after its last watcher."""

    def __init__(
        self, hub: ProgressHub, load: Loader, *, resync_seconds: float = 15.0, linger_seconds: float = 5.0
    ) -> None:
        self._hub, self._load = hub, load
        self._resync_seconds, self._linger_seconds = resync_seconds, linger_seconds
        self._feeds: dict[str, Feed] = {}

    def __len__(self) -> int:
        return len(self._feeds)

    def newest_seq(self, job_id: str) -> int | None:
        """The seq of the newest state this process knows of the job, if it holds a live feed for it."""
        feed = self._feeds.get(job_id)
        if feed is None or feed.failure is not None or feed.latest is None:
            return None
        return feed.latest.seq

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[Feed]:
        """The job's feed, its first read done (raises that read's error, or JobGone)."""
        feed = self._feeds.get(job_id)
        if feed is None:
            feed = Feed(job_id, self._hub, self._load, self._resync_seconds)
            feed.on_failure = self._forget
            self._feeds[job_id] = feed
            feed.start()
        feed.watchers += 1
        if feed.linger is not None:
            feed.linger.cancel()
            feed.linger = None
        try:
            await feed.ready()
            yield feed
        finally:
            feed.watchers -= 1
            if feed.watchers == 0 and feed.failure is None:
                loop = asyncio.get_running_loop()
                feed.linger = loop.call_later(self._linger_seconds, self._retire, feed)

    def _forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.job_id) is feed:
            del self._feeds[feed.job_id]

    def _retire(self, feed: Feed) -> None:
        feed.linger = None
        if feed.watchers == 0:
            self._forget(feed)
            feed.stop()

    async def close(self) -> None:
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.stop()
        for feed in feeds:
            if feed.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task
