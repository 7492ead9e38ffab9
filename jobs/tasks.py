"""arq task entry points: the only code that sees arq's untyped ctx."""

from __future__ import annotations

import logging
from typing import Any

from db import repo
from jobs.deps import Deps
from jobs.kinds import PIPELINES
from jobs.pipeline import run_pipeline
from jobs.reconcile import reconcile

log = logging.getLogger(__name__)


async def run_job(ctx: dict[str, Any], job_id: str) -> None:
    deps: Deps = ctx["deps"]
    attempt = int(ctx.get("job_try", 1))
    async with deps.sessions() as session:
        job = await repo.get_job(session, job_id)
    if job is None:
        log.warning("job %s not found; dropping it", job_id)
        return
    pipeline = PIPELINES.get(job.kind)
    if pipeline is None:
        log.error("job %s has unknown kind %s", job_id, job.kind)
        return
    await run_pipeline(deps, pipeline, job_id, attempt=attempt, queue_id=ctx.get("job_id"))


async def reconcile_jobs(ctx: dict[str, Any]) -> None:
    deps: Deps = ctx["deps"]
    await reconcile(deps, ctx["redis"])
