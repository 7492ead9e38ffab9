"""SQLModel tables. The job row is the truth about a job; Redis only carries hints about it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class StageStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, **kw))


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    credits: int = 0
    created_at: datetime = _ts()


class ApiKey(SQLModel, table=True):
    """Keys are random and long, so a plain SHA-256 of one is as good as a slow password hash and can
    be looked up directly. The key itself is shown once, when it is made, and never stored."""

    __tablename__ = "api_keys"
    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=64)
    key_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=16)  # the key's first characters, to tell keys apart in lists and logs
    created_at: datetime = _ts()


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_user_created", "user_id", "created_at", "id"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_jobs_user_idempotency"),
    )

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", max_length=64)
    kind: str = Field(max_length=32)
    status: str = Field(max_length=16, index=True)
    stage: str | None = Field(default=None, max_length=64)
    # Where `stage` stands among the job's stages, so a progress event is built from this row alone.
    stage_index: int = 0
    stage_count: int = 0
    progress: float = 0.0
    # Every saved change bumps seq; subscribers use it to drop what they have already seen.
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    message: str = Field(default="", max_length=500)
    eta_seconds: float | None = None
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=2000)
    video_key: str | None = Field(default=None, max_length=512)
    thumbnail_key: str | None = Field(default=None, max_length=512)
    manifest_key: str | None = Field(default=None, max_length=512)
    attempts: int = 0
    cancel_requested: bool = False
    # The worker running the job holds a lease it keeps renewing; an expired lease means a lost worker.
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    queue_id: str | None = Field(default=None, max_length=128)  # arq job id of the latest enqueue
    idempotency_key: str | None = Field(default=None, max_length=128)
    input_hash: str | None = Field(default=None, max_length=64)
    webhook_url: str | None = Field(default=None, max_length=2048)  # told when the job ends (webhooks)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Stage(SQLModel, table=True):
    __tablename__ = "stages"
    job_id: str = Field(foreign_key="jobs.id", primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    position: int
    weight: float
    status: str = Field(default=StageStatus.PENDING, max_length=16)
    progress: float = 0.0
    attempts: int = 0
    error: str | None = Field(default=None, max_length=2000)
    # The checkpoint: a finished stage's output, read back instead of re-running the stage.
    output: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Keyed checkpoints inside a stage (e.g. a paid provider task's id, saved the moment it is known), kept
    # across reruns and retries so that no rerun pays for the same work twice.
    checkpoints: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("job_id", "key", name="uq_artifacts_job_key"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True, max_length=64)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=512)
    content_type: str = Field(max_length=100)
    bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    stage: str = Field(max_length=64)
    created_at: datetime = _ts()


class Hold(StrEnum):
    """Where a ledger entry stands. Credits leave the balance when they are held (so two jobs can never
    spend the same credits) and come back if the action does not happen."""

    HELD = "HELD"  # taken from the balance before the paid action; not yet known to have happened
    CHARGED = "CHARGED"  # the action succeeded: the credits are spent
    RELEASED = "RELEASED"  # the action did not happen (failed, cancelled): the credits went back
    GRANTED = "GRANTED"  # credits given to the user


class LedgerEntry(SQLModel, table=True):
    """One row per paid action of a job, keyed by (job, stage, action) so that it is held and charged at most
    once whatever reruns, retries or races happen; and one per grant."""

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("job_id", "stage", "action", name="uq_ledger_job_stage_action"),
        Index("ix_ledger_user_id", "user_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=64)
    job_id: str | None = Field(default=None, foreign_key="jobs.id", max_length=64)
    stage: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=128)
    credits: int  # always >= 0; the status says which way it went
    status: str = Field(max_length=16)
    note: str = Field(default="", max_length=200)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Cost(SQLModel, table=True):
    """What one provider call cost us, priced from its usage when it was made."""

    __tablename__ = "costs"
    __table_args__ = (Index("uq_costs_job_call_key", "job_id", "call_key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True, max_length=64)
    stage: str = Field(max_length=64)
    vendor: str = Field(max_length=32)
    item: str = Field(max_length=128)
    quantity: float
    # Millionths of a dollar, whole: sums stay exact however many calls a job makes.
    usd_micros: int = Field(sa_column=Column(BigInteger, nullable=False))
    # A call the vendor charges once however often we ask about it (a task, by its id): one row per key and
    # job, so a rerun that finds the same finished task does not count it twice. None: every call counts.
    call_key: str | None = Field(default=None, max_length=128)
    created_at: datetime = _ts()


class Scenario(SQLModel, table=True):
    """A group of scenes sharing a video ratio (the AI scene video)."""

    __tablename__ = "scenarios"
    __table_args__ = (Index("ix_scenarios_user_id", "user_id", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", max_length=64)
    name: str = Field(max_length=200)
    resolution: str | None = Field(default=None, max_length=32)  # a video ratio, "1280:720"
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class SceneStatus(StrEnum):
    DRAFT = "DRAFT"  # no video asked for yet; afterwards the status of the job making its media


class Scene(SQLModel, table=True):
    """A scene of a scenario: what its image shows, how it moves, and the media its latest job made.

    The media are kept as storage keys, not URLs: the image's URL is public and the video's is signed afresh
    on every read, so neither may be frozen into a row."""

    __tablename__ = "scenes"
    __table_args__ = (
        Index("ix_scenes_user_id", "user_id", "id"),
        Index("ix_scenes_scenario_id", "scenario_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", max_length=64)
    scenario_id: str = Field(foreign_key="scenarios.id", max_length=64)
    image_prompt: str = Field(sa_column=Column(Text, nullable=False))
    visual_prompt: str = Field(sa_column=Column(Text, nullable=False))  # the motion prompt
    product_reference_image_url: str | None = Field(default=None, max_length=2048)
    duration: int = 5  # seconds of video
    image_key: str | None = Field(default=None, max_length=512)
    video_key: str | None = Field(default=None, max_length=512)
    status: str = Field(default=SceneStatus.DRAFT, max_length=16)
    job_id: str | None = Field(default=None, foreign_key="jobs.id", max_length=64)  # its latest job
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


# --- Signed webhooks (issue 17) ----------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its next attempt (or in one)
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    FAILED = "FAILED"  # given up: retried for a day, or its endpoint was deleted


class WebhookEndpoint(SQLModel, table=True):
    """A URL a user registered to hear about every one of their jobs that ends. Its secret signs what is sent
    there (Standard Webhooks, HMAC-SHA256): unlike an API key it is needed to sign, so it is kept as it is,
    and shown to the user once, when the endpoint is made."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_user", "user_id", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", max_length=64)
    url: str = Field(max_length=2048)
    description: str = Field(default="", max_length=200)
    secret: str = Field(max_length=100)
    created_at: datetime = _ts()


