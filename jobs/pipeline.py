"""Runs a job's stages in order: skips stages already checkpointed, saves every change on the row
(seq + 1) and publishes it. arq may run a job more than once; this makes a rerun resume, not repeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from arq import Retry
from pydantic import BaseModel

from db import repo
from db.tables import Job, Stage, utcnow
from jobs.bus import publish
from jobs.deps import Deps
from jobs.events import event_from_job
from jobs.stage import JobError, Pipeline, StageCall, StageSpec
from media.errors import MediaError

log = logging.getLogger(__name__)
RELEASED = {"lease_owner": None, "lease_expires_at": None}


class JobCancelled(Exception):
    """The row left PROCESSING while we worked (cancelJob): stop without touching it further."""


class Run:
    def __init__(self, deps: Deps, pipeline: Pipeline, job: Job, work_dir: Path) -> None:
        self.deps = deps
        self.pipeline = pipeline
        self.job_id = job.id
        self.work_dir = work_dir
        self.total_weight = sum(s.weight for s in pipeline.stages) or 1.0
        self.done_weight = 0.0
        self.started = time.monotonic()
        self.start_progress = 0.0
        self.last_saved = 0.0

    async def save(self, *, stage_values: dict[str, Any] | None = None, **values: Any) -> Job:
        """One transaction: the job change (seq + 1) and its stage row; then the event goes out."""
        async with self.deps.sessions.begin() as session:
            job = await repo.update_job(
                session,
                self.job_id,
                only_if_status=("PROCESSING",),
                only_if_owner=self.deps.worker_id,
                **values,
            )
            if job is None:
                raise JobCancelled(self.job_id)
            if stage_values and job.stage:
                await repo.update_stage(session, self.job_id, job.stage, **stage_values)
        await publish(self.deps.redis, event_from_job(job, self.pipeline.stage_names))
        return job

    def overall(self, weight: float, fraction: float) -> float:
        return min(99.9, 100.0 * (self.done_weight + weight * fraction) / self.total_weight)

    def eta(self, progress: float) -> float | None:
        gained = progress - self.start_progress
        if gained < 2.0:
            return None
        return round((time.monotonic() - self.started) * (100.0 - progress) / gained, 1)

    async def run_stage(self, spec: StageSpec, outputs: dict[str, BaseModel], params: BaseModel) -> BaseModel:
        now = utcnow()
        await self.save(
            stage=spec.name,
            progress=self.overall(spec.weight, 0.0),
            message=f"{spec.name}: started",
            stage_values={"status": "RUNNING", "attempts": Stage.attempts + 1, "started_at": now},
        )

        async def report(fraction: float, message: str) -> None:
            fraction = max(0.0, min(1.0, fraction))
            if time.monotonic() - self.last_saved < 1.0 / self.deps.events_per_second:
                return  # throttled: a progress bar needs a few updates a second, not every frame
            self.last_saved = time.monotonic()
            progress = self.overall(spec.weight, fraction)
            await self.save(
                progress=progress,
                message=f"{spec.name}: {message}",
                eta_seconds=self.eta(progress),
                stage_values={"progress": round(fraction, 4)},
            )

        async def add_artifact(kind: str, key: str, content_type: str, size: int) -> None:
            async with self.deps.sessions.begin() as session:
                await repo.put_artifact(
                    session,
                    job_id=self.job_id,
                    kind=kind,
                    key=key,
                    content_type=content_type,
                    size=size,
                    stage=spec.name,
                )

        call = StageCall(
            job_id=self.job_id,
            params=params,
            outputs=outputs,
            tools=self.deps.tools,
            work_dir=self.work_dir,
            report=report,
            add_artifact=add_artifact,
        )
        output = await self.watch_cancel(asyncio.ensure_future(spec.run(call)))
        self.done_weight += spec.weight
        await self.save(
            progress=self.overall(0.0, 0.0),
            message=f"{spec.name}: done",
            stage_values={
                "status": "DONE",
                "progress": 1.0,
                "output": output.model_dump(mode="json"),
                "finished_at": utcnow(),
            },
        )
        return output

    async def watch_cancel(self, task: asyncio.Future[BaseModel]) -> BaseModel:
        """While the stage works, keep the lease alive; when the row says the job is no longer ours
        (cancelled, or re-driven elsewhere), cancel the task, which kills whatever it runs."""
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.deps.cancel_poll_seconds)
                if done:
                    return task.result()
                async with self.deps.sessions.begin() as session:
                    ours = await repo.renew_lease(
                        session, self.job_id, owner=self.deps.worker_id, lease_seconds=self.deps.lease_seconds
                    )
                if not ours:
                    raise JobCancelled(self.job_id)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def run_pipeline(
    deps: Deps, pipeline: Pipeline, job_id: str, *, attempt: int, queue_id: str | None = None
) -> None:
    """`queue_id` is the arq id this run came from; an entry the row no longer names does nothing."""
    async with deps.sessions.begin() as session:
        job = await repo.claim_job(
            session,
            job_id,
            owner=deps.worker_id,
            lease_seconds=deps.lease_seconds,
            queue_id=queue_id,
            attempts=Job.attempts + 1,
            started_at=utcnow(),
            message="started" if attempt == 1 else f"resumed (attempt {attempt})",
        )
        if job is None:
            log.info("job %s is finished, gone, running elsewhere or queued anew; nothing to do", job_id)
            return
        stages = {s.name: s for s in await repo.get_stages(session, [job_id])}
    await publish(deps.redis, event_from_job(job, pipeline.stage_names))

    # A directory of this run's own: a run that lost the job (cancelled then retried, or re-driven after
    # a stall) may still be cleaning up on this machine while the next run works, and must not delete
    # the files of that run.
    work_dir = deps.tools.work_root / f"{job_id}.{secrets.token_hex(4)}"
    run = Run(deps, pipeline, job, work_dir)
    run.start_progress = job.progress
    try:
        params = pipeline.params.model_validate(job.input)
        outputs: dict[str, BaseModel] = {}
        for spec in pipeline.stages:
            row = stages.get(spec.name)
            if row is not None and row.status == "DONE" and row.output is not None:
                outputs[spec.name] = spec.output.model_validate(row.output)  # checkpoint: not redone
                run.done_weight += spec.weight
                continue
            outputs[spec.name] = await run.run_stage(spec, outputs, params)
        result = pipeline.result(outputs)
        await run.save(
            status="COMPLETED",
            progress=100.0,
            message="completed",
            eta_seconds=0.0,
            video_key=result.video_key,
            thumbnail_key=result.thumbnail_key,
            manifest_key=result.manifest_key,
            finished_at=utcnow(),
            **RELEASED,
        )
    except JobCancelled:
        log.info("job %s was cancelled while running", job_id)
    except (JobError, MediaError) as exc:
        await fail(run, exc.code, exc.message)
    except Exception as exc:
        if attempt < deps.max_tries:
            log.exception("job %s attempt %d failed; will retry", job_id, attempt)
            defer = 2**attempt
            with contextlib.suppress(JobCancelled):
                # Any worker may take the retry; if the retry itself gets lost, the reconciler sees the
                # lease expire and re-drives the job.
                expires = utcnow() + timedelta(seconds=defer + deps.lease_seconds)
                await run.save(
                    message=f"retrying after an error (attempt {attempt})",
                    lease_owner=None,
                    lease_expires_at=expires,
                )
            raise Retry(defer=defer) from exc
        log.exception("job %s failed after %d attempts", job_id, attempt)
        await fail(run, "INTERNAL_ERROR", "the job failed unexpectedly; the operators have the details")
    await asyncio.to_thread(shutil.rmtree, work_dir, True)


async def fail(run: Run, code: str, message: str) -> None:
    with contextlib.suppress(JobCancelled):
        job = await run.save(
            status="FAILED",
            error_code=code,
            error_message=message[:2000],
            message=f"failed: {message}"[:500],
            eta_seconds=None,
            finished_at=utcnow(),
            stage_values={"status": "FAILED", "error": f"{code}: {message}"[:2000]},
            **RELEASED,
        )
        log.info("job %s failed in stage %s: %s %s", job.id, job.stage, code, message)
