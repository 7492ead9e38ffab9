"""Credits and costs. Each function takes an open session; the caller owns the transaction.

Credits move only with a ledger row, in the same transaction, so the ledger always sums to the balance: a
hold takes them from the balance (a conditional update: never below zero, and two jobs cannot both spend the
last credits), a charge keeps them spent, a release gives them back, a grant adds them. A paid action's row
is keyed by (job, stage, action): whatever reruns, retries or crashes happen, it is held and charged once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.tables import Cost, Hold, LedgerEntry, User, utcnow


class InsufficientCredits(Exception):
    def __init__(self, required: int, balance: int) -> None:
        super().__init__(f"this needs {required} credits; the balance is {balance}")
        self.required = required
        self.balance = balance


async def balance(session: AsyncSession, user_id: str) -> int:
    value = await session.scalar(select(User.credits).where(col(User.id) == user_id))
    return int(value or 0)


async def _move(session: AsyncSession, user_id: str, delta: int) -> bool:
    """Add `delta` to the balance; a withdrawal only if the balance covers it."""
    query = update(User).where(col(User.id) == user_id)
    if delta < 0:
        query = query.where(col(User.credits) >= -delta)
    result = await session.execute(query.values(credits=User.credits + delta))
    return bool(getattr(result, "rowcount", 0) == 1)


async def find(session: AsyncSession, job_id: str, stage: str, action: str) -> LedgerEntry | None:
    query = select(LedgerEntry).where(
        col(LedgerEntry.job_id) == job_id, col(LedgerEntry.stage) == stage, col(LedgerEntry.action) == action
    )
    return (await session.execute(query)).scalar_one_or_none()


async def hold(
    session: AsyncSession, *, user_id: str, job_id: str, stage: str, action: str, credits: int
) -> LedgerEntry:
    """Take `credits` from the balance for this paid action, before it is done; InsufficientCredits if the
    balance is short. An action already held or charged (a rerun) is not held again."""
    entry = await find(session, job_id, stage, action)
    if entry is not None and entry.status in (Hold.HELD, Hold.CHARGED):
        return entry
    if not await _move(session, user_id, -credits):
        raise InsufficientCredits(credits, await balance(session, user_id))
    if entry is None:
        entry = LedgerEntry(
            user_id=user_id, job_id=job_id, stage=stage, action=action, credits=credits, status=Hold.HELD
        )
        session.add(entry)
    else:  # released by a run that failed, held again by a retry
        entry.status, entry.credits, entry.updated_at = Hold.HELD, credits, utcnow()
    await session.flush()
    return entry


async def charge(session: AsyncSession, job_id: str, stage: str, action: str) -> bool:
    """The action succeeded: its held credits are spent. False if there was nothing held (already charged,
    or released because the job was cancelled meanwhile)."""
    result = await session.execute(
        update(LedgerEntry)
        .where(
            col(LedgerEntry.job_id) == job_id,
            col(LedgerEntry.stage) == stage,
            col(LedgerEntry.action) == action,
            col(LedgerEntry.status) == Hold.HELD,
        )
        .values(status=Hold.CHARGED, updated_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def release(
    session: AsyncSession, job_id: str, *, stage: str | None = None, action: str | None = None
) -> int:
    """Give back what the job (or one of its actions) holds; returns the credits given back."""
    query = update(LedgerEntry).where(col(LedgerEntry.job_id) == job_id, col(LedgerEntry.status) == Hold.HELD)
    if stage is not None:
        query = query.where(col(LedgerEntry.stage) == stage)
    if action is not None:
        query = query.where(col(LedgerEntry.action) == action)
    # The status guard makes each row released once, even by two transactions at the same time.
    rows = await session.execute(
        query.values(status=Hold.RELEASED, updated_at=utcnow()).returning(
            col(LedgerEntry.user_id), col(LedgerEntry.credits)
        )
    )
    back: dict[str, int] = defaultdict(int)
    for user_id, credits in rows:
        back[user_id] += credits
    for user_id, credits in back.items():
        await _move(session, user_id, credits)
    return sum(back.values())


async def grant(session: AsyncSession, *, user_id: str, credits: int, note: str = "") -> LedgerEntry:
    if credits <= 0:
        raise ValueError("a grant is a positive number of credits")
    if not await _move(session, user_id, credits):
        raise LookupError(f"no user {user_id!r}")
    entry = LedgerEntry(user_id=user_id, action="grant", credits=credits, status=Hold.GRANTED, note=note)
    session.add(entry)
    await session.flush()
    return entry


async def entries(
    session: AsyncSession, *, user_id: str, limit: int, before_id: int | None = None
) -> list[LedgerEntry]:
    """Newest first."""
    query = select(LedgerEntry).where(col(LedgerEntry.user_id) == user_id)
    if before_id is not None:
        query = query.where(col(LedgerEntry.id) < before_id)
    query = query.order_by(col(LedgerEntry.id).desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def charged_by_job(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, int]:
    query = (
        select(col(LedgerEntry.job_id), func.sum(LedgerEntry.credits))
        .where(col(LedgerEntry.job_id).in_(job_ids), col(LedgerEntry.status) == Hold.CHARGED)
        .group_by(col(LedgerEntry.job_id))
    )
    return {str(job_id): int(total) for job_id, total in await session.execute(query)}


async def add_cost(
    session: AsyncSession,
    *,
    job_id: str,
    stage: str,
    vendor: str,
    item: str,
    quantity: float,
    usd_micros: int,
    call_key: str | None = None,
) -> bool:
    """False when a call with this `call_key` is already counted for the job (a rerun that found the same
    finished vendor task)."""
    cost = Cost(
        job_id=job_id,
        stage=stage,
        vendor=vendor,
        item=item,
        quantity=quantity,
        usd_micros=usd_micros,
        call_key=call_key,
    )
    if call_key is None:
        session.add(cost)
        await session.flush()
        return True
    try:
        async with session.begin_nested():  # the unique (job, key) index decides, also between racing runs
            session.add(cost)
    except IntegrityError:
        return False
    return True


async def cost_by_stage(session: AsyncSession, job_ids: Sequence[str]) -> dict[tuple[str, str], int]:
    """Millionths of a dollar per (job, stage)."""
    query = (
        select(col(Cost.job_id), col(Cost.stage), func.sum(Cost.usd_micros))
        .where(col(Cost.job_id).in_(job_ids))
        .group_by(col(Cost.job_id), col(Cost.stage))
    )
    return {(str(job), str(stage)): int(total) for job, stage, total in await session.execute(query)}
