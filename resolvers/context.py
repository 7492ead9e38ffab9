"""The typed request context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from arq import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.bus import ProgressHub
from media.providers.voice.espeak_lib import VoiceInfo
from media.storage.base import Storage
from media.timeline.checks import Limits as TimelineLimits


@dataclass(frozen=True)
class Limits:
    max_images: int = 20
    max_upload_bytes: int = 50 * 1024 * 1024
    max_seconds_per_image: float = 60.0
    render_fps: int = 30
    render_preset: str = "veryfast"
    render_crf: int = 23
    resync_seconds: float = 15.0  # a quiet subscription re-reads the row this often
    timeline: TimelineLimits = TimelineLimits()
    max_source_chars: int = 20_000  # an explainer's source text
    # Raises MediaError for a voice/language the configured voice cannot speak; None: it decides when it runs.
    check_voice: Callable[[str | None, str], None] | None = None
    list_voices: Callable[[], Sequence[VoiceInfo]] | None = None  # for the voices query; None: not listable


@dataclass(frozen=True)
class Services:
    """Built once in the app's lifespan."""

    sessions: async_sessionmaker[AsyncSession]
    queue: ArqRedis
    hub: ProgressHub
    storage: Storage
    limits: Limits


@dataclass
class Context:
    services: Services
    user_id: str
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] = field(default_factory=dict)
