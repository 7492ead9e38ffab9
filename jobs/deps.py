"""The worker's dependencies, unwrapped from arq's untyped ctx in exactly one place (jobs.tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from media.inputs.fetch import FetchLimits
from media.providers.script.base import ScriptWriter
from media.providers.script.offline import OfflineWriter
from media.providers.visual.base import Painter
from media.providers.visual.factory import make_painter
from media.providers.visual.placeholder import PlaceholderPainter
from media.providers.voice.base import Voice
from media.providers.voice.espeak import EspeakVoice
from media.render.child import DEFAULT_MEMORY_LIMIT_MB
from media.storage.base import Storage
from media.timeline.checks import Limits


@dataclass(frozen=True)
class WorkerTools:
    storage: Storage
    http: httpx.AsyncClient
    fetch_limits: FetchLimits
    render_timeout_seconds: float
    work_root: Path
    timeline_limits: Limits = Limits()
    render_memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    render_cpu_limit_seconds: float | None = None  # None: derived from the timeout (media.render.child)
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
