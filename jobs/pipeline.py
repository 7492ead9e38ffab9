"""Runs a job's stages in order: skips stages already checkpointed, and changes the row only through the
job's lease (jobs.lifecycle), so every change is saved (seq + 1) and published. arq may run a job more than
once; this makes a rerun resume, not repeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from arq import Retry
from pydantic import BaseModel
from structlog.contextvars import bound_contextvars

from db.tables import Stage, StageStatus
from jobs.deps import Deps
from jobs.errors import JobError
from jobs.lifecycle import Lease, LeaseLost
from jobs.money import StageMoney
from jobs.parking import park
from jobs.segments import new_span
from jobs.stage import P, Pipeline, StageCall, StageSpec, Waiting
from jobs.tail import RenderOutput
from media.errors import MediaError
from media.providers.meter import Usage, metering

log = logging.getLogger(__name__)


class Run:
    def __init__(
        self, deps: Deps, pipeline: Pipeline[Any], lease: Lease, user_id: str, work_dir: Path, kind: str = ""
    ) -> None:
        self.deps = deps
        self.kind = kind
        self.pipeline = pipeline
        self.lease = lease
        self.job_id = lease.job_id
        self.user_id = user_id
        self.work_dir = work_dir
        self.total_weight = sum(s.weight for s in pipeline.stages) or 1.0
        self.done_weight = 0.0
        self.started = time.monotonic()
        self.start_progress = 0.0
        self.last_saved = 0.0
        self.stage: str | None = None  # the stage running now

    def overall(self, weight: float, fraction: float) -> float:
        # Never below where the row stood when this run took it: a stage run again (a long render back from
        # its segments to join them, a render re-driven after a lost worker) does not send the bar back.
        done = 100.0 * (self.done_weight + weight * fraction) / self.total_weight
        return min(99.9, max(self.start_progress, done))

    def eta(self, progress: float) -> float | None:
        gained = progress - self.start_progress
        if gained < 2.0:
            return None
        return round((time.monotonic() - self.started) * (100.0 - progress) / gained, 1)

    async def run_stage(
        self, index: int, spec: StageSpec[P], row: Stage | None, outputs: dict[str, BaseModel], params: P
    ) -> BaseModel:
        # Every line logged while the stage runs (its task copies this context) names it.
        with bound_contextvars(stage=spec.name):
            log.info("stage %s started", spec.name)
            started = time.monotonic()
            output = await self._run_stage(index, spec, row, outputs, params)
            elapsed = time.monotonic() - started
            log.info("stage %s done in %.2f s", spec.name, elapsed)
        metrics = self.deps.metrics
        metrics.stage_seconds.labels(kind=self.kind, stage=spec.name).observe(elapsed)
        if isinstance(output, RenderOutput) and not output.segments:  # a join is not a render's speed
            metrics.rendered(self.kind, output.frames, elapsed)
        return output

    async def _run_stage(
        self, index: int, spec: StageSpec[P], row: Stage | None, outputs: dict[str, BaseModel], params: P
    ) -> BaseModel:
        self.stage = spec.name
        await self.lease.start_stage(spec.name, index, self.overall(spec.weight, 0.0))

        async def report(fraction: float, message: str) -> None:
            fraction = max(0.0, min(1.0, fraction))
            if time.monotonic() - self.last_saved < 1.0 / self.deps.events_per_second:
                return  # throttled: a progress bar needs a few updates a second, not every frame
            self.last_saved = time.monotonic()
            progress = self.overall(spec.weight, fraction)
            await self.lease.progress(
                spec.name, fraction, progress=progress, message=message, eta_seconds=self.eta(progress)
            )

        async def add_artifact(kind: str, key: str, content_type: str, size: int) -> None:
            await self.lease.add_artifact(spec.name, kind, key, content_type, size)

        async def save_checkpoints(checkpoints: dict[str, Any]) -> None:
            await self.lease.save_checkpoints(spec.name, checkpoints)

        money = StageMoney(self.deps.sessions, self.deps.tools.pricing, self.job_id, self.user_id, spec.name)
        call = StageCall(
            job_id=self.job_id,
            user_id=self.user_id,
            params=params,
            outputs=outputs,
            tools=self.deps.tools,
            work_dir=self.work_dir,
            report=report,
            add_artifact=add_artifact,
            checkpoints=dict(row.checkpoints or {}) if row is not None else {},
            save_checkpoints=save_checkpoints,
            money=money,
        )

        async def record(usage: Usage) -> None:
            await money.record(usage)
            self.deps.metrics.costed(usage, self.deps.tools.pricing.usd)

        with metering(record):  # the stage's task, and every task it starts, reports its usage
            task = asyncio.ensure_future(spec.run(call))
        output = await self.watch_cancel(task)
        self.done_weight += spec.weight
        await self.lease.finish_stage(spec.name, output.model_dump(mode="json"), self.overall(0.0, 0.0))
        return output

    async def watch_cancel(self, task: asyncio.Future[BaseModel]) -> BaseModel:
        """While the stage works, keep the lease alive; when the row says the job is no longer ours
        (cancelled, or re-driven elsewhere), cancel the task, which kills whatever it runs."""
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.deps.cancel_poll_seconds)
                if done:
                    return task.result()
                await self.lease.renew(self.deps.lease_seconds)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def run_pipeline(
    deps: Deps, pipeline: Pipeline[Any], job_id: str, *, attempt: int, queue_id: str | None = None
) -> None:
    """`queue_id` is the arq id this run came from; an entry the row no longer names does nothing."""
    claimed = await deps.lifecycle.claim(
        job_id, owner=deps.worker_id, lease_seconds=deps.lease_seconds, queue_id=queue_id, attempt=attempt
    )
    if claimed is None:
        log.info("job %s is finished, gone, running elsewhere or queued anew; nothing to do", job_id)
        return
    lease, job, stage_rows = claimed
    rows = {s.name: s for s in stage_rows}
    # A directory of this run's own: a run that lost the job (cancelled then retried, or re-driven after
    # a stall) may still be cleaning up on this machine while the next run works, and must not delete
    # the files of that run.
    work_dir = deps.tools.work_root / f"{job_id}.{secrets.token_hex(4)}"
    run = Run(deps, pipeline, lease, job.user_id, work_dir, job.kind)
    run.start_progress = job.progress
    try:
        params = pipeline.params.model_validate(job.input)
        outputs: dict[str, BaseModel] = {}
        for index, spec in enumerate(pipeline.stages):
            row = rows.get(spec.name)
            if row is not None and row.status == StageStatus.DONE and row.output is not None:
                outputs[spec.name] = spec.output.model_validate(row.output)  # checkpoint: not redone
                run.done_weight += spec.weight
                continue
            outputs[spec.name] = await run.run_stage(index, spec, row, outputs, params)
        result = pipeline.result(outputs)
        await lease.complete(
            video_key=result.video_key, thumbnail_key=result.thumbnail_key, manifest_key=result.manifest_key
        )
        log.info("job %s completed in %.1f s", job_id, time.monotonic() - run.started)
    except LeaseLost:
        log.info("job %s was cancelled or taken over while running", job_id)
    except Waiting as waiting:
        await _park(run, waiting)
    except (JobError, MediaError) as exc:
        await fail(run, exc.code, exc.message)
    except Exception as exc:
        if attempt < deps.max_tries:
            log.exception("job %s attempt %d failed; will retry", job_id, attempt)
            defer = 2**attempt
            with contextlib.suppress(LeaseLost):
                await lease.retry_later(attempt, defer, deps.lease_seconds)
            raise Retry(defer=defer) from exc
        log.exception("job %s failed after %d attempts", job_id, attempt)
        await fail(run, "INTERNAL_ERROR", "the job failed unexpectedly; the operators have the details")
    await asyncio.to_thread(shutil.rmtree, work_dir, True)


async def _park(run: Run, waiting: Waiting) -> None:
    """The stage goes on in other jobs (a long render's segments): park the job and free this slot."""
    spec = next(s for s in run.pipeline.stages if s.name == run.stage)
    span = new_span(spec.name, run.overall(spec.weight, 0.0), run.overall(spec.weight, 1.0))
    with contextlib.suppress(LeaseLost):
        await park(run.deps, run.lease, waiting.token, waiting.parts, span)
        log.info("job %s parked while %d segments render", run.job_id, waiting.parts)


async def fail(run: Run, code: str, message: str) -> None:
    with contextlib.suppress(LeaseLost), bound_contextvars(**({"stage": run.stage} if run.stage else {})):
        await run.lease.fail(run.stage, code, message)
        log.info("job %s failed in stage %s: %s %s", run.job_id, run.stage, code, message)
