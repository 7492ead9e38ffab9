"""The worker's dependencies, unwrapped from arq's untyped ctx in exactly one place (jobs.tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from media.checks import Limits
from media.child import DEFAULT_MEMORY_LIMIT_MB
from media.fetch import FetchLimits
from media.providers.paint_placeholder import PlaceholderPainter
from media.providers.painters import make_painter
from media.providers.script import Painter, ScriptWriter, Voice
from media.providers.voice_espeak import EspeakVoice
from media.providers.writer_offline import OfflineWriter
from media.storage import Storage


@dataclass(frozen=True)
class WorkerTools:
    storage: Storage
    http: httpx.AsyncClient
    fetch_limits: FetchLimits
    render_timeout_seconds: float
    work_root: Path
    timeline_limits: Limits = Limits()
    render_memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    render_cpu_limit_seconds: float | None = None  # None: derived from the timeout (media.child)
    # The explainer's providers; the offline ones unless the settings choose cloud ones (clipforge.wiring).
    writer: ScriptWriter = field(default_factory=OfflineWriter)
    voice: Voice = field(default_factory=EspeakVoice)
    painter: Painter = field(default_factory=lambda: make_painter("offline", http=None, openai_key=None))
    placeholder: Painter = field(default_factory=PlaceholderPainter)
    caption_font: Path | None = None


@dataclass(frozen=True)
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    tools: WorkerTools
    worker_id: str = "worker"
    events_per_second: float = 4.0
    max_tries: int = 3
    cancel_poll_seconds: float = 1.0  # how often a running job checks its row (cancel) and renews its lease
    lease_seconds: float = 30.0  # a job whose lease is this old is taken to be on a dead worker
    requeue_after_seconds: float = 30.0
