"""The kind registry: what the API names is what workers run, a kind no worker runs never loops, and the API
process stays free of the renderer's libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from arq import ArqRedis

from db import repo
from db.ids import new_id
from jobs import queue
from jobs.deps import Deps
from jobs.kinds import KINDS
from jobs.reconcile import reconcile
from jobs.tasks import run_job
from schema.types import JobKind

ROOT = Path(__file__).resolve().parents[1]


def test_job_kind_and_the_registry_name_the_same_kinds() -> None:
    assert {kind.value for kind in JobKind} == set(KINDS)
    for name, kind in KINDS.items():
        assert kind.name == name
        if kind.finish is not None:  # its own last stages (the short's rendering, ready) run the tail inside
            assert kind.pipeline.stage_names[-len(kind.finish) :] == tuple(s.name for s in kind.finish)
        elif kind.compose is not None:  # the shared tail
            assert kind.pipeline.stage_names[-4:] == ("compose", "render", "store", "finalize")
        else:  # a kind whose stages make its media whole ends by naming what it made
            assert kind.result is not None and kind.pipeline.stage_names[-1] == "finalize"


async def test_a_job_of_a_kind_no_worker_runs_fails_with_a_code_instead_of_looping(deps: Deps) -> None:
    job_id = new_id()
    async with deps.sessions.begin() as s:
        await repo.create_job(s, job_id=job_id, user_id="local", kind="HOLOGRAM", input={}, stages=[])
    await run_job({"deps": deps, "job_try": 1, "job_id": job_id}, job_id)
    async with deps.sessions() as s:
        job = await repo.get_job(s, job_id)
    assert job is not None and (job.status, job.error_code) == ("FAILED", "UNKNOWN_KIND")
    url = deps.redis.connection_pool.connection_kwargs
    arq: ArqRedis = await queue.connect(f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}")
    try:
        report = await reconcile(deps, arq)  # nothing left for the reconciler to enqueue again
    finally:
        await arq.aclose()
    assert job_id not in report.requeued + report.redriven


def test_importing_the_api_application_loads_neither_pyav_nor_opencv_nor_numpy() -> None:
    probe = (
        "import sys, clipforge.app, clipforge.cli; "
        "print(','.join(m for m in ('av', 'cv2', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
    # and the probe can see them: the worker's side loads all three
    worker = probe.replace("clipforge.app, clipforge.cli", "clipforge.worker")
    out = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "av,cv2,numpy"


def test_the_api_and_the_database_name_the_same_job_statuses() -> None:
    from db.tables import JobStatus as Stored
    from schema.types import JobStatus as Public

    assert [s.value for s in Public] == [s.value for s in Stored]
