"""The up-front credit check of a create mutation: a kind that lists its paid actions (jobs.kind.Kind.paid)
is refused with INSUFFICIENT_CREDITS, saying what it needs and what the balance is, before anything is queued.

This is advice, not the guarantee: credits are held (never below zero) and charged only when each action runs,
so two jobs that both pass here and race for the last credits still cannot overspend; the loser ends FAILED
with INSUFFICIENT_CREDITS and is charged nothing for the step it did not take.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from db import ledger, repo
from jobs.kind import Kind
from resolvers.availability import database_errors
from resolvers.context import Context
from resolvers.errors import InsufficientCredits

OFFLINE = "offline"


def required_credits(ctx: Context, kind: Kind[Any], params: BaseModel) -> int:
    if kind.paid is None:
        return 0
    pricing, providers = ctx.services.pricing, ctx.services.providers
    return sum(
        pricing.credits_for(a.action, providers.get(a.capability, OFFLINE).strip().lower())
        for a in kind.paid(params)
    )


async def check_credits(
    ctx: Context, kind: Kind[Any], params: BaseModel, idempotency_key: str | None
) -> None:
    required = required_credits(ctx, kind, params)
    if required <= 0:
        return
    with database_errors():
        async with ctx.services.sessions() as session:
            if idempotency_key is not None and await repo.find_by_idempotency_key(
                session, user_id=ctx.user_id, key=idempotency_key
            ):
                return  # a replay answers with the job the first request made, whatever the balance now
            balance = await ledger.balance(session, ctx.user_id)
    if balance < required:
        raise InsufficientCredits(required, balance)
