"""The typed request context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from arq import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.bus import ProgressHub
from jobs.events import ProgressEvent
from jobs.feed import Feeds
from jobs.kind import InputLimits
from jobs.lifecycle import Lifecycle
from jobs.metrics import Metrics
from jobs.money import Pricing
from media.inputs.fetch import FetchLimits
from media.providers.llm.base import LLM
from media.providers.voice.espeak_lib import VoiceInfo
from media.storage.base import Storage
from resolvers.auth import Authenticator


@dataclass(frozen=True)
class Expander:
    """What expandIdea answers with (resolvers.expand)."""

    llm: LLM | None = None  # None: the offline rules
    timeout_seconds: float = 15.0
    per_minute: int = 10  # calls per user a minute to a cloud model; the offline rules are not limited


@dataclass(frozen=True)
class Services:
    """Built once in the app's lifespan."""

    sessions: async_sessionmaker[AsyncSession]
    queue: ArqRedis
    hub: ProgressHub
    feeds: Feeds  # one per watched job: shared snapshot reads, conflated states
    storage: Storage
    limits: InputLimits = InputLimits()
    resync_seconds: float = 15.0  # a quiet subscription re-reads the row this often
    list_voices: Callable[[], Sequence[VoiceInfo]] | None = None  # for the voices query; None: not listable
    # Credits: the price of each paid action, and which provider the workers use for each capability (a
    # price may name one), so a create can be refused up front when the balance cannot cover it.
    pricing: Pricing = field(default_factory=Pricing)
    providers: Mapping[str, str] = field(
        default_factory=dict
    )  # capability -> provider name; missing: offline
    # For inputs checked by downloading them before a job exists (a scene's product reference image).
    http: httpx.AsyncClient | None = None
    fetch_limits: FetchLimits = FetchLimits()
    auth: Authenticator | None = None  # None: API keys only
    metrics: Metrics = field(default_factory=Metrics)
    expander: Expander = Expander()  # expandIdea's model (offline rules when None)
    allow_private_urls: bool = False  # webhook targets too (development only)
    max_webhooks_per_user: int = 20

    @property
    def authenticator(self) -> Authenticator:
        return self.auth or Authenticator(self.sessions)

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.sessions, self.queue, self.metrics)


@dataclass
class Context:
    services: Services
    user_id: str
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    # Told of each state jobProgress is about to yield, before GraphQL executes it: an execution shared by
    # many sockets (clipforge.broadcast) learns which seq, stage and end each of its results stands for.
    tap: Callable[[ProgressEvent], None] | None = None
