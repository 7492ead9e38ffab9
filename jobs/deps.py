"""The worker's dependencies, unwrapped from arq's untyped ctx in exactly one place (jobs.tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.lifecycle import Lifecycle
from jobs.metrics import Metrics
from jobs.tools import Tools
from jobs.webhooks import WebhookPolicy


@dataclass(frozen=True)
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    tools: Tools
    worker_id: str = "worker"
    events_per_second: float = 4.0
    max_tries: int = 3
    cancel_poll_seconds: float = 1.0  # how often a running job checks its row (cancel) and renews its lease
    lease_seconds: float = 30.0  # a job whose lease is this old is taken to be on a dead worker
    requeue_after_seconds: float = 30.0
    segment_poll_seconds: float = 1.0  # how often a job parked on its render's segments checks on them
    metrics: Metrics = field(default_factory=Metrics)
    webhooks: WebhookPolicy = WebhookPolicy()

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.sessions, self.redis, self.metrics)
