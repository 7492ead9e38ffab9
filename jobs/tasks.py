"""arq task entry points: the only code that sees arq's untyped ctx."""

from __future__ import annotations

import logging
from typing import Any

from db import repo
from jobs.deps import Deps
from jobs.kinds import KINDS
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
    kind = KINDS.get(job.kind)
    if kind is None:
        # Queued by a newer API than this worker, or a kind since removed: fail it with a reason rather
        # than leave it QUEUED for the reconciler to enqueue again and again.
        log.error("job %s has kind %s, which this worker cannot run", job_id, job.kind)
        await deps.lifecycle.reject(
            job_id, "UNKNOWN_KIND", f"this service cannot run jobs of kind {job.kind!r}"
        )
        return
    await run_pipeline(deps, kind.pipeline, job_id, attempt=attempt, queue_id=ctx.get("job_id"))


async def reconcile_jobs(ctx: dict[str, Any]) -> None:
    deps: Deps = ctx["deps"]
    await reconcile(deps, ctx["redis"])
