"""Every change of a job's state, in one place: each is one transaction on the row (seq + 1), then one event
built from the row it left, published for subscribers.

The API (create, cancel, retry), the worker running a job (claim, then the `Lease`'s stage and end
transitions) and the reconciler (re-drive, re-enqueue, give up) all change jobs through here, so a status
is never written without its event, and never by someone who no longer owns the job.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import leases as repo_leases
from db import ledger, repo, scenes
from db import webhooks as webhook_repo
from db.tables import Job, JobStatus, Stage, StageStatus, utcnow
from jobs import webhooks
from jobs.bus import publish
from jobs.events import event_from_job
from jobs.metrics import Metrics
from jobs.queue import redrive_id

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.QUEUED, JobStatus.PROCESSING)
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)
_RELEASED: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}


class LeaseLost(Exception):
    """The row is no longer this run's to change (cancelled, or re-driven to another worker)."""


@dataclass(frozen=True)
class Lifecycle:
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis  # where events are published
    metrics: Metrics | None = None

    async def _commit(
        self, change: Callable[[AsyncSession], Awaitable[Job | None]], *, ends: bool = False
    ) -> Job | None:
        """`ends`: a change that may end the job. Its webhook deliveries are written in the same transaction
        (so no crash can lose them), then queued."""
        deliveries: list[str] = []
        async with self.sessions.begin() as session:
            job = await change(session)
            if job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                # An ended job's paid actions that did not complete are not charged: their credits go back
                # in the same transaction that ends it.
                await ledger.release(session, job.id)
            if job is not None:
                # A record the job makes (a scene) follows its status in the same transaction.
                await scenes.follow_job(session, job)
            if ends and job is not None:
                deliveries = await webhooks.record(session, job)
        if job is not None:
            await publish(self.redis, event_from_job(job))
            if ends:
                if self.metrics is not None:
                    self.metrics.finished(job)
                await webhooks.enqueue_new(self.redis, deliveries)
        return job

    # --- the API -------------------------------------------------------------------------------------

    async def create(
        self,
        *,
        job_id: str,
        user_id: str,
        kind: str,
        input: dict[str, Any],
        stages: Sequence[tuple[str, float]],
        idempotency_key: str | None,
        input_hash: str,
        webhook_url: str | None = None,
    ) -> Job:
        """The QUEUED row and its stage rows. IntegrityError when the user's idempotency key is taken."""

        async def insert(session: AsyncSession) -> Job:
            job = await repo.create_job(
                session,
                job_id=job_id,
                user_id=user_id,
                kind=kind,
                input=input,
                stages=stages,
                idempotency_key=idempotency_key,
                input_hash=input_hash,
            )
            if webhook_url:
                job.webhook_url = webhook_url
                await session.flush()
            return job

        job = await self._commit(insert)
        assert job is not None
        if self.metrics is not None:
            self.metrics.created(job)
        return job

    async def cancel(self, job_id: str) -> Job | None:
        """CANCELLED at once; a worker running it sees the row change and kills its work. None when the job
        has already ended."""
        return await self._commit(
            lambda s: repo.update_job(
                s,
                job_id,
                only_if_status=ACTIVE,
                status=JobStatus.CANCELLED,
                cancel_requested=True,
                message="cancelled",
                eta_seconds=None,
                finished_at=utcnow(),
            ),
            ends=True,
        )

    async def retry(self, job: Job) -> Job | None:
        """Back to QUEUED from its last finished stage, under a queue id no earlier run used. None when the
        job is not (or no longer) FAILED or CANCELLED."""

        async def requeue(session: AsyncSession) -> Job | None:
            stages = await repo.get_stages(session, [job.id])
            total = sum(s.weight for s in stages) or 1.0
            done = sum(s.weight for s in stages if s.status == StageStatus.DONE)
            # A terminal row's seq only moves through this update (cancel refuses terminal rows), so
            # seq + 1 is the seq it will have.
            queued = await repo.update_job(
                session,
                job.id,
                only_if_status=RETRYABLE,
                status=JobStatus.QUEUED,
                message="queued again (retry)",
                progress=100.0 * done / total,  # what the kept checkpoints are worth: the bar does not jump
                eta_seconds=None,
                error_code=None,
                error_message=None,
                finished_at=None,
                cancel_requested=False,
                attempts=0,  # a fresh run: a full set of tries before the reconciler gives up on it
                queue_id=redrive_id(job.id, job.seq + 1),
                **_RELEASED,
            )
            if queued is not None:
                await repo.reset_unfinished_stages(session, job.id)
            return queued

        return await self._commit(requeue)

    # --- the worker ----------------------------------------------------------------------------------

    async def claim(
        self, job_id: str, *, owner: str, lease_seconds: float, queue_id: str | None, attempt: int
    ) -> tuple[Lease, Job, list[Stage]] | None:
        """Take the job to run it; None when it is finished, gone, leased elsewhere or queued anew."""
        stages: list[Stage] = []

        async def take(session: AsyncSession) -> Job | None:
            job = await repo.claim_job(
                session,
                job_id,
                owner=owner,
                lease_seconds=lease_seconds,
                queue_id=queue_id,
                attempts=Job.attempts + 1,
                started_at=utcnow(),
                message="started" if attempt == 1 else f"resumed (attempt {attempt})",
            )
            if job is not None:
                stages.extend(await repo.get_stages(session, [job_id]))
            return job

        job = await self._commit(take)
        return None if job is None else (Lease(self, job_id, owner), job, stages)

    async def reject(self, job_id: str, code: str, message: str) -> Job | None:
        """Fail a job no worker can run (its kind has no pipeline here), so it does not go round for ever."""
        return await self._commit(
            lambda s: repo.update_job(
                s,
                job_id,
                only_if_status=ACTIVE,
                status=JobStatus.FAILED,
                error_code=code,
                error_message=message,
                message=f"failed: {message}"[:500],
                finished_at=utcnow(),
                **_RELEASED,
            ),
            ends=True,
        )

    # --- the reconciler ------------------------------------------------------------------------------

    async def redrive(self, job: Job, *, lease_seconds: float) -> Job | None:
        """A PROCESSING job whose worker stopped renewing its lease: queued again for any worker, from its
        last finished stage."""
        return await self._commit(
            lambda s: repo.update_job(
                s,
                job.id,
                only_if_status=(JobStatus.PROCESSING,),
                message="worker lost; resuming from the last finished stage",
                queue_id=redrive_id(job.id, job.seq + 1),
                lease_owner=None,
                # Not re-driven again until a worker has had time to pick it up.
                lease_expires_at=utcnow() + timedelta(seconds=lease_seconds),
            )
        )

    async def give_up(self, job: Job) -> Job | None:
        """A job whose worker died on every one of its tries."""
        return await self._commit(
            lambda s: repo.update_job(
                s,
                job.id,
                only_if_status=(JobStatus.PROCESSING,),
                status=JobStatus.FAILED,
                error_code="WORKER_LOST",
                error_message=f"the worker running this job stopped responding ({job.attempts} tries)",
                message="failed: worker lost",
                finished_at=utcnow(),
                **_RELEASED,
            ),
            ends=True,
        )

    async def release(self, owner_prefix: str) -> list[str]:
        """Let go at once of what workers whose ids start with `owner_prefix` held: the caller knows they are
        dead (`clipforge up` reaped its worker), so their jobs need not wait for their leases to lapse. The
        reconciler then re-drives them like any lapsed lease. Not a visible change: no event."""
        now = utcnow()
        async with self.sessions.begin() as session:
            released = await repo_leases.release_leases(session, owner_prefix=owner_prefix, now=now)
            await webhook_repo.release_leases(session, owner_prefix=owner_prefix, now=now)
        return released

    async def requeue(self, job: Job) -> Job | None:
        """A QUEUED job Redis forgot: a new queue id to enqueue it under (not a visible change: no event)."""
        async with self.sessions.begin() as session:
            return await repo.update_job(
                session, job.id, only_if_status=(JobStatus.QUEUED,), queue_id=redrive_id(job.id, job.seq + 1)
            )


