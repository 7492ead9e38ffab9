"""A provider task run from a stage: its id kept the moment the provider returns it, so that neither a rerun
after a crash nor a retryJob pays for it twice.

Each try has its keyed checkpoints: `<name>-task-<n>` (the task id) and, once the task has failed for good,
`<name>-failed-<n>` (its code). A rerun waits for the latest task that has not failed (it may have finished
meanwhile); a task that failed is never waited for again, so a retryJob after a failure starts a new one.
Within one run a task that failed through the provider's own fault is followed by a new one, `tries` in all;
refused content is not tried again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from jobs.stage import StageCall
from media.providers.task import TaskFailed

T = TypeVar("T")
TRIES = 3


async def run_task(
    call: StageCall[Any],
    name: str,
    submit: Callable[[], Awaitable[str]],
    receive: Callable[[str], Awaitable[T]],
    *,
    tries: int = TRIES,
) -> T:
    first = 0
    while call.checkpointed(f"{name}-failed-{first}", str) is not None:
        first += 1
    for attempt in range(first, first + tries):
        task = await call.once(f"{name}-task-{attempt}", submit, str)
        try:
            return await receive(task)
        except TaskFailed as exc:
            await call.checkpoint(f"{name}-failed-{attempt}", exc.code)
            if not exc.retryable or attempt == first + tries - 1:
                raise
    raise AssertionError("unreachable: the last try returns or raises")
