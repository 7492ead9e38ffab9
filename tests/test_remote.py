"""A provider task run from a stage (jobs.remote.run_task): its id kept the moment it exists, a new task only
after one failed through the vendor's fault (3 tries), refused content not tried again by itself, and a rerun
(a crash, a retryJob) waiting for the task already paid for — or starting anew after one that failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from jobs.remote import run_task
from jobs.stage import StageCall
from jobs.tools import Tools
from media.providers.task import TaskFailed
from media.storage.memory import MemoryStorage


class Params(BaseModel):
    pass


class Vendor:
    """Tasks numbered as started; each answers what `outcomes` says for it (an exception or a result)."""

    def __init__(self, *outcomes: BaseException | str) -> None:
        self.outcomes = list(outcomes)
        self.started: list[str] = []
        self.waited: list[str] = []

    async def submit(self) -> str:
        self.started.append(f"task-{len(self.started)}")
        return self.started[-1]

    async def receive(self, task: str) -> str:
        self.waited.append(task)
        outcome = self.outcomes[int(task.removeprefix("task-"))]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture
async def tools(tmp_path: Path) -> AsyncIterator[Tools]:
    async with httpx.AsyncClient() as http:
        yield Tools(storage=MemoryStorage(), http=http, work_root=tmp_path)


def call(tools: Tools, saved: dict[str, Any]) -> StageCall[Params]:
    """A stage call whose keyed checkpoints persist in `saved`, as the stage row keeps them across runs."""

    async def save(checkpoints: dict[str, Any]) -> None:
        saved.clear()
        saved.update(checkpoints)

    async def report(fraction: float, message: str) -> None:
        pass

    async def add_artifact(kind: str, key: str, content_type: str, size: int) -> None:
        pass

    return StageCall(
        job_id="j", user_id="u", params=Params(), outputs={}, tools=tools, work_dir=tools.work_root,
        report=report, add_artifact=add_artifact, checkpoints=dict(saved), save_checkpoints=save,
    )  # fmt: skip


def internal() -> TaskFailed:
    return TaskFailed("PROVIDER_TASK_FAILED", "Runway failed (INTERNAL)", retryable=True)


def refused() -> TaskFailed:
    return TaskFailed("CONTENT_REJECTED", "refused")


async def test_a_vendor_fault_is_followed_by_a_new_task_and_a_rerun_waits_for_the_kept_one(
    tools: Tools,
) -> None:
    saved: dict[str, Any] = {}
    vendor = Vendor(internal(), "video")
    assert await run_task(call(tools, saved), "video", vendor.submit, vendor.receive) == "video"
    assert vendor.started == ["task-0", "task-1"]
    assert saved == {
        "video-task-0": "task-0",
        "video-failed-0": "PROVIDER_TASK_FAILED",
        "video-task-1": "task-1",
    }
    again = await run_task(call(tools, saved), "video", vendor.submit, vendor.receive)  # a rerun
    assert again == "video" and vendor.started == ["task-0", "task-1"] and vendor.waited[-1] == "task-1"


async def test_three_vendor_faults_fail_and_refused_content_is_not_tried_again(tools: Tools) -> None:
    vendor = Vendor(internal(), internal(), internal(), "never")
    with pytest.raises(TaskFailed):
        await run_task(call(tools, {}), "video", vendor.submit, vendor.receive)
    assert vendor.started == ["task-0", "task-1", "task-2"]
    vendor = Vendor(refused(), "video")
    saved: dict[str, Any] = {}
    with pytest.raises(TaskFailed) as caught:
        await run_task(call(tools, saved), "video", vendor.submit, vendor.receive)
    assert caught.value.code == "CONTENT_REJECTED" and vendor.started == ["task-0"]
    # retryJob: the failed task is not waited for again; a new one is started.
    assert await run_task(call(tools, saved), "video", vendor.submit, vendor.receive) == "video"
    assert vendor.started == ["task-0", "task-1"] and vendor.waited == ["task-0", "task-1"]


async def test_a_wait_that_breaks_off_keeps_the_task_for_the_rerun(tools: Tools) -> None:
    saved: dict[str, Any] = {}
    vendor = Vendor(ConnectionError("worker lost its network"))
    with pytest.raises(ConnectionError):
        await run_task(call(tools, saved), "image", vendor.submit, vendor.receive)
    vendor.outcomes[0] = "picture"  # the task finished meanwhile
    assert await run_task(call(tools, saved), "image", vendor.submit, vendor.receive) == "picture"
    assert vendor.started == ["task-0"]
