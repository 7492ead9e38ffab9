"""GraphQL object types, mapped explicitly from the resolvers' read models."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from resolvers import jobs as job_resolvers
from resolvers.errors import UserError
from resolvers.views import ArtifactView, EventView, JobView, StageView
from schema.errors import graphql_error
from schema.info import Info


@strawberry.enum
class JobStatus(Enum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@strawberry.enum(description="The kinds of job the service runs (one per create mutation).")
class JobKind(Enum):
    SLIDESHOW = "SLIDESHOW"
    EXPLAINER = "EXPLAINER"
    TIMELINE = "TIMELINE"
    SCENE_VIDEO = "SCENE_VIDEO"
    SHORT = "SHORT"
    PRODUCT_AD = "PRODUCT_AD"


@strawberry.type
class JobStage:
    name: str
    status: str
    progress: float = strawberry.field(description="0–100 within this stage")
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    warnings: list[str] = strawberry.field(
        description="Problems the stage worked around, e.g. a visual replaced by a placeholder."
    )
    cost_usd: float = strawberry.field(description="What the providers charged for this stage's calls.")
    encoder: str | None = strawberry.field(
        description="The H.264 encoder a finished render stage used (libx264 or h264_nvenc); null otherwise."
    )

    @classmethod
    def from_view(cls, v: StageView) -> JobStage:
        return cls(
            name=v.name,
            status=v.status,
            progress=v.progress,
            attempts=v.attempts,
            started_at=v.started_at,
            finished_at=v.finished_at,
            error=v.error,
            warnings=v.warnings,
            cost_usd=v.cost_usd,
            encoder=v.encoder,
        )


@strawberry.type
class Artifact:
    kind: str
    url: str = strawberry.field(description="Private artifacts get a signed URL that expires in 1 hour.")
    content_type: str
    bytes: int
    stage: str

    @classmethod
    def from_view(cls, v: ArtifactView) -> Artifact:
        return cls(kind=v.kind, url=v.url, content_type=v.content_type, bytes=v.bytes, stage=v.stage)


@strawberry.type
class JobFailure:
    code: str
    message: str


@strawberry.type
class Job:
    id: strawberry.ID
    kind: JobKind
    status: JobStatus
    stage: str | None
    progress: float = strawberry.field(description="0–100 for the whole job")
    message: str
    seq: int = strawberry.field(description="Bumped on every change; pass it as afterSeq to resume.")
    stages: list[JobStage]
    artifacts: list[Artifact]
    video_url: str | None
    thumbnail_url: str | None
    subtitles_url: str | None
    cost_usd: float = strawberry.field(
        description="What the providers charged for this job (USD, from the price table), every stage summed."
    )
    credits_charged: int = strawberry.field(description="Credits spent on this job's paid actions.")
    error: JobFailure | None
    created_at: datetime
    updated_at: datetime
    preview: bool = strawberry.field(description="Rendered at half size with the fastest encoder preset.")

    @classmethod
    def from_view(cls, v: JobView) -> Job:
        return cls(
            id=strawberry.ID(v.id),
            kind=JobKind(v.kind),
            status=JobStatus(v.status),
            stage=v.stage,
            progress=v.progress,
            message=v.message,
            seq=v.seq,
            stages=[JobStage.from_view(s) for s in v.stages],
            artifacts=[Artifact.from_view(a) for a in v.artifacts],
            video_url=v.video_url,
            thumbnail_url=v.thumbnail_url,
            subtitles_url=v.subtitles_url,
            cost_usd=v.cost_usd,
            credits_charged=v.credits_charged,
            error=JobFailure(code=v.error_code, message=v.error_message or "") if v.error_code else None,
            created_at=v.created_at,
            updated_at=v.updated_at,
            preview=v.preview,
        )


@strawberry.type
class ProgressEvent:
    job_id: strawberry.ID
    seq: int
    status: JobStatus
    stage: str | None
    stage_index: int
    stage_count: int
    progress: float
    message: str
    eta_seconds: float | None
    at: datetime

    @strawberry.field(description="The whole job, read when asked for (costs a database read).")
    async def job(self, info: Info) -> Job | None:
        return await fetch_job(info, str(self.job_id))

    @classmethod
    def from_view(cls, v: EventView) -> ProgressEvent:
        return cls(
            job_id=strawberry.ID(v.job_id),
            seq=v.seq,
            status=JobStatus(v.status),
            stage=v.stage,
            stage_index=v.stage_index,
            stage_count=v.stage_count,
            progress=v.progress,
            message=v.message,
            eta_seconds=v.eta_seconds,
            at=v.at,
        )


async def fetch_job(info: Info, job_id: str) -> Job:
    try:
        return Job.from_view(await job_resolvers.get_job(info.context, job_id))
    except UserError as err:
        raise graphql_error(err) from None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class JobEdge:
    cursor: str
    node: Job


@strawberry.type
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo


@strawberry.type(description="An idea's plan, for frontend hints (expandIdea).")
class IdeaExpansion:
    title: str
    logline: str
    tone: str
    format: str
    audience: str
    hooks: list[str]
    outline: list[str]
