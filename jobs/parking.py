"""A job parked while its render's segments run as jobs of their own (jobs.segmented raises Waiting).

Parking hands the job's lease to a marker owner ("parked:<token>") and frees the worker slot; a chain of
small deferred arq jobs ("wakes", every `segment_poll_seconds`, and one at once when a segment ends) then
acts as that owner: each renews the lease, queues again a segment whose worker died (its lease on the board
lapsed), fails the job with a segment's error, and, once every segment is stored, hands the job back to the
queue so a worker runs the render stage again to join them. The segments themselves publish the frames
encoded across all of them as the job's progress, under the same owner. A
cancelled job fails the wake's lease renewal, which ends the chain (the segments stop by themselves). If the
chain itself is lost (Redis restarted), the job's lease lapses and the reconciler re-drives it as usual.
"""

from __future__ import annotations

import contextlib
import logging
import time

from jobs.deps import Deps
from jobs.lifecycle import Lease, LeaseLost
from jobs.queue import QUEUE_NAME, enqueue_job
from jobs.segments import Board, BoardState, Span, arq_pool

log = logging.getLogger(__name__)

WAKE_JOB = "wake_job"


def parked_owner(token: str) -> str:
    return f"parked:{token}"


async def park(deps: Deps, lease: Lease, token: str, parts: int, span: Span) -> None:
    """Called by the run whose stage raised Waiting; the run then ends and frees its slot."""
    board = Board(deps.redis, lease.job_id, token)
    state = await board.read()
    if state is not None and state.span is not None:
        span = span.model_copy(
            update={"since": state.span.since}
        )  # the wait's clock runs from the first park
    await board.set_span(span)
    await lease.park(
        parked_owner(token), _hold(deps), span.stage, f"{span.stage}: rendering {parts} segments"
    )
    await _schedule(deps, board)


async def wake(deps: Deps, job_id: str, token: str) -> None:
    board = Board(deps.redis, job_id, token)
    lease = Lease(deps.lifecycle, job_id, parked_owner(token))
    try:
        state = await board.read()
        if state is None or state.span is None:
            # Redis forgot the board: the render stage, run again, rebuilds it. (A part that ended before
            # the job was parked wakes it too early: the job is not ours yet and this does nothing.)
            await _hand_back(deps, board, lease)
            log.warning("job %s: its parts' board is gone; running its render stage again", job_id)
            return
        await lease.renew(_hold(deps))
        if await _settled(deps, board, lease, state, state.span):
            return
        await _schedule(deps, board)
    except LeaseLost:
        log.info("job %s was cancelled or taken over while its segments rendered", job_id)


async def publish_progress(deps: Deps, board: Board) -> None:
    """The frames encoded across every segment as the parked job's progress, at most events_per_second
    times a second per job (whichever segment comes first publishes). Published by the segments as they
    encode, so the bar moves even while busy workers leave the job's wakes waiting in the queue."""
    gate = f"{board.key}:published"
    if not await deps.redis.set(gate, "1", nx=True, px=max(1, int(1000 / deps.events_per_second))):
        return
    state = await board.read()
    if state is None or state.span is None:
        return  # not parked yet
    span, total, parts = state.span, state.total_frames, len(state.plan.ranges)
    segments_done = sum(1 for index in state.done if index < parts)
    fraction = state.frames_done / max(total, 1)
    lease = Lease(deps.lifecycle, board.job_id, parked_owner(board.token))
    with contextlib.suppress(LeaseLost):  # not parked yet, or no longer
        await lease.progress(
            span.stage,
            fraction,
            progress=span.progress_from + (span.progress_to - span.progress_from) * fraction,
            message=f"frame {state.frames_done}/{total} ({segments_done}/{parts} segments)",
            eta_seconds=None,
        )


async def wake_now(deps: Deps, board: Board) -> None:
    """A segment ended (done or failed): the job need not wait for its next wake to go on."""
    await _schedule(deps, board, defer=0.0)


async def _settled(deps: Deps, board: Board, lease: Lease, state: BoardState, span: Span) -> bool:
    """True when the wait is over (the job failed or goes back to the queue); requeues dead segments."""
    if state.failed:
        failed = state.failed[min(state.failed)]
        await lease.fail(span.stage, failed.code, failed.message)
        return True
    if state.all_done:
        await _hand_back(deps, board, lease)
        return True
    timeout = deps.tools.render.timeout_seconds
    if time.time() - span.since > timeout:
        await lease.fail(span.stage, "RENDER_TIMEOUT", f"the segments did not finish within {timeout:g} s")
        return True
    for index in range(state.parts):
        queued = state.queued.get(index)
        if index in state.done or queued is None or state.started.get(index) != queued:
            continue  # done, or not started yet: arq still holds its entry
        if await board.leased(index):
            continue
        if state.runs.get(index, 0) >= deps.max_tries:
            message = f"the workers rendering part {index} stopped responding ({deps.max_tries} tries)"
            await lease.fail(span.stage, "WORKER_LOST", message)
            return True
        log.warning("job %s: part %d's worker stopped responding; rendering it again", board.job_id, index)
        await board.enqueue(index)
    return False


async def _hand_back(deps: Deps, board: Board, lease: Lease) -> None:
    queue_id = f"{board.job_id}:{board.token}:join:{await board.count('handbacks')}"
    await lease.hand_back(queue_id, deps.lease_seconds)
    await enqueue_job(arq_pool(deps.redis), board.job_id, queue_id=queue_id)


async def _schedule(deps: Deps, board: Board, defer: float | None = None) -> None:
    queue_id = f"wake:{board.job_id}:{board.token}:{await board.count('wakes')}"
    await arq_pool(deps.redis).enqueue_job(
        WAKE_JOB,
        board.job_id,
        board.token,
        _job_id=queue_id,
        _queue_name=QUEUE_NAME,
        _defer_by=deps.segment_poll_seconds if defer is None else defer,
    )


async def keep_parked(deps: Deps, board: Board) -> None:
    """Called by a part while it renders: the parked job's lease stays fresh as long as any of its parts
    runs on a live worker, even when every slot is busy rendering and the wakes wait in the queue."""
    with contextlib.suppress(LeaseLost):  # not parked yet, handed back, or cancelled: nothing to keep
        await Lease(deps.lifecycle, board.job_id, parked_owner(board.token)).renew(_hold(deps))


def _hold(deps: Deps) -> float:
    # Long enough for a few wakes to be late; short enough that a lost chain is re-driven soon.
    return deps.lease_seconds + 3 * deps.segment_poll_seconds
