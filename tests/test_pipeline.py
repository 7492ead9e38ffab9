"""The stage runner: checkpoints, retries, typed failures and cancellation, on real Redis and databases."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from arq import Retry
from pydantic import BaseModel

from db import repo
from db.ids import new_id
from jobs.bus import ProgressHub
from jobs.deps import Deps
from jobs.errors import JobError
from jobs.events import ProgressEvent
from jobs.pipeline import run_pipeline
from jobs.stage import JobResult, Pipeline, StageCall, StageSpec


class Params(BaseModel):
    fail_in: str | None = None
    crash_until_attempt: int = 0
    sleep: float = 0.0


class Out(BaseModel):
    name: str


calls: list[str] = []


def stage(name: str) -> StageSpec[Params]:
    async def run(call: StageCall[Params]) -> Out:
        params = call.params
        calls.append(name)
        for i in range(5):
            await call.report((i + 1) / 5, f"step {i + 1}")
            await asyncio.sleep(params.sleep / 5)
        if params.fail_in == name:
            raise JobError("BAD_THING", f"{name} could not go on")
        if name == "b" and params.crash_until_attempt >= len([c for c in calls if c == "b"]):
            raise RuntimeError("worker-level crash")
        await call.add_artifact("note", f"jobs/{call.job_id}/{name}.txt", "text/plain", 1)
        return Out(name=name)

    return StageSpec(name, run, Out, weight=1.0)


def result(outputs: Mapping[str, BaseModel]) -> JobResult:
    return JobResult(video_key="jobs/x/video.mp4")


TOY = Pipeline(params=Params, stages=(stage("a"), stage("b"), stage("c")), result=result)


async def new_job(deps: Deps, params: Params) -> str:
    job_id = new_id()
    async with deps.sessions.begin() as s:
        await repo.create_job(
            s, job_id=job_id, user_id="local", kind="SLIDESHOW", input=params.model_dump(),
            stages=[(st.name, st.weight) for st in TOY.stages],
        )  # fmt: skip
    return job_id


async def status_of(deps: Deps, job_id: str) -> tuple[str, str | None, list[str]]:
    async with deps.sessions() as s:
        job = await repo.get_job(s, job_id)
        stages = await repo.get_stages(s, [job_id])
    assert job is not None
    return job.status, job.error_code, [st.status for st in stages]


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    calls.clear()


async def test_a_job_runs_every_stage_and_publishes_increasing_seq_to_completed(deps: Deps) -> None:
    job_id = await new_job(deps, Params())
    hub = ProgressHub(deps.redis)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    try:
        async with hub.subscribe(user_id="local", job_id=job_id) as sub:
            await run_pipeline(deps, TOY, job_id, attempt=1)
            events = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    finally:
        await hub.stop()
    seqs = [e.seq for e in events if isinstance(e, ProgressEvent)]
    assert seqs == sorted(set(seqs)) and len(seqs) > 6
    last = events[-1]
    assert isinstance(last, ProgressEvent) and last.status == "COMPLETED" and last.progress == 100
    assert await status_of(deps, job_id) == ("COMPLETED", None, ["DONE", "DONE", "DONE"])
    async with deps.sessions() as s:
        job = await repo.get_job(s, job_id)
        assert job is not None and job.video_key == "jobs/x/video.mp4"
        assert len(await repo.get_artifacts(s, [job_id])) == 3


async def test_a_rerun_after_a_crash_resumes_at_the_failed_stage(deps: Deps) -> None:
    job_id = await new_job(deps, Params(crash_until_attempt=1))
    with pytest.raises(Retry):
        await run_pipeline(deps, TOY, job_id, attempt=1)
    assert (await status_of(deps, job_id))[0] == "PROCESSING"
    await run_pipeline(deps, TOY, job_id, attempt=2)
    assert calls == ["a", "b", "b", "c"]  # "a" was checkpointed and not run again
    assert await status_of(deps, job_id) == ("COMPLETED", None, ["DONE", "DONE", "DONE"])


async def test_an_expected_error_fails_the_job_with_its_code_and_the_stage_that_raised_it(deps: Deps) -> None:
    job_id = await new_job(deps, Params(fail_in="b"))
    await run_pipeline(deps, TOY, job_id, attempt=1)
    assert await status_of(deps, job_id) == ("FAILED", "BAD_THING", ["DONE", "FAILED", "PENDING"])


async def test_an_unexpected_error_on_the_last_try_fails_with_internal_error(deps: Deps) -> None:
    job_id = await new_job(deps, Params(crash_until_attempt=99))
    await run_pipeline(deps, TOY, job_id, attempt=deps.max_tries)
    status, code, _ = await status_of(deps, job_id)
    assert (status, code) == ("FAILED", "INTERNAL_ERROR")


async def test_cancelling_a_running_job_stops_its_stage_and_keeps_it_cancelled(deps: Deps) -> None:
    job_id = await new_job(deps, Params(sleep=30))
    runner = asyncio.create_task(run_pipeline(deps, TOY, job_id, attempt=1))
    await asyncio.sleep(0.3)
    async with deps.sessions.begin() as s:
        await repo.update_job(s, job_id, status="CANCELLED", cancel_requested=True)
    await asyncio.wait_for(runner, 5)
    assert (await status_of(deps, job_id))[0] == "CANCELLED"
    assert calls == ["a"]


async def test_a_finished_job_is_not_run_again(deps: Deps) -> None:
    job_id = await new_job(deps, Params())
    await run_pipeline(deps, TOY, job_id, attempt=1)
    await run_pipeline(deps, TOY, job_id, attempt=2)
    assert calls == ["a", "b", "c"]


class Task(BaseModel):
    id: str


submitted: list[str] = []


async def paid(call: StageCall[Params]) -> Out:
    """Submits paid work, then waits for it: the task id is checkpointed the moment it is known."""

    async def submit() -> Task:
        submitted.append("task")
        return Task(id=f"task-{len(submitted)}")

    task = await call.once("task", submit, Task)
    calls.append(task.id)
    if params_crash(call.params, len(calls)):
        raise RuntimeError("killed while polling")
    return Out(name=task.id)


def params_crash(params: Params, seen: int) -> bool:
    return params.crash_until_attempt >= seen


PAID = Pipeline(params=Params, stages=(StageSpec("paid", paid, Out, weight=1.0),), result=result)


async def test_a_keyed_checkpoint_inside_a_stage_survives_a_crash_and_a_retry_so_paid_work_runs_once(
    deps: Deps,
) -> None:
    submitted.clear()
    job_id = new_id()
    async with deps.sessions.begin() as s:
        await repo.create_job(
            s, job_id=job_id, user_id="local", kind="SLIDESHOW",
            input=Params(crash_until_attempt=2).model_dump(), stages=[("paid", 1.0)],
        )  # fmt: skip
    with pytest.raises(Retry):
        await run_pipeline(deps, PAID, job_id, attempt=1)
    await run_pipeline(deps, PAID, job_id, attempt=deps.max_tries)  # the last try: fails the job
    assert (await status_of(deps, job_id))[:2] == ("FAILED", "INTERNAL_ERROR")
    async with deps.sessions() as s:
        failed = await repo.get_job(s, job_id)
    assert failed is not None and await deps.lifecycle.retry(failed) is not None  # retryJob
    await run_pipeline(deps, PAID, job_id, attempt=1, queue_id=f"{job_id}:{failed.seq + 1}")
    assert await status_of(deps, job_id) == ("COMPLETED", None, ["DONE"])
    assert submitted == ["task"] and calls == ["task-1", "task-1", "task-1"]  # one task, polled three times