class WebhookSecret(SQLModel, table=True):
    """Signs deliveries to the `webhookUrl` a job names; one per user, made when first needed."""

    __tablename__ = "webhook_secrets"

    user_id: str = Field(foreign_key="users.id", primary_key=True, max_length=64)
    secret: str = Field(max_length=100)
    created_at: datetime = _ts()


class WebhookDelivery(SQLModel, table=True):
    """One message about one job's end, to one URL. Its id is the `webhook-id` header, the same on every
    attempt, so a receiver can drop repeats. Written in the transaction that ends the job: a worker that dies
    a moment later cannot lose it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_user", "user_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", max_length=64)
    job_id: str = Field(foreign_key="jobs.id", index=True, max_length=64)
    # None: the job's own webhookUrl. Not a foreign key: the history outlives a deleted endpoint.
    endpoint_id: str | None = Field(default=None, max_length=64)
    url: str = Field(max_length=2048)
    event_type: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Storage keys of the job's files, signed into URLs at each attempt so a late retry carries live links.
    files: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    # The worker sending it holds a lease; one that lapses means that worker died mid-attempt.
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class WebhookAttempt(SQLModel, table=True):
    """Every POST of a delivery, as it went: recorded when it starts, completed with the answer."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_number"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_deliveries.id", index=True, max_length=64)
    number: int
    worker: str = Field(max_length=128)
    started_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int | None = None
