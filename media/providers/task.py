"""What the task-based providers share (a still image, a video made from it): work that a vendor runs as a
task we submit, then wait for.

Their Protocols have two methods, `submit` (start the work; returns the vendor's task id) and `receive` (wait
for that task and bring its result home), so the job can keep the task id the moment it exists and a worker
that dies while waiting is replaced by one that waits for the same task instead of paying for a new one.
"""

from collections.abc import Awaitable, Callable

from media.providers.http import ProviderError

# (share of the task done, 0..1, and a few words on where it stands: "queued at provider").
Progress = Callable[[float, str], Awaitable[None]]


async def no_progress(fraction: float, message: str) -> None:
    """For callers that do not show progress."""


class TaskFailed(ProviderError):
    """The vendor ran the task and it failed. `retryable`: a new task may succeed (the vendor's own
    fault); otherwise the same input fails again (refused content, an input it cannot use)."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(code, message)
        self.retryable = retryable