@dataclass(frozen=True)
class Lease:
    """The transitions of one run of a job, allowed only while the row is PROCESSING and leased to it;
    each raises LeaseLost otherwise."""

    lifecycle: Lifecycle
    job_id: str
    owner: str

    async def _save(
        self, stage_row: tuple[str, dict[str, Any]] | None = None, *, ends: bool = False, **values: Any
    ) -> Job:
        async def change(session: AsyncSession) -> Job | None:
            job = await repo.update_job(
                session,
                self.job_id,
                only_if_status=(JobStatus.PROCESSING,),
                only_if_owner=self.owner,
                **values,
            )
            if job is not None and stage_row is not None:
                await repo.update_stage(session, self.job_id, stage_row[0], **stage_row[1])
            return job

        job = await self.lifecycle._commit(change, ends=ends)
        if job is None:
            raise LeaseLost(self.job_id)
        return job

    async def renew(self, lease_seconds: float) -> None:
        """Keep the lease; not a visible change, so no event and seq stays."""
        async with self.lifecycle.sessions.begin() as session:
            ours = await repo.renew_lease(session, self.job_id, owner=self.owner, lease_seconds=lease_seconds)
        if not ours:
            raise LeaseLost(self.job_id)

    async def start_stage(self, name: str, index: int, progress: float) -> Job:
        return await self._save(
            (name, {"status": StageStatus.RUNNING, "attempts": Stage.attempts + 1, "started_at": utcnow()}),
            stage=name,
            stage_index=index,
            progress=progress,
            message=f"{name}: started",
        )

    async def progress(
        self, name: str, fraction: float, *, progress: float, message: str, eta_seconds: float | None
    ) -> Job:
        return await self._save(
            (name, {"progress": round(fraction, 4)}),
            progress=progress,
            message=f"{name}: {message}",
            eta_seconds=eta_seconds,
        )

    async def save_checkpoints(self, name: str, checkpoints: dict[str, Any]) -> None:
        """A stage's keyed checkpoints, written at once (not a visible change: no event)."""
        async with self.lifecycle.sessions.begin() as session:
            await repo.update_stage(session, self.job_id, name, checkpoints=checkpoints)

    async def add_artifact(self, stage: str, kind: str, key: str, content_type: str, size: int) -> None:
        """Listed on the job (idempotent per key: a rerun replaces the row); seen on the next read."""
        async with self.lifecycle.sessions.begin() as session:
            await repo.put_artifact(
                session,
                job_id=self.job_id,
                kind=kind,
                key=key,
                content_type=content_type,
                size=size,
                stage=stage,
            )

    async def finish_stage(self, name: str, output: dict[str, Any], progress: float) -> Job:
        return await self._save(
            (
                name,
                {"status": StageStatus.DONE, "progress": 1.0, "output": output, "finished_at": utcnow()},
            ),
            progress=progress,
            message=f"{name}: done",
        )

    async def complete(
        self, *, video_key: str | None, thumbnail_key: str | None, manifest_key: str | None
    ) -> Job:
        return await self._save(
            ends=True,
            status=JobStatus.COMPLETED,
            progress=100.0,
            message="completed",
            eta_seconds=0.0,
            video_key=video_key,
            thumbnail_key=thumbnail_key,
            manifest_key=manifest_key,
            finished_at=utcnow(),
            **_RELEASED,
        )

    async def fail(self, stage: str | None, code: str, message: str) -> Job:
        return await self._save(
            (stage, {"status": StageStatus.FAILED, "error": f"{code}: {message}"[:2000]}) if stage else None,
            ends=True,
            status=JobStatus.FAILED,
            error_code=code,
            error_message=message[:2000],
            message=f"failed: {message}"[:500],
            eta_seconds=None,
            finished_at=utcnow(),
            **_RELEASED,
        )

    async def park(self, owner: str, hold_seconds: float, stage: str, message: str) -> Job:
        """Hand the job to `owner` (a parked job's wakes, jobs.parking) while its work runs elsewhere; the
        run that parks it frees its worker slot. Waiting is not a try: the run's attempt, and its stage's,
        are given back (the stage's row stays RUNNING: its work goes on)."""
        return await self._save(
            (stage, {"attempts": Stage.attempts - 1}),
            message=message,
            lease_owner=owner,
            lease_expires_at=utcnow() + timedelta(seconds=hold_seconds),
            attempts=Job.attempts - 1,
        )

    async def hand_back(self, queue_id: str, hold_seconds: float) -> Job:
        """Free the job for a worker to run it again from the queue entry `queue_id`; if that entry gets
        lost, the lease lapses after `hold_seconds` and the reconciler re-drives the job."""
        return await self._save(
            lease_owner=None, queue_id=queue_id, lease_expires_at=utcnow() + timedelta(seconds=hold_seconds)
        )

    async def retry_later(self, attempt: int, defer_seconds: float, lease_seconds: float) -> Job:
        """Hand the job back for arq to run again after an unexpected error; if that retry itself gets lost,
        the lease lapses and the reconciler re-drives the job."""
        return await self._save(
            message=f"retrying after an error (attempt {attempt})",
            lease_owner=None,
            lease_expires_at=utcnow() + timedelta(seconds=defer_seconds + lease_seconds),
        )
