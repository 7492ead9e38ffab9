"""What stages work with, built once per worker (clipforge.worker): storage, the HTTP client, the providers
grouped by capability, and the limits of fetching and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import Redis

from jobs.money import Pricing
from media.inputs.fetch import FetchLimits
from media.render.child import DEFAULT_MEMORY_LIMIT_MB
from media.storage.base import Storage
from media.timeline.checks import Limits as TimelineLimits

if TYPE_CHECKING:  # the API imports the job kinds, hence this module; the providers' libraries stay out
    from media.providers.registry import Providers


def offline_providers() -> Providers:
    from media.providers.registry import Providers

    return Providers.offline()


@dataclass(frozen=True)
class RenderLimits:
    timeout_seconds: float = 1800.0
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    cpu_limit_seconds: float | None = None  # None: derived from the timeout (media.render.child)
    nice: int = 0  # the render process's niceness: below the API and the worker's loop on a shared machine
    timeline: TimelineLimits = TimelineLimits()
    encoder: str = "auto"  # auto | libx264 | h264_nvenc (media.render.encoders)
    # A timeline longer than this renders as segments of about segment_seconds on any workers (0: never).
    segment_after_seconds: float = 0.0
    segment_seconds: float = 30.0


@dataclass(frozen=True)
class MusicBed:
    """Music under a voice (shorts): how far and how fast it ducks while the voice speaks, how loud it sits
    in the gaps, and the finished mix's loudness and true-peak ceiling."""

    duck_db: float = -12.0
    duck_attack_seconds: float = 0.05
    duck_release_seconds: float = 0.35
    music_db: float = -8.0  # relative to the voice's loudness
    loudness_lufs: float = -14.0
    true_peak_db: float = -1.0


@dataclass(frozen=True)
class Tools:
    storage: Storage
    http: httpx.AsyncClient
    work_root: Path
    providers: Providers = field(default_factory=offline_providers)
    fetch_limits: FetchLimits = FetchLimits()
    render: RenderLimits = RenderLimits()
    caption_font: Path | None = None  # a font for captions in scripts DejaVu Sans lacks
    pricing: Pricing = field(default_factory=Pricing)
    music_bed: MusicBed = MusicBed()
    # Where a long render's segments are queued (jobs.segments); None: every render is one piece.
    redis: Redis | None = None
