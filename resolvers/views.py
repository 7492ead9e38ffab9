"""Plain read models handed to the schema layer, mapped explicitly from rows and the URLs signed for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from db.repo import aware
from db.tables import Artifact, Job, Stage
from jobs.events import ProgressEvent


@dataclass(frozen=True)
class StageView:
    name: str
    status: str
    progress: float
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    warnings: list[str]  # what went wrong without failing the stage (e.g. a visual drawn as a placeholder)
    cost_usd: float
    encoder: str | None = None  # the render stage's H.264 encoder, once it has run


@dataclass(frozen=True)
class ArtifactView:
    kind: str
    url: str
    content_type: str
    bytes: int
    stage: str


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    status: str
    stage: str | None
    progress: float
    message: str
    stages: list[StageView]
    artifacts: list[ArtifactView]
    video_url: str | None
    thumbnail_url: str | None
    subtitles_url: str | None  # WebVTT; the SRT is among the artifacts
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    seq: int
    preview: bool
    cost_usd: float  # what the providers charged us for this job
    credits_charged: int  # what the user paid for it


EventView = ProgressEvent


def _opt(value: datetime | None) -> datetime | None:
    return aware(value) if value else None


def usd(micros: int) -> float:
    return round(micros / 1_000_000, 6)


def keys_to_sign(job: Job, artifacts: list[Artifact]) -> list[str]:
    """Every storage key a job's view hands out a URL for."""
    keys = [a.key for a in artifacts]
    keys += [k for k in (job.video_key, job.thumbnail_key) if k]
    return list(dict.fromkeys(keys))


def job_view(
    job: Job,
    stages: list[Stage],
    artifacts: list[Artifact],
    links: Mapping[str, str],
    *,
    stage_costs: Mapping[str, int],
    credits_charged: int,
) -> JobView:
    """`links` holds the URL of each key from keys_to_sign; a key without one (its object is gone from a
    store that signs only what exists) is not listed, or its URL is null. `stage_costs`: millionths of a
    dollar by stage name."""
    return JobView(
        id=job.id,
        kind=job.kind,
        status=job.status,
        stage=job.stage,
        progress=round(job.progress, 2),
        message=job.message,
        stages=[
            StageView(
                name=s.name,
                status=s.status,
                progress=round(s.progress * 100, 2),
                attempts=s.attempts,
                started_at=_opt(s.started_at),
                finished_at=_opt(s.finished_at),
                error=s.error,
                warnings=[str(w) for w in (s.output or {}).get("warnings", [])],
                cost_usd=usd(stage_costs.get(s.name, 0)),
                encoder=str((s.output or {}).get("encoder") or "") or None,
            )
            for s in sorted(stages, key=lambda s: s.position)
        ],
        artifacts=[
            ArtifactView(
                kind=a.kind, url=links[a.key], content_type=a.content_type, bytes=a.bytes, stage=a.stage
            )
            for a in artifacts
            if a.key in links
        ],
        video_url=links.get(job.video_key) if job.video_key else None,
        thumbnail_url=links.get(job.thumbnail_key) if job.thumbnail_key else None,
        subtitles_url=next(
            (links.get(a.key) for a in artifacts if a.kind == "subtitles" and a.key.endswith(".vtt")), None
        ),
        error_code=job.error_code,
        error_message=job.error_message,
        created_at=aware(job.created_at),
        updated_at=aware(job.updated_at),
        seq=job.seq,
        preview=bool(job.input.get("preview", False)),
        cost_usd=usd(sum(stage_costs.values())),
        credits_charged=credits_charged,
    )
