"""The caller: who they are, their credits, and their ledger (newest first, cursor pagination)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db import ledger
from db.repo import aware
from db.tables import User
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.errors import UserError

MAX_PAGE = 100


@dataclass(frozen=True)
class EntryView:
    id: int
    action: str
    credits: int  # how many credits the entry moved (see status for which way)
    change: (
        int  # its effect on the balance: negative while held or charged, positive when granted, 0 released
    )
    status: str
    job_id: str | None
    stage: str | None
    note: str
    created_at: datetime


@dataclass(frozen=True)
class LedgerPage:
    items: list[EntryView]
    has_next: bool
    end_cursor: str | None


async def me(ctx: Context) -> tuple[str, str, int]:
    """(id, name, credits)."""
    with database_errors():
        async with ctx.services.sessions() as session:
            user = await session.get(User, ctx.user_id)
    if user is None:  # auth off and not migrated, or a key whose user was removed
        return ctx.user_id, ctx.user_id, 0
    return user.id, user.name, user.credits


def change_of(status: str, credits: int) -> int:
    if status == "GRANTED":
        return credits
    return 0 if status == "RELEASED" else -credits


async def ledger_page(ctx: Context, *, first: int | None, after: str | None) -> LedgerPage:
    limit = first if first is not None else 20
    if not 0 < limit <= MAX_PAGE:
        raise UserError("INVALID_PAGE_SIZE", f"first must be between 1 and {MAX_PAGE}", "first")
    if after is not None and not after.isdigit():
        raise UserError("INVALID_CURSOR", "after must be an endCursor this API returned", "after")
    with database_errors():
        async with ctx.services.sessions() as session:
            rows = await ledger.entries(
                session, user_id=ctx.user_id, limit=limit + 1, before_id=int(after) if after else None
            )
    page = rows[:limit]
    items = [
        EntryView(
            id=int(r.id or 0),
            action=r.action,
            credits=r.credits,
            change=change_of(r.status, r.credits),
            status=r.status,
            job_id=r.job_id,
            stage=r.stage,
            note=r.note,
            created_at=aware(r.created_at),
        )
        for r in page
    ]
    return LedgerPage(items, has_next=len(rows) > limit, end_cursor=str(items[-1].id) if items else None)
