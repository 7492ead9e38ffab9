"""The typed request context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from arq import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.bus import ProgressHub
from jobs.kind import InputLimits
from jobs.lifecycle import Lifecycle
from media.providers.voice.espeak_lib import VoiceInfo
from media.storage.base import Storage
from resolvers.auth import Authenticator


@dataclass(frozen=True)
class Services:
    """Built once in the app's lifespan."""

    sessions: async_sessionmaker[AsyncSession]
    queue: ArqRedis
    hub: ProgressHub
    storage: Storage
    limits: InputLimits = InputLimits()
    resync_seconds: float = 15.0  # a quiet subscription re-reads the row this often
    list_voices: Callable[[], Sequence[VoiceInfo]] | None = None  # for the voices query; None: not listable
    auth: Authenticator | None = None  # None: API keys only

    @property
    def authenticator(self) -> Authenticator:
        return self.auth or Authenticator(self.sessions)

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.sessions, self.queue)


@dataclass
class Context:
    services: Services
    user_id: str
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] = field(default_factory=dict)
