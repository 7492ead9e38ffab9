"""Repository functions. Each takes an open session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db import ledger
from db.tables import Artifact, Job, JobStatus, Stage, StageStatus, User, utcnow


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def ensure_user(session: AsyncSession, user_id: str, name: str, credits: int = 0) -> User:
    """The user, created if new with `credits` to start with (granted through the ledger, so the ledger
    always sums to the balance)."""
    user = await session.get(User, user_id)
    if user is None:
        user = User(id=user_id, name=name, credits=0)
        session.add(user)
        await session.flush()
        if credits > 0:
            await ledger.grant(session, user_id=user_id, credits=credits, note="welcome credits")
            await session.refresh(user)
    return user


async def create_job(
    session: AsyncSession,
    *,
    job_id: str,
    user_id: str,
    kind: str,
    input: dict[str, Any],
    stages: Sequence[tuple[str, float]],
    idempotency_key: str | None = None,
    input_hash: str | None = None,
) -> Job:
    job = Job(
        id=job_id,
        user_id=user_id,
        kind=kind,
        status=JobStatus.QUEUED,
        stage_count=len(stages),
        seq=1,
        message="queued",
        input=input,
        queue_id=job_id,
        idempotency_key=idempotency_key,
        input_hash=input_hash,
    )
    session.add(job)
    await session.flush()  # the job row must exist before its stages reference it
    for position, (name, weight) in enumerate(stages):
        session.add(Stage(job_id=job_id, name=name, position=position, weight=weight))
    await session.flush()
    return job


async def get_job(session: AsyncSession, job_id: str, *, user_id: str | None = None) -> Job | None:
    query = select(Job).where(col(Job.id) == job_id)
    if user_id is not None:
        query = query.where(col(Job.user_id) == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_jobs(
    session: AsyncSession,
    *,
    user_id: str,
    limit: int,
    before_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[Job]:
    """Newest first. Ids are time-ordered, so the last id of a page is the cursor of the next."""
    query = select(Job).where(col(Job.user_id) == user_id)
    if before_id:
        query = query.where(col(Job.id) < before_id)
    if status:
        query = query.where(col(Job.status) == status)
    if kind:
        query = query.where(col(Job.kind) == kind)
    query = query.order_by(col(Job.id).desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def update_job(
    session: AsyncSession,
    job_id: str,
    *,
    only_if_status: Iterable[str] | None = None,
    only_if_owner: str | None = None,
    **values: Any,
) -> Job | None:
    """Apply a change and bump seq in one statement; None when the row is missing, in another status,
    or (with only_if_owner) leased by someone else."""
    query = update(Job).where(col(Job.id) == job_id)
    if only_if_status is not None:
        query = query.where(col(Job.status).in_(list(only_if_status)))
    if only_if_owner is not None:
        query = query.where(col(Job.lease_owner) == only_if_owner)
    query = (
        query.values(seq=Job.seq + 1, updated_at=utcnow(), **values)
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def claim_job(
    session: AsyncSession,
    job_id: str,
    *,
    owner: str,
    lease_seconds: float,
    queue_id: str | None = None,
    **values: Any,
) -> Job | None:
    """Take the job's lease if it is free, expired or already ours, and move it to PROCESSING. With
    `queue_id`, only the queue entry the row names may: an older entry (superseded by a re-drive or a
    retry) must not start a second run beside the current one."""
    now = utcnow()
    query = update(Job).where(
        col(Job.id) == job_id, col(Job.status).in_([JobStatus.QUEUED, JobStatus.PROCESSING])
    )
    if queue_id is not None:  # rows from before queue ids were recorded (NULL) run from any entry
        query = query.where(or_(col(Job.queue_id).is_(None), col(Job.queue_id) == queue_id))
    query = (
        query.where(
            or_(
                col(Job.lease_owner).is_(None),
                col(Job.lease_owner) == owner,
                col(Job.lease_expires_at) < now,
            )
        )
        .values(
            seq=Job.seq + 1,
            updated_at=now,
            status=JobStatus.PROCESSING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            **values,
        )
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def renew_lease(session: AsyncSession, job_id: str, *, owner: str, lease_seconds: float) -> bool:
    """False when the job is no longer ours to run (cancelled, finished, or re-driven elsewhere).
    Not a visible change, so seq stays."""
    result = await session.execute(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.status) == JobStatus.PROCESSING, col(Job.lease_owner) == owner)
        .where(col(Job.cancel_requested).is_(False))
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def expired_leases(session: AsyncSession, *, limit: int = 100) -> list[Job]:
    query = (
        select(Job)
        .where(col(Job.status) == JobStatus.PROCESSING, col(Job.lease_expires_at) < utcnow())
        .order_by(col(Job.lease_expires_at))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def queued_before(session: AsyncSession, *, before: datetime, limit: int = 100) -> list[Job]:
    query = (
        select(Job)
        .where(col(Job.status) == JobStatus.QUEUED, col(Job.updated_at) < before)
        .order_by(col(Job.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def find_by_idempotency_key(session: AsyncSession, *, user_id: str, key: str) -> Job | None:
    query = select(Job).where(col(Job.user_id) == user_id, col(Job.idempotency_key) == key)
    return (await session.execute(query)).scalar_one_or_none()


async def get_stages(session: AsyncSession, job_ids: Sequence[str]) -> list[Stage]:
    query = (
        select(Stage).where(col(Stage.job_id).in_(job_ids)).order_by(col(Stage.job_id), col(Stage.position))
    )
    return list((await session.execute(query)).scalars())


async def update_stage(session: AsyncSession, job_id: str, name: str, **values: Any) -> None:
    await session.execute(
        update(Stage).where(col(Stage.job_id) == job_id, col(Stage.name) == name).values(**values)
    )


async def reset_unfinished_stages(session: AsyncSession, job_id: str) -> None:
    """Keep finished stages (their outputs) and make the rest runnable again. Keyed checkpoints stay too:
    a stage that had started a paid task resumes it instead of paying again."""
    await session.execute(
        update(Stage)
        .where(col(Stage.job_id) == job_id, col(Stage.status) != StageStatus.DONE)
        .values(
            status=StageStatus.PENDING,
            progress=0.0,
            output=None,
            error=None,
            started_at=None,
            finished_at=None,
        )
    )


async def get_artifacts(session: AsyncSession, job_ids: Sequence[str]) -> list[Artifact]:
    query = select(Artifact).where(col(Artifact.job_id).in_(job_ids)).order_by(col(Artifact.id))
    return list((await session.execute(query)).scalars())


async def put_artifact(
    session: AsyncSession, *, job_id: str, kind: str, key: str, content_type: str, size: int, stage: str
) -> None:
    """Idempotent: a rerun of a stage replaces its artifact row instead of adding a second one."""
    await session.execute(delete(Artifact).where(col(Artifact.job_id) == job_id, col(Artifact.key) == key))
    session.add(
        Artifact(job_id=job_id, kind=kind, key=key, content_type=content_type, bytes=size, stage=stage)
    )
    await session.flush()


async def jobs_updated_since(
    session: AsyncSession, *, user_id: str, since: datetime | None, limit: int = 100
) -> list[Job]:
    query = select(Job).where(col(Job.user_id) == user_id)
    if since is not None:
        query = query.where(col(Job.updated_at) >= since)
    else:
        query = query.where(col(Job.status).in_([JobStatus.QUEUED, JobStatus.PROCESSING]))
    query = query.order_by(col(Job.updated_at).desc()).limit(limit)
    return list(reversed((await session.execute(query)).scalars().all()))
